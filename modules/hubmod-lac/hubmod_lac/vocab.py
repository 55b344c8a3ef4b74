"""LAC's dictionaries (the conf/ folder of each model) and the mapping from text to model ids.

conf/ holds, tab separated, one entry a line:
    word.dic   id -> word   (single characters, and in lac/rank also ~50k whole words; last id is "OOV")
    tag.dic    id -> label  ("n-B", "n-I", ...; several labels share an id, the last line wins)
    q2b.dic    char -> char (full-width to half-width and traditional to simplified)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hubcore.errors import ArtifactError

OOV = "OOV"


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """(first, second) of every line holding exactly two tab-separated fields, as LAC reads them.

    Only the newline is stripped: the first entry of word.dic is a space, a real vocabulary item.
    """
    pairs = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) == 2:
                pairs.append((fields[0], fields[1]))
    return pairs


@dataclass(frozen=True)
class Vocabulary:
    """Word ids, the character normalisation table and the id -> label table of one model."""

    word_ids: dict[str, int]
    normalise: dict[str, str]
    labels: dict[int, str]
    oov_id: int

    @classmethod
    def load(cls, conf: Path) -> "Vocabulary":
        files = {name: conf / name for name in ("word.dic", "tag.dic", "q2b.dic")}
        missing = [str(p) for p in files.values() if not p.is_file()]
        if missing:
            raise ArtifactError(f"LAC dictionaries missing: {', '.join(missing)}; the cached artifact is "
                                f"incomplete, remove it with `hub clear lac` and load the module again")
        word_ids = {word: int(i) for i, word in read_pairs(files["word.dic"])}
        if OOV not in word_ids:
            raise ArtifactError(f"{files['word.dic']} has no {OOV!r} entry; it is not a LAC word dictionary")
        return cls(
            word_ids=word_ids,
            normalise=dict(read_pairs(files["q2b.dic"])),
            labels={int(i): label for i, label in read_pairs(files["tag.dic"])},
            oov_id=word_ids[OOV],
        )

    def id_of(self, token: str) -> int:
        """Id of a character or word after normalisation; unknown ones share the OOV id."""
        return self.word_ids.get(self.normalise.get(token, token), self.oov_id)

    def char_ids(self, text: str) -> list[int]:
        """One id per character (the seg model's input)."""
        return [self.id_of(ch) for ch in text]

    def mixed_ids(self, pieces: list[str]) -> tuple[list[int], list[int]]:
        """Ids for pre-segmented text (the lac and rank models' input) and the span of each id.

        A piece that is itself a vocabulary word becomes one id covering all its characters; any
        other piece falls back to one id per character. The lookup of the whole piece uses the raw
        text, as LAC does, so normalisation applies to pieces only through their characters.
        """
        ids: list[int] = []
        spans: list[int] = []
        for piece in pieces:
            if piece in self.word_ids:
                ids.append(self.id_of(piece))
                spans.append(len(piece))
            else:
                ids.extend(self.id_of(ch) for ch in piece)
                spans.extend([1] * len(piece))
        return ids, spans

    def label_names(self, ids: list[int]) -> list[str]:
        return [self.labels[i] for i in ids]
