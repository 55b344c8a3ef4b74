"""HTTP answers: the error type handlers raise, and JSON encoding of module results."""
from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response


class HttpError(Exception):
    """An answer other than 200: status, a message naming the fix, and the limit breached if any."""

    def __init__(self, status: int, message: str, *, limit: str | None = None, value: Any = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.limit = limit
        self.value = value

    def details(self) -> dict:
        return {"limit": self.limit, "value": self.value} if self.limit else {}


def limit_error(status: int, limit: str, value: Any, message: str) -> HttpError:
    return HttpError(status, f"{message} (limit {limit}={value}; raise it with --{limit.replace('_', '-')})",
                     limit=limit, value=value)


def _plain(value: Any) -> Any:
    # numpy arrays and scalars (never imported here) expose tolist(); bytes are not JSON.
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# One encoder for every answer: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=_plain, separators=(",", ":"))
_ASCII_ENCODER = json.JSONEncoder(ensure_ascii=True, allow_nan=False, default=_plain, separators=(",", ":"))


def encode_json(value: Any) -> bytes:
    """JSON bytes; raises ValueError/TypeError for values JSON cannot carry (NaN, bytes, objects)."""
    text = _ENCODER.encode(value)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (they arrive in JSON as \ud800 escapes): escape them back
        return _ASCII_ENCODER.encode(value).encode("ascii")


class JSONBody(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return encode_json(content)
