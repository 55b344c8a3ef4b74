"""Checks of the scalar arguments the detectors take; each failure names the argument."""
from __future__ import annotations

from typing import Any

from hubcore.arguments import check_bool, check_fraction, check_output_dir, check_use_gpu  # noqa: F401 - shared
from hubcore.errors import InputError


def check_count(value: Any, argument: str, *, upper: int = 1024) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= upper:
        raise InputError(f"{argument}: expected an integer from 1 to {upper}, got {value!r}")
    return value


def check_threads(value: Any) -> int | None:
    return None if value is None else check_count(value, "threads")
