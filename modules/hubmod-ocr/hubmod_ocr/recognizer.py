"""Text line recognition with the PP-OCRv4 network (48 px high lines, CTC head), batched.

Lines are scaled to 48 px high with their aspect kept, so their widths differ, and a batch is padded
to its widest line. On the CPU the network's cost is close to proportional to the padded columns
(measured with oneDNN, one thread: about 0.08 ms per column per line), plus an overhead per call
worth about 150 columns (a single line costs that much more than its share of a batch). Lines are
sorted by width and cut into consecutive batches by dynamic programming over that cost model.

Lines are padded to at least min_width columns (default 320, as PaddleOCR and RapidOCR do, and as
the network was trained). Less padding is faster for short lines (prices, labels, table cells)
but changes some of their results; see the module README for the measured effect.

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
DOWNSAMPLE = 8  # input columns per output step; padded widths are multiples of it
# The cost model of the docstring, in units of one column of one line: per call and per line overheads.
CALL_COST = 150
LINE_COST = 11


def padded_width(width: int, min_width: int = 0) -> int:
    return max(min_width, int(math.ceil(width / DOWNSAMPLE) * DOWNSAMPLE))


def scaled_width(crop: np.ndarray) -> int:
    h, w = crop.shape[:2]
    return max(1, int(math.ceil(HEIGHT * w / h)))


def plan_batches(widths: Sequence[int], max_batch: int, max_columns: int, min_width: int = 0) -> list[list[int]]:
    """Indices grouped into batches of similar width, minimising the modelled cost (see above).

    Every batch has at most max_batch lines and at most max_columns padded columns in all, except
    a single line wider than that, which runs alone.
    """
    order = sorted(range(len(widths)), key=lambda i: widths[i])
    padded = [padded_width(widths[i], min_width) for i in order]
    n = len(order)
    best = [0.0] + [math.inf] * n  # best[j]: cost of the first j lines (in width order)
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        widest = padded[end - 1]
        for start in range(end - 1, max(-1, end - 1 - max_batch), -1):
            size = end - start
            if size > 1 and size * widest > max_columns:
                break
            cost = best[start] + CALL_COST + size * (widest + LINE_COST)
            if cost < best[end]:
                best[end], cut[end] = cost, start
    batches = []
    end = n
    while end > 0:
        batches.append(order[cut[end]:end])
        end = cut[end]
    return batches[::-1]


class TextRecognizer:
    def __init__(self, predictor: Any, alphabet: Alphabet, max_batch: int = 16, max_columns: int = 16 * 480,
                 min_width: int = 320) -> None:
        self.predictor = predictor
        self.alphabet = alphabet
        self.max_batch = max_batch
        self.max_columns = max(max_columns, 320)
        self.min_width = min_width

    def warm_up(self) -> None:
        """One run at the largest batch size used, so later batches reuse its memory (see above)."""
        rows = min(self.max_batch, self.max_columns // 64)
        width = self.max_columns // rows // DOWNSAMPLE * DOWNSAMPLE
        (probs,) = self.predictor.run(np.zeros((rows, 3, HEIGHT, width), np.float32))[:1]
        self.alphabet.check_classes(probs.shape[2], "chinese_text_recognition_mobile")

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
