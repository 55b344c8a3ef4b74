"""What callers pass (images=[...], PaddleHub's paths=[...]) -> HxWx3 uint8 RGB arrays, bounded in size.

Decoding is hubcore.imaging's (numpy arrays are BGR as cv2.imread gives; files, bytes and PIL images
carry their own colours). Encoded images are measured before they are decoded, so a small file that
expands to gigabytes is refused cheaply.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from hubcore.arguments import gather_images
from hubcore.errors import InputError
from hubcore.imaging import ACCEPTED, load_rgb

# 100 megapixels admits every phone and most DSLR photos; modules take max_pixels= to change it.
DEFAULT_MAX_PIXELS = 100_000_000


def gather(images: Any, paths: Any) -> list[tuple[Any, str]]:
    """(image, where) for every input: images first, then PaddleHub's paths=[...]; at least one."""
    return gather_images(images, paths, ACCEPTED)


def load(image: Any, where: str, max_pixels: int) -> np.ndarray:
    """One input as HxWx3 uint8 RGB, or an InputError naming `where`."""
    if isinstance(image, np.ndarray):
        if image.ndim >= 2:
            _check_size(image.shape[1], image.shape[0], where, max_pixels)
    elif isinstance(image, (bytes, bytearray, memoryview, str, os.PathLike)):
        _check_encoded(image, where, max_pixels)
    elif type(image).__module__.startswith("PIL."):
        _check_size(*image.size, where, max_pixels)
    return load_rgb(image, where)


def _check_encoded(image: Any, where: str, max_pixels: int) -> None:
    from PIL import Image

    if isinstance(image, (bytes, bytearray, memoryview)):
        if not len(image):
            raise InputError(f"{where}: empty bytes; pass the content of an image file (JPEG, PNG, BMP, WebP, ...)")
        source: Any = io.BytesIO(bytes(image))
    else:
        source = Path(image).expanduser()
        if not source.is_file():
            return  # load_rgb names the missing file
    try:
        with Image.open(source) as img:  # reads the header only
            width, height = img.size
    except Image.DecompressionBombError:
        raise InputError(f"{where}: the image is too large to decode safely; downscale it first") from None
    except Exception:
        return  # not an image: load_rgb's error says so
    _check_size(width, height, where, max_pixels)


def _check_size(width: int, height: int, where: str, max_pixels: int) -> None:
    if width < 1 or height < 1:
        raise InputError(f"{where}: the image is empty ({width}x{height} pixels)")
    if width * height > max_pixels:
        raise InputError(f"{where}: {width}x{height} = {width * height:,} pixels is more than max_pixels="
                         f"{max_pixels:,}; downscale it first or load the module with a larger max_pixels=")
