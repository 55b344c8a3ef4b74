"""`multilingual_e5_small`: multilingual sentence embeddings with PaddleHub's semantic-model interface.

    import hubcore as hub
    m = hub.Module(name="multilingual_e5_small")
    m.embed(["今天天气很好", "The weather is nice today"])        # two 384-d unit vectors
    m.get_embedding(texts=[["今天天气很好"], ["how to cook rice"]])  # PaddleHub's call
    m.similarity(texts=[["今天天气很好", "天气不错"]])             # [{"text_1", "text_2", "similarity"}]
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import hubcore
from hubcore.errors import InputError, NotSupported

MODEL_ARTIFACT = "model"
WEIGHTS_FILE = "model.safetensors"
MAX_TOKENS = 512  # the model's positions; longer texts keep their first 510 pieces
PREFIXES = {"query": "query: ", "passage": "passage: "}
DEFAULT_BATCH_SIZE = 32


class MultilingualE5Small(hubcore.Module):
    """multilingual-e5-small (12 layers, 384 hidden, 250k SentencePiece vocabulary covering Chinese).
    Texts are prefixed "query: " (default) or "passage: " as the model was trained; retrieval embeds
    questions as queries and documents as passages."""

    def __init__(self) -> None:
        from safetensors.numpy import load_file

        from hubcore.formats.e5s1 import read_e5s1
        from hubcore.formats.sentencepiece_unigram import UnigramTokenizer

        from .encoder import Encoder

        source = read_e5s1(self.artifact(MODEL_ARTIFACT))
        self.tokenizer = UnigramTokenizer(source.vocab)
        folder = self.cached_build("fp32-weights", self._convert, inputs=(MODEL_ARTIFACT,))
        self._encoder = Encoder(load_file(str(folder / WEIGHTS_FILE)), source.config)

    def _convert(self, folder: Path) -> None:
        from safetensors.numpy import save_file

        from hubcore.formats.e5s1 import read_e5s1

        from .encoder import dequantised_weights

        save_file(dequantised_weights(read_e5s1(self.artifact(MODEL_ARTIFACT))), str(folder / WEIGHTS_FILE))

    # -- embeddings -------------------------------------------------------------------------------
    def embed(self, texts: list[str], kind: str = "query", batch_size: int = DEFAULT_BATCH_SIZE) -> list[list[float]]:
        """One L2-normalised 384-d vector per text (texts over 512 tokens are cut to their first 510 pieces)."""
        texts = _check_texts(texts, "texts")
        if kind not in PREFIXES:
            raise InputError(f"kind: expected 'query' or 'passage', got {kind!r:.40}")
        batch_size = _check_batch_size(batch_size)
        ids = [self.tokenizer.encode(PREFIXES[kind] + t, MAX_TOKENS) for t in texts]
        out: list[list[float]] = [[]] * len(ids)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths pad little
        for start in range(0, len(order), batch_size):
            chosen = order[start:start + batch_size]
            lengths = np.array([len(ids[i]) for i in chosen])
            batch = np.zeros((len(chosen), int(lengths.max())), np.int64)
            for row, i in enumerate(chosen):
                batch[row, :lengths[row]] = ids[i]
            for i, vector in zip(chosen, self._encoder(batch, lengths)):
                out[i] = vector.tolist()
        return out

    @hubcore.serving(batch="texts", default=True)
    def get_embedding(self, texts: list[list[str]], use_gpu: bool = False,
                      batch_size: int = DEFAULT_BATCH_SIZE) -> list[list[list[float]]]:
        """PaddleHub's call: texts=[[text], [text_a, text_b], ...] -> one embedding per text, same nesting.

        Args:
            texts: groups of sentences (PaddleHub passes [[sentence], ...]).
            use_gpu: must stay False: this module runs on the CPU for now.
            batch_size: sentences per encoder call.
        """
        groups = _check_groups(texts, "texts")
        if use_gpu is not False:
            raise NotSupported("use_gpu: multilingual_e5_small runs on the CPU only for now; pass use_gpu=False")
        flat = self.embed([t for g in groups for t in g], batch_size=batch_size)
        out, i = [], 0
        for g in groups:
            out.append(flat[i:i + len(g)])
            i += len(g)
        return out

    @hubcore.serving(batch="texts")
    def similarity(self, texts: list[list[str]], batch_size: int = DEFAULT_BATCH_SIZE) -> list[dict]:
        """Cosine similarity of each pair: texts=[[a, b], ...] -> [{"text_1", "text_2", "similarity"}].

        Args:
            texts: pairs of sentences.
            batch_size: sentences per encoder call.
        """
        pairs = _check_groups(texts, "texts")
        if any(len(p) != 2 for p in pairs):
            raise InputError("texts: each item must be a pair [text_1, text_2]")
        flat = self.embed([t for p in pairs for t in p], batch_size=batch_size)
        return [{"text_1": a, "text_2": b, "similarity": float(np.dot(flat[2 * i], flat[2 * i + 1]))}
                for i, (a, b) in enumerate(pairs)]

    @classmethod
    def sample_input(cls) -> dict:
        return {"texts": [["今天天气很好"], ["The weather is nice today"]]}


def _check_texts(texts: object, name: str) -> list[str]:
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise InputError(f"{name}: expected a list of strings")
    return texts


def _check_groups(groups: object, name: str) -> list[list[str]]:
    if not isinstance(groups, list) or not all(isinstance(g, list) and all(isinstance(t, str) for t in g)
                                               for g in groups):
        raise InputError(f"{name}: expected a list of lists of strings, e.g. [[\"sentence\"], ...]")
    return groups


def _check_batch_size(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"batch_size: expected a positive integer, got {value!r:.40}")
    return value
