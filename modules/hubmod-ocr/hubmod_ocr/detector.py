"""Text line detection with the PP-OCRv4 DB network: image -> quadrilaterals in the image's pixels.

Sizing follows what PP-OCRv4 was tuned with (and what RapidOCR runs): the long side is first
bounded (2000 px), very small images are enlarged, very wide or flat ones get black bands above
and below so the network sees enough context, and then the image is scaled so its short side is at
least 736 px, each side rounded to a multiple of 32 (the network downsamples by 32). Very tall
images get bands left and right, and the network input is capped in size, so a strip-shaped
image cannot ask for gigabytes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from .db_postprocess import DBParams, boxes_from_probability, reading_order, tidy_boxes


@dataclass(frozen=True)
class Sizing:
    max_side: int = 2000  # images with a longer side are shrunk first
    min_side: int = 30  # images with a shorter side are enlarged first
    min_height: int = 30  # images this flat (or wider than max_aspect) get bands above and below
    max_aspect: float = 8.0
    limit_side: int = 736  # the network sees a short side of at least this
    max_input_side: int = 4096  # and a long side of at most this


@dataclass
class Detection:
    """Boxes of one image, in reading order, in the caller's image pixels (float32, (n, 4, 2))."""

    boxes: np.ndarray
    scores: np.ndarray
    seconds: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Frame:
    """How the detector's view relates to the original image: view = (original * scale) + pad."""

    view: np.ndarray
    scale_x: float
    scale_y: float
    pad_left: int
    pad_top: int


def _round32(value: float) -> int:
    return max(32, int(round(value / 32) * 32))


def _resize_to(image: np.ndarray, ratio: float) -> tuple[np.ndarray, float, float]:
    h, w = image.shape[:2]
    new_h, new_w = _round32(int(h * ratio)), _round32(int(w * ratio))
    return cv2.resize(image, (new_w, new_h)), new_w / w, new_h / h


def frame(image: np.ndarray, sizing: Sizing) -> _Frame:
    """Bound, enlarge and pad the image as the detector expects (see the module docstring)."""
    view, sx, sy = image, 1.0, 1.0
    h, w = view.shape[:2]
    if max(h, w) > sizing.max_side:
        view, sx, sy = _resize_to(view, sizing.max_side / max(h, w))
    h, w = view.shape[:2]
    if min(h, w) < sizing.min_side:
        view, fx, fy = _resize_to(view, sizing.min_side / min(h, w))
        sx, sy = sx * fx, sy * fy
    h, w = view.shape[:2]
    pad_top = pad_left = 0
    if h <= sizing.min_height or w / h > sizing.max_aspect:
        pad_top = int(abs(max(int(w / sizing.max_aspect), sizing.min_height) * 2 - h) / 2)
    elif h / w > sizing.max_aspect:
        pad_left = int(abs(max(int(h / sizing.max_aspect), sizing.min_height) * 2 - w) / 2)
    if pad_top or pad_left:
        view = cv2.copyMakeBorder(view, pad_top, pad_top, pad_left, pad_left, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return _Frame(view, sx, sy, pad_left, pad_top)


def network_input(view: np.ndarray, sizing: Sizing) -> np.ndarray:
    """The view resized for the network, normalised to [-1, 1], as a (1, 3, H, W) float32 batch."""
    h, w = view.shape[:2]
    ratio = max(1.0, sizing.limit_side / min(h, w))
    if max(h, w) * ratio > sizing.max_input_side:
        ratio = sizing.max_input_side / max(h, w)
    new_h, new_w = _round32(int(h * ratio)), _round32(int(w * ratio))
    resized = cv2.resize(view, (new_w, new_h))
    # (x / 255 - 0.5) / 0.5 in one multiply-add; channels stay BGR, as the network was trained.
    batch = resized.astype(np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)
    return np.ascontiguousarray(batch.transpose(2, 0, 1)[None])


class TextDetector:
    """Runs the DB network and its post-process on one image at a time (sizes differ per image)."""

    def __init__(self, predictor: Any, sizing: Sizing = Sizing()) -> None:
        self.predictor = predictor
        self.sizing = sizing

    def warm_up(self, side: int = 1024) -> None:
        """One run on a side x side input (as large as most photos give), so the engine's memory for
        such inputs is in place before the first call; larger images still grow it when they come."""
        self.predictor.run(np.zeros((1, 3, side, side), np.float32))

    def detect(self, image: np.ndarray, params: DBParams) -> Detection:
        t0 = time.perf_counter()
        fr = frame(image, self.sizing)
        batch = network_input(fr.view, self.sizing)
        t1 = time.perf_counter()
        (prob,) = self.predictor.run(batch)[:1]
        t2 = time.perf_counter()
        view_h, view_w = fr.view.shape[:2]
        boxes, scores = boxes_from_probability(prob[0, 0], (view_w, view_h), params)
        boxes, kept = tidy_boxes(boxes, (view_w, view_h))
        scores = scores[kept]
        order = reading_order(boxes)
        boxes, scores = boxes[order], scores[order]
        boxes = _to_original(boxes, fr, image.shape[:2])
        t3 = time.perf_counter()
        return Detection(boxes, scores, {"pre": t1 - t0, "net": t2 - t1, "post": t3 - t2})


def _to_original(boxes: np.ndarray, fr: _Frame, shape: tuple[int, int]) -> np.ndarray:
    if len(boxes) == 0:
        return boxes
    h, w = shape
    out = boxes.copy()
    out[:, :, 0] = np.clip((out[:, :, 0] - fr.pad_left) / fr.scale_x, 0, w)
    out[:, :, 1] = np.clip((out[:, :, 1] - fr.pad_top) / fr.scale_y, 0, h)
    return out
