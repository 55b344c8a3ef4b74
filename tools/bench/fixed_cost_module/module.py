"""A synthetic module for the serving benchmark: a fixed cost per call and a small cost per item.

It stands for models whose calls are dominated by per-call overhead (small networks, GPU
launches): its own batch-of-16 gain is large, so it shows what the server keeps of it.
"""
import time

import hubcore


def _burn(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


class FixedCost(hubcore.Module):
    @hubcore.serving(batch="text", default=True)
    def cut(self, text: list[str]) -> list[int]:
        """Length of each text, after 1 ms per call and 0.05 ms per text of busy CPU.

        Args:
            text: texts
        """
        _burn(0.001 + 0.00005 * len(text))
        return [len(t) for t in text]
