"""Per-request limits on items and image size (body size and time are enforced where they happen)."""
from __future__ import annotations

from typing import Any

from ..signatures import Signature
from .config import Limits
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


def check_images(signature: Signature, kwargs: dict, limits: Limits) -> None:
    """Each decoded image holds at most max_image_bytes bytes."""
    for f in signature.inputs:
        if f.kind == "image" and f.name in kwargs:
            _check_image(kwargs[f.name], f"{signature.name}.{f.name}", limits.max_image_bytes)


def _check_image(value: Any, where: str, limit: int) -> None:
    if isinstance(value, (bytes, bytearray)):
        if len(value) > limit:
            raise limit_error(422, "max_image_bytes", limit, f"{where} decodes to {len(value)} bytes")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_image(item, f"{where}[{i}]", limit)


def body_too_large(limits: Limits, size: int | None = None) -> HttpError:
    got = f"{size} bytes" if size is not None else "more than that"
    return limit_error(413, "max_body_bytes", limits.max_body_bytes, f"request body is {got}")
