"""The dictionary pre-segmentation LAC runs before its lac and rank models.

Those models read a mix of word and character ids: the text is first cut by a maximum-score path
through the word graph of conf/small_seg.dic, and pieces found in word.dic are fed as one id. The
scores must match LAC's bit for bit, or a piece boundary moves and the model sees other ids. Two
facts from LAC 2.1.2 are kept on purpose:
  * a word's score is log(len(word)) - log(total count), not its frequency (LAC's dictionary maps
    words to their length, and that value is what it scores);
  * on equal scores the longer word wins, and runs of single ASCII letters/digits are glued back
    together ("LAC" stays one piece even though each letter is cut alone).
"""
from __future__ import annotations

import math
from pathlib import Path

_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class PreSegmenter:
    """Cuts text into dictionary pieces; see the module docstring for the scoring."""

    def __init__(self, dictionary: Path) -> None:
        # word -> len(word) for dictionary words; proper prefixes of words map to None, so the
        # graph walk knows when to stop extending.
        entries: dict[str, int | None] = {}
        total = 0
        with open(dictionary, encoding="utf-8") as handle:
            for line in handle:
                word, count = line.strip().split(" ")
                entries[word] = len(word)
                for end in range(1, len(word)):
                    entries.setdefault(word[:end], None)
                total += int(count)
        self._entries = entries
        self._log_total = math.log(total)
        # log(len) for every length a word has: the only per-word score the walk needs.
        self._log_len = {n: math.log(n) for n in {v for v in entries.values() if v}}

    def cut(self, text: str) -> list[str]:
        n = len(text)
        entries, log_total, log_len = self._entries, self._log_total, self._log_len
        # best[i] = (score of the best path from i to the end, last index of its first word)
        best: list[tuple[float, int]] = [(0.0, 0)] * (n + 1)
        for start in range(n - 1, -1, -1):
            # A lone character always scores log(1) - log_total, known word or not.
            choice = (0.0 - log_total + best[start + 1][0], start)
            end = start + 1
            piece = text[start:end]
            while end <= n and piece in entries:
                length = entries[piece]
                if length:
                    candidate = (log_len[length] - log_total + best[end][0], end - 1)
                    if candidate > choice:
                        choice = candidate
                end += 1
                piece = text[start:end]
            best[start] = choice

        pieces: list[str] = []
        letters = ""
        start = 0
        while start < n:
            end = best[start][1] + 1
            piece = text[start:end]
            if len(piece) == 1 and piece in _ASCII_ALNUM:
                letters += piece
            else:
                if letters:
                    pieces.append(letters)
                    letters = ""
                pieces.append(piece)
            start = end
        if letters:
            pieces.append(letters)
        return pieces
