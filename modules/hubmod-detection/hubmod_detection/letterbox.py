"""Letterboxing: an image scaled to fit the network's square input, centred on grey, and the way back.

YOLO networks were trained on letterboxed images (aspect ratio kept, the rest filled with 0.5 grey);
plain resizing to the square distorts objects and loses most detections. Every image of a batch
gets the same input shape, so the inference engine compiles its kernels once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FILL = 0.5  # Darknet's padding value, in the network's 0..1 input range


@dataclass(frozen=True)
class Frame:
    """Where the image sits in the network input: input = original * scale + pad (per axis)."""

    width: int  # of the original image
    height: int
    scale_x: float
    scale_y: float
    pad_x: int
    pad_y: int


def fit(width: int, height: int, size: tuple[int, int]) -> Frame:
    """The frame of a width x height image letterboxed into size = (input width, input height)."""
    in_w, in_h = size
    ratio = min(in_w / width, in_h / height)
    new_w = max(1, min(in_w, int(round(width * ratio))))
    new_h = max(1, min(in_h, int(round(height * ratio))))
    return Frame(width, height, new_w / width, new_h / height, (in_w - new_w) // 2, (in_h - new_h) // 2)


def letterbox(rgb: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, Frame]:
    """(3, H, W) float32 network input in 0..1 from an HxWx3 uint8 RGB image, and its frame."""
    import cv2

    height, width = rgb.shape[:2]
    frame = fit(width, height, size)
    new_w, new_h = int(round(width * frame.scale_x)), int(round(height * frame.scale_y))
    interpolation = cv2.INTER_AREA if new_w < width else cv2.INTER_LINEAR  # AREA: no aliasing when shrinking
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=interpolation)
    canvas = np.full((3, size[1], size[0]), FILL, np.float32)
    canvas[:, frame.pad_y:frame.pad_y + new_h, frame.pad_x:frame.pad_x + new_w] = \
        resized.transpose(2, 0, 1).astype(np.float32) * np.float32(1.0 / 255.0)
    return canvas, frame


def to_original(boxes: np.ndarray, frame: Frame) -> np.ndarray:
    """(n, 4) x1, y1, x2, y2 boxes in network-input pixels -> the original image's pixels, clipped to it."""
    out = np.empty_like(boxes, dtype=np.float32)
    out[:, [0, 2]] = np.clip((boxes[:, [0, 2]] - frame.pad_x) / frame.scale_x, 0, frame.width)
    out[:, [1, 3]] = np.clip((boxes[:, [1, 3]] - frame.pad_y) / frame.scale_y, 0, frame.height)
    return out
