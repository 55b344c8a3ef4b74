"""Long texts in pieces: a predictor call's memory follows its characters (~13 KB each, and paddle's
allocator keeps the peak), so no piece is longer than a call's budget.

A text longer than MAX_PIECE_CHARS is cut after the last sentence end (。！？!?；;… or a line break)
of each window, else after the last comma or space, else at the window's end; the pieces' words
and tags are joined back in order. Texts up to the budget are analysed whole, as before. A word
can only be split where no punctuation or space came within MAX_PIECE_CHARS characters.
"""
from __future__ import annotations

from .batching import MAX_PADDED_CHARS

MAX_PIECE_CHARS = MAX_PADDED_CHARS
_SENTENCE_ENDS = "。！？!?；;…\n"
_WEAK_BREAKS = "，,、：: \t"


def split_text(text: str, limit: int = MAX_PIECE_CHARS) -> list[str]:
    """text in consecutive pieces of at most limit characters (one piece if it is short enough)."""
    pieces, start = [], 0
    while len(text) - start > limit:
        window = text[start:start + limit]
        cut = _last_break(window, _SENTENCE_ENDS, limit) or _last_break(window, _WEAK_BREAKS, limit) or limit
        pieces.append(text[start:start + cut])
        start += cut
    pieces.append(text[start:])
    return pieces


def _last_break(window: str, marks: str, limit: int) -> int:
    """Length up to and including the last mark in the second half of window; 0 if none."""
    cut = max(window.rfind(mark) for mark in marks) + 1
    return cut if cut > limit // 2 else 0
