"""Small sample inputs for `hub check`: drawn at run time, so the package ships no image files."""
from __future__ import annotations

import numpy as np


def sample_image() -> np.ndarray:
    """A BGR image with one line of Latin text (cv2's built-in font draws Latin only)."""
    import cv2

    image = np.full((96, 480, 3), 255, np.uint8)
    cv2.putText(image, "Hello OCR 2024", (16, 62), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (0, 0, 0), 3, cv2.LINE_AA)
    return image


def sample_line() -> np.ndarray:
    """A single text line, cut tight, as the recogniser and direction classifier take."""
    return sample_image()[20:80, 8:360].copy()
