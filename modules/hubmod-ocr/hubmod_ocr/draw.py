"""Drawing OCR results: the image with its text boxes, beside a white page with the text written in them.

Chinese text needs a CJK font: $HUB_OCR_FONT, else hubcore.fonts' search ($HUB_FONT, the usual
locations, fontconfig). Without one the text is written with PIL's built-in font (Latin only).
"""
from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

FONT_ENV = "HUB_OCR_FONT"


def cjk_font_path() -> str | None:
    """Path of a font with Chinese glyphs, or None (see hubcore.fonts for the search order)."""
    from hubcore.fonts import cjk_font_path as find

    return find(FONT_ENV)


def _font(size: int):  # -> PIL.ImageFont
    from hubcore.fonts import cjk_font

    return cjk_font(size, FONT_ENV)


def _colour(i: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(i * 7919 + 17)  # a fixed colour per box, so drawings are reproducible
    return tuple(int(v) for v in rng.integers(40, 220, 3))


def draw_boxes(image: np.ndarray, boxes: Sequence[np.ndarray]) -> np.ndarray:
    """The BGR image with each quadrilateral outlined."""
    out = image.copy()
    thickness = max(1, round(max(image.shape[:2]) / 600))
    for i, quad in enumerate(boxes):
        cv2.polylines(out, [np.round(quad).astype(np.int32).reshape(-1, 1, 2)], True, _colour(i), thickness)
    return out


def draw_ocr(image: np.ndarray, boxes: Sequence[np.ndarray], texts: Sequence[str]) -> np.ndarray:
    """BGR image: left the input with tinted boxes, right a white page with each text written in its box."""
    from PIL import Image, ImageDraw

    h, w = image.shape[:2]
    left = image.copy()
    tint = image.copy()
    page = Image.new("RGB", (w, h), (255, 255, 255))
    pen = ImageDraw.Draw(page)
    for i, (quad, text) in enumerate(zip(boxes, texts)):
        colour = _colour(i)
        points = np.round(quad).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(tint, [points], colour)
        pen.polygon([tuple(p) for p in np.round(quad).tolist()], outline=colour[::-1])
        _write_in_box(pen, quad, text)
    left = cv2.addWeighted(tint, 0.35, left, 0.65, 0)
    right = cv2.cvtColor(np.asarray(page), cv2.COLOR_RGB2BGR)
    return np.concatenate([left, right], axis=1)


def _write_in_box(pen, quad: np.ndarray, text: str) -> None:
    if not text:
        return
    box_h = float(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    box_w = float(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    x, y = float(quad[0][0]), float(quad[0][1])
    if box_h > 2 * box_w and len(text) > 1:  # a vertical line: one character under the other
        size = max(8, int(box_w * 0.8))
        font = _font(size)
        for k, ch in enumerate(text):
            pen.text((x + 2, y + 2 + k * size), ch, fill=(0, 0, 0), font=font)
        return
    size = max(8, int(box_h * 0.8))
    font = _font(size)
    text_w = pen.textlength(text, font=font)
    if text_w > box_w > 0:
        size = max(8, int(size * box_w / text_w))
        font = _font(size)
    pen.text((x + 2, y + max(0.0, (box_h - size) / 2)), text, fill=(0, 0, 0), font=font)


def keep(drawing: np.ndarray, output_dir: Path | None, stem: str) -> dict:
    """The result fields of a drawing: written under output_dir ("save_path"), or with no folder
    (over HTTP the server passes None) kept in the result as "visualization", a base64 JPEG."""
    if output_dir is None:
        return {"visualization": jpeg_base64(drawing)}
    return {"save_path": save(drawing, output_dir, stem)}


def jpeg_base64(image: np.ndarray) -> str:
    """The BGR image as a base64 JPEG."""
    ok, encoded = cv2.imencode(".jpg", image)
    if not ok:  # pragma: no cover - cv2 encodes any uint8 BGR image
        raise RuntimeError("cv2 could not encode the drawing as JPEG")
    return base64.b64encode(encoded.tobytes()).decode("ascii")


def save(image: np.ndarray, output_dir: Path, stem: str) -> str:
    """Write the BGR image as JPEG under output_dir with a name that does not clash; return its path."""
    from hubcore.errors import InputError

    path = output_dir / f"{stem}_{uuid.uuid4().hex[:8]}.jpg"
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        written = cv2.imwrite(str(path), image)
    except (OSError, cv2.error) as exc:
        raise InputError(f"output_dir: cannot write the drawing to {path} ({exc}); pass a writable folder") from None
    if not written:
        raise InputError(f"output_dir: cannot write the drawing to {path}; pass a writable folder")
    return str(path.resolve())
