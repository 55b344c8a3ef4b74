"""The module classes that Trainer.save_module folders subclass: a base module's context, a head,
and the fine-tuned weights (see hubcore.finetune.export for the folder layout)."""
from __future__ import annotations

import json
from typing import Any

from ..errors import InputError, ModuleLoadError
from ..module import Module
from ..signatures import Image, serving


class _Finetuned(Module):
    """Loads finetune.json, the base module's context and the weights artifact at construction."""

    def __init__(self) -> None:
        from safetensors.numpy import load_file

        from . import export
        from .checkpoint import load_model_arrays
        from .heads import HEADS

        folder = self.manifest().source_dir
        if folder is None or not (folder / export.CONFIG_FILE).is_file():
            raise ModuleLoadError(f"module {self.name!r} has no {export.CONFIG_FILE} next to its hubmodule.toml; "
                                  f"write the folder with Trainer.save_module")
        config = json.loads((folder / export.CONFIG_FILE).read_text(encoding="utf-8"))
        import hubcore

        base = hubcore.Module(name=config["base"]["name"], version="==" + config["base"]["version"])
        context = base.context(**{**config.get("context_args", {}), "trainable": False})
        self.label_list: list[str] = list(config["label_list"])
        self.metrics: dict[str, float] = dict(config.get("metrics") or {})
        self._model = HEADS[config["task"]](context, self.label_list)
        load_model_arrays(self._model, load_file(str(self.artifact("weights"))), f"module {self.name!r} weights")
        self._model.eval()

    def _probs(self, inputs: list[Any], argument: str) -> Any:
        if not isinstance(inputs, list) or not inputs:
            raise InputError(f"{argument}: expected a non-empty list")
        return self._model.predict_probs(inputs)

    def _labelled(self, probs: Any) -> dict[str, Any]:
        best = int(probs.argmax())
        return {"label": self.label_list[best], "score": float(probs[best]),
                "probs": {label: float(p) for label, p in zip(self.label_list, probs)}}


class FinetunedImageClassifier(_Finetuned):
    @serving(batch="images", default=True)
    def classify(self, images: list[Image]) -> list[dict]:
        """The fine-tuned label of each image, with its probability and every label's.

        Args:
            images: images (file paths, bytes, HWC uint8 arrays or PIL images; base64 over HTTP)
        """
        return [self._labelled(p) for p in self._probs(images, "images")]


class FinetunedTextClassifier(_Finetuned):
    @serving(batch="texts", default=True)
    def classify(self, texts: list[str]) -> list[dict]:
        """The fine-tuned label of each text, with its probability and every label's.

        Args:
            texts: the texts to classify
        """
        if not all(isinstance(t, str) and t.strip() for t in texts or [None]):
            raise InputError("texts: expected a non-empty list of non-empty strings")
        return [{"text": t, **self._labelled(p)} for t, p in zip(texts, self._probs(texts, "texts"))]


class FinetunedSequenceLabeler(_Finetuned):
    @serving(batch="texts", default=True)
    def label(self, texts: list[str]) -> list[dict]:
        """One label per character of each text.

        Args:
            texts: the texts to label
        """
        if not all(isinstance(t, str) and t for t in texts or [None]):
            raise InputError("texts: expected a non-empty list of non-empty strings")
        probs = self._probs(texts, "texts")
        out = []
        for text, row in zip(texts, probs):
            ids = row[:len(text)].argmax(axis=-1)
            out.append({"text": text, "tokens": list(text)[:len(ids)], "labels": [self.label_list[i] for i in ids]})
        return out
