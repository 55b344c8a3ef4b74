"""Checks of the arguments image modules share (flags, thresholds, image lists, output folders).

Each failure is an InputError naming the argument and what is accepted, so every module answers
the same bad call with the same message (a 422 over HTTP).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import InputError


def check_bool(value: Any, argument: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{argument}: expected true or false, got {value!r}")
    return value


def check_fraction(value: Any, argument: str) -> float:
    """A threshold in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise InputError(f"{argument}: expected a number between 0 and 1, got {value!r}")
    return float(value)


def check_use_gpu(use_gpu: Any, device: str, module: str) -> None:
    """PaddleHub's per-call use_gpu: the device is chosen at load here, so only agreement is checked."""
    if check_bool(use_gpu, "use_gpu") and not device.startswith("gpu"):
        raise InputError(f"use_gpu=True but {module} was loaded on {device}; load it with "
                         f"hub.Module(name={module!r}, device='gpu') (a paddlepaddle-gpu install is needed)")


def check_output_dir(value: Any, argument: str = "output_dir") -> Path | None:
    """The folder for drawings; None keeps them in the result as base64 (what the server always passes)."""
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise InputError(f"{argument}: expected a folder path for the drawn images (or None to get them in the "
                         f"result as base64), got {value!r}")
    return Path(value).expanduser()


def image_list(images: Any, argument: str, accepted: str) -> list[Any]:
    """One image or a list of them, as a list; a 4-D array is a batch of HxWxC images."""
    import numpy as np

    if images is None:
        return []
    if isinstance(images, np.ndarray):
        return list(images) if images.ndim == 4 else [images]
    if isinstance(images, (list, tuple)):
        return list(images)
    if isinstance(images, (str, os.PathLike, bytes, bytearray, memoryview)) or \
            (type(images).__module__ or "").startswith("PIL."):
        return [images]
    raise InputError(f"{argument}: expected a list of images, each {accepted}; got {type(images).__name__}")


def gather_images(images: Any, paths: Any, accepted: str, *, images_arg: str = "images",
                  paths_arg: str = "paths") -> list[tuple[Any, str]]:
    """(image, where) for every input: images first, then PaddleHub's paths=[...]; at least one."""
    items = [(im, f"{images_arg}[{i}]") for i, im in enumerate(image_list(images, images_arg, accepted))]
    for i, path in enumerate(image_list(paths, paths_arg, accepted)):
        if not isinstance(path, (str, os.PathLike)):
            raise InputError(f"{paths_arg}[{i}]: expected a file path, got {type(path).__name__}; pass "
                             f"images in memory through {images_arg}=[...]")
        items.append((path, f"{paths_arg}[{i}]"))
    if not items:
        raise InputError(f"no images given: pass {images_arg}=[...] (each {accepted}) or {paths_arg}=[file, ...]")
    return items
