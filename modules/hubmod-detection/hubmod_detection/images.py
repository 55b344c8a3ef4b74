"""What callers pass (images=[...], PaddleHub's paths=[...]) -> HxWx3 uint8 RGB arrays, bounded in size.

Decoding is hubcore.imaging's (numpy arrays are BGR as cv2.imread gives; files, bytes and PIL images
carry their own colours); it checks max_pixels on the header before decoding, so a small file that
expands to gigabytes is refused cheaply.
"""
from __future__ import annotations

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
    if isinstance(image, (bytes, bytearray, memoryview)) and not len(image):
        raise InputError(f"{where}: empty bytes; pass the content of an image file (JPEG, PNG, BMP, WebP, ...)")
    return load_rgb(image, where, max_pixels=max_pixels)
