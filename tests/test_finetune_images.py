"""Transfer learning on images: mobilenet_v2_imagenet's real ImageNet weights, fine-tuned through its
context on scikit-learn's digits, beat chance by far after a short run.

The module's own preprocess resizes to 224 pixels; here the same backbone sees the digits at 48
pixels (sized_image_context: MobileNetV2 pools globally, so any size works), which keeps the test
short on a CPU. The learning rate decays to zero so that batch-norm running statistics catch up
with the last weights before evaluation (measured: 0.87 held-out accuracy with decay, 0.78 at a
constant rate). tools/bench/bench_finetune.py runs the longer version on the whole split.
"""
from __future__ import annotations

import numpy as np
import paddle
import pytest

import hubcore as hub
from hubcore.errors import InputError
from hubcore.finetune import Classifier, sized_image_context, sklearn_digits

SIZE = 48


def test_mobilenet_v2_fine_tuned_on_digits_beats_chance_by_far() -> None:
    module = hub.Module(name="mobilenet_v2_imagenet")
    assert module.pretrained
    train = sklearn_digits("train", size=SIZE, limit=320)
    test = sklearn_digits("test", size=SIZE, limit=120)
    paddle.seed(0)
    context = sized_image_context(module.context(trainable=True), SIZE)
    assert context.feature_size == 1280
    model = Classifier(context, train.label_list)
    schedule = paddle.optimizer.lr.CosineAnnealingDecay(1e-3, T_max=3 * 10)  # 3 epochs of 10 steps
    trainer = hub.Trainer(model, paddle.optimizer.Adam(schedule, parameters=model.parameters()), seed=0)
    trainer.train(train, epochs=3, batch_size=32)
    result = trainer.evaluate(test, batch_size=60)
    assert result["acc"] >= 0.75, result  # chance is 0.1


def test_sized_image_context_resizes_and_normalises() -> None:
    context = hub.Context(backbone=paddle.nn.Flatten(), feature_size=3 * 8 * 8, preprocess=None,
                          extra={"mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5)})
    sized = sized_image_context(context, 8)
    batch = sized.preprocess([np.full((16, 16, 3), 255, np.uint8), np.zeros((8, 8, 3), np.uint8)])
    assert batch.shape == (2, 3, 8, 8) and batch[0].min() == 1.0 and batch[1].max() == -1.0
    with pytest.raises(InputError, match="normalisation"):
        sized_image_context(hub.Context(backbone=paddle.nn.Flatten(), feature_size=1, preprocess=None), 8)
