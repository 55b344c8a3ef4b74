"""Differentiable Binarization post-process: the detector's probability map -> text line quadrilaterals.

The steps are those of the DB paper (Liao et al., AAAI 2020) as PaddleOCR runs them for PP-OCR:
binarise the map at `thresh`, dilate by 2x2 so touching characters join, trace the outer contours,
fit each contour's minimum-area rotated rectangle, score it by the mean probability inside it, drop
weak ones (`box_thresh`), then grow the rectangle back to the full text extent: the network predicts
a shrunk text kernel, so the polygon is offset outwards by D = area * unclip_ratio / perimeter
(pyclipper, round joins) and refitted with a rotated rectangle.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pyclipper


@dataclass(frozen=True)
class DBParams:
    """Post-process settings; the defaults are those PP-OCRv4 was tuned with."""

    thresh: float = 0.3  # pixel probability above which a pixel is text
    box_thresh: float = 0.5  # minimum mean probability inside a box
    unclip_ratio: float = 1.6  # how far a kernel is grown back (larger: looser boxes)
    max_candidates: int = 1000  # contours examined per image
    min_size: float = 3.0  # shortest side, in map pixels, of a box worth keeping
    dilate: bool = True


def boxes_from_probability(prob: np.ndarray, dest_size: tuple[int, int], params: DBParams) -> tuple[np.ndarray, np.ndarray]:
    """Quadrilaterals (n, 4, 2) float32 in dest_size=(width, height) pixels, and their scores (n,).

    prob: the (H, W) probability map; dest_size: the image the map was computed for, before it
    was resized to the network's input. Points are ordered top-left, top-right, bottom-right,
    bottom-left.
    """
    height, width = prob.shape
    dest_w, dest_h = dest_size
    mask = (prob > params.thresh).astype(np.uint8)
    if params.dilate:
        mask = cv2.dilate(mask, np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes, scores = [], []
    for contour in contours[: params.max_candidates]:
        quad, short_side = min_area_quad(contour)
        if short_side < params.min_size:
            continue
        score = mean_inside(prob, quad)
        if score < params.box_thresh:
            continue
        grown = unclip(quad, params.unclip_ratio)
        if grown is None:
            continue
        quad, short_side = min_area_quad(grown)
        if short_side < params.min_size + 2:
            continue
        quad[:, 0] = np.clip(np.round(quad[:, 0] / width * dest_w), 0, dest_w)
        quad[:, 1] = np.clip(np.round(quad[:, 1] / height * dest_h), 0, dest_h)
        boxes.append(quad)
        scores.append(score)
    if not boxes:
        return np.zeros((0, 4, 2), np.float32), np.zeros((0,), np.float32)
    return np.stack(boxes).astype(np.float32), np.asarray(scores, np.float32)


def min_area_quad(points: np.ndarray) -> tuple[np.ndarray, float]:
    """The minimum-area rotated rectangle around points, as 4 corners (tl, tr, br, bl), and its short side."""
    rect = cv2.minAreaRect(points.reshape(-1, 1, 2).astype(np.float32))
    corners = cv2.boxPoints(rect)
    corners = corners[np.argsort(corners[:, 0], kind="stable")]
    left, right = corners[:2], corners[2:]
    top_left, bottom_left = (left[0], left[1]) if left[1][1] > left[0][1] else (left[1], left[0])
    top_right, bottom_right = (right[0], right[1]) if right[1][1] > right[0][1] else (right[1], right[0])
    quad = np.array([top_left, top_right, bottom_right, bottom_left], dtype=np.float32)
    return quad, float(min(rect[1]))


def mean_inside(prob: np.ndarray, quad: np.ndarray) -> float:
    """Mean probability inside the quadrilateral (computed over its bounding rectangle only)."""
    h, w = prob.shape
    xmin = int(np.clip(np.floor(quad[:, 0].min()), 0, w - 1))
    xmax = int(np.clip(np.ceil(quad[:, 0].max()), 0, w - 1))
    ymin = int(np.clip(np.floor(quad[:, 1].min()), 0, h - 1))
    ymax = int(np.clip(np.ceil(quad[:, 1].max()), 0, h - 1))
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    shifted = (quad - np.array([xmin, ymin], np.float32)).astype(np.int32)
    cv2.fillPoly(mask, shifted.reshape(1, -1, 2), 1)
    return float(cv2.mean(prob[ymin: ymax + 1, xmin: xmax + 1], mask)[0])


def unclip(quad: np.ndarray, ratio: float) -> np.ndarray | None:
    """The quadrilateral offset outwards by area * ratio / perimeter (None when that yields nothing)."""
    contour = quad.reshape(-1, 1, 2).astype(np.float32)
    perimeter = cv2.arcLength(contour, True)
    if perimeter <= 0:
        return None
    distance = cv2.contourArea(contour) * ratio / perimeter
    offset = pyclipper.PyclipperOffset()
    # pyclipper works on integer coordinates (it truncates); the reference does the same.
    offset.AddPath([tuple(p) for p in quad.tolist()], pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    polygons = offset.Execute(distance)
    if not polygons:
        return None
    largest = max(polygons, key=lambda p: abs(cv2.contourArea(np.asarray(p, np.float32).reshape(-1, 1, 2))))
    return np.asarray(largest, dtype=np.float32)


def order_clockwise(quad: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left (left pair by x, then each pair by y)."""
    by_x = quad[np.argsort(quad[:, 0], kind="stable")]
    left = by_x[:2][np.argsort(by_x[:2, 1], kind="stable")]
    right = by_x[2:][np.argsort(by_x[2:, 1], kind="stable")]
    return np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)


def tidy_boxes(boxes: np.ndarray, size: tuple[int, int], min_side: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Order corners, clip them into the image (integer pixels), drop boxes with a side of min_side or less.

    Returns the kept boxes and their indices in the input.
    """
    width, height = size
    kept, index = [], []
    for i, quad in enumerate(boxes):
        quad = order_clockwise(quad)
        quad[:, 0] = np.clip(quad[:, 0], 0, width - 1).astype(np.int32)
        quad[:, 1] = np.clip(quad[:, 1], 0, height - 1).astype(np.int32)
        if int(np.linalg.norm(quad[0] - quad[1])) <= min_side or int(np.linalg.norm(quad[0] - quad[3])) <= min_side:
            continue
        kept.append(quad)
        index.append(i)
    if not kept:
        return np.zeros((0, 4, 2), np.float32), np.zeros((0,), np.int64)
    return np.stack(kept).astype(np.float32), np.asarray(index, np.int64)


def reading_order(boxes: np.ndarray, same_line: float = 10.0) -> np.ndarray:
    """Indices of boxes top to bottom, then left to right among boxes whose tops differ by less than same_line."""
    order = sorted(range(len(boxes)), key=lambda i: (boxes[i][0][1], boxes[i][0][0]))
    # One insertion pass: a box moves left past neighbours on the same line that start right of it.
    for i in range(len(order) - 1):
        j = i
        while j >= 0:
            a, b = boxes[order[j]][0], boxes[order[j + 1]][0]
            if abs(b[1] - a[1]) < same_line and b[0] < a[0]:
                order[j], order[j + 1] = order[j + 1], order[j]
                j -= 1
            else:
                break
    return np.asarray(order, dtype=np.int64)
