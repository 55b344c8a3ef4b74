"""Turning what callers pass (paths, bytes, numpy arrays, PIL images) into BGR uint8 arrays.

Colour order: numpy arrays are read as BGR, HxWx3 (what cv2.imread gives and what PaddleHub's OCR
modules took); HxW and HxWx1 arrays as grayscale, HxWx4 as BGRA. Files, bytes and PIL images carry
their own colour information and are converted here; files and bytes are turned upright by their
EXIF orientation, as cv2.imread does.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hubcore.errors import InputError
from hubcore.imaging import check_size

# Larger images are refused before decoding (a small compressed file can expand to gigabytes). 100
# megapixels admits every phone and most DSLR photos; modules take max_pixels= to change it.
DEFAULT_MAX_PIXELS = 100_000_000
ACCEPTED = ("a file path (str or pathlib.Path), encoded image bytes (JPEG, PNG, BMP, WebP, ...), a numpy "
            "uint8 array (HxWx3 in BGR order as cv2.imread gives, HxW grayscale or HxWx4 BGRA) or a PIL image")


def gather(images: Any, paths: Any, *, images_arg: str = "images", paths_arg: str = "paths") -> list[tuple[Any, str]]:
    """(image, where) for every input: images first, then PaddleHub's paths=[...]; at least one."""
    from hubcore.arguments import gather_images

    return gather_images(images, paths, ACCEPTED, images_arg=images_arg, paths_arg=paths_arg)


def load_all(items: Sequence[tuple[Any, str]], max_pixels: int) -> list[np.ndarray]:
    return [to_bgr(image, where, max_pixels) for image, where in items]


def to_bgr(image: Any, where: str = "images[0]", max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """One input as a contiguous HxWx3 uint8 BGR array, or InputError naming `where`."""
    if isinstance(image, (str, os.PathLike)):
        path = Path(image).expanduser()
        if not path.is_file():
            raise InputError(f"{where}: no such file {str(path)!r}; pass {ACCEPTED}")
        return _decode(path.read_bytes(), max_pixels, where)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return _decode(bytes(image), max_pixels, where)
    if isinstance(image, np.ndarray):
        return _from_array(image, max_pixels, where)
    if _is_pil(image):
        _check_pixels(image.size, max_pixels, where)
        return _pil_to_bgr(image, where)
    raise InputError(f"{where}: got {type(image).__name__}; pass {ACCEPTED}")


def _is_pil(obj: Any) -> bool:
    module = type(obj).__module__ or ""
    return module.startswith("PIL.")


def _check_pixels(size: tuple[int, int], max_pixels: int, where: str) -> None:
    w, h = size
    check_size(w, h, where)  # side and aspect ratio: what a resize to a fixed short side turns into memory
    if w * h > max_pixels:
        raise InputError(f"{where}: {w}x{h} = {w * h:,} pixels is more than max_pixels={max_pixels:,}; downscale "
                         f"it first or load the module with a larger max_pixels=")


def _decode(data: bytes, max_pixels: int, where: str) -> np.ndarray:
    from PIL import Image, ImageOps

    if not data:
        raise InputError(f"{where}: empty bytes; pass the content of an image file (JPEG, PNG, BMP, WebP, ...)")
    try:
        im = Image.open(io.BytesIO(data))
        _check_pixels(im.size, max_pixels, where)
        im.load()
        im = ImageOps.exif_transpose(im)
    except InputError:
        raise
    except Image.DecompressionBombError:
        raise InputError(f"{where}: the image is too large to decode safely; downscale it first") from None
    except Exception as exc:  # PIL raises UnidentifiedImageError, OSError, SyntaxError, ValueError...
        raise InputError(f"{where}: not a readable image ({type(exc).__name__}: {exc}); pass the bytes of a "
                         f"JPEG, PNG, BMP, GIF, TIFF or WebP file") from None
    return _pil_to_bgr(im, where)


def _pil_to_bgr(im: Any, where: str) -> np.ndarray:
    from PIL import Image

    try:
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            # Transparent pixels are shown on white, as viewers show them, not on arbitrary stored colours.
            rgba = im.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            im = Image.alpha_composite(background, rgba)
        rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except Exception as exc:
        raise InputError(f"{where}: image mode {im.mode!r} cannot be converted to colour ({exc})") from None
    return np.ascontiguousarray(rgb[:, :, ::-1])


def _from_array(array: np.ndarray, max_pixels: int, where: str) -> np.ndarray:
    import cv2

    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InputError(f"{where}: array of shape {array.shape}; pass an HxWx3 BGR array (as cv2.imread gives), "
                         f"an HxW grayscale or an HxWx4 BGRA array")
    _check_pixels((array.shape[1], array.shape[0]), max_pixels, where)
    array = _as_uint8(array, where)
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    if array.shape[2] == 4:
        alpha = array[:, :, 3:4].astype(np.float32) / 255.0
        blended = array[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        return np.ascontiguousarray(blended.round().astype(np.uint8))
    return np.ascontiguousarray(array)


def _as_uint8(array: np.ndarray, where: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.integer) and array.size and array.min() >= 0 and array.max() <= 255:
        return array.astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating) and array.size and np.isfinite(array).all() \
            and array.min() >= 0 and array.max() <= 1:
        return (array * 255.0 + 0.5).astype(np.uint8)
    raise InputError(f"{where}: array dtype {array.dtype} with values outside the accepted ranges; pass uint8 "
                     f"(0..255) or floats in 0..1")
