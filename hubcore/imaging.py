"""Images in and out: decode what callers pass (bytes, path, PIL image, numpy array), encode PNGs.

Shared by module packages; needs Pillow, which those packages depend on (hubcore itself does not).

numpy arrays are taken as BGR, the layout of `cv2.imread` that PaddleHub's modules expected, so
code written for PaddleHub keeps its colours; everything else is decoded by Pillow (files and bytes
turned upright by their EXIF orientation, as cv2.imread does).
"""
from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError

ACCEPTED = "encoded image bytes, a file path, a PIL image, or an HxWx3 uint8 numpy array (BGR, as cv2 reads)"


def load_rgb(image: Any, where: str) -> np.ndarray:
    """HxWx3 uint8 RGB array from any accepted image form; InputError naming `where` otherwise."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if isinstance(image, np.ndarray):
        return _from_array(image, where)
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    if isinstance(image, (bytes, bytearray, memoryview)):
        source: Any = io.BytesIO(bytes(image))
    elif isinstance(image, (str, os.PathLike)):
        source = Path(image).expanduser()
        if not source.is_file():
            raise InputError(f"{where}: {str(image)[:200]!r} is not an existing image file; pass {ACCEPTED}")
    else:
        raise InputError(f"{where}: got {type(image).__name__}; pass {ACCEPTED}")
    try:
        with Image.open(source) as img:
            return np.asarray(ImageOps.exif_transpose(img).convert("RGB"))  # upright, as cv2.imread reads it
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(f"{where}: cannot decode the image ({exc}); pass {ACCEPTED}") from None


def _from_array(array: np.ndarray, where: str) -> np.ndarray:
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or min(array.shape[:2]) < 1:
        raise InputError(f"{where}: array of shape {array.shape}; pass an HxWx3 (BGR) or HxW array")
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.number):
            raise InputError(f"{where}: array of dtype {array.dtype}; pass uint8 pixel values")
        array = np.clip(array, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array[:, :, 2::-1])  # BGR(A) -> RGB


def image_stem(image: Any, index: int) -> str:
    """A file-name stem for outputs: the input file's name, else image<index>."""
    if isinstance(image, (str, os.PathLike)):
        return Path(image).stem or f"image{index}"
    return f"image{index}"


def png_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def png_base64(array: np.ndarray) -> str:
    return base64.b64encode(png_bytes(array)).decode("ascii")


def save_png(data: bytes, folder: str | Path, stem: str) -> str:
    """Write PNG bytes as folder/stem.png, never overwriting: stem_1.png, stem_2.png, ..."""
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.png"
    n = 0
    while True:
        try:
            with open(path, "xb") as f:
                f.write(data)
            return str(path)
        except FileExistsError:
            n += 1
            path = folder / f"{stem}_{n}.png"
