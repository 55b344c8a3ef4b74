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
import math
import pickle
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import ArtifactError, HubError
from .budget import BoundedFile, Budget, describe, naming, shape_numel
from .safe_pickle import Charged, RestrictedUnpickler, materialise, new_dict

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


def _itemsize(dtype: str) -> int:
    return 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize


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

    def to_numpy(self, budget: Budget) -> np.ndarray:
        buf = self.storage.data
        if buf is None:
            raise TorchFormatError("a tensor refers to a storage whose bytes are missing from the file")
        numel = math.prod(self.shape)
        budget.spend_memory(numel * buf.dtype.itemsize, f"a tensor of shape {self.shape}")
        if numel == 0:
            return np.zeros(self.shape, dtype=buf.dtype)
        last = self.offset + sum((n - 1) * s for n, s in zip(self.shape, self.stride))
        if self.offset < 0 or last >= buf.shape[0] or any(s < 0 for s in self.stride):
            raise TorchFormatError(f"a tensor of shape {self.shape} at offset {self.offset} reaches outside its "
                                   f"storage ({buf.shape[0]} elements); the file is corrupt")
        item = buf.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(buf[self.offset:], shape=self.shape,
                                               strides=tuple(s * item for s in self.stride), writeable=False)
        return np.ascontiguousarray(view)


def _small_int(value: Any, what: str) -> int:
    if not (type(value) is int and 0 <= value < 1 << 62):
        raise TorchFormatError(f"{what} is {describe(value)}, not an integer from 0 to 2**62")
    return value


def _storage_key(key: Any) -> str:
    if not (isinstance(key, str) and len(key) <= 100) and not (type(key) is int and 0 <= key < 1 << 62):
        raise TorchFormatError(f"a storage key is {describe(key)}, not a short name")
    return str(key)


def _rebuild_tensor(storage: _Storage, offset: int, shape: tuple, stride: tuple, *_ignored: Any) -> _LazyTensor:
    # Covers _rebuild_tensor (4 args) and _rebuild_tensor_v2 (+requires_grad, hooks, metadata).
    if not isinstance(storage, _Storage):
        raise TorchFormatError("a tensor was built from something that is not a storage")
    shape, _ = shape_numel(shape, TorchFormatError)
    if not (isinstance(stride, (tuple, list)) and len(stride) == len(shape)):
        raise TorchFormatError(f"a tensor of shape {shape} has strides {describe(stride)}, not {len(shape)} of them")
    stride = tuple(_small_int(s, "a tensor stride") for s in stride)
    return _LazyTensor(storage, _small_int(offset, "a tensor's storage offset"), shape, stride)


def _rebuild_parameter(data: _LazyTensor, *_ignored: Any) -> _LazyTensor:
    return data


_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): Charged(lambda budget, *args: new_dict(budget, collections.OrderedDict, *args)),
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
}

ZipReader = Callable[[str, str, int], np.ndarray]  # (storage key, dtype, element count) -> its elements


class _StateDictUnpickler(RestrictedUnpickler):
    def __init__(self, file: BoundedFile, budget: Budget, storages: dict[str, _Storage],
                 zip_reader: ZipReader | None = None) -> None:
        # BUILD may set an OrderedDict's attributes (torch's `_metadata`), never a stand-in's: the storage
        # types are shared by every file this process reads
        super().__init__(file, budget, _ALLOWED_GLOBALS, unsafe=UnsafePickleError,
                         buildable=(collections.OrderedDict,))
        self._storages = storages
        self._zip_reader = zip_reader

    def refuse(self, module: str, name: str) -> UnsafePickleError:
        return UnsafePickleError(
            f"{self.budget.path}: refusing to load global {module[:100]}.{name[:100]}: a plain torch state dict "
            f"only needs OrderedDict, tensor-rebuild functions and storage types. This file may run code when "
            f"loaded with torch; re-save it with torch.save(model.state_dict(), path)")

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise UnsafePickleError(f"unsupported persistent id ({describe(pid)}); only tensor storages are allowed")
        storage_type, key, _location, numel = pid[1:5]
        view = pid[5] if len(pid) > 5 else None
        if not isinstance(storage_type, _StorageType):
            raise UnsafePickleError("a storage's type is not one of torch's storage classes")
        key = _storage_key(key)
        numel = _small_int(numel, f"the element count of storage {key}")
        if key not in self._storages:
            storage = _Storage(storage_type.dtype, numel)
            if self._zip_reader is not None:
                storage.data = self._zip_reader(key, storage_type.dtype, numel)
            self._storages[key] = storage
        storage = self._storages[key]
        if view is not None:  # pre-1.0 files: a storage view (view_key, offset, size)
            if storage.data is None:
                raise TorchFormatError("storage views in legacy files are not supported; re-save with torch >= 1.0")
            if not (isinstance(view, tuple) and len(view) == 3):
                raise TorchFormatError(f"a storage view is {describe(view)}, not (key, offset, size)")
            offset, size = _small_int(view[1], "a storage view's offset"), _small_int(view[2], "a storage view's size")
            if offset + size > storage.data.shape[0]:
                raise TorchFormatError(f"a storage view of {size} elements at {offset} reaches outside storage {key}")
            return _Storage(storage.dtype, size, storage.data[offset:offset + size])
        return storage


def _as_array(raw: bytes | memoryview, dtype: str, numel: int) -> np.ndarray:
    if dtype == "bfloat16":
        halves = np.frombuffer(raw, dtype="<u2", count=numel)
        return (halves.astype(np.uint32) << 16).view(np.float32)
    return np.frombuffer(raw, dtype=np.dtype(dtype), count=numel)


def _load_legacy(f: BoundedFile, budget: Budget) -> Any:
    def header_pickle() -> Any:
        return _StateDictUnpickler(f, budget, {}).load()

    try:
        magic = header_pickle()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        if isinstance(exc, HubError):
            raise
        raise TorchFormatError(f"not a torch state dict (legacy layout): {exc}") from None
    if type(magic) is not int or magic != LEGACY_MAGIC:
        raise TorchFormatError("not a torch file: wrong magic number")
    header_pickle()  # protocol version
    header_pickle()  # system info (endianness, type sizes)
    storages: dict[str, _Storage] = {}
    result = _StateDictUnpickler(f, budget, storages).load()
    keys = _StateDictUnpickler(f, budget, {}).load()
    if not isinstance(keys, list):
        raise TorchFormatError("the storage key list after the main pickle is missing")
    for key in keys:
        key = _storage_key(key)
        storage = storages.get(key)
        if storage is None:
            raise TorchFormatError(f"storage {key!r} is listed but no tensor uses it")
        (numel,) = struct.unpack("<q", f.read_exact(8, "a storage's element count"))
        if numel < 0:
            raise TorchFormatError(f"a storage claims {numel} elements")
        # read_exact refuses a count the rest of the file cannot hold, before allocating it
        raw = f.read_exact(numel * _itemsize(storage.dtype), f"storage {key} ({numel} elements)")
        storage.data = _as_array(raw, storage.dtype, numel)
    return result


# What a damaged archive raises from zipfile and the decompressors.
_ZIP_ERRORS: tuple[type[BaseException], ...] = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError,
                                                RuntimeError, OSError, ValueError, struct.error)
try:
    import lzma

    _ZIP_ERRORS += (lzma.LZMAError,)
except ImportError:  # python built without lzma: such members cannot be read at all
    pass


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget) -> bytes:
    budget.spend_memory(info.file_size, f"archive member {info.filename} ({info.file_size} bytes uncompressed)")
    try:
        return archive.read(info)
    except _ZIP_ERRORS as exc:
        raise TorchFormatError(f"archive member {info.filename} is damaged ({type(exc).__name__}: {exc}); "
                               f"download the file again") from None


def _load_zip(path: Path, budget: Budget) -> Any:
    try:
        archive = zipfile.ZipFile(path)
    except _ZIP_ERRORS as exc:
        raise TorchFormatError(f"{path} is a damaged zip archive ({type(exc).__name__}: {exc}); "
                               f"download the file again") from None
    with archive:
        members = archive.NameToInfo  # a dict: a lookup per storage, not a scan
        pkl = next((n for n in members if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if pkl is None:
            raise TorchFormatError(f"{path.name} is a zip file without data.pkl; not a torch checkpoint")
        prefix = pkl[: -len("data.pkl")]
        byteorder = members.get(prefix + "byteorder")
        if byteorder is not None and byteorder.file_size <= 16:
            if _read_member(archive, byteorder, budget).strip() not in (b"little", b""):
                raise TorchFormatError("big-endian torch files are not supported")

        def read_storage(key: str, dtype: str, numel: int) -> np.ndarray:
            info = members.get(f"{prefix}data/{key}")
            if info is None:
                raise TorchFormatError(f"storage {key} is missing from the archive ({prefix}data/{key})")
            needed = numel * _itemsize(dtype)
            if info.file_size < needed:
                raise TorchFormatError(f"storage {key} holds {info.file_size} bytes but the pickle says it has "
                                       f"{numel} elements ({needed} bytes); the file is corrupt")
            return _as_array(_read_member(archive, info, budget), dtype, numel)

        data = _read_member(archive, members[pkl], budget)
        return _StateDictUnpickler(BoundedFile(io.BytesIO(data), len(data), budget), budget, {}, read_storage).load()


def load_state_dict(path: str | Path) -> "collections.OrderedDict[str, np.ndarray]":
    """Read a torch-saved state dict (legacy or zip layout) as an ordered dict of numpy arrays.

    Only OrderedDict, torch's tensor-rebuild functions and its storage types may appear in the
    pickle; anything else raises UnsafePickleError before it could run. A checkpoint that wraps
    the weights (`{"state_dict": {...}}`) is returned as stored, with tensors converted. Memory
    and work are bounded by the file's size (hubcore.formats.budget): a file claiming more than
    it holds is a TorchFormatError naming it.
    """
    path = Path(path)
    with naming(path, TorchFormatError, "torch state dict"):
        budget = Budget.for_file(path, TorchFormatError)
        with open(path, "rb") as f:
            starts_as_zip = f.read(4) == b"PK\x03\x04"
        if starts_as_zip or zipfile.is_zipfile(path):  # a zip cut short has no directory but keeps its start
            result = _load_zip(path, budget)
        else:
            with open(path, "rb") as f:
                result = _load_legacy(BoundedFile(f, budget.size, budget), budget)
        return materialise(result, {_LazyTensor: lambda tensor: tensor.to_numpy(budget)}, budget,
                           mapping=collections.OrderedDict)
