"""Class-wise non-maximum suppression: of boxes of one class overlapping more than iou, the best stays.

Each candidate box takes its best class (as OpenCV's and most YOLO deployments do): one label per
box. Work is bounded whatever the image: at most max_candidates boxes enter NMS (the best ones).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NMSParams:
    score_thresh: float = 0.5
    iou_thresh: float = 0.45  # Darknet's default for detection
    max_candidates: int = 2000
    max_detections: int = 100  # per image, as PaddleDetection's keep_top_k


@dataclass(frozen=True)
class Detections:
    """Kept boxes of one image, best first: (n, 4) x1 y1 x2 y2, scores (n,), class ids (n,)."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)


def iou_one_to_many(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[2], others[:, 2])
    y2 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def suppress(boxes: np.ndarray, scores: np.ndarray, params: NMSParams) -> Detections:
    """Detections of one image from its candidates: boxes (K, 4), per-class scores (K, C)."""
    classes = scores.argmax(axis=1)
    best = scores[np.arange(len(scores)), classes]
    keep = np.flatnonzero(best >= params.score_thresh)
    keep = keep[np.argsort(-best[keep], kind="stable")][:params.max_candidates]
    boxes, best, classes = boxes[keep], best[keep], classes[keep]
    chosen: list[int] = []
    for label in np.unique(classes):
        members = np.flatnonzero(classes == label)  # already best first
        while members.size:
            top, members = members[0], members[1:]
            chosen.append(int(top))
            members = members[iou_one_to_many(boxes[top], boxes[members]) <= params.iou_thresh]
    order = sorted(chosen, key=lambda i: -best[i])[:params.max_detections]
    return Detections(boxes[order].astype(np.float32), best[order].astype(np.float32), classes[order])
