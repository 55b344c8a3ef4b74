"""Drawing detections: each box outlined in its class's colour, its label and score on a filled tag.

Labels are written with a CJK-capable font (hubcore.fonts; $HUB_DETECTION_FONT chooses one), so
Chinese class names (PaddleHub's vehicle labels) show too.
"""
from __future__ import annotations

import colorsys
from typing import Sequence

import numpy as np

from .nms import Detections

FONT_ENV = "HUB_DETECTION_FONT"


def class_colour(class_id: int) -> tuple[int, int, int]:
    """A distinct, saturated RGB colour per class (golden-ratio hues), the same in every drawing."""
    hue = (class_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
    return int(r * 255), int(g * 255), int(b * 255)


def _text_colour(background: tuple[int, int, int]) -> tuple[int, int, int]:
    luminance = 0.299 * background[0] + 0.587 * background[1] + 0.114 * background[2]
    return (0, 0, 0) if luminance > 150 else (255, 255, 255)


def draw_detections(rgb: np.ndarray, found: Detections, labels: Sequence[str]) -> np.ndarray:
    """HxWx3 uint8 RGB picture: the image with every detection drawn (best last, so on top)."""
    from PIL import Image, ImageDraw

    from hubcore.fonts import cjk_font

    picture = Image.fromarray(np.ascontiguousarray(rgb))
    pen = ImageDraw.Draw(picture)
    height, width = rgb.shape[:2]
    line = max(2, round(max(height, width) / 300))
    font = cjk_font(max(12, round(max(height, width) / 45)), FONT_ENV)
    for index in range(len(found) - 1, -1, -1):
        x1, y1, x2, y2 = (float(v) for v in found.boxes[index])
        class_id = int(found.classes[index])
        colour = class_colour(class_id)
        pen.rectangle([x1, y1, x2, y2], outline=colour, width=line)
        tag = f"{labels[class_id]} {float(found.scores[index]):.2f}"
        left, top, right, bottom = pen.textbbox((0, 0), tag, font=font)
        tag_w, tag_h = right - left + 2 * line, bottom - top + 2 * line
        tag_x = min(max(0.0, x1), max(0.0, width - tag_w))
        tag_y = y1 - tag_h if y1 - tag_h >= 0 else min(y1, max(0.0, height - tag_h))  # above the box, else inside
        pen.rectangle([tag_x, tag_y, tag_x + tag_w, tag_y + tag_h], fill=colour)
        pen.text((tag_x + line - left, tag_y + line - top), tag, fill=_text_colour(colour), font=font)
    return np.asarray(picture)
