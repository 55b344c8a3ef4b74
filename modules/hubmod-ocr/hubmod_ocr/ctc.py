"""The recogniser's alphabet and CTC greedy decoding.

The network's classes are: 0 the CTC blank, then the dictionary's characters in file order, then a
space (PaddleOCR appends it when `use_space_char` is on, as it is for the Chinese models).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hubcore.errors import ArtifactError


class Alphabet:
    """Class index -> character, from a dictionary file with one character per line."""

    def __init__(self, characters: list[str]) -> None:
        self.characters = ["", *characters, " "]  # the blank decodes to nothing

    @classmethod
    def from_file(cls, path: Path) -> "Alphabet":
        # Only line breaks are stripped: some dictionaries hold characters that str.strip() would eat.
        lines = Path(path).read_bytes().decode("utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return cls([line.rstrip("\r") for line in lines])

    def __len__(self) -> int:
        return len(self.characters)

    def check_classes(self, classes: int, where: str) -> None:
        if classes != len(self):
            raise ArtifactError(f"{where}: the recognition network has {classes} classes but the dictionary gives "
                                f"{len(self)} (blank + {len(self) - 2} characters + space); the model and "
                                f"dictionary artifacts do not belong together")


def greedy_decode(probs: np.ndarray, alphabet: Alphabet, lengths: np.ndarray | None = None) -> list[tuple[str, float]]:
    """(text, confidence) per row of probs (n, steps, classes): best class per step, repeats merged, blanks dropped.

    confidence is the mean probability of the kept steps (0.0 for an empty line). lengths, when
    given, limits each row to its first lengths[i] steps (the rest saw only padding).
    """
    best = probs.argmax(axis=2)
    best_prob = np.take_along_axis(probs, best[:, :, None], axis=2)[:, :, 0]
    chars = alphabet.characters
    out = []
    for row in range(best.shape[0]):
        end = best.shape[1] if lengths is None else int(lengths[row])
        ids, p = best[row, :end], best_prob[row, :end]
        keep = ids != 0
        keep[1:] &= ids[1:] != ids[:-1]
        kept = ids[keep]
        text = "".join(chars[i] for i in kept.tolist())
        out.append((text, float(p[keep].mean()) if kept.size else 0.0))
    return out
