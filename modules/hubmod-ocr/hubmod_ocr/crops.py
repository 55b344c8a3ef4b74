"""Cutting text lines out of an image: each quadrilateral perspective-warped to an upright rectangle."""
from __future__ import annotations

import cv2
import numpy as np


def crop_line(image: np.ndarray, quad: np.ndarray) -> np.ndarray | None:
    """The text line inside quad (tl, tr, br, bl), straightened; None when the quad is degenerate.

    A crop at least 1.5 times taller than wide is turned a quarter counter-clockwise: it is a
    vertical line, which the recogniser reads once it lies horizontally.
    """
    quad = quad.astype(np.float32)
    width = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    height = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    if width < 1 or height < 1:
        return None
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad, target)
    crop = cv2.warpPerspective(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE,
                               flags=cv2.INTER_CUBIC)
    if crop.shape[0] / crop.shape[1] >= 1.5:
        crop = np.ascontiguousarray(np.rot90(crop))
    return crop
