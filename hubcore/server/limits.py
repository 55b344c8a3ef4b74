"""Per-request limits on items, text and image size (body size, JSON nesting and time are enforced
where they happen: app.py, request_json.py, service.py)."""
from __future__ import annotations

import os
from typing import Any

from .. import imaging
from ..errors import InputError
from ..signatures import Signature
from .config import Limits
from .request_json import path_text
from .responses import HttpError, limit_error


def check_items(signature: Signature, payload: Any, limits: Limits) -> None:
    """Every list field of one request holds at most max_request_items elements (checked before decoding)."""
    if not isinstance(payload, dict):
        return
    for f in signature.inputs:
        value = payload.get(f.name)
        if isinstance(value, list) and len(value) > limits.max_request_items:
            raise limit_error(422, "max_request_items", limits.max_request_items,
                              f"{signature.name}.{f.name} has {len(value)} items; split the request")


def check_texts(signature: Signature, payload: Any, limits: Limits) -> None:
    """No string of the request (outside image fields) is longer than max_text_chars, and all of them
    together hold at most max_request_chars characters (checked before decoding)."""
    if not isinstance(payload, dict):
        return
    total = 0
    for f in signature.inputs:
        if f.kind == "image" or f.name not in payload or not _may_hold_text(f.schema):
            continue
        try:
            total += _characters(payload[f.name], limits.max_text_chars)
        except _TooLong as exc:
            where = f"{signature.name}.{f.name}{path_text(exc.path[::-1], shown=len(exc.path))}"
            raise limit_error(422, "max_text_chars", limits.max_text_chars,
                              f"{where} is {exc.length} characters long; split the text") from None
    if total > limits.max_request_chars:
        raise limit_error(422, "max_request_chars", limits.max_request_chars,
                          f"the strings of this {signature.name} request hold {total} characters together; "
                          f"split the request")


class _TooLong(Exception):
    def __init__(self, length: int):
        self.length, self.path = length, []


def _may_hold_text(schema: dict) -> bool:
    """False where a value that passes the schema holds no string (its check runs later, in bind)."""
    kind = schema.get("type")
    if "anyOf" in schema:
        return any(_may_hold_text(s) for s in schema["anyOf"])
    if kind in ("integer", "number", "boolean", "null"):
        return False
    if kind == "array" and schema.get("items"):
        return _may_hold_text(schema["items"])
    return True


def _characters(value: Any, limit: int) -> int:
    if isinstance(value, str):
        if len(value) > limit:
            raise _TooLong(len(value))
        return len(value)
    if not isinstance(value, (list, dict)):
        return 0
    total = 0
    for key, item in (value.items() if isinstance(value, dict) else enumerate(value)):
        if isinstance(key, str):
            total += len(key)
        if isinstance(item, str) and len(item) <= limit:  # inline: one call per element is most of the cost
            total += len(item)
        elif isinstance(item, (str, list, dict)):  # as deep as max_json_depth allows: bounded recursion
            try:
                total += _characters(item, limit)
            except _TooLong as exc:
                exc.path.append(key)
                raise
    return total


def check_images(signature: Signature, kwargs: dict, limits: Limits) -> None:
    """Each decoded image holds at most max_image_bytes bytes, and its header declares a size within
    max_image_side and max_image_aspect (read without decoding a pixel)."""
    for f in signature.inputs:
        if f.kind == "image" and f.name in kwargs:
            _check_image(kwargs[f.name], f"{signature.name}.{f.name}", limits)


def _check_image(value: Any, where: str, limits: Limits) -> None:
    if isinstance(value, (bytes, bytearray)):
        if len(value) > limits.max_image_bytes:
            raise limit_error(422, "max_image_bytes", limits.max_image_bytes, f"{where} decodes to {len(value)} bytes")
        _check_declared_size(bytes(value), where, limits)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_image(item, f"{where}[{i}]", limits)


def _check_declared_size(data: bytes, where: str, limits: Limits) -> None:
    try:
        size = imaging.declared_size(data)
    except ImportError:  # no Pillow in this environment: the module's own decoder checks the same limits
        return
    except InputError as exc:
        raise HttpError(422, f"{where}: {exc}") from None
    if size is None:
        return  # not an image Pillow reads: the module answers with what is wrong
    try:
        imaging.check_size(*size, where, max_side=limits.max_image_side, max_aspect=limits.max_image_aspect)
    except imaging.ImageTooLarge as exc:
        raise limit_error(422, exc.limit or "max_image_side", exc.value, f"{where}: {size[0]}x{size[1]} pixels") \
            from None
    except InputError as exc:
        raise HttpError(422, str(exc)) from None


def export_image_limits(limits: Limits) -> None:
    """Hand the image limits to the model processes this worker starts (hubcore.imaging reads them)."""
    os.environ[imaging.SIDE_ENV] = str(limits.max_image_side)
    os.environ[imaging.ASPECT_ENV] = repr(float(limits.max_image_aspect))


def body_too_large(limits: Limits, size: int | None = None) -> HttpError:
    got = f"{size} bytes" if size is not None else "more than that"
    return limit_error(413, "max_body_bytes", limits.max_body_bytes, f"request body is {got}")
