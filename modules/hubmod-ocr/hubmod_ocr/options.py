"""Checks of the scalar arguments every OCR module takes; each failure names the argument (the checks
every image module shares come from hubcore.arguments)."""
from __future__ import annotations

from typing import Any

from hubcore.arguments import check_bool, check_fraction, check_output_dir, check_use_gpu  # noqa: F401 - shared
from hubcore.errors import InputError


def check_positive(value: Any, argument: str, *, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value) > 0 \
            or (upper is not None and float(value) > upper):
        limit = f" and at most {upper}" if upper is not None else ""
        raise InputError(f"{argument}: expected a number above 0{limit}, got {value!r}")
    return float(value)


def check_count(value: Any, argument: str, *, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        none = " (or None for the default)" if allow_none else ""
        raise InputError(f"{argument}: expected a positive integer{none}, got {value!r}")
    return value


def check_min_width(value: Any, argument: str) -> int:
    """Padding width of recognition lines: 0-2048 pixels, rounded up to the network's step of 8."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2048:
        raise InputError(f"{argument}: expected an integer from 0 to 2048 (pixels; 320 is PaddleOCR's), got {value!r}")
    return -(-value // 8) * 8
