"""A whitespace tokenizer and character counter: real, tiny, and free of weights.

It exists to show the shape of a module package (manifest, entry point, @serving signature,
sample_input for `hub check`) and to give the installer's end-to-end test something to install.
"""
from __future__ import annotations

import hubcore
from hubcore.errors import InputError


class Example(hubcore.Module):
    def __init__(self, lowercase: bool = False):
        if not isinstance(lowercase, bool):
            raise InputError(f"lowercase must be true or false, got {lowercase!r}")
        self.lowercase = lowercase

    @hubcore.serving(batch="texts", default=True)
    def analyze(self, texts: list[str]) -> list[dict]:
        """Split each text on whitespace and count its characters.

        Args:
            texts: the texts to analyse, one result per text.
        """
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise InputError("texts must be a list of strings, e.g. [\"hello world\"]")
        results = []
        for text in texts:
            tokens = (text.lower() if self.lowercase else text).split()
            results.append({
                "tokens": tokens,
                "words": len(tokens),
                "chars": len(text),
                "non_space_chars": sum(1 for ch in text if not ch.isspace()),
            })
        return results

    @classmethod
    def sample_input(cls) -> dict:
        """Keyword arguments for the default signature, used by `hub check`."""
        return {"texts": ["hello  world", "飞桨 模型"]}
