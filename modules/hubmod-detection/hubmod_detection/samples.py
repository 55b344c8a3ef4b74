"""A small sample input for `hub check`, drawn at run time so the package ships no image files."""
from __future__ import annotations

import numpy as np


def sample_image() -> np.ndarray:
    """A 240x320 BGR picture: a sky-to-ground gradient with two coloured blocks."""
    y = np.linspace(0, 1, 240, dtype=np.float32)[:, None, None]
    image = (np.array([230, 180, 120], np.float32) * (1 - y) + np.array([60, 120, 60], np.float32) * y)
    image = np.broadcast_to(image, (240, 320, 3)).astype(np.uint8).copy()
    image[120:200, 40:140] = (40, 40, 200)
    image[100:210, 200:260] = (30, 30, 30)
    return image
