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

# Checked on the header, before any pixel is decoded: a 92-byte PNG can declare 100000x1 pixels, and
# modules that resize the short side to a fixed length (classifiers: 256) would then build a
# 25,600,000x256 image. The aspect ratio bounds that resize; the side bounds the decode.
DEFAULT_MAX_SIDE = 16384
DEFAULT_MAX_ASPECT = 100.0
SIDE_ENV, ASPECT_ENV = "HUB_MAX_IMAGE_SIDE", "HUB_MAX_IMAGE_ASPECT"


class ImageTooLarge(InputError):
    """An image's declared size breaks max_image_side or max_image_aspect (limit names the one)."""

    def __init__(self, message: str, limit: str | None = None, value: float | None = None):
        super().__init__(message)
        self.limit, self.value = limit, value


def size_limits() -> tuple[int, float]:
    """(max_image_side, max_image_aspect): $HUB_MAX_IMAGE_SIDE / $HUB_MAX_IMAGE_ASPECT or the defaults.

    `hub serving start --max-image-side/--max-image-aspect` sets both for its model processes.
    """
    def read(name: str, default: float, kind: type) -> Any:
        text = os.environ.get(name, "").strip()
        if not text:
            return default
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if value < 1:
            raise InputError(f"${name}={text!r}: expected a number >= 1 (default {default:g})")
        return value

    return read(SIDE_ENV, DEFAULT_MAX_SIDE, int), read(ASPECT_ENV, DEFAULT_MAX_ASPECT, float)


def check_size(width: int, height: int, where: str, *, max_side: int | None = None,
               max_aspect: float | None = None) -> None:
    """ImageTooLarge (an InputError) unless width x height is within the side and aspect limits.

    Limits not given are read from the environment (size_limits()).
    """
    if max_side is None or max_aspect is None:
        env_side, env_aspect = size_limits()
        max_side = env_side if max_side is None else max_side
        max_aspect = env_aspect if max_aspect is None else max_aspect
    if width < 1 or height < 1:
        raise InputError(f"{where}: the image is empty ({width}x{height} pixels)")
    if max(width, height) / min(width, height) > max_aspect:
        raise ImageTooLarge(f"{where}: {width}x{height} pixels is more than max_image_aspect={max_aspect:g} times "
                            f"longer than wide (${ASPECT_ENV}); crop it into parts first", "max_image_aspect",
                            max_aspect)
    if max(width, height) > max_side:
        raise ImageTooLarge(f"{where}: {width}x{height} pixels; a side may be at most max_image_side={max_side} "
                            f"(${SIDE_ENV}); downscale it first", "max_image_side", max_side)


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from an encoded image's header, without decoding; None when Pillow cannot tell."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Image.DecompressionBombError as exc:
        raise InputError(f"the image declares more pixels than Pillow decodes safely ({exc}); downscale it first")
    except Exception:  # not an image Pillow knows: the module's decoder names the problem
        return None


def load_rgb(image: Any, where: str, *, max_pixels: int | None = None) -> np.ndarray:
    """HxWx3 uint8 RGB array from any accepted image form; InputError naming `where` otherwise.

    max_pixels: a module's own bound on width x height, checked with the side limits on the header,
    before decoding.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if isinstance(image, np.ndarray):
        return _from_array(image, where, max_pixels)
    if isinstance(image, Image.Image):
        _check_dimensions(*image.size, where, max_pixels)
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
            _check_dimensions(*img.size, where, max_pixels)
            return np.asarray(ImageOps.exif_transpose(img).convert("RGB"))  # upright, as cv2.imread reads it
    except InputError:
        raise
    except Image.DecompressionBombError:
        raise InputError(f"{where}: the image is too large to decode safely; downscale it first") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(f"{where}: cannot decode the image ({exc}); pass {ACCEPTED}") from None


def _check_dimensions(width: int, height: int, where: str, max_pixels: int | None) -> None:
    if max_pixels is not None and width >= 1 and height >= 1 and width * height > max_pixels:
        raise InputError(f"{where}: {width}x{height} = {width * height:,} pixels is more than max_pixels="
                         f"{max_pixels:,}; downscale it first or load the module with a larger max_pixels=")
    check_size(width, height, where)


def _from_array(array: np.ndarray, where: str, max_pixels: int | None = None) -> np.ndarray:
    if array.ndim in (2, 3):
        _check_dimensions(array.shape[1], array.shape[0], where, max_pixels)
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
