"""The Open Inference Protocol (KServe / Triton "v2") view of a module's signatures.

A v2 *model* is a module's default signature (model name = module name) or another serving method
(model name = "<module>.<method>"). Each signature input is one input tensor of the same name:

    signature type                 datatype                  shape
    str, hubcore.Image (base64)    BYTES                     [1]
    int / float / bool             INT64 / FP64 / BOOL       [1]
    list[str|Image|int|...]        BYTES / INT64 / ...       [n]
    list[list[...]] (rectangular)  as above                  [n, m]
    anything else (dict, untyped)  BYTES, one JSON text      [1]

Requests may use any INT*/UINT* datatype for integers and any FP* (or INT*) for floats; `data`
is row-major, flat or nested. Optional inputs may be left out. The answer has one output tensor
named "results": a list result becomes shape [n] (BYTES of strings, INT64, FP64 or BOOL when every
element is one of those, else BYTES holding one JSON text per element, with
parameters.content_type = "json"); any other result is shape [1].

Inputs may also travel as raw bytes (the binary tensor extension tritonclient uses by default):
an `Inference-Header-Content-Length` header gives the JSON part's length, and each such input has
`parameters.binary_data_size`. Outputs are always JSON.
"""
from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any

from ..errors import InputError
from ..signatures import SERVER_DECIDES, Field, Signature, server_decides
from .config import Limits
from .request_json import parse_json
from .responses import encode_json, limit_error

INT_TYPES = ("INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8")
FLOAT_TYPES = ("FP64", "FP32", "FP16")
_SCALAR = {"string": "BYTES", "integer": "INT64", "number": "FP64", "boolean": "BOOL"}
OUTPUT_NAME = "results"
MAX_RANK = 32  # dimensions of one tensor, and nesting of its data


def model_name(module: str, signature: Signature) -> str:
    return module if signature.default else f"{module}.{signature.name}"


def split_model_name(name: str) -> tuple[str, str | None]:
    module, _, method = name.partition(".")
    return module, method or None


def tensor_form(schema: dict) -> tuple[str, int] | None:
    """(datatype, rank) of a field's tensor, or None when it travels as one JSON text."""
    options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    if len(options) != 1:
        return None
    s = options[0]
    kind = s.get("type")
    if kind in _SCALAR:
        return _SCALAR[kind], 0
    if kind == "array" and s.get("items"):
        inner = tensor_form(s["items"])
        if inner is not None:
            return inner[0], inner[1] + 1
    return None


def accepted_datatypes(datatype: str) -> tuple[str, ...]:
    if datatype == "INT64":
        return INT_TYPES
    if datatype == "FP64":
        return FLOAT_TYPES + INT_TYPES
    return (datatype,)


def metadata_tensor(name: str, schema: dict) -> dict:
    form = tensor_form(schema)
    if form is None:
        return {"name": name, "datatype": "BYTES", "shape": [1]}
    datatype, rank = form
    return {"name": name, "datatype": datatype, "shape": [-1] * rank if rank else [1]}


def model_metadata(module: str, version: str, signature: Signature) -> dict:
    output = metadata_tensor(OUTPUT_NAME, signature.output)
    if output["shape"] == [1] and signature.output.get("type") == "array":
        output["shape"] = [-1]
    return {
        "name": model_name(module, signature),
        "versions": [version],
        "platform": "hubcore",
        "inputs": [metadata_tensor(f.name, f.schema) for f in signature.remote_inputs],
        "outputs": [output],
    }


# -- requests -------------------------------------------------------------------------------------
def payload_from_request(body: Any, signature: Signature, limits: Limits = Limits()) -> dict:
    """Turn a v2 infer request into the JSON payload Signature.bind expects; InputError when malformed.

    Shapes are checked against the data and limits.max_request_items before any list is built.
    """
    if not isinstance(body, dict):
        raise InputError('infer request must be a JSON object with "inputs": [{"name", "datatype", "shape", "data"}]')
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise InputError('infer request needs "inputs": a list of tensors {"name", "datatype", "shape", "data"}')
    if "id" in body and not isinstance(body["id"], str):
        raise InputError('"id" must be a string')
    if not isinstance(body.get("parameters", {}), dict):
        raise InputError('"parameters" must be an object')
    outputs = body.get("outputs", [])
    if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
        raise InputError('"outputs" must be a list of objects like {"name": "results"}')
    payload: dict = {}
    for i, tensor in enumerate(inputs):
        where = f"inputs[{i}]"
        if not isinstance(tensor, dict):
            raise InputError(f"{where} must be an object with name, datatype, shape and data")
        name = tensor.get("name")
        if not isinstance(name, str):
            raise InputError(f"{where}.name must be a string naming an input of {signature.name}")
        if name in payload:
            raise InputError(f"input {name!r} is given twice")
        try:
            field = signature.field(name)
        except KeyError:
            raise InputError(f"{signature.name}: unknown input {name!r}; inputs: "
                             f"{[f.name for f in signature.remote_inputs]}") from None
        if field.kind == SERVER_DECIDES:
            raise server_decides(signature.name, name)
        payload[name] = tensor_value(tensor, field, f"input {name!r}", limits)
    return payload


def tensor_value(tensor: dict, field: Field, where: str, limits: Limits = Limits()) -> Any:
    datatype, shape, data = tensor.get("datatype"), tensor.get("shape"), tensor.get("data")
    if not isinstance(tensor.get("parameters", {}), dict):
        raise InputError(f"{where}: parameters must be an object")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise InputError(f"{where}: shape must be a list of non-negative integers, e.g. [2]")
    if len(shape) > MAX_RANK:
        raise InputError(f"{where}: shape has {len(shape)} dimensions; at most {MAX_RANK}")
    if not isinstance(data, list):
        raise InputError(f"{where}: data must be a list (row-major, flat or nested)")
    flat = _flatten(data, where)
    _check_shape(shape, len(flat), where, limits)
    form = tensor_form(field.schema)
    if form is None:
        if datatype != "BYTES" or len(flat) != 1:
            raise InputError(f"{where}: send this input as datatype BYTES, shape [1], data [JSON text]")
        _check_elements(flat, "BYTES", where)
        return parse_json(flat[0], max_depth=limits.max_json_depth, where=f"{where} data[0]")
    expected, rank = form
    if datatype not in accepted_datatypes(expected):
        raise InputError(f"{where}: datatype must be {' or '.join(accepted_datatypes(expected))}, got {datatype!r}")
    _check_elements(flat, datatype, where)
    if rank == 0:
        if len(flat) != 1:
            raise InputError(f"{where}: takes one value (shape [1]), got shape {_shape_text(shape)}")
        return flat[0]
    if len(shape) != rank:
        raise InputError(f"{where}: expected a {rank}-dimensional tensor, got shape {_shape_text(shape)}")
    if shape[0] > limits.max_request_items:
        raise limit_error(422, "max_request_items", limits.max_request_items,
                          f"{where} has {shape[0]} items (shape {_shape_text(shape)}); split the request")
    return _reshape(flat, shape)


def _check_shape(shape: list[int], count: int, where: str, limits: Limits) -> None:
    """shape must hold exactly `count` elements, and building it must not take more lists than that.

    A zero dimension makes any shape hold 0 elements, so [10**18, 0] would have _reshape build 10**18
    empty rows from 297 bytes; the dimensions before a zero are bounded by max_request_items instead.
    """
    shown = _shape_text(shape)
    # Cheap whatever was sent: at most MAX_RANK factors of at most 4300 digits (Python's JSON integers).
    total = math.prod(shape)
    if total != count:
        held = total if total < 10 ** 18 else "more than 10**18"
        raise InputError(f"{where}: shape {shown} holds {held} elements but data has {count}")
    if count:
        return  # no zero dimension: _reshape builds fewer lists than there are elements
    rows = 1
    for d in shape:
        if d == 0:
            break
        rows *= d
        if rows > limits.max_request_items:
            raise limit_error(422, "max_request_items", limits.max_request_items,
                              f"{where}: shape {shown} describes more than {limits.max_request_items} "
                              f"empty rows")


def _shape_text(shape: list[int]) -> str:
    text = repr(shape)
    return text if len(text) <= 120 else text[:117] + "..."


def _flatten(data: list, where: str, depth: int = 0) -> list:
    if depth > MAX_RANK:
        raise InputError(f"{where}: data is nested too deeply")
    if not any(type(item) is list for item in data):
        return data  # already flat, as most clients send it
    out: list = []
    for item in data:
        if isinstance(item, list):
            out.extend(_flatten(item, where, depth + 1))
        else:
            out.append(item)
    return out


def _check_elements(flat: list, datatype: str, where: str) -> None:
    # JSON and the binary extension give exact str/bool/int/float values: one type lookup each.
    exact = (str,) if datatype == "BYTES" else (bool,) if datatype == "BOOL" else \
        (int,) if datatype in INT_TYPES else (int, float)
    if not all(type(v) in exact for v in flat):
        raise InputError(f"{where}: data holds values that are not {datatype}")


def _reshape(flat: list, shape: list[int]) -> list:
    if len(shape) == 1:
        return list(flat)
    step = math.prod(shape[1:])
    return [_reshape(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


# -- the binary tensor extension ------------------------------------------------------------------
BINARY_HEADER = "inference-header-content-length"
_STRUCT = {"BOOL": "?", "INT8": "b", "INT16": "h", "INT32": "i", "INT64": "q", "UINT8": "B", "UINT16": "H",
           "UINT32": "I", "UINT64": "Q", "FP16": "e", "FP32": "f", "FP64": "d"}


def attach_binary_data(body: Any, binary: bytes, signature: Signature) -> None:
    """Fill `data` of inputs sent as raw bytes (parameters.binary_data_size), in order, from binary.

    BYTES elements are 4-byte little-endian lengths followed by the bytes; image inputs get them
    base64-encoded (as JSON clients send them), other string inputs decoded as UTF-8.
    """
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        return  # payload_from_request reports the malformed request
    offset = 0
    for i, tensor in enumerate(inputs):
        params = tensor.get("parameters") if isinstance(tensor, dict) else None
        size = params.get("binary_data_size") if isinstance(params, dict) else None
        if size is None:
            continue
        where = f"inputs[{i}]"
        if not isinstance(size, int) or isinstance(size, bool) or size < 0 or offset + size > len(binary):
            raise InputError(f"{where}: binary_data_size {size!r} does not fit the {len(binary)} bytes sent")
        chunk, offset = binary[offset:offset + size], offset + size
        datatype = tensor.get("datatype")
        if datatype == "BYTES":
            field = next((f for f in signature.inputs if f.name == tensor.get("name")), None)
            tensor["data"] = _bytes_elements(chunk, where, image=field is not None and field.kind == "image")
        elif datatype in _STRUCT:
            width = struct.calcsize(_STRUCT[datatype])
            if len(chunk) % width:
                raise InputError(f"{where}: {len(chunk)} bytes is not a whole number of {datatype} values")
            tensor["data"] = [v for (v,) in struct.iter_unpack("<" + _STRUCT[datatype], chunk)]
        else:
            raise InputError(f"{where}: datatype {datatype!r} cannot be sent as binary data")
    if offset != len(binary):
        raise InputError(f"{len(binary) - offset} bytes after the last binary input; check binary_data_size")


def _bytes_elements(chunk: bytes, where: str, *, image: bool) -> list[str]:
    out, offset = [], 0
    while offset < len(chunk):
        if offset + 4 > len(chunk):
            raise InputError(f"{where}: truncated BYTES element length")
        (length,) = struct.unpack_from("<I", chunk, offset)
        item = chunk[offset + 4:offset + 4 + length]
        if len(item) != length:
            raise InputError(f"{where}: BYTES element {len(out)} is shorter than its length prefix")
        offset += 4 + length
        if image:
            out.append(base64.b64encode(item).decode("ascii"))
        else:
            try:
                out.append(item.decode("utf-8"))
            except UnicodeDecodeError:
                raise InputError(f"{where}: BYTES element {len(out)} is not UTF-8 text") from None
    return out


# -- responses ------------------------------------------------------------------------------------
def infer_response(name: str, version: str, request_id: str | None, result: Any) -> dict:
    plain = json.loads(encode_json(result))  # numpy values and tuples become plain JSON values
    out = {"model_name": name, "model_version": version, "outputs": [output_tensor(plain)]}
    if request_id is not None:
        out["id"] = request_id
    return out


def output_tensor(result: Any) -> dict:
    elements = result if isinstance(result, list) else [result]
    tensor = {"name": OUTPUT_NAME, "shape": [len(elements)]}
    if elements and all(isinstance(v, str) for v in elements):
        tensor.update(datatype="BYTES", data=elements)
    elif elements and all(isinstance(v, bool) for v in elements):
        tensor.update(datatype="BOOL", data=elements)
    elif elements and all(isinstance(v, int) and not isinstance(v, bool) for v in elements):
        tensor.update(datatype="INT64", data=elements)
    elif elements and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in elements):
        tensor.update(datatype="FP64", data=[float(v) for v in elements])
    else:
        tensor.update(datatype="BYTES", data=[json.dumps(v, ensure_ascii=False) for v in elements],
                      parameters={"content_type": "json"})
    return tensor
