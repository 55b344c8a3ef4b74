"""Which sentences share a predictor call.

Sentences are grouped by length (results do not depend on which sentences share a call) and a
call is closed before its padded size (count x longest) passes a budget; a sentence longer than
the budget runs alone. This was needed for paddle's fused oneDNN GRU, which pads every sentence of
a call to the longest one: 68 short sentences plus one 10,000-character line took 35 s in one call
against 0.1 s + 1 s apart. The engine now runs plain GRU kernels (engine.py, GRU_FUSION_PASSES),
whose cost follows the ids, not the padding (the same 69 sentences take 0.26 s in one call or
grouped); the grouping stays as a guard that costs nothing measurable for typical batches and
keeps a call's size bounded whichever GRU kernel a paddle version or device picks.
"""
from __future__ import annotations

# Padded characters per call: 256 sentences of 128 characters, far above typical batches, while
# one long document never drags hundreds of short sentences through its length.
MAX_PADDED_CHARS = 256 * 128


def plan_batches(lengths: list[int], batch_size: int, max_padded: int = MAX_PADDED_CHARS) -> list[list[int]]:
    """Index lists, shortest sentences first: at most batch_size each, and padded size
    (count x longest) at most max_padded unless a single sentence is longer."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    plans: list[list[int]] = []
    batch: list[int] = []
    for index in order:
        # Sorted ascending, so this sentence is the longest of the batch if it joins.
        if batch and (len(batch) == batch_size or (len(batch) + 1) * lengths[index] > max_padded):
            plans.append(batch)
            batch = []
        batch.append(index)
    if batch:
        plans.append(batch)
    return plans
