"""`hub run NAME [--FIELD VALUE ...]`: flags generated from the module's default signature.

Each input of the signature becomes `--NAME` (list inputs take several values, or one JSON list).
PaddleHub's generic flags work too: `--input_text` fills the first text input, `--input_path` the
first image or path input (an image's file is read and passed as bytes), `--input_file` the first
text input with the lines of a file. The result is printed as JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import InputError, ModuleLoadError, ModuleNotFound
from .listing import type_name
from .output import print_json

USAGE = ("usage: hub run NAME [--INPUT VALUE ...] [--input_text TEXT] [--input_path PATH] [--input_file FILE]\n"
         "                    [--signature METHOD] [--init KEY=VALUE ...]\n\n"
         "Run a module's default signature and print the result as JSON. `hub run NAME --help` lists\n"
         "the module's own flags (from its signature).")
GENERIC = ("input_text", "input_path", "input_file", "signature", "init")


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    cls, manifest = _module_class(name)
    from ..signatures import collect_signatures

    signatures = collect_signatures(cls)
    if not signatures:
        raise ModuleLoadError(f"module {name!r} marks no method with @hubcore.serving, so `hub run` has nothing to "
                              f"call")
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--signature")
    chosen = pre.parse_known_args(rest)[0].signature
    sig = _pick_signature(name, signatures, chosen)
    parser = build_run_parser(name, sig, signatures)
    args = parser.parse_args(rest)
    kwargs = bind_flags(sig, args)
    init = _init_args(args.init or [])
    import hubcore

    module = hubcore.Module(name=name, version=f"=={manifest.version}", **init)
    result = getattr(module, sig.name)(**kwargs)
    print_json(result)
    return 0


def _module_class(name: str) -> tuple[type, Any]:
    from packaging.version import Version

    from ..discovery import find_entries
    from ..loader import check_requirements, import_entry

    entries = find_entries(name)
    good = [e for e in entries if e.ok]
    if not entries:
        raise ModuleNotFound(f"no installed module named {name!r}; install it with `hub install {name}` "
                             f"(`hub list` shows what is installed)")
    if not good:
        raise ModuleLoadError(f"module {name!r} is installed but unusable: {entries[0].error}")
    entry = max(good, key=lambda e: Version(e.version))
    check_requirements(entry.manifest)
    return import_entry(entry.manifest), entry.manifest


def _pick_signature(name: str, signatures: dict, chosen: str | None) -> Any:
    if chosen is None:
        return next(s for s in signatures.values() if s.default)
    if chosen not in signatures:
        raise InputError(f"--signature {chosen!r}: module {name!r} has {sorted(signatures)}")
    return signatures[chosen]


def build_run_parser(name: str, sig: Any, signatures: dict) -> argparse.ArgumentParser:
    others = ", ".join(s for s in signatures if s != sig.name)
    epilog = f"other signatures: {others} (pick one with --signature)" if others else None
    parser = argparse.ArgumentParser(prog=f"hub run {name}", description=f"{sig.name}: {sig.description}".rstrip(": "),
                                     epilog=epilog)
    for f in sig.inputs:
        if f.name in GENERIC:
            continue
        many = array_schema(f.schema) is not None
        kind = {"image": "image file", "path": "path"}.get(f.kind, type_name(f.schema))
        default = "required" if f.required else f"default: {f.default!r}"
        parser.add_argument(f"--{f.name}", dest=f"field_{f.name}", nargs="+" if many else None, metavar="VALUE",
                            help=f"{kind}, {default}" + (f". {f.description}" if f.description else ""))
    text, path = first_text_field(sig), first_path_field(sig)
    parser.add_argument("--input_text", help=f"text for input {text.name!r}" if text else argparse.SUPPRESS)
    parser.add_argument("--input_file", help=f"a text file; its lines go to {text.name!r}" if text and
                        array_schema(text.schema) else argparse.SUPPRESS)
    parser.add_argument("--input_path", help=f"a file for input {path.name!r}" if path else argparse.SUPPRESS)
    parser.add_argument("--signature", help="run this @serving method instead of the default one"
                        if len(signatures) > 1 else argparse.SUPPRESS)
    parser.add_argument("--init", action="append", metavar="KEY=VALUE",
                        help="an argument for the module's constructor (VALUE read as JSON when it parses); repeatable")
    return parser


def array_schema(schema: dict) -> dict | None:
    """The list form of an input (`list[X]` or `list[X] | None`), or None for a single value."""
    if schema.get("type") == "array":
        return schema
    return next((s for s in schema.get("anyOf", []) if s.get("type") == "array"), None)


def _text_like(schema: dict) -> bool:
    listed = array_schema(schema)
    if listed is not None:
        return listed.get("items", {}).get("type") == "string"
    return schema.get("type") == "string" or any(s.get("type") == "string" for s in schema.get("anyOf", []))


def first_text_field(sig: Any) -> Any:
    return next((f for f in sig.inputs if f.kind == "value" and _text_like(f.schema)), None)


def first_path_field(sig: Any) -> Any:
    return next((f for f in sig.inputs if f.kind in ("image", "path")), None)


def bind_flags(sig: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for the method, converted by the signature's types; errors name the flag."""
    kwargs: dict[str, Any] = {}
    for f in sig.inputs:
        raw = getattr(args, f"field_{f.name}", None)
        if raw is not None:
            kwargs[f.name] = convert(f, raw, f"--{f.name}")
    generic = [("input_text", first_text_field(sig)), ("input_file", first_text_field(sig)),
               ("input_path", first_path_field(sig))]
    for flag, f in generic:
        raw = getattr(args, flag)
        if raw is None:
            continue
        if f is None:
            raise InputError(f"--{flag}: signature {sig.name!r} has no input it applies to; its inputs are "
                             f"{[x.name for x in sig.inputs]} (see --help)")
        if f.name in kwargs:
            raise InputError(f"--{flag} and --{f.name} give the same input {f.name!r}; use one")
        if flag == "input_file":
            try:
                lines = Path(raw).read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise InputError(f"--input_file {raw}: cannot read it ({exc.strerror})") from None
            kwargs[f.name] = [line for line in lines if line.strip()]
        else:
            kwargs[f.name] = convert(f, [raw] if array_schema(f.schema) else raw, f"--{flag}")
    missing = [f"--{f.name}" for f in sig.inputs if f.required and f.name not in kwargs]
    if missing:
        raise InputError(f"missing {', '.join(missing)}; `hub run MODULE --help` lists the flags")
    return kwargs


def convert(f: Any, raw: Any, flag: str) -> Any:
    """A flag's string value(s) as the type the signature asks for."""
    listed = array_schema(f.schema)
    if listed is not None:
        values = raw if isinstance(raw, list) else [raw]
        if len(values) == 1 and values[0].lstrip().startswith("[") and f.kind == "value":
            loaded = _json(values[0], flag)
            if isinstance(loaded, list):
                return loaded
        return [_scalar(listed.get("items", {}), f.kind, v, flag) for v in values]
    return _scalar(f.schema, f.kind, raw, flag)


def _scalar(schema: dict, kind: str, raw: str, flag: str) -> Any:
    if kind == "image":
        try:
            return Path(raw).expanduser().read_bytes()
        except OSError as exc:
            raise InputError(f"{flag} {raw}: cannot read the image file ({exc.strerror})") from None
    if kind == "path":
        return raw
    options = schema.get("anyOf", [schema])
    errors = []
    for option in options:
        kind_name = option.get("type")
        try:
            if kind_name == "string":
                return raw
            if kind_name == "integer":
                return int(raw)
            if kind_name == "number":
                return float(raw)
            if kind_name == "boolean":
                return _bool(raw)
            if kind_name == "null" and raw.lower() in ("null", "none"):
                return None
            if kind_name in ("object", "array"):
                return _json(raw, flag)
            if not kind_name:
                return _json_or_text(raw)
        except (ValueError, InputError):
            errors.append(type_name(option))
    raise InputError(f"{flag} {raw!r}: expected {' or '.join(errors) or type_name(schema)}")


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def _json(raw: str, flag: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InputError(f"{flag}: {raw!r} is not valid JSON ({exc})") from None


def _json_or_text(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _init_args(items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--init {item!r}: write KEY=VALUE, e.g. --init use_gpu=true")
        out[key.strip()] = _json_or_text(value)
    return out


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
