"""Turning what callers pass (paths, bytes, numpy arrays, PIL images) into network input.

Colour order: files, bytes and PIL images are decoded here, so their colours are known. A numpy
array carries no colour order: it is read as RGB (what PIL, imageio and scikit-image give) unless
the caller says color="BGR" (what cv2.imread gives, and what PaddleHub's modules expected).
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hubcore.errors import InputError
from hubcore.imaging import check_size

from .configs import Preprocess

# Larger images are refused before decoding (a small compressed file can expand to gigabytes).
# 120 megapixels admits every current phone and DSLR photo; modules take max_pixels= to change it.
DEFAULT_MAX_PIXELS = 120_000_000
COLORS = ("RGB", "BGR")
_ACCEPTED = "a file path (str or pathlib.Path), encoded image bytes, a numpy HWC uint8 array or a PIL image"


def check_color(color: str) -> str:
    value = str(color).upper()
    if value not in COLORS:
        raise InputError(f"color={color!r}: use 'RGB' (PIL, scikit-image, imageio arrays) or 'BGR' (cv2 arrays)")
    return value


def as_image_list(images: Any) -> list[Any]:
    """Accept one image or a sequence of them; a 4-D array is a batch of HWC images."""
    if isinstance(images, np.ndarray):
        return list(images) if images.ndim == 4 else [images]
    if isinstance(images, (list, tuple)):
        return list(images)
    if images is None:
        raise InputError(f"images: expected a list of images ({_ACCEPTED}), got None")
    return [images]


def to_pil(image: Any, *, color: str = "RGB", max_pixels: int = DEFAULT_MAX_PIXELS, where: str = "images[0]",
           draft_size: int | None = None) -> Any:
    """One input as an RGB PIL image, or InputError naming `where` and what is accepted."""
    from PIL import Image

    if isinstance(image, (str, os.PathLike)):
        path = Path(image).expanduser()
        if not path.is_file():
            raise InputError(f"{where}: no such file {str(path)!r}; pass {_ACCEPTED}")
        return _decode(path.read_bytes(), max_pixels, where, draft_size)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return _decode(bytes(image), max_pixels, where, draft_size)
    if isinstance(image, np.ndarray):
        return _from_array(image, color, max_pixels, where)
    if isinstance(image, Image.Image):
        _check_pixels(image.size, max_pixels, where)
        return _rgb(image, where)
    raise InputError(f"{where}: got {type(image).__name__}; pass {_ACCEPTED}")


def _check_pixels(size: tuple[int, int], max_pixels: int, where: str) -> None:
    w, h = size
    check_size(w, h, where)  # side and aspect ratio: what a resize to a fixed short side turns into memory
    if w * h > max_pixels:
        raise InputError(f"{where}: {w}x{h} = {w * h:,} pixels is more than max_pixels={max_pixels:,}; "
                         f"downscale it first or load the module with a larger max_pixels=")


def _decode(data: bytes, max_pixels: int, where: str, draft_size: int | None) -> Any:
    from PIL import Image

    if not data:
        raise InputError(f"{where}: empty bytes; pass the content of an image file (JPEG, PNG, BMP, WebP, ...)")
    try:
        im = Image.open(io.BytesIO(data))
        _check_pixels(im.size, max_pixels, where)
        if draft_size and im.format == "JPEG":
            # Let the JPEG decoder downscale by 2/4/8 while decoding: far faster for big photos, and
            # the result stays at least draft_size on its short side, so the final resize decides quality.
            im.draft("RGB", _draft_target(im.size, draft_size))
        im.load()
    except InputError:
        raise
    except Image.DecompressionBombError:
        raise InputError(f"{where}: the image is too large to decode safely; downscale it first") from None
    except Exception as exc:  # PIL raises UnidentifiedImageError, OSError, SyntaxError, ValueError...
        raise InputError(f"{where}: not a readable image ({type(exc).__name__}: {exc}); pass the bytes of a "
                         f"JPEG, PNG, BMP, GIF, TIFF or WebP file") from None
    return _rgb(im, where)


def _draft_target(size: tuple[int, int], short: int) -> tuple[int, int]:
    w, h = size
    scale = short / min(w, h)
    return max(1, int(w * scale)), max(1, int(h * scale))


def _rgb(im: Any, where: str) -> Any:
    from PIL import Image

    if im.mode == "RGB":
        return im
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # Transparent pixels are shown on white, as viewers show them, not on arbitrary stored colours.
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    try:
        return im.convert("RGB")
    except Exception as exc:
        raise InputError(f"{where}: image mode {im.mode!r} cannot be converted to RGB ({exc})") from None


def _from_array(array: np.ndarray, color: str, max_pixels: int, where: str) -> Any:
    from PIL import Image

    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InputError(f"{where}: array of shape {array.shape}; pass an HxW (grayscale), HxWx3 or HxWx4 array")
    _check_pixels((array.shape[1], array.shape[0]), max_pixels, where)
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.floating) and np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1:
            array = (array * 255.0 + 0.5).astype(np.uint8)
        elif np.issubdtype(array.dtype, np.integer) and array.min() >= 0 and array.max() <= 255:
            array = array.astype(np.uint8)
        else:
            raise InputError(f"{where}: array dtype {array.dtype} with values outside the accepted ranges; pass "
                             f"uint8 (0..255) or floats in 0..1")
    if array.ndim == 2:
        return Image.fromarray(np.ascontiguousarray(array), "L").convert("RGB")
    if color == "BGR":
        array = array[:, :, [2, 1, 0, 3][: array.shape[2]]]
    mode = "RGB" if array.shape[2] == 3 else "RGBA"
    return _rgb(Image.fromarray(np.ascontiguousarray(array), mode), where)


class Transform:
    """Resize the short side, center-crop, scale to 0..1, normalise, HWC -> CHW float32."""

    def __init__(self, config: Preprocess) -> None:
        from PIL import Image

        self.config = config
        self._resample = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}[config.interpolation]
        std = np.asarray(config.std, np.float32)
        self._scale = (1.0 / (255.0 * std)).astype(np.float32)
        self._bias = (-np.asarray(config.mean, np.float32) / std).astype(np.float32)

    def crop(self, im: Any) -> Any:
        c = self.config
        w, h = im.size
        scale = c.resize_short / min(w, h)
        nw, nh = max(c.crop_size, round(w * scale)), max(c.crop_size, round(h * scale))
        if (nw, nh) != (w, h):
            # reducing_gap: shrink big images by a cheap box filter first, then resample properly.
            im = im.resize((nw, nh), self._resample, reducing_gap=3.0)
        left, top = (nw - c.crop_size) // 2, (nh - c.crop_size) // 2
        return im.crop((left, top, left + c.crop_size, top + c.crop_size))

    def normalise(self, crops: Sequence[Any]) -> np.ndarray:
        batch = np.stack([np.asarray(im, dtype=np.uint8) for im in crops]).astype(np.float32)
        batch *= self._scale
        batch += self._bias
        return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
