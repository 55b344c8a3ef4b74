"""Text line recognition with the PP-OCRv4 network (48 px high lines, CTC head), batched.

Lines are scaled to 48 px high with their aspect kept, so their widths differ, and a batch is padded
to its widest line. On the CPU the network's cost is proportional to the padded columns (oneDNN,
one thread, memory optimisation on: about 63 us per column per line, the same from 2 to 12 lines
a batch), plus an overhead per call worth about 85 columns. Lines are sorted by width and cut into
consecutive batches by dynamic programming over that cost model.

Only a few input shapes are ever fed: batch sizes are powers of two (up to max_batch) and padded
widths multiples of 32. oneDNN compiles kernels per shape and a first run at a new shape costs up
to twice a cached one (engine.py), so a varied stream of shapes would keep paying that; the
common shapes (every batch size at min_width) are compiled at load, in warm_up.

Lines are padded to at least min_width columns (default 320, as PaddleOCR and RapidOCR do, and as
the network was trained). The network is not blind to padding (its attention and squeeze-excite
layers average over every column), so less padding is faster for short lines (prices, labels,
table cells) but changes some of their results; see the module README for the measured effect.

Batches are also bounded in size (lines x padded width <= max_columns), and the predictor runs
once at that bound when loaded. The inference engine keeps the memory of its largest input so
far; every input larger than any before makes it allocate and touch new memory, which on the CPU
costs several times the run itself. Bounded batches plus one warm-up run pay that once, at load.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .classifier import normalise
from .ctc import Alphabet, greedy_decode

HEIGHT = 48
WIDTH_STEP = 32  # padded widths are multiples of this (the network's 8-column step, bucketed: see above)
CALL_COST = 85  # the cost model of the docstring: the overhead of one call, in columns of one line


def padded_width(width: int, min_width: int = 0) -> int:
    return max(min_width, int(math.ceil(width / WIDTH_STEP) * WIDTH_STEP))


def scaled_width(crop: np.ndarray) -> int:
    h, w = crop.shape[:2]
    return max(1, int(math.ceil(HEIGHT * w / h)))


def batch_sizes(max_batch: int) -> list[int]:
    """The batch sizes used: powers of two up to max_batch, and max_batch itself."""
    sizes = [1 << k for k in range(max_batch.bit_length()) if 1 << k <= max_batch]
    return sorted({*sizes, max_batch})


def plan_batches(widths: Sequence[int], max_batch: int, max_columns: int, min_width: int = 0) -> list[list[int]]:
    """Indices grouped into batches of similar width, minimising the modelled cost (see above).

    Every batch has one of batch_sizes(max_batch) lines and at most max_columns padded columns in
    all, except a single line wider than that, which runs alone.
    """
    order = sorted(range(len(widths)), key=lambda i: widths[i])
    padded = [padded_width(widths[i], min_width) for i in order]
    sizes = batch_sizes(max_batch)
    n = len(order)
    best = [0.0] + [math.inf] * n  # best[j]: cost of the first j lines (in width order)
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        widest = padded[end - 1]
        for size in sizes:
            if size > end or (size > 1 and size * widest > max_columns):
                break
            cost = best[end - size] + CALL_COST + size * widest
            if cost < best[end]:
                best[end], cut[end] = cost, end - size
    batches = []
    end = n
    while end > 0:
        batches.append(order[cut[end]:end])
        end = cut[end]
    return batches[::-1]


class TextRecognizer:
    def __init__(self, predictor: Any, alphabet: Alphabet, max_batch: int = 8, max_columns: int = 16 * 480,
                 min_width: int = 320) -> None:
        self.predictor = predictor
        self.alphabet = alphabet
        self.max_batch = max_batch
        self.max_columns = max(max_columns, 320)
        self.min_width = min_width

    def warm_up(self) -> None:
        """One run at the largest batch used, so later batches reuse its memory, then one per batch
        size at min_width, the commonest shapes, so their kernels are compiled (see above)."""
        rows = min(self.max_batch, self.max_columns // 64)
        width = self.max_columns // rows // WIDTH_STEP * WIDTH_STEP
        (probs,) = self.predictor.run(np.zeros((rows, 3, HEIGHT, width), np.float32))[:1]
        self.alphabet.check_classes(probs.shape[2], "chinese_text_recognition_mobile")
        if self.min_width:
            for size in batch_sizes(self.max_batch):
                if size * self.min_width <= self.max_columns:
                    self.predictor.run(np.zeros((size, 3, HEIGHT, padded_width(1, self.min_width)), np.float32))

    def recognize(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        widths = [scaled_width(c) for c in crops]
        results: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        for indices in plan_batches(widths, self.max_batch, self.max_columns, self.min_width):
            padded = padded_width(max(widths[i] for i in indices), self.min_width)
            batch = np.zeros((len(indices), 3, HEIGHT, padded), np.float32)
            for row, i in enumerate(indices):
                chw, w = normalise(crops[i], HEIGHT, padded)
                batch[row, :, :, :w] = chw
            (probs,) = self.predictor.run(batch)[:1]
            for row, decoded in zip(indices, greedy_decode(probs, self.alphabet)):
                results[row] = decoded
        return results
