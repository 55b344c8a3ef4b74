"""YOLO heads' raw outputs -> candidate boxes with per-class scores, for any YOLOv3-style head.

A head's output is (N, A * (5 + C), H, W): per anchor a, tx, ty, tw, th, objectness, then C class
logits. As Darknet decodes them: centre x = (column + sigmoid(tx)) / W of the input width, width =
exp(tw) * anchor width; objectness and classes are sigmoids, and a box's score for a class is
objectness x class probability.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Head:
    """One YOLO output: its anchors (w, h) in input pixels and the number of classes."""

    anchors: tuple[tuple[float, float], ...]
    classes: int
    scale_x_y: float = 1.0  # YOLOv4's grid-sensitivity factor; 1 in YOLOv3


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # no overflow warning for large negative logits


def decode(output: np.ndarray, head: Head, input_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(boxes (N, H*W*A, 4) x1 y1 x2 y2 in input pixels, scores (N, H*W*A, C)) of one head."""
    n, channels, grid_h, grid_w = output.shape
    count = len(head.anchors)
    if channels != count * (5 + head.classes):
        raise ValueError(f"a head with {count} anchors and {head.classes} classes gives {count * (5 + head.classes)} "
                         f"channels, not {channels}")
    in_w, in_h = input_size
    # (N, A, 5 + C, H, W) -> (N, H, W, A, 5 + C): one row per box
    rows = output.reshape(n, count, 5 + head.classes, grid_h, grid_w).transpose(0, 3, 4, 1, 2).astype(np.float32)
    cols, lines = np.meshgrid(np.arange(grid_w, dtype=np.float32), np.arange(grid_h, dtype=np.float32))
    s = head.scale_x_y
    cx = (_sigmoid(rows[..., 0]) * s - (s - 1) / 2 + cols[None, :, :, None]) * (in_w / grid_w)
    cy = (_sigmoid(rows[..., 1]) * s - (s - 1) / 2 + lines[None, :, :, None]) * (in_h / grid_h)
    anchors = np.asarray(head.anchors, np.float32)
    w = np.exp(np.minimum(rows[..., 2], 20.0)) * anchors[:, 0]  # capped: a corrupt logit cannot give inf
    h = np.exp(np.minimum(rows[..., 3], 20.0)) * anchors[:, 1]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1).reshape(n, -1, 4)
    scores = (_sigmoid(rows[..., 4:5]) * _sigmoid(rows[..., 5:])).reshape(n, -1, head.classes)
    return boxes, scores


def decode_heads(outputs: list[np.ndarray], heads: list[Head],
                 input_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Every head's candidates of a batch, joined: boxes (N, K, 4), scores (N, K, C)."""
    parts = [decode(o, h, input_size) for o, h in zip(outputs, heads)]
    return np.concatenate([p[0] for p in parts], axis=1), np.concatenate([p[1] for p in parts], axis=1)
