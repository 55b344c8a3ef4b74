"""Task heads on top of a module's fine-tuning context (`module.context(trainable=True)`).

    context = hub.Module(name="mobilenet_v2_imagenet").context(trainable=True)
    model = Classifier(context, label_list=["cat", "dog"])
    optimizer = paddle.optimizer.Adam(learning_rate=1e-4, parameters=model.parameters())
    hub.Trainer(model, optimizer, checkpoint_dir="ckpt").train(train_ds, epochs=3, batch_size=32)

The Trainer talks to a model through what these heads implement, so a hand-written model works
too when it offers the same: `label_list`, `task`, `collate(examples) -> (inputs, labels)`,
`forward(*inputs) -> logits` and `score(logits, labels) -> (loss, predictions, labels)`, where
labels are int64 class indices and -1 marks padding that counts in neither loss nor metrics.
Optionally `example_length(example)`, used to batch texts of similar length together.

Context contract: `preprocess(list of raw inputs)` returns the batch as one numpy array or a tuple
of arrays (for text typically ids and lengths); `backbone(*those as tensors)` returns features of
shape [batch, feature_size] (task "classification") or [batch, tokens, feature_size]
("sequence_labeling").
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import paddle
import paddle.nn.functional as F

from ..errors import InputError
from ..module import Context
from ..weights import freeze_running_statistics
from .datasets import check_label_list

IGNORE = -1  # label of padding positions


def check_context(context: Any) -> Context:
    missing = [a for a in ("backbone", "feature_size", "preprocess") if not hasattr(context, a)]
    if missing:
        raise InputError(f"expected a hubcore.Context (from module.context(trainable=True)), got "
                         f"{type(context).__name__} without {missing}")
    if not isinstance(context.backbone, paddle.nn.Layer):
        raise InputError(f"context.backbone must be a paddle.nn.Layer, got {type(context.backbone).__name__}")
    if not isinstance(context.feature_size, int) or context.feature_size <= 0:
        raise InputError(f"context.feature_size must be a positive int, got {context.feature_size!r}")
    return context


def as_tensors(batch: Any) -> tuple[paddle.Tensor, ...]:
    """numpy array(s) from preprocess -> a tuple of tensors to call the backbone with."""
    arrays = batch if isinstance(batch, (tuple, list)) else (batch,)
    return tuple(a if isinstance(a, paddle.Tensor) else paddle.to_tensor(np.asarray(a)) for a in arrays)


class _Head(paddle.nn.Layer):
    task = ""

    def __init__(self, context: Context, label_list: Sequence[str], dropout: float) -> None:
        super().__init__()
        check_context(context)
        self.label_list = check_label_list(label_list, minimum=2)
        self.context = context
        self.backbone = context.backbone
        freeze_running_statistics(self.backbone)
        self.dropout = paddle.nn.Dropout(dropout) if dropout else None
        self.head = paddle.nn.Linear(context.feature_size, len(self.label_list))
        self.input_kind = (context.extra or {}).get("input")
        self._index = {label: i for i, label in enumerate(self.label_list)}

    def features(self, *inputs: paddle.Tensor) -> paddle.Tensor:
        features = self.backbone(*inputs)
        if isinstance(features, (tuple, list)):
            features = features[0]
        if features.shape[-1] != self.context.feature_size:
            raise InputError(f"the backbone returned features of width {features.shape[-1]}, but the context "
                             f"says feature_size={self.context.feature_size}")
        return self.dropout(features) if self.dropout is not None else features

    def preprocess(self, raw_inputs: list[Any]) -> tuple[paddle.Tensor, ...]:
        return as_tensors(self.context.preprocess(list(raw_inputs)))

    def example_length(self, example: tuple[Any, Any]) -> int | None:
        raw = example[0]
        return len(raw) if isinstance(raw, (str, list, tuple)) else None

    @paddle.no_grad()
    def predict_probs(self, raw_inputs: list[Any]) -> np.ndarray:
        """Class probabilities for raw inputs: [n, labels] (classification), [n, tokens, labels] (sequences)."""
        was_training = self.training
        self.eval()
        try:
            return F.softmax(self(*self.preprocess(raw_inputs)), axis=-1).numpy()
        finally:
            if was_training:
                self.train()


class Classifier(_Head):
    """A linear layer over the context's pooled features: one label of label_list per input."""

    task = "classification"

    def __init__(self, context: Context, label_list: Sequence[str], *, dropout: float = 0.0) -> None:
        super().__init__(context, label_list, dropout)

    def forward(self, *inputs: paddle.Tensor) -> paddle.Tensor:
        features = self.features(*inputs)
        if features.ndim != 2:
            raise InputError(f"a classifier needs pooled features [batch, {self.context.feature_size}] from the "
                             f"backbone, got shape {list(features.shape)}; use SequenceLabeler for per-token features")
        return self.head(features)

    def collate(self, examples: Sequence[tuple[Any, Any]]) -> tuple[Any, np.ndarray]:
        inputs = self.context.preprocess([raw for raw, _ in examples])
        labels = np.array([self._index[label] for _, label in examples], dtype=np.int64)
        return inputs, labels

    def score(self, logits: paddle.Tensor, labels: paddle.Tensor) -> tuple[paddle.Tensor, paddle.Tensor, paddle.Tensor]:
        return F.cross_entropy(logits, labels), logits.argmax(axis=-1), labels


class SequenceLabeler(_Head):
    """A linear layer over per-token features: one label per token (tagging, NER).

    The context's preprocess must keep one position per token; positions it truncates away are
    not scored.
    """

    task = "sequence_labeling"

    def __init__(self, context: Context, label_list: Sequence[str], *, dropout: float = 0.0) -> None:
        super().__init__(context, label_list, dropout)

    def forward(self, *inputs: paddle.Tensor) -> paddle.Tensor:
        features = self.features(*inputs)
        if features.ndim != 3:
            raise InputError(f"a sequence labeler needs per-token features [batch, tokens, "
                             f"{self.context.feature_size}] from the backbone, got shape {list(features.shape)}")
        return self.head(features)

    def collate(self, examples: Sequence[tuple[Any, Any]]) -> tuple[Any, np.ndarray]:
        inputs = self.context.preprocess([raw for raw, _ in examples])
        width = max(len(labels) for _, labels in examples)
        labels = np.full((len(examples), width), IGNORE, dtype=np.int64)
        for row, (_, tags) in enumerate(examples):
            labels[row, :len(tags)] = [self._index[tag] for tag in tags]
        return inputs, labels

    def score(self, logits: paddle.Tensor, labels: paddle.Tensor) -> tuple[paddle.Tensor, paddle.Tensor, paddle.Tensor]:
        tokens = logits.shape[1]
        if labels.shape[1] > tokens:  # preprocess truncated long inputs
            labels = labels[:, :tokens]
        elif labels.shape[1] < tokens:
            padding = paddle.full([labels.shape[0], tokens - labels.shape[1]], IGNORE, dtype="int64")
            labels = paddle.concat([labels, padding], axis=1)
        flat_logits = logits.reshape([-1, logits.shape[-1]])
        flat_labels = labels.reshape([-1])
        loss = F.cross_entropy(flat_logits, flat_labels, ignore_index=IGNORE)
        return loss, logits.argmax(axis=-1), labels


HEADS = {Classifier.task: Classifier, SequenceLabeler.task: SequenceLabeler}


def head_for(context: Context, label_list: Sequence[str], **options: Any) -> _Head:
    """The head matching context.task ("classification" or "sequence_labeling")."""
    task = getattr(context, "task", "classification")
    if task not in HEADS:
        raise InputError(f"context.task={task!r} has no head here; known tasks: {sorted(HEADS)}. Build the head "
                         f"yourself and pass the model to Trainer")
    return HEADS[task](context, label_list, **options)
