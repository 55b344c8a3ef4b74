"""Deterministic train/dev/test splits by hashing each example's content.

An example's split depends only on its own bytes and the seed: sha256("hubcore-split:{seed}:" + key)
read as a fraction in [0, 1) goes to train below 0.8, dev below 0.9, test above. So the split does
not change when the corpus is reordered or grows, identical examples always land in the same split
(no copy of a test example is ever trained on), and another seed gives an independent split. The
fractions are 80/10/10 in expectation; loaders report the exact sizes.
"""
from __future__ import annotations

import hashlib

from ..errors import InputError

SPLITS = ("train", "dev", "test")
FRACTIONS = {"train": (0.0, 0.8), "dev": (0.8, 0.9), "test": (0.9, 1.0)}


def split_of(key: bytes | str, seed: int = 0) -> str:
    """'train', 'dev' or 'test' for an example whose content is key."""
    data = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    digest = hashlib.sha256(f"hubcore-split:{seed}:".encode() + data).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2.0**64
    for name, (low, high) in FRACTIONS.items():
        if low <= fraction < high:
            return name
    return "test"  # unreachable: the ranges cover [0, 1)


def check_split(split: str, argument: str = "split") -> str:
    if split not in SPLITS:
        raise InputError(f"{argument}={split!r}: expected one of {', '.join(map(repr, SPLITS))}")
    return split
