"""Senta sentiment classifiers (bow, cnn, gru, lstm, bilstm) and EmoTect's emotion_detection_textcnn.

senta_bilstm ships weights trained by tools/train_senta.py inside this package (see README.md);
the other modules are the same code with no published weights: predicting raises
WeightsNotPublished until a weights file is provided with `hub download NAME --artifact weights
--from FILE` (a file in the format of weights_file.py, e.g. written by tools/train_senta.py).
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import hubcore
from hubcore.errors import InputError

from . import weights_file

SENTIMENT_LABELS = ["negative", "positive"]
EMOTION_LABELS = ["negative", "neutral", "positive"]
TASKS = ("classification", "sequence_labeling")


def check_texts(texts: Any) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, list) or not texts:
        raise InputError("texts: expected a non-empty list of strings, e.g. texts=['这家店很好吃']")
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"texts[{i}]: expected a non-empty string, got {text!r}")
    return texts


class _TextClassifier(hubcore.Module):
    """Shared loading, prediction and fine-tuning context of the sentiment and emotion modules."""

    arch = ""
    labels: list[str] = []

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None

    @classmethod
    def sample_input(cls) -> dict:
        """A small request for `hub check`."""
        return {"texts": ["这家店的菜很好吃，服务也周到", "质量太差，再也不买了"]}

    # -- weights ----------------------------------------------------------------------------------
    def _weights_path(self) -> Path:
        return self.artifact("weights")

    def _load(self) -> tuple[Any, Any]:
        """(SentimentNet in eval mode, CharTokenizer), loaded once."""
        with self._lock:
            if self._loaded is None:
                self._loaded = self._build(self._weights_path())
            return self._loaded

    def _build(self, path: Path) -> tuple[Any, Any]:
        import paddle

        from .nets import SentimentNet, build_encoder
        from .tokenizer import CharTokenizer

        try:
            state, codepoints, info = weights_file.load(path)
        except Exception as exc:
            raise InputError(f"module {self.name!r}: {path} is not a usable weights file ({exc}); provide one "
                             f"written by tools/train_senta.py --arch {self.arch}") from exc
        if info["arch"] != self.arch or info["labels"] != self.labels:
            raise InputError(f"module {self.name!r}: {path} holds a {info['arch']} network over {info['labels']}, "
                             f"not {self.arch} over {self.labels}")
        tokenizer = CharTokenizer.from_codepoints(codepoints, max_len=info["max_len"], bigram_codepoints=info["bigrams"])
        try:
            encoder = build_encoder(self.arch, tokenizer.vocab_size, bigram_vocab_size=tokenizer.bigram_vocab_size,
                                    **info["network"])
        except (TypeError, ValueError) as exc:
            raise InputError(f"module {self.name!r}: {path} describes a network this version cannot build ({exc})") from exc
        net = SentimentNet(encoder, len(self.labels))
        expected = net.state_dict()
        if set(expected) != set(state) or any(tuple(expected[k].shape) != state[k].shape for k in state):
            raise InputError(f"module {self.name!r}: {path} does not match the {self.arch} network's parameters")
        net.set_state_dict({k: paddle.to_tensor(v) for k, v in state.items()})
        net.eval()
        return net, tokenizer

    # -- prediction -------------------------------------------------------------------------------
    def _probs(self, texts: list[str], batch_size: int) -> Any:
        import numpy as np
        import paddle

        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise InputError(f"batch_size={batch_size!r}: expected a positive int")
        net, tokenizer = self._load()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
        probs = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        with paddle.no_grad():
            for start in range(0, len(order), batch_size):
                chunk = order[start:start + batch_size]
                ids, lengths = tokenizer.batch([texts[i] for i in chunk])
                probs[chunk] = net(paddle.to_tensor(ids), paddle.to_tensor(lengths)).numpy()
        return probs

    def get_labels(self) -> dict[str, int]:
        """Label names and their ids, as PaddleHub's get_labels() gave them."""
        return {label: i for i, label in enumerate(self.labels)}

    # -- fine-tuning ------------------------------------------------------------------------------
    def context(self, trainable: bool = True, task: str = "classification") -> hubcore.Context:
        """The encoder (with this module's weights) and its character preprocessing.

        task "classification": features [batch, 96] per text; "sequence_labeling": one feature
        vector per character. Train a head over it with hubcore.finetune (Classifier / SequenceLabeler).
        """
        if task not in TASKS:
            raise InputError(f"task={task!r}: expected one of {', '.join(map(repr, TASKS))}")
        net, tokenizer = self._build(self._weights_path())
        return encoder_context(net.backbone, tokenizer, trainable=trainable, task=task,
                               extra={"module": self.name, "module_version": self.version,
                                      "context_args": {"task": task}})


def encoder_context(encoder: Any, tokenizer: Any, *, trainable: bool, task: str,
                    extra: dict[str, Any] | None = None) -> hubcore.Context:
    """A fine-tuning Context over an encoder: the modules' context() and the training recipe use it."""
    from .nets import TokenFeatures

    for param in encoder.parameters():
        param.stop_gradient = not trainable
    keep_tail = task == "classification"
    if task == "classification":
        backbone, size = encoder, encoder.feature_size
    else:
        backbone, size = TokenFeatures(encoder), encoder.token_feature_size
    return hubcore.Context(backbone=backbone, feature_size=size, task=task,
                           preprocess=lambda texts: tokenizer.batch(texts, keep_tail=keep_tail),
                           extra={"input": "text", "vocab_size": tokenizer.vocab_size, "max_len": tokenizer.max_len,
                                  "arch": encoder.arch, **(extra or {})})


class _Senta(_TextClassifier):
    labels = SENTIMENT_LABELS

    @hubcore.serving(batch="texts", default=True)
    def sentiment_classify(self, texts: list[str], batch_size: int = 64) -> list[dict]:
        """Sentiment of each text: label 1 positive / 0 negative, with both probabilities.

        Args:
            texts: Chinese texts (reviews, comments), one result per text in the same order
            batch_size: texts run through the network at once
        """
        texts = check_texts(texts)
        out = []
        for text, (negative, positive) in zip(texts, self._probs(texts, batch_size)):
            label = int(positive >= negative)
            out.append({"text": text, "sentiment_label": label, "sentiment_key": self.labels[label],
                        "positive_probs": round(float(positive), 4), "negative_probs": round(float(negative), 4)})
        return out


class SentaBiLSTM(_Senta):
    arch = "bilstm"


class SentaBOW(_Senta):
    arch = "bow"


class SentaCNN(_Senta):
    arch = "cnn"


class SentaGRU(_Senta):
    arch = "gru"


class SentaLSTM(_Senta):
    arch = "lstm"


class EmotionDetectionTextCNN(_TextClassifier):
    arch = "textcnn"
    labels = EMOTION_LABELS

    @hubcore.serving(batch="texts", default=True)
    def emotion_classify(self, texts: list[str], batch_size: int = 64) -> list[dict]:
        """Emotion of each text: 0 negative, 1 neutral, 2 positive, with the three probabilities.

        Args:
            texts: Chinese utterances (e.g. from a dialogue), one result per text in the same order
            batch_size: texts run through the network at once
        """
        texts = check_texts(texts)
        out = []
        for text, probs in zip(texts, self._probs(texts, batch_size)):
            label = int(probs.argmax())
            out.append({"text": text, "emotion_label": label, "emotion_key": self.labels[label],
                        "negative_probs": round(float(probs[0]), 4), "neutral_probs": round(float(probs[1]), 4),
                        "positive_probs": round(float(probs[2]), 4)})
        return out
