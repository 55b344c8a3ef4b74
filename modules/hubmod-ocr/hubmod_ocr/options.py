"""Checks of the scalar arguments every OCR module takes; each failure names the argument."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from hubcore.errors import InputError


def check_bool(value: Any, argument: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{argument}: expected true or false, got {value!r}")
    return value


def check_fraction(value: Any, argument: str) -> float:
    """A threshold in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise InputError(f"{argument}: expected a number between 0 and 1, got {value!r}")
    return float(value)


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


def check_output_dir(value: Any, argument: str = "output_dir") -> Path | None:
    """The folder for drawings; None keeps them in the result as base64 (what the server always passes)."""
    if value is None:
        return None
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise InputError(f"{argument}: expected a folder path for the drawn images (or None to get them in the "
                         f"result as base64), got {value!r}")
    return Path(value).expanduser()


def check_use_gpu(use_gpu: Any, device: str, module: str) -> None:
    """PaddleHub's per-call use_gpu: the device is chosen at load here, so only agreement is checked."""
    if check_bool(use_gpu, "use_gpu") and not device.startswith("gpu"):
        raise InputError(f"use_gpu=True but {module} was loaded on {device}; load it with "
                         f"hub.Module(name={module!r}, device='gpu') (a paddlepaddle-gpu install is needed)")
