"""Read PaddlePaddle's own weight files into numpy arrays without running anything they contain.

Three on-disk forms are understood, all read with numpy and the standard library only (paddle is
never imported, `pickle.load`/`paddle.load` never called):

  - `.pdparams` (`paddle.save(layer.state_dict())`, `fluid.save`): a pickle of {name: ndarray}.
    Read with a restricted unpickler whose only globals are harmless stand-ins for numpy's array
    reconstruction (`_reconstruct`, `ndarray`, `dtype`, `_frombuffer`), `OrderedDict`, and
    protocol 2's latin-1 `_codecs.encode` for raw bytes; arrays
    are rebuilt here from their raw bytes, and only plain numeric dtypes are accepted.
  - `.pdiparams` / `__params__` (combined) and per-variable files (`__model__` folders): a stream
    of serialized LoDTensors, each: uint32 version, uint64 LoD level count + levels (uint64 byte
    size + offsets), uint32 tensor version, int32 TensorDesc size + TensorDesc protobuf (data
    type, dims), then the raw little-endian data.
  - the program next to them (`.pdmodel` / `__model__`: a ProgramDesc protobuf; `.json`: paddle
    3's PIR program), read only for parameter names, shapes and the order in which ops use them.
    A combined file holds no names: `save_inference_model` writes the persistable variables sorted
    by name, so names are assigned in that order and every shape is checked against the program.
"""
from __future__ import annotations

import json
import pickle
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..errors import ArtifactError
from .budget import MAX_RANK, BoundedFile, Budget, describe, naming, shape_numel
from .safe_pickle import Charged, RestrictedUnpickler, materialise, new_dict, new_list

# VarType.Type codes of framework.proto -> numpy dtype
_PADDLE_DTYPES = {
    0: np.dtype("bool"), 1: np.dtype("<i2"), 2: np.dtype("<i4"), 3: np.dtype("<i8"),
    4: np.dtype("<f2"), 5: np.dtype("<f4"), 6: np.dtype("<f8"), 20: np.dtype("u1"), 21: np.dtype("i1"),
    23: np.dtype("<c8"), 24: np.dtype("<c16"),
}
_BF16 = 22  # no numpy dtype: widened to float32 on read
_LOD_TENSOR, _FEED, _FETCH = 7, 9, 10
_NUMERIC_KINDS = "biufc"
_MAX_DESC_BYTES = 1 << 20
_MAX_LOD_LEVELS = 64
_BIG_PARAM_KEY = "UnpackBigParamInfor@@"  # paddle 2.0/2.1 split huge arrays into slices under protocol 2/3
_STRUCTURED_KEY = "StructuredToParameterName@@"


class PaddleFormatError(ArtifactError):
    """The file is not a Paddle weight file this reader understands (truncated, unknown layout)."""


class UnsafePickleError(PaddleFormatError, pickle.UnpicklingError):
    """The .pdparams pickle names a global outside the allowlist: it is not a plain state dict."""


# -- .pdparams: restricted unpickling ------------------------------------------------------------

class _DtypeStub:
    """Stand-in for numpy.dtype: records the type code and byte order from the pickle."""

    code: Any = None  # class defaults: NEWOBJ creates one without __init__
    byteorder: Any = "|"

    def __init__(self, code: Any = "f4", align: Any = False, copy: Any = True) -> None:
        if not (isinstance(code, str) and 0 < len(code) <= 8):
            raise UnsafePickleError(f"numpy dtype given as {describe(code)}, expected a type code string")
        self.code = code

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) >= 2 and isinstance(state[1], str):
            self.byteorder = state[1]

    def resolve(self) -> np.dtype:
        if not isinstance(self.code, str):
            raise PaddleFormatError("a numpy dtype in the pickle has no type code")
        order = {"|": "", "=": "<"}.get(self.byteorder, self.byteorder)
        try:
            dtype = np.dtype(order + self.code) if self.code[0] not in "<>|=" else np.dtype(self.code)
        except (TypeError, ValueError):
            raise PaddleFormatError(f"unknown numpy dtype code {describe(self.code)}") from None
        if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
            raise UnsafePickleError(f"array dtype {dtype} is not a plain numeric type; refusing it")
        return dtype


class _ArrayStub:
    """Stand-in for the ndarray numpy's pickle builds; turned into a real array after loading."""

    state: Any = None

    def __init__(self, *args: Any) -> None:
        self.state = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def to_array(self, budget: Budget) -> np.ndarray:
        if not (isinstance(self.state, tuple) and len(self.state) == 5):
            raise PaddleFormatError("malformed numpy array in .pdparams (no array state)")
        _version, shape, dtype, fortran, raw = self.state
        if not isinstance(dtype, _DtypeStub):
            raise PaddleFormatError("malformed numpy array in .pdparams (no dtype)")
        if isinstance(raw, str):  # Python 2 pickles (fluid 1.x) hold raw data as a latin-1 str
            budget.spend_memory(len(raw), f"an array's {len(raw)} bytes")
            raw = raw.encode("latin1")
        if not isinstance(raw, (bytes, bytearray)):
            raise UnsafePickleError("array data is not raw bytes (object arrays are refused)")
        return _array_from_bytes(raw, dtype.resolve(), shape, "F" if fortran else "C", budget)


def _array_from_bytes(raw: bytes | bytearray, dtype: np.dtype, shape: Any, order: str, budget: Budget) -> np.ndarray:
    shape, numel = shape_numel(shape, PaddleFormatError)
    if len(raw) != numel * dtype.itemsize:
        raise PaddleFormatError(f"array of shape {shape} and dtype {dtype} needs {numel * dtype.itemsize} bytes, "
                                f"the file holds {len(raw)}")
    budget.spend_memory(len(raw), f"an array of shape {shape}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape, order=order).copy()


def _frombuffer_stub(budget: Budget, buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    # numpy's pickle protocol 5 path: numpy.core.numeric._frombuffer(buf, dtype, shape, order)
    if not isinstance(dtype, _DtypeStub) or not isinstance(buffer, (bytes, bytearray)):
        raise UnsafePickleError("malformed protocol-5 numpy array in .pdparams")
    return _array_from_bytes(buffer, dtype.resolve(), shape, "F" if order == "F" else "C", budget)


def _scalar_stub(budget: Budget, dtype: Any, data: Any) -> Any:
    # numpy.core.multiarray.scalar(dtype, raw bytes): a numpy scalar (a step count, a learning rate)
    if not isinstance(dtype, _DtypeStub) or not isinstance(data, (bytes, bytearray)):
        raise UnsafePickleError("malformed numpy scalar in .pdparams")
    return _array_from_bytes(data, dtype.resolve(), (), "C", budget)[()]


def _latin1_bytes(budget: Budget, text: Any, encoding: Any = "latin1") -> bytes:
    # Protocol 2 stores bytes as _codecs.encode(str, "latin1"); nothing else is allowed through.
    if not (isinstance(text, str) and isinstance(encoding, str) and encoding.replace("-", "").lower() == "latin1"):
        raise UnsafePickleError("_codecs.encode used for something other than latin-1 bytes")
    budget.spend_memory(len(text), f"{len(text)} bytes of array data")
    return text.encode("latin1")


_DICT = Charged(lambda budget, *args: new_dict(budget, dict, *args))
_LIST = Charged(new_list)
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _ArrayStub,
    ("numpy._core.multiarray", "_reconstruct"): _ArrayStub,
    ("numpy", "ndarray"): _ArrayStub,
    ("numpy", "dtype"): _DtypeStub,
    ("numpy.core.multiarray", "scalar"): Charged(_scalar_stub),
    ("numpy._core.multiarray", "scalar"): Charged(_scalar_stub),
    ("numpy.core.numeric", "_frombuffer"): Charged(_frombuffer_stub),
    ("numpy._core.numeric", "_frombuffer"): Charged(_frombuffer_stub),
    ("collections", "OrderedDict"): _DICT,
    ("_codecs", "encode"): Charged(_latin1_bytes),
    ("builtins", "dict"): _DICT,
    ("builtins", "list"): _LIST,
    ("__builtin__", "dict"): _DICT,  # protocol-2 pickles written by Python 2 (fluid 1.x)
    ("__builtin__", "list"): _LIST,
}


class _PaddleUnpickler(RestrictedUnpickler):
    def __init__(self, file: BoundedFile, budget: Budget) -> None:
        super().__init__(file, budget, _ALLOWED_GLOBALS, unsafe=UnsafePickleError,
                         buildable=(_ArrayStub, _DtypeStub), encoding="latin1")

    def refuse(self, module: str, name: str) -> UnsafePickleError:
        return UnsafePickleError(
            f"{self.budget.path}: the file asks to run {module[:100]}.{name[:100]} while loading; a plain Paddle "
            f"state dict only needs numpy arrays, so it is refused (it may be a program pickle, or a malicious file)")


def _unpickle(path: Path, budget: Budget) -> Any:
    with open(path, "rb") as f:
        return _PaddleUnpickler(BoundedFile(f, budget.size, budget), budget).load()


def read_pdparams(path: str | Path) -> dict[str, np.ndarray]:
    """{parameter name: array} from a .pdparams file, in the order the file stores them."""
    path = Path(path)
    with naming(path, PaddleFormatError, ".pdparams pickle"):
        budget = Budget.for_file(path, PaddleFormatError)
        data = materialise(_unpickle(path, budget), {_ArrayStub: lambda stub: stub.to_array(budget)}, budget)
        if not isinstance(data, dict):
            raise PaddleFormatError(f"{path} holds a {type(data).__name__}, not a {{name: array}} state dict")
        data.pop(_STRUCTURED_KEY, None)
        data = _join_big_params(data, budget)
        out: dict[str, np.ndarray] = {}
        for name, value in data.items():
            if isinstance(value, np.ndarray):
                out[str(name)] = value
            elif isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], np.ndarray):
                out[str(name)] = value[1]  # paddle 2.0 saved some tensors as (name, array)
        if not out:
            raise PaddleFormatError(f"{path} holds no arrays; is it an optimizer state or an empty dict?")
        return out


def _join_big_params(data: dict, budget: Budget) -> dict:
    info = data.pop(_BIG_PARAM_KEY, None)
    if not info:
        return data
    if not isinstance(info, dict):
        raise PaddleFormatError(f"{_BIG_PARAM_KEY} is {describe(info)}, not a dict of sliced parameters")
    for name, meta in info.items():
        slices = meta.get("slices") if isinstance(meta, dict) else None
        if not (isinstance(slices, list) and all(isinstance(part, str) for part in slices)):
            raise PaddleFormatError(f"cannot reassemble sliced parameter {describe(name)}: no list of slice names")
        missing = [part for part in slices if not isinstance(data.get(part), np.ndarray)]
        if missing:
            raise PaddleFormatError(f"cannot reassemble sliced parameter {describe(name)}: slice "
                                    f"{describe(missing[0])} is not an array in the file")
        parts = [data.pop(part) for part in slices]
        budget.spend_memory(sum(p.nbytes for p in parts), f"reassembling sliced parameter {describe(name)}")
        shape, _ = shape_numel(meta.get("OriginShape"), PaddleFormatError)
        try:
            data[name] = np.concatenate([p.ravel() for p in parts]).reshape(shape)
        except ValueError as exc:
            raise PaddleFormatError(f"cannot reassemble sliced parameter {describe(name)}: {exc}") from None
    return data


def read_pdiparams_info(path: str | Path) -> dict[str, str]:
    """{parameter name: structured name} from the `.pdiparams.info` file `paddle.jit.save` writes."""
    path = Path(path)
    with naming(path, PaddleFormatError, ".pdiparams.info pickle"):
        budget = Budget.for_file(path, PaddleFormatError)
        raw = _unpickle(path, budget)
    out = {}
    if isinstance(raw, dict):
        for name, meta in raw.items():
            if isinstance(meta, dict) and isinstance(meta.get("structured_name"), str):
                out[str(name)] = meta["structured_name"]
    return out


# -- protobuf wire format (just enough for TensorDesc and ProgramDesc) -----------------------------

def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise PaddleFormatError("truncated protobuf varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise PaddleFormatError("protobuf varint longer than 10 bytes")


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) for each field: ints for varints, bytes for the rest."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire in (1, 2, 5):
            if wire == 2:
                size, pos = _varint(buf, pos)
            else:
                size = 8 if wire == 1 else 4
            if pos + size > len(buf):
                raise PaddleFormatError("truncated protobuf field")
            value, pos = buf[pos:pos + size], pos + size
        else:
            raise PaddleFormatError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _nested(wire: int, value: Any, what: str) -> bytes:
    """A length-delimited field's bytes (a sub-message or a string); a field of another wire type is an error."""
    if wire != 2:
        raise PaddleFormatError(f"protobuf field {what} has wire type {wire}, not a length-delimited value")
    return value


def _text(wire: int, value: Any, what: str) -> str:
    return _nested(wire, value, what).decode("utf-8", "replace")


def _int64s(wire: int, value: Any) -> list[int]:
    if wire == 0:
        return [_signed64(value)]
    value = _nested(wire, value, "dims")
    out, pos = [], 0  # packed repeated
    while pos < len(value):
        v, pos = _varint(value, pos)
        out.append(_signed64(v))
        if len(out) > MAX_RANK:
            raise PaddleFormatError(f"a tensor claims more than {MAX_RANK} dimensions")
    return out


def _tensor_desc(buf: bytes) -> tuple[int, list[int]]:
    dtype, dims = None, []
    for number, wire, value in _fields(buf):
        if number == 1 and wire == 0:
            dtype = value
        elif number == 2:
            dims.extend(_int64s(wire, value))
            if len(dims) > MAX_RANK:
                raise PaddleFormatError(f"a tensor claims more than {MAX_RANK} dimensions")
    if dtype is None:
        raise PaddleFormatError("TensorDesc without a data type")
    return dtype, dims


# -- LoDTensor streams (.pdiparams, __params__, per-variable files) ---------------------------------

def _read_lod_tensor(f: BoundedFile) -> np.ndarray | None:
    """One serialized LoDTensor, or None at a clean end of file."""
    if f.left == 0:
        return None
    (version,) = struct.unpack("<I", f.read_exact(4, "tensor header"))
    if version != 0:
        raise PaddleFormatError(f"unknown LoDTensor version {version} (expected 0); not a Paddle parameter file?")
    (levels,) = struct.unpack("<Q", f.read_exact(8, "LoD level count"))
    if levels > _MAX_LOD_LEVELS:
        raise PaddleFormatError(f"implausible LoD level count {levels}; not a Paddle parameter file?")
    for _ in range(levels):
        (size,) = struct.unpack("<Q", f.read_exact(8, "LoD level size"))
        f.read_exact(size, "LoD offsets")
    (tensor_version,) = struct.unpack("<I", f.read_exact(4, "tensor version"))
    if tensor_version != 0:
        raise PaddleFormatError(f"unknown tensor version {tensor_version} (expected 0)")
    (desc_size,) = struct.unpack("<i", f.read_exact(4, "TensorDesc size"))
    if not 0 < desc_size <= _MAX_DESC_BYTES:
        raise PaddleFormatError(f"implausible TensorDesc size {desc_size}")
    code, dims = _tensor_desc(f.read_exact(desc_size, "TensorDesc"))
    if any(d < 0 for d in dims):
        raise PaddleFormatError(f"stored tensor has a negative dimension {dims}")
    shape, numel = shape_numel(dims, PaddleFormatError)
    if code == _BF16:
        raw = f.read_exact(numel * 2, "bfloat16 data")
        widened = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return widened.view(np.float32).reshape(shape)
    dtype = _PADDLE_DTYPES.get(code)
    if dtype is None:
        raise PaddleFormatError(f"unsupported tensor data type code {code}")
    raw = f.read_exact(numel * dtype.itemsize, "tensor data")  # refused before reading if past the end
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def read_tensor_stream(path: str | Path) -> list[np.ndarray]:
    """Every tensor of a combined parameter file (or the single one of a per-variable file), in order."""
    out = []
    with naming(path, PaddleFormatError, "Paddle parameter file"):
        budget = Budget.for_file(path, PaddleFormatError)
        with open(path, "rb") as f:
            stream = BoundedFile(f, budget.size, budget)
            while (tensor := _read_lod_tensor(stream)) is not None:
                out.append(tensor)
        if not out:
            raise PaddleFormatError(f"{path} is empty")
    return out


# -- programs: parameter names, shapes and use order ------------------------------------------------

@dataclass(frozen=True)
class ParamInfo:
    name: str
    shape: tuple[int, ...]


@dataclass
class ProgramInfo:
    """What an inference program says about its parameters."""

    params: dict[str, ParamInfo]  # persistable tensors by name
    use_order: list[str] = field(default_factory=list)  # names in the order ops first use them

    @property
    def saved_order(self) -> list[str]:
        """The order a combined parameter file stores them in (save_inference_model sorts by name)."""
        return sorted(self.params)


# The op inputs holding parameters, in the order a paddle Layer's state_dict lists them.
_SLOT_ORDER = {
    "batch_norm": ("Scale", "Bias", "Mean", "Variance"),
    "sync_batch_norm": ("Scale", "Bias", "Mean", "Variance"),
    "instance_norm": ("Scale", "Bias"),
    "layer_norm": ("Scale", "Bias"),
    "group_norm": ("Scale", "Bias"),
}
# PIR ops take positional inputs; batch_norm's are (x, mean, variance, scale, bias).
_PIR_INPUT_ORDER = {"batch_norm": (3, 4, 1, 2), "batch_norm_": (3, 4, 1, 2), "sync_batch_norm_": (3, 4, 1, 2)}


def read_program(path: str | Path) -> ProgramInfo:
    """Parameter names, shapes and use order of a `.pdmodel`/`__model__` (protobuf) or `.json` (PIR) program."""
    path = Path(path)
    data = path.read_bytes()
    if data[:1] == b"{":
        with naming(path, PaddleFormatError, "Paddle PIR program"):
            return _read_pir_json(data, path)
    with naming(path, PaddleFormatError, "Paddle ProgramDesc"):
        try:
            return _read_program_desc(data)
        except PaddleFormatError as exc:
            raise PaddleFormatError(f"{path} is not a Paddle ProgramDesc: {exc}") from None


def _use_order(params: dict[str, ParamInfo], used: Iterator[str]) -> list[str]:
    """Parameter names in the order ops first use them, then those no op reads (rare), by name."""
    order = dict.fromkeys(name for name in used if name in params)  # a dict: ordered and O(1) to test
    return list(order) + [n for n in sorted(params) if n not in order]


def _read_program_desc(data: bytes) -> ProgramInfo:
    params: dict[str, ParamInfo] = {}
    ops: list[tuple[str, dict[str, list[str]]]] = []
    for number, wire, block in _fields(data):
        if number != 1:  # ProgramDesc.blocks
            continue
        for bnum, bwire, value in _fields(_nested(wire, block, "ProgramDesc.blocks")):
            if bnum == 3:  # BlockDesc.vars
                info = _var_desc(_nested(bwire, value, "BlockDesc.vars"))
                if info is not None:
                    params[info.name] = info
            elif bnum == 4:  # BlockDesc.ops
                ops.append(_op_desc(_nested(bwire, value, "BlockDesc.ops")))

    def used() -> Iterator[str]:
        for op_type, inputs in ops:
            preferred = _SLOT_ORDER.get(op_type, ())
            for slot in [s for s in preferred if s in inputs] + sorted(s for s in inputs if s not in preferred):
                yield from inputs[slot]

    return ProgramInfo(params=params, use_order=_use_order(params, used()))


def _var_desc(buf: bytes) -> ParamInfo | None:
    name, persistable, var_type, dims = None, False, None, []
    for number, wire, value in _fields(buf):
        if number == 1:
            name = _text(wire, value, "VarDesc.name")
        elif number == 3:
            persistable = bool(value)
        elif number == 2:  # VarType
            for tnum, twire, tval in _fields(_nested(wire, value, "VarDesc.type")):
                if tnum == 1:
                    var_type = tval
                elif tnum == 3:  # LoDTensorDesc
                    for lnum, lwire, lval in _fields(_nested(twire, tval, "VarType.lod_tensor")):
                        if lnum == 1:
                            dims = _tensor_desc(_nested(lwire, lval, "LoDTensorDesc.tensor"))[1]
    if name is None or not persistable or var_type != _LOD_TENSOR or name in ("feed", "fetch"):
        return None
    return ParamInfo(name=name, shape=tuple(dims))


def _op_desc(buf: bytes) -> tuple[str, dict[str, list[str]]]:
    op_type, inputs = "", {}
    for number, wire, value in _fields(buf):
        if number == 3:
            op_type = _text(wire, value, "OpDesc.type")
        elif number == 1:  # inputs: Var {parameter, arguments}
            slot, args = "", []
            for vnum, vwire, vval in _fields(_nested(wire, value, "OpDesc.inputs")):
                if vnum == 1:
                    slot = _text(vwire, vval, "OpDesc.Var.parameter")
                elif vnum == 2:
                    args.append(_text(vwire, vval, "OpDesc.Var.arguments"))
            inputs[slot] = args
    return op_type, inputs


def _value_id(value: Any) -> str | int | None:
    # PIR value ids key a dict: only strings and small ints, which hash cheaply and never collide by design
    if value is None or isinstance(value, str) or (type(value) is int and abs(value) < 1 << 31):
        return value
    raise PaddleFormatError(f"a PIR value id is {describe(value)}, not a small integer")


def _read_pir_json(data: bytes, path: Path) -> ProgramInfo:
    try:
        program = json.loads(data)
    except RecursionError:
        raise PaddleFormatError(f"{path}: the JSON nests too deeply to be a Paddle PIR program") from None
    except ValueError as exc:
        raise PaddleFormatError(f"{path} is not a Paddle PIR program: {exc}") from None
    try:
        ops = program["program"]["regions"][0]["blocks"][0]["ops"]
    except (KeyError, IndexError, TypeError):
        raise PaddleFormatError(f"{path} is not a Paddle PIR program: no program.regions[0].blocks[0].ops") from None
    if not isinstance(ops, list):
        raise PaddleFormatError(f"{path}: the PIR program's ops are {describe(ops)}, not a list")
    params: dict[str, ParamInfo] = {}
    by_value: dict[Any, str] = {}
    used: list[str] = []
    for op in ops:
        if not isinstance(op, dict):
            raise PaddleFormatError(f"{path}: a PIR op is {describe(op)}, not an object")
        kind = str(op.get("#", ""))
        if kind == "p":  # parameter op: attributes [..., name], output value id and type
            name = op["A"][-1]
            out = op["O"]
            shape = out.get("TT", {}).get("D", [None, []])[1]
            if not isinstance(name, str):
                raise PaddleFormatError(f"{path}: a PIR parameter's name is {describe(name)}")
            shape, _ = shape_numel(shape, PaddleFormatError)
            params[name] = ParamInfo(name=name, shape=shape)
            by_value[_value_id(out["%"])] = name
            continue
        inputs = [_value_id(i.get("%")) for i in op.get("I", []) if isinstance(i, dict)]
        positions = _PIR_INPUT_ORDER.get(kind.split(".", 1)[-1], range(len(inputs)))
        for idx in list(positions) + [i for i in range(len(inputs)) if i not in positions]:
            name = by_value.get(inputs[idx]) if idx < len(inputs) else None
            if name:
                used.append(name)
    return ProgramInfo(params=params, use_order=_use_order(params, iter(used)))


def read_inference_model(program: str | Path, params: str | Path) -> dict[str, np.ndarray]:
    """{name: array} of an inference model, in the order the program's ops use the parameters.

    params is the combined file (`.pdiparams`, `__params__`) or the folder of per-variable files
    (the `__model__` layout, one file per parameter named after it).
    """
    info = read_program(program)
    params = Path(params)
    if params.is_dir():
        arrays = {}
        for name in info.params:
            if name in ("", ".", "..") or any(c in name for c in "/\\\0"):
                raise PaddleFormatError(f"{program} names parameter {describe(name)}, which is not a plain file "
                                        f"name; refusing to look for it outside {params}")
            file = params / name
            if not file.is_file():
                raise PaddleFormatError(f"the program names parameter {name!r} but {file} does not exist")
            tensors = read_tensor_stream(file)
            if len(tensors) != 1:
                raise PaddleFormatError(f"{file} holds {len(tensors)} tensors; a per-variable file holds one")
            arrays[name] = tensors[0]
    else:
        tensors = read_tensor_stream(params)
        names = info.saved_order
        if len(tensors) != len(names):
            raise PaddleFormatError(f"{params} holds {len(tensors)} tensors but {program} declares {len(names)} "
                                    f"persistable parameters; the two files do not belong together")
        arrays = dict(zip(names, tensors))
    for name, array in arrays.items():
        declared = info.params[name].shape
        if declared and tuple(array.shape) != tuple(declared):
            raise PaddleFormatError(f"parameter {name!r} is stored with shape {tuple(array.shape)} but the program "
                                    f"declares {tuple(declared)}; the parameter file does not match the program")
    return {name: arrays[name] for name in info.use_order if name in arrays}

