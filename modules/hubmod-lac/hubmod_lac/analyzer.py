"""LAC's three pipelines on top of the artifacts: text -> ids -> one predictor call -> words.

    lac   pre-segment, mixed word/char ids, BiGRU-CRF labels -> words + tags (POS and entities)
    seg   character ids, smaller BiGRU-CRF B/I/E/S labels -> words
    rank  the lac pipeline, then the rank model reads the ids and the lac labels -> importance 0-3

Each call takes a whole batch of sentences and makes one predictor call per model (see engine.py).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .engine import LodPredictor, offsets
from .presegment import PreSegmenter
from .tagging import max_per_word, spread_labels, spread_values, words_and_tags
from .user_dict import UserDict
from .vocab import Vocabulary


@dataclass
class Sentence:
    """The analysis of one sentence; tags is None in seg mode, rank set only in rank mode."""

    words: list[str]
    tags: list[str] | None
    rank: list[int] | None = None


@dataclass
class _Tagged:
    """Intermediate results of the tagging model for a batch (the rank model reads them)."""

    texts: list[str]
    lod: list[int]
    ids: np.ndarray
    predicted: np.ndarray  # one label id per input id
    spans: list[list[int]]  # per sentence: characters covered by each id
    labels: list[list[str]]  # per sentence: one label per character, after the user dictionary


class _Engines:
    """Predictors of one program folder, one per device, created on first use."""

    def __init__(self, folder: Path, threads: int, mkldnn: bool) -> None:
        self._folder, self._threads, self._mkldnn = folder, threads, mkldnn
        self._by_device: dict[str, LodPredictor] = {}
        self._lock = threading.Lock()

    def get(self, device: str) -> LodPredictor:
        with self._lock:
            if device not in self._by_device:
                self._by_device[device] = LodPredictor(self._folder, device, self._threads, self._mkldnn)
            return self._by_device[device]


class Tagger:
    """The lac or seg model with its dictionaries: sentences -> per-character labels."""

    def __init__(self, model_folder: Path, *, presegment: bool, threads: int = 1, mkldnn: bool = False) -> None:
        conf = model_folder / "conf"
        self.vocab = Vocabulary.load(conf)
        self._cut = PreSegmenter(conf / "small_seg.dic").cut if presegment else None
        self.engines = _Engines(model_folder / "model", threads, mkldnn)

    def encode(self, text: str) -> tuple[list[int], list[int]]:
        """Model ids of text and the number of characters each id covers."""
        if self._cut is None:
            return self.vocab.char_ids(text), [1] * len(text)
        return self.vocab.mixed_ids(self._cut(text))

    def tag(self, texts: list[str], user_dict: UserDict | None, device: str) -> _Tagged:
        """Label every character of every (non-empty) text with one predictor call."""
        encoded = [self.encode(t) for t in texts]
        lod = offsets([len(ids) for ids, _ in encoded])
        ids = np.fromiter((i for sent, _ in encoded for i in sent), dtype=np.int64, count=lod[-1])
        predicted = self.engines.get(device).run(lod, ids)
        labels = []
        for text, (_, spans), start, end in zip(texts, encoded, lod, lod[1:]):
            per_char = spread_labels(self.vocab.label_names(predicted[start:end].tolist()), spans)
            labels.append(user_dict.apply(text, per_char) if user_dict else per_char)
        return _Tagged(texts, lod, ids, predicted, [spans for _, spans in encoded], labels)


class Analyzer:
    """One mode's pipeline; analyze() is what the module calls."""

    mode = ""

    def analyze(self, texts: list[str], user_dict: UserDict | None = None, device: str = "cpu") -> list[Sentence]:
        """Analyses in input order; empty strings give empty results without reaching the model."""
        present = [t for t in texts if t]
        done = iter(self._analyze(present, user_dict, device) if present else [])
        return [next(done) if t else self._empty() for t in texts]

    def _analyze(self, texts: list[str], user_dict: UserDict | None, device: str) -> list[Sentence]:
        raise NotImplementedError

    def _empty(self) -> Sentence:
        raise NotImplementedError


class LacAnalyzer(Analyzer):
    mode = "lac"

    def __init__(self, lac_folder: Path, threads: int = 1, mkldnn: bool = False) -> None:
        self.tagger = Tagger(lac_folder, presegment=True, threads=threads, mkldnn=mkldnn)

    def _analyze(self, texts: list[str], user_dict: UserDict | None, device: str) -> list[Sentence]:
        tagged = self.tagger.tag(texts, user_dict, device)
        return [Sentence(*words_and_tags(t, labels)) for t, labels in zip(texts, tagged.labels)]

    def _empty(self) -> Sentence:
        return Sentence([], [])


class SegAnalyzer(Analyzer):
    mode = "seg"

    def __init__(self, seg_folder: Path, threads: int = 1, mkldnn: bool = False) -> None:
        self.tagger = Tagger(seg_folder, presegment=False, threads=threads, mkldnn=mkldnn)

    def _analyze(self, texts: list[str], user_dict: UserDict | None, device: str) -> list[Sentence]:
        tagged = self.tagger.tag(texts, user_dict, device)
        return [Sentence(words_and_tags(t, labels)[0], None) for t, labels in zip(texts, tagged.labels)]

    def _empty(self) -> Sentence:
        return Sentence([], None)


class RankAnalyzer(LacAnalyzer):
    """The lac pipeline plus the rank model, which reads the ids and the model's (not the user
    dictionary's) label ids, and scores each id 0-3; a word's importance is its highest score."""

    mode = "rank"

    def __init__(self, lac_folder: Path, rank_folder: Path, threads: int = 1, mkldnn: bool = False) -> None:
        super().__init__(lac_folder, threads, mkldnn)
        self.rank_engines = _Engines(rank_folder / "model", threads, mkldnn)

    def _analyze(self, texts: list[str], user_dict: UserDict | None, device: str) -> list[Sentence]:
        tagged = self.tagger.tag(texts, user_dict, device)
        scores = self.rank_engines.get(device).run(tagged.lod, tagged.ids, tagged.predicted)
        out = []
        for text, labels, spans, start, end in zip(texts, tagged.labels, tagged.spans, tagged.lod, tagged.lod[1:]):
            words, tags = words_and_tags(text, labels)
            per_char = spread_values(scores[start:end].tolist(), spans)
            out.append(Sentence(words, tags, max_per_word(per_char, labels)))
        return out

    def _empty(self) -> Sentence:
        return Sentence([], [], [])


ARTIFACTS_BY_MODE = {"lac": ("lac_model",), "seg": ("seg_model",), "rank": ("lac_model", "rank_model")}


def build_analyzer(mode: str, artifact: Callable[[str], Path], threads: int, mkldnn: bool) -> Analyzer:
    """The analyzer for a mode, its artifacts fetched through artifact(name)."""
    if mode == "lac":
        return LacAnalyzer(artifact("lac_model"), threads, mkldnn)
    if mode == "seg":
        return SegAnalyzer(artifact("seg_model"), threads, mkldnn)
    if mode == "rank":
        return RankAnalyzer(artifact("lac_model"), artifact("rank_model"), threads, mkldnn)
    raise ValueError(f"unknown mode {mode!r}")
