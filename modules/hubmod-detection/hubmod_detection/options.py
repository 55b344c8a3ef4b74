"""Checks of the scalar arguments the detectors take; each failure names the argument."""
from __future__ import annotations

import os
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


def check_count(value: Any, argument: str, *, upper: int = 1024) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= upper:
        raise InputError(f"{argument}: expected an integer from 1 to {upper}, got {value!r}")
    return value


def check_threads(value: Any) -> int | None:
    return None if value is None else check_count(value, "threads")


def check_use_gpu(use_gpu: Any, device: str, module: str) -> None:
    """PaddleHub's per-call use_gpu: the device is chosen at load here, so only agreement is checked."""
    if check_bool(use_gpu, "use_gpu") and not device.startswith("gpu"):
        raise InputError(f"use_gpu=True but {module} was loaded on {device}; load it with "
                         f"hub.Module(name={module!r}, device='gpu') (a paddlepaddle-gpu install is needed)")


def check_output_dir(value: Any) -> str | None:
    """The folder for drawings; None keeps them in the result as base64 (what the server always passes)."""
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise InputError(f"output_dir: expected a folder path for the drawn images (or None to get them in the "
                         f"result as base64), got {value!r}")
    return str(value)
