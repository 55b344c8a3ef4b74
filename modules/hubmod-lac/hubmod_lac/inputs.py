"""Checks on what callers pass, so mistakes surface as InputError naming the argument."""
from __future__ import annotations

from typing import Any

from hubcore.errors import InputError

MODES = ("lac", "seg", "rank")


def _kind(value: Any) -> str:
    return type(value).__name__


def check_text(value: Any, argument: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        raise InputError(f"{argument}: expected a string, got {_kind(value)}; decode it first, "
                         f"e.g. {argument}=data.decode('utf-8')")
    raise InputError(f"{argument}: expected a string, got {_kind(value)}")


def check_texts(value: Any, argument: str) -> list[str]:
    """A list (or tuple) of strings, each checked, as a new list."""
    if value is None or not isinstance(value, (list, tuple)):
        hint = "; decode it first" if isinstance(value, (bytes, bytearray)) else ""
        raise InputError(f"{argument}: expected a list of strings, got {_kind(value)}{hint}")
    return [check_text(item, f"{argument}[{i}]") for i, item in enumerate(value)]


def check_text_or_texts(value: Any, argument: str) -> tuple[list[str], bool]:
    """(texts, single): a string becomes a one-element list with single=True."""
    if isinstance(value, str):
        return [value], True
    if value is None or not isinstance(value, (list, tuple)):
        hint = "; decode it first, e.g. data.decode('utf-8')" if isinstance(value, (bytes, bytearray)) else ""
        raise InputError(f"{argument}: expected a string or a list of strings, got {_kind(value)}{hint}")
    return check_texts(value, argument), False


def check_bool(value: Any, argument: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{argument}: expected True or False, got {_kind(value)}")
    return value


def check_positive_int(value: Any, argument: str, meaning: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{argument}: expected a positive integer ({meaning}), got {value!r}")
    return value


def check_sep(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise InputError(f"sep: expected a non-empty string, or None for whitespace, got {value!r}")
    return value


def check_mode(value: Any) -> str:
    if value not in MODES:
        raise InputError(f"mode={value!r}: expected one of {', '.join(repr(m) for m in MODES)} "
                         f"(lac: words + tags, seg: words only, rank: words + tags + importance)")
    return value
