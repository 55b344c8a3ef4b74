"""Text line direction (0 or 180 degrees) with the PP-OCR mobile v2 classifier.

Each line is scaled to 48 px high (at most 192 wide, its aspect kept) and padded to 48x192. Lines
run in chunks of batch_size, the remainder in power-of-two chunks (13 lines: 8 + 4 + 1), so only a
handful of input shapes occur, all compiled by warm_up: a first run at a new shape costs oneDNN
about three times a cached one (engine.py). Each line is classified on its own (no layer mixes
the lines of a batch), so the chunking does not change any result.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import cv2
import numpy as np

HEIGHT, WIDTH = 48, 192
LABELS = (0, 180)


@dataclass(frozen=True)
class Direction:
    angle: int  # 0 or 180: how far the line is turned from upright
    confidence: float


def normalise(crop: np.ndarray, height: int, width: int) -> tuple[np.ndarray, int]:
    """crop scaled to height (its width kept in proportion, at most width), in [-1, 1], CHW; and its width."""
    h, w = crop.shape[:2]
    scaled_w = min(width, int(math.ceil(height * w / h)))
    resized = cv2.resize(crop, (scaled_w, height)).astype(np.float32)
    resized *= np.float32(2.0 / 255.0)
    resized -= np.float32(1.0)
    return resized.transpose(2, 0, 1), scaled_w


def chunk_sizes(count: int, batch_size: int) -> list[int]:
    """Sizes of the chunks count lines run in: full batches, then the remainder's binary digits."""
    sizes = [batch_size] * (count // batch_size)
    rest = count % batch_size
    sizes += [1 << k for k in reversed(range(rest.bit_length())) if rest & (1 << k)]
    return sizes


class DirectionClassifier:
    def __init__(self, predictor: Any, batch_size: int = 16) -> None:
        self.predictor = predictor
        self.batch_size = batch_size

    def warm_up(self) -> None:
        """One run per chunk size, largest first, so memory and kernels are in place before the first call."""
        for size in sorted({self.batch_size, *chunk_sizes(self.batch_size - 1, self.batch_size)}, reverse=True):
            self.predictor.run(np.zeros((size, 3, HEIGHT, WIDTH), np.float32))

    def classify(self, crops: Sequence[np.ndarray]) -> list[Direction]:
        out: list[Direction] = []
        start = 0
        for size in chunk_sizes(len(crops), self.batch_size):
            chunk, start = crops[start: start + size], start + size
            batch = np.zeros((len(chunk), 3, HEIGHT, WIDTH), np.float32)
            for i, crop in enumerate(chunk):
                chw, w = normalise(crop, HEIGHT, WIDTH)
                batch[i, :, :, :w] = chw
            (probs,) = self.predictor.run(batch)[:1]
            best = probs.argmax(axis=1)
            out.extend(Direction(LABELS[int(k)], float(probs[i, k])) for i, k in enumerate(best))
        return out

    def upright(self, crops: Sequence[np.ndarray], thresh: float) -> tuple[list[np.ndarray], list[Direction]]:
        """crops turned upright where the classifier is surer than thresh that they are upside down."""
        directions = self.classify(crops)
        turned = [cv2.rotate(c, cv2.ROTATE_180) if d.angle == 180 and d.confidence > thresh else c
                  for c, d in zip(crops, directions)]
        return turned, directions
