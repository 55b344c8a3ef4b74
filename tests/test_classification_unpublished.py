"""Classifiers without published weights: a clear WeightsNotPublished, and real loading code.

The tests make their own weights (random, saved as safetensors in the module's names), provide
them the way a user would (`hub download NAME --artifact weights --from FILE`), then predict.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import hubcore as hub
from hubcore.artifacts import provide_artifact
from hubcore.errors import ArtifactError, WeightsNotPublished


def _provide(module, path: Path) -> None:
    provide_artifact(module.name, module.version, module.manifest().artifact("weights"), path)


def _random_weights(module, path: Path, labels: list[str] | None = None) -> Path:
    import paddle

    from hubmod_image_classification.weights import save_weights

    paddle.seed(1)
    net = module.build_network()
    # BatchNorm statistics other than 0/1, so a loader that skipped them would give other numbers
    for name, tensor in net.state_dict().items():
        if name.endswith("._variance"):
            tensor.set_value(np.full(tensor.shape, 2.0, np.float32))
    return save_weights(net, path, labels=labels)


def test_predicting_without_weights_names_the_fix(tmp_hub_home: Path) -> None:
    module = hub.Module(name="squeezenet1_1_imagenet")
    assert module.pretrained is False
    with pytest.raises(WeightsNotPublished) as info:
        module.classification(images=[np.zeros((8, 8, 3), np.uint8)])
    message = str(info.value)
    assert "no pretrained weights are published" in message
    assert "hub download squeezenet1_1_imagenet --artifact weights --from FILE" in message
    assert "HUB_MIRROR" in message


def test_provided_weights_load_and_predict_like_the_network(tmp_hub_home: Path, tmp_path: Path) -> None:
    import paddle

    from hubmod_image_classification.weights import load_into, read_weights

    module = hub.Module(name="squeezenet1_1_imagenet")
    weights = _random_weights(module, tmp_path / "squeezenet.safetensors")
    _provide(module, weights)
    image = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    top = module.classification(images=[image], top_k=3)[0]
    # the same weights loaded by hand into an eager network give the same probabilities
    net = module.build_network()
    load_into(net, read_weights(weights)[0], what="test weights")
    net.eval()
    with paddle.no_grad():
        logits = net(paddle.to_tensor(module.preprocess([image]))).numpy()[0]
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    assert [r["class_id"] for r in top] == list(np.argsort(-probs)[:3])
    np.testing.assert_allclose([r["score"] for r in top], np.sort(probs)[::-1][:3], rtol=1e-3, atol=1e-6)
    assert top[0]["label"] == module.labels[top[0]["class_id"]]


def test_labels_travel_in_the_weights_file(tmp_hub_home: Path, tmp_path: Path) -> None:
    # The dish head has no published label list: its names come with the weights file's metadata.
    # Loading and predicting are covered above with a small network; here only the names matter,
    # so the file holds one tensor and the labels (a 40M-parameter file would cost seconds).
    from safetensors.numpy import save_file

    module = hub.Module(name="resnet50_vd_dishes")
    assert module.num_classes == 8416
    labels = [f"dish {i}" for i in range(8416)]
    path = tmp_path / "dishes.safetensors"
    save_file({"head.fc.bias": np.zeros(8416, np.float32)}, str(path), metadata={"labels": json.dumps(labels)})
    _provide(module, path)
    assert module.labels == labels
    animals = hub.Module(name="resnet50_vd_animals")
    path = tmp_path / "animals.safetensors"
    save_file({"head.fc.bias": np.zeros(7978, np.float32)}, str(path))
    _provide(animals, path)
    assert animals.labels[:2] == ["class_0", "class_1"] and len(animals.labels) == 7978


def test_weights_that_do_not_fit_are_refused(tmp_hub_home: Path, tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    module = hub.Module(name="squeezenet1_1_imagenet")
    wrong = tmp_path / "wrong.safetensors"
    save_file({"head.conv.weight": np.zeros((3, 3), np.float32)}, str(wrong))
    _provide(module, wrong)
    with pytest.raises(ArtifactError, match="does not fit the network: missing"):
        module.classification(images=[np.zeros((8, 8, 3), np.uint8)])


def test_training_from_scratch_needs_no_weights(tmp_hub_home: Path) -> None:
    import paddle

    module = hub.Module(name="mobilenet_v3_small_imagenet", label_list=["a", "b"])
    with pytest.raises(WeightsNotPublished):
        module.context(trainable=True)
    ctx = module.context(trainable=True, pretrained=False)
    assert ctx.feature_size == 1024
    ctx.backbone.eval()
    features = ctx.backbone(paddle.to_tensor(module.preprocess([np.zeros((40, 40, 3), np.uint8)])))
    assert tuple(features.shape) == (1, 1024)
    assert tuple(ctx.extra["head"].fc.weight.shape) == (1024, 2)
