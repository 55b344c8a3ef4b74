"""Read a PyTorch state dict (`torch.save(model.state_dict())`) into numpy arrays, without torch.

A .pth file is a pickle, and unpickling runs whatever callables the file names. This reader is a
restricted unpickler: it resolves only the handful of globals a state dict needs (OrderedDict,
torch's tensor-rebuild functions and storage classes), each mapped to a harmless stand-in defined
here, and refuses every other global. Nothing from torch is imported; storages become numpy
buffers.

Both on-disk layouts are supported:
  - legacy (torch < 1.6, or `_use_new_zipfile_serialization=False`): magic number, protocol and
    system-info pickles, the main pickle, the list of storage keys, then each storage's raw bytes
    preceded by its element count;
  - zip (torch >= 1.6): `<archive>/data.pkl` plus one raw file per storage, `<archive>/data/<key>`.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..errors import ArtifactError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

# torch storage class name -> numpy dtype of its elements (little-endian, as torch writes them)
_STORAGE_DTYPES = {
    "DoubleStorage": "<f8",
    "FloatStorage": "<f4",
    "HalfStorage": "<f2",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
    "BFloat16Storage": "bfloat16",  # no numpy dtype: widened to float32 on read
}


class UnsafePickleError(ArtifactError, pickle.UnpicklingError):
    """The file names a global outside the state-dict allowlist: it is not a plain state dict."""


class TorchFormatError(ArtifactError):
    """The file is not a torch state dict this reader understands (truncated, wrong layout)."""


@dataclass(frozen=True)
class _StorageType:
    """Stand-in for `torch.FloatStorage` and friends: only its element dtype matters here."""

    name: str

    @property
    def dtype(self) -> str:
        return _STORAGE_DTYPES[self.name]


@dataclass
class _Storage:
    """A storage's bytes, filled in later for the legacy layout (data follows the pickle)."""

    dtype: str
    numel: int
    data: np.ndarray | None = None  # 1-D array of numel elements


@dataclass
class _LazyTensor:
    """A tensor as the pickle describes it; materialised once every storage has its bytes."""

    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    def to_numpy(self) -> np.ndarray:
        buf = self.storage.data
        if buf is None:
            raise TorchFormatError("a tensor refers to a storage whose bytes are missing from the file")
        numel = int(np.prod(self.shape)) if self.shape else 1
        if numel == 0:
            return np.zeros(self.shape, dtype=buf.dtype)
        last = self.offset + sum((n - 1) * s for n, s in zip(self.shape, self.stride))
        if self.offset < 0 or last >= buf.shape[0] or any(s < 0 for s in self.stride):
            raise TorchFormatError(f"a tensor of shape {self.shape} reaches outside its storage "
                                   f"({buf.shape[0]} elements); the file is corrupt")
        item = buf.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(buf[self.offset:], shape=self.shape,
                                               strides=tuple(s * item for s in self.stride), writeable=False)
        return np.ascontiguousarray(view)


def _rebuild_tensor(storage: _Storage, offset: int, shape: tuple, stride: tuple, *_ignored: Any) -> _LazyTensor:
    # Covers _rebuild_tensor (4 args) and _rebuild_tensor_v2 (+requires_grad, hooks, metadata).
    if not isinstance(storage, _Storage):
        raise TorchFormatError("a tensor was built from something that is not a storage")
    return _LazyTensor(storage, int(offset), tuple(int(n) for n in shape), tuple(int(s) for s in stride))


def _rebuild_parameter(data: _LazyTensor, *_ignored: Any) -> _LazyTensor:
    return data


_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
}


class _StateDictUnpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, storages: dict[str, _Storage], zip_reader: Any = None) -> None:
        super().__init__(file)
        self._storages = storages
        self._zip_reader = zip_reader  # callable(key, dtype, numel) -> ndarray for the zip layout

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load global {module}.{name}: a plain torch state dict only needs "
                f"OrderedDict, tensor-rebuild functions and storage types. This file may run code "
                f"when loaded with torch; re-save it with torch.save(model.state_dict(), path)") from None

    def persistent_load(self, pid: Any) -> Any:
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise UnsafePickleError(f"unsupported persistent id {pid!r:.80}; only tensor storages are allowed")
        storage_type, key, _location, numel = pid[1], str(pid[2]), pid[3], int(pid[4])
        view = pid[5] if len(pid) > 5 else None
        if not isinstance(storage_type, _StorageType):
            raise UnsafePickleError("a storage's type is not one of torch's storage classes")
        if key not in self._storages:
            storage = _Storage(storage_type.dtype, numel)
            if self._zip_reader is not None:
                storage.data = self._zip_reader(key, storage_type.dtype, numel)
            self._storages[key] = storage
        storage = self._storages[key]
        if view is not None:  # pre-1.0 files: a storage view (view_key, offset, size)
            _view_key, offset, size = view
            sliced = _Storage(storage.dtype, int(size))
            sliced.data = None if storage.data is None else storage.data[int(offset):int(offset) + int(size)]
            if storage.data is None:
                raise TorchFormatError("storage views in legacy files are not supported; re-save with torch >= 1.0")
            return sliced
        return storage


def _as_array(raw: bytes | memoryview, dtype: str, numel: int) -> np.ndarray:
    if dtype == "bfloat16":
        halves = np.frombuffer(raw, dtype="<u2", count=numel)
        return (halves.astype(np.uint32) << 16).view(np.float32)
    return np.frombuffer(raw, dtype=np.dtype(dtype), count=numel)


def _materialise(obj: Any) -> Any:
    if isinstance(obj, _LazyTensor):
        return obj.to_numpy()
    if isinstance(obj, dict):
        return collections.OrderedDict((k, _materialise(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v) for v in obj)
    return obj


def _load_legacy(f: BinaryIO) -> Any:
    def header_pickle() -> Any:
        return _StateDictUnpickler(f, {}).load()

    try:
        if header_pickle() != LEGACY_MAGIC:
            raise TorchFormatError("not a torch file: wrong magic number")
        header_pickle()  # protocol version
        header_pickle()  # system info (endianness, type sizes)
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        if isinstance(exc, UnsafePickleError):
            raise
        raise TorchFormatError(f"not a torch state dict (legacy layout): {exc}") from None
    storages: dict[str, _Storage] = {}
    result = _StateDictUnpickler(f, storages).load()
    keys = _StateDictUnpickler(f, {}).load()
    if not isinstance(keys, list):
        raise TorchFormatError("the storage key list after the main pickle is missing")
    for key in keys:
        storage = storages.get(str(key))
        if storage is None:
            raise TorchFormatError(f"storage {key!r} is listed but no tensor uses it")
        header = f.read(8)
        if len(header) != 8:
            raise TorchFormatError("file ends inside the storage data; it is truncated")
        (numel,) = struct.unpack("<q", header)
        itemsize = 2 if storage.dtype == "bfloat16" else np.dtype(storage.dtype).itemsize
        raw = f.read(numel * itemsize)
        if len(raw) != numel * itemsize:
            raise TorchFormatError("file ends inside the storage data; it is truncated")
        storage.data = _as_array(raw, storage.dtype, numel)
    return result


def _load_zip(path: Path) -> Any:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pkl = next((n for n in names if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if pkl is None:
            raise TorchFormatError(f"{path.name} is a zip file without data.pkl; not a torch checkpoint")
        prefix = pkl[: -len("data.pkl")]
        byteorder = prefix + "byteorder"
        if byteorder in names and archive.read(byteorder).strip() not in (b"little", b""):
            raise TorchFormatError("big-endian torch files are not supported")

        def read_storage(key: str, dtype: str, numel: int) -> np.ndarray:
            member = f"{prefix}data/{key}"
            if member not in names:
                raise TorchFormatError(f"storage {key} is missing from the archive ({member})")
            return _as_array(archive.read(member), dtype, numel)

        return _StateDictUnpickler(io.BytesIO(archive.read(pkl)), {}, read_storage).load()


def load_state_dict(path: str | Path) -> "collections.OrderedDict[str, np.ndarray]":
    """Read a torch-saved state dict (legacy or zip layout) as an ordered dict of numpy arrays.

    Only OrderedDict, torch's tensor-rebuild functions and its storage types may appear in the
    pickle; anything else raises UnsafePickleError before it could run. A checkpoint that wraps
    the weights (`{"state_dict": {...}}`) is returned as stored, with tensors converted.
    """
    path = Path(path)
    if zipfile.is_zipfile(path):
        result = _load_zip(path)
    else:
        with open(path, "rb") as f:
            result = _load_legacy(f)
    return _materialise(result)
