"""hubcore.formats.torch_state: torch state dicts read without torch, and without running their code.

The files are made here the way torch writes them (legacy and zip layouts), with stand-in `torch`
modules registered only while pickling, so the tests need no torch installation.
"""
from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import sys
import types
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from hubcore.errors import ArtifactError
from hubcore.formats.torch_state import LEGACY_MAGIC, TorchFormatError, UnsafePickleError, load_state_dict

_DTYPE_TO_STORAGE = {np.dtype("float32"): "FloatStorage", np.dtype("int64"): "LongStorage",
                     np.dtype("float16"): "HalfStorage", np.dtype("uint8"): "ByteStorage"}


@dataclass
class _FakeTensor:
    """A tensor to write: a view (offset, shape, stride in elements) of a numpy storage."""

    key: str
    storage: np.ndarray
    offset: int
    shape: tuple
    stride: tuple


@dataclass
class _StorageRef:
    """Written as torch writes storages: a persistent id, with the bytes stored elsewhere."""

    key: str
    storage: np.ndarray


class _Rebuild:
    """Pickles as torch's `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)`."""

    def __init__(self, storage: _StorageRef, offset: int, shape: tuple, stride: tuple) -> None:
        self.args = (storage, offset, shape, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return sys.modules["torch._utils"]._rebuild_tensor_v2, self.args


@pytest.fixture
def fake_torch(monkeypatch: pytest.MonkeyPatch):
    """Modules named like torch's, so pickle writes GLOBAL 'torch._utils _rebuild_tensor_v2' etc."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # never called: only its name goes into the file
        raise AssertionError

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    for name in set(_DTYPE_TO_STORAGE.values()):
        storage_type = type(name, (), {"__module__": "torch"})
        setattr(torch, name, storage_type)
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


def _save(tensors: dict[str, _FakeTensor], path: Path, torch, *, zip_layout: bool) -> None:
    """Write a state dict the way torch.save does (storages by persistent id)."""
    storages: dict[str, np.ndarray] = {}

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _StorageRef):
                storages[obj.key] = obj.storage
                storage_type = getattr(torch, _DTYPE_TO_STORAGE[obj.storage.dtype])
                return ("storage", storage_type, obj.key, "cpu", obj.storage.size)
            return None

    state = collections.OrderedDict()
    for name, t in tensors.items():
        state[name] = _Rebuild(_StorageRef(t.key, t.storage), t.offset, t.shape, t.stride)
    main = io.BytesIO()
    P(main, protocol=2).dump(state)
    if zip_layout:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("archive/data.pkl", main.getvalue())
            z.writestr("archive/byteorder", "little")
            for key, array in storages.items():
                z.writestr(f"archive/data/{key}", array.tobytes())
        return
    with open(path, "wb") as f:
        for header in (LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}):
            pickle.dump(header, f, protocol=2)
        f.write(main.getvalue())
        keys = sorted(storages)
        pickle.dump(keys, f, protocol=2)
        for key in keys:
            f.write(struct.pack("<q", storages[key].size))
            f.write(storages[key].tobytes())


def _tensors() -> tuple[dict[str, _FakeTensor], dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    w = rng.standard_normal(24).astype(np.float32)
    counts = np.array([7, 8, 9], dtype=np.int64)
    tensors = {
        "conv.weight": _FakeTensor("0", w, 0, (2, 3, 4), (12, 4, 1)),
        # a transposed view of the same storage: non-contiguous strides
        "fc.weight_t": _FakeTensor("0", w, 0, (4, 6), (1, 4)),
        "bias": _FakeTensor("1", counts, 1, (2,), (1,)),  # offset into its storage
        "scalar": _FakeTensor("1", counts, 2, (), ()),
    }
    expected = {
        "conv.weight": w.reshape(2, 3, 4),
        "fc.weight_t": w.reshape(6, 4).T,
        "bias": counts[1:3],
        "scalar": np.array(9, dtype=np.int64),
    }
    return tensors, expected


@pytest.mark.parametrize("zip_layout", [False, True], ids=["legacy", "zip"])
def test_reads_both_layouts_with_offsets_and_strides(tmp_path: Path, fake_torch, zip_layout: bool) -> None:
    tensors, expected = _tensors()
    path = tmp_path / "model.pth"
    _save(tensors, path, fake_torch, zip_layout=zip_layout)
    sys.modules.pop("torch", None)  # reading must not need anything named torch
    sys.modules.pop("torch._utils", None)
    state = load_state_dict(path)
    assert list(state) == list(expected)
    for name, array in expected.items():
        assert state[name].dtype == array.dtype, name
        np.testing.assert_array_equal(state[name], array, err_msg=name)
        assert state[name].flags.c_contiguous


def _malicious_payload(marker: Path) -> bytes:
    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    return pickle.dumps(collections.OrderedDict(w=Evil()), protocol=2)


def test_refuses_pickle_calling_os_system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "pwned"
    payload = _malicious_payload(marker)
    calls = []
    monkeypatch.setattr(os, "system", lambda cmd: calls.append(cmd) or 0)
    legacy = tmp_path / "evil.pth"
    with open(legacy, "wb") as f:
        for header in (LEGACY_MAGIC, 1001, {}):
            pickle.dump(header, f, protocol=2)
        f.write(payload)
    as_zip = tmp_path / "evil_zip.pth"
    with zipfile.ZipFile(as_zip, "w") as z:
        z.writestr("archive/data.pkl", payload)
    for path in (legacy, as_zip):
        with pytest.raises(UnsafePickleError, match=r"posix\.system|os\.system|nt\.system"):
            load_state_dict(path)
    assert calls == [] and not marker.exists()


def test_refuses_malicious_header_and_is_an_artifact_error(tmp_path: Path) -> None:
    path = tmp_path / "evil_header.pth"
    path.write_bytes(pickle.dumps(__import__("subprocess").Popen, protocol=4))
    with pytest.raises(ArtifactError, match="refusing to load global subprocess.Popen"):
        load_state_dict(path)


def test_refuses_foreign_persistent_ids(tmp_path: Path) -> None:
    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return ("module", "evil", "code") if obj == "x" else None

    buf = io.BytesIO()
    P(buf, protocol=2).dump(collections.OrderedDict(a="x"))
    path = tmp_path / "pid.pth"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", buf.getvalue())
    with pytest.raises(UnsafePickleError, match="only tensor storages"):
        load_state_dict(path)


def test_truncated_and_foreign_files_are_clear_errors(tmp_path: Path, fake_torch) -> None:
    tensors, _ = _tensors()
    path = tmp_path / "model.pth"
    _save(tensors, path, fake_torch, zip_layout=False)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(TorchFormatError, match="truncated"):
        load_state_dict(truncated)
    not_torch = tmp_path / "plain.pkl"
    not_torch.write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(TorchFormatError, match="magic number"):
        load_state_dict(not_torch)
    no_pkl = tmp_path / "other.zip"
    with zipfile.ZipFile(no_pkl, "w") as z:
        z.writestr("readme.txt", "hi")
    with pytest.raises(TorchFormatError, match="without data.pkl"):
        load_state_dict(no_pkl)
