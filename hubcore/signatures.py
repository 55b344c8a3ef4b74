"""Serving signatures: the named, typed inputs and outputs of a module's callable methods.

A module marks methods with `@serving` (the name PaddleHub users know). The signature is derived
from the method's type hints, defaults and docstring, so the CLI flags, the HTTP request schema and
request validation all come from one place and cannot drift from the code.
"""
from __future__ import annotations

import base64
import binascii
import inspect
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable

from .errors import InputError

_MARK = "__hub_serving__"


class Image:
    """Type marker for an image input: over HTTP a base64 string, in Python bytes/ndarray/PIL/path."""


class FilePath:
    """Type marker for a path on the caller's disk: accepted locally and by the CLI, refused over HTTP."""


class OutputDir:
    """Type marker for a folder the method writes files into (drawings, visualizations).

    In Python and `hub run` it is a folder path, as a `str` would be. Over HTTP a client may not set
    it (a 422 names it) and the method is called with None: it then writes nothing and returns its
    pictures in the reply (base64), because no client may choose where the server writes.
    """


SERVER_DECIDES = "output"  # Field.kind of an OutputDir: pinned to None over HTTP, never advertised there


def server_decides(where: str, name: str) -> InputError:
    """The refusal of a client that sets an OutputDir field."""
    return InputError(f"{where}: field {name!r} names a folder on the server, which no request may set: the "
                      f"server decides (it writes nothing; pictures come back in the reply as base64). "
                      f"Leave {name!r} out")


def serving(func: Callable | None = None, *, batch: str | None = None, default: bool = False) -> Any:
    """Mark a module method as callable by `hub run` and `hub serving`.

    batch: the list-valued input along which concurrent requests may be concatenated (dynamic
    batching); the method must return one result per element of it, in order.
    default: this is the module's default signature (what `hub run NAME` and `predict` call).
    """

    def mark(fn: Callable) -> Callable:
        setattr(fn, _MARK, {"batch": batch, "default": default})
        return fn

    return mark(func) if func is not None else mark


def runnable(func: Callable) -> Callable:
    """PaddleHub's `@runnable`: the method `hub run` calls; here the same as `@serving(default=True)`."""
    return serving(func, default=True)


@dataclass(frozen=True)
class Field:
    """One named input of a signature."""

    name: str
    schema: dict  # JSON schema of the value as it travels in JSON
    required: bool
    default: Any
    description: str
    kind: str  # "value", "image" (base64 over HTTP), "path" (refused over HTTP) or SERVER_DECIDES

    def to_dict(self) -> dict:
        out = {"name": self.name, "schema": self.schema, "required": self.required, "kind": self.kind}
        if not self.required:
            out["default"] = self.default
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Signature:
    """A callable's interface: enough to validate a request and generate an HTTP schema."""

    name: str
    inputs: tuple[Field, ...]
    output: dict
    batch_input: str | None
    default: bool
    description: str

    def field(self, name: str) -> Field:
        for f in self.inputs:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def remote_inputs(self) -> tuple[Field, ...]:
        """The inputs an HTTP client may send (what OpenAPI and v2 metadata advertise)."""
        return tuple(f for f in self.inputs if f.kind != SERVER_DECIDES)

    def request_schema(self) -> dict:
        """JSON schema of the HTTP request body: an object whose keys are the inputs a client may send."""
        props = {}
        for f in self.remote_inputs:
            schema = dict(f.schema)
            if f.description:
                schema["description"] = f.description
            if not f.required and _json_safe(f.default):
                schema["default"] = f.default
            props[f.name] = schema
        return {
            "type": "object",
            "properties": props,
            "required": [f.name for f in self.remote_inputs if f.required],
            "additionalProperties": False,
        }

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "default": self.default,
            "batch_input": self.batch_input,
            "inputs": [f.to_dict() for f in self.inputs],
            "output": self.output,
        }

    def bind(self, payload: Any, *, remote: bool) -> dict:
        """Validate a JSON-like payload and return keyword arguments for the method.

        remote=True (HTTP): images must be base64 strings and are decoded to bytes; path inputs
        are refused; OutputDir inputs are refused when sent and always passed as None. Raises
        InputError naming the field.
        """
        accepted = self.remote_inputs if remote else self.inputs
        if not isinstance(payload, dict):
            raise InputError(f"{self.name}: the request body must be a JSON object with keys "
                             f"{[f.name for f in accepted]}, got {type(payload).__name__}")
        pinned = [f.name for f in self.inputs if f.kind == SERVER_DECIDES] if remote else []
        sent = [name for name in pinned if name in payload]
        if sent:
            raise server_decides(self.name, sent[0])
        known = {f.name for f in accepted}
        unknown = sorted(set(payload) - known)
        if unknown:
            raise InputError(f"{self.name}: unknown field(s) {unknown}; accepted fields: {sorted(known)}")
        # Pinned even when the client is silent: the method's default would be a folder on the server too.
        kwargs: dict[str, Any] = dict.fromkeys(pinned)
        for f in accepted:
            if f.name not in payload:
                if f.required:
                    raise InputError(f"{self.name}: missing required field {f.name!r}")
                continue
            value = payload[f.name]
            if remote and f.kind == "path":
                raise InputError(f"{self.name}: field {f.name!r} is a file path on the server's disk and is "
                                 f"refused over HTTP; send the file's content instead")
            check_schema(value, f.schema, f"{self.name}.{f.name}")
            if remote and f.kind == "image":
                value = _decode_images(value, f"{self.name}.{f.name}")
            kwargs[f.name] = value
        return kwargs


def _json_safe(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool)) or (
        isinstance(value, (list, tuple)) and all(_json_safe(v) for v in value)
    )


def _decode_one(text: str, where: str) -> bytes:
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{where}: not valid base64; encode the image file's bytes with base64") from None


def _decode_images(value: Any, where: str) -> Any:
    if isinstance(value, str):
        return _decode_one(value, where)
    if isinstance(value, list):
        return [_decode_images(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


_JSON_TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
    "null": type(None),
}


# Exact types that certainly match a scalar schema (what JSON decodes to); anything else, such as
# bool for "integer", goes through the full check.
_EXACT_TYPES = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,)}


def check_schema(value: Any, schema: dict, where: str) -> None:
    """Check a value against the small JSON-schema subset signatures use; raise InputError."""
    if not schema:
        return
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                check_schema(value, option, where)
                return
            except InputError as exc:
                errors.append(str(exc))
        raise InputError(f"{where}: expected {describe_schema(schema)}, got {_describe_value(value)}")
    kind = schema.get("type")
    if kind is None:
        return
    expected = _JSON_TYPES[kind]
    ok = isinstance(value, expected) and not (kind in ("integer", "number") and isinstance(value, bool))
    if not ok:
        raise InputError(f"{where}: expected {describe_schema(schema)}, got {_describe_value(value)}")
    if kind == "array" and "items" in schema:
        exact = _EXACT_TYPES.get(schema["items"].get("type")) if "anyOf" not in schema["items"] else None
        if exact is not None and all(type(item) in exact for item in value):
            return  # the usual list of plain values, checked without a call and a `where` per element
        for i, item in enumerate(value):
            check_schema(item, schema["items"], f"{where}[{i}]")
    if kind == "object" and "additionalProperties" in schema and isinstance(schema["additionalProperties"], dict):
        for key, item in value.items():
            check_schema(item, schema["additionalProperties"], f"{where}[{key!r}]")


def describe_schema(schema: dict) -> str:
    if "anyOf" in schema:
        return " or ".join(describe_schema(s) for s in schema["anyOf"])
    kind = schema.get("type", "any value")
    if kind == "array" and "items" in schema:
        return f"a list of {_plural(schema['items'])}"
    return {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true/false",
            "object": "an object", "null": "null"}.get(kind, kind)


def _plural(schema: dict) -> str:
    if "anyOf" in schema or schema.get("type") == "array":
        return f"items that are each {describe_schema(schema)}"
    return {"string": "strings", "integer": "integers", "number": "numbers", "boolean": "booleans",
            "object": "objects", "null": "nulls"}.get(schema.get("type", ""), "values")


def _describe_value(value: Any) -> str:
    return {bool: "a boolean", str: "a string", int: "an integer", float: "a number", list: "a list",
            dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


def _schema_for(annotation: Any) -> tuple[dict, str]:
    """JSON schema and kind ("value"/"image"/"path"/SERVER_DECIDES) for a type annotation."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {}, "value"
    if annotation is Image:
        return {"type": "string", "contentEncoding": "base64", "format": "image"}, "image"
    if annotation is FilePath:
        return {"type": "string", "format": "path"}, "path"
    if annotation is OutputDir:
        return {"type": "string", "format": "path"}, SERVER_DECIDES
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}
    if annotation in simple:
        return {"type": simple[annotation]}, "value"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (list, tuple, typing.Sequence) or annotation in (list, tuple):
        item, kind = _schema_for(args[0]) if args else ({}, "value")
        return ({"type": "array", "items": item} if item else {"type": "array"}), kind
    if origin is dict or annotation is dict:
        value = _schema_for(args[1])[0] if len(args) == 2 else {}
        return ({"type": "object", "additionalProperties": value} if value else {"type": "object"}), "value"
    if origin is typing.Union or origin is getattr(types, "UnionType", None):
        options = [_schema_for(a) for a in args]
        kinds = {k for _, k in options if k != "value"}
        schemas = [s for s, _ in options]
        if any(not s for s in schemas):
            return {}, kinds.pop() if kinds else "value"
        return {"anyOf": schemas}, kinds.pop() if kinds else "value"
    return {}, "value"


_ARG_LINE = re.compile(r"^\s*(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


def _doc_fields(doc: str) -> tuple[str, dict[str, str]]:
    """First docstring line, and per-argument descriptions from an `Args:` section."""
    lines = inspect.cleandoc(doc or "").splitlines()
    summary = lines[0].strip() if lines else ""
    described: dict[str, str] = {}
    in_args = False
    current: str | None = None
    arg_indent = 0
    for line in lines[1:]:
        if line.strip().lower() in ("args:", "arguments:", "parameters:"):
            in_args, current = True, None
            continue
        if not in_args:
            continue
        if line and not line.startswith(" "):
            in_args = False
            continue
        indent = len(line) - len(line.lstrip())
        match = _ARG_LINE.match(line)
        if match and (current is None or indent <= arg_indent):
            current, arg_indent = match.group(1), indent
            described[current] = match.group(2).strip()
        elif current is not None and line.strip() and indent > arg_indent:
            # A continuation line, indented under its argument, belongs to that argument's text.
            described[current] += " " + line.strip()
    return summary, described


def signature_of(method: Callable) -> Signature:
    """Derive a Signature from a method marked with @serving."""
    mark = getattr(method, _MARK)
    func = getattr(method, "__func__", method)
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # unresolvable forward references: fall back to untyped fields
        hints = {}
    summary, described = _doc_fields(func.__doc__ or "")
    inputs = []
    for param in inspect.signature(func).parameters.values():
        if param.name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        schema, kind = _schema_for(hints.get(param.name, param.annotation))
        required = param.default is inspect.Parameter.empty
        inputs.append(Field(
            name=param.name,
            schema=schema,
            required=required,
            default=None if required else param.default,
            description=described.get(param.name, ""),
            kind=kind,
        ))
    names = [f.name for f in inputs]
    if mark["batch"] is not None and mark["batch"] not in names:
        raise TypeError(f"@serving(batch={mark['batch']!r}) on {func.__qualname__}: no such argument in {names}")
    output, _ = _schema_for(hints.get("return", inspect.Parameter.empty))
    return Signature(
        name=func.__name__,
        inputs=tuple(inputs),
        output=output,
        batch_input=mark["batch"],
        default=bool(mark["default"]),
        description=summary,
    )


def collect_signatures(cls: type) -> dict[str, Signature]:
    """All @serving methods of a class, in definition order (base classes first)."""
    found: dict[str, Signature] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if callable(value) and hasattr(value, _MARK):
                found[attr] = signature_of(value)
    if found and not any(s.default for s in found.values()):
        first = next(iter(found))
        s = found[first]
        found[first] = Signature(s.name, s.inputs, s.output, s.batch_input, True, s.description)
    return found


def default_signature(signatures: dict[str, Signature], module: str) -> Signature:
    """The signature `hub run` and `predict` use; NotSupported when the module serves nothing."""
    from .errors import NotSupported

    for sig in signatures.values():
        if sig.default:
            return sig
    raise NotSupported(f"module {module!r} marks no method with @serving, so it has no default signature")
