"""yolov3_darknet53_coco2017: the real YOLOv3 (DarkNet-53) architecture, no published weights.

Its size is checked against the published one: Darknet's own release yolov3.weights is 248,007,048
bytes, a 20-byte header and 62,001,757 float32 values, of which 61,949,149 are learned parameters
(the rest BatchNorm running statistics). The network built from our cfg is run beside OpenCV's
Darknet runtime on the same cfg and random weights."""
from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest

import hubcore as hub
from hubcore.errors import ArtifactError, WeightsNotPublished
from hubcore.formats.darknet import ConvWeights, expected_floats, parse_cfg_text, write_weights
from hubcore.weights import RandomWeightsWarning

NAME = "yolov3_darknet53_coco2017"
RELEASE_BYTES = 248_007_048  # Darknet's yolov3.weights


def random_module(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomWeightsWarning)
        return hub.Module(name=NAME, pretrained=False, threads=1, **kwargs)


def test_size_matches_the_published_release():
    from hubmod_detection.darknet53 import yolov3_cfg

    config = parse_cfg_text(yolov3_cfg(80), "yolov3")
    assert len(config.layers) == 107
    assert 20 + 4 * expected_floats(config) == RELEASE_BYTES
    assert config.channels[86] == 256 + 512 and config.channels[98] == 128 + 256  # the two upsampled routes
    net = random_module().build_network()
    learned = sum(int(np.prod(p.shape)) for p in net.parameters() if p.trainable)
    assert learned == 61_949_149


def test_without_weights_it_says_how_to_provide_them():
    module = hub.Module(name=NAME)
    assert module.pretrained is False
    with pytest.raises(WeightsNotPublished, match=f"hub download {NAME} --artifact weights --from FILE"):
        module.object_detection(images=[np.zeros((32, 32, 3), np.uint8)])


def test_random_weights_warn_and_run_through_the_shared_toolkit():
    with pytest.warns(RandomWeightsWarning, match="pretrained=False"):
        module = hub.Module(name=NAME, pretrained=False, threads=1)
    assert module.input_size == (608, 608) and len(module.labels) == 80 and module.labels[0] == "person"
    assert [len(h.anchors) for h in module.heads] == [3, 3, 3]
    (result,) = module.object_detection(images=[np.zeros((40, 60, 3), np.uint8)], score_thresh=0.9)
    assert set(result) == {"data", "save_path"}  # random weights: whatever it finds, in PaddleHub's shape
    for box in result["data"]:
        assert 0 <= box["left"] <= box["right"] <= 60 and box["label"] in module.labels


def test_network_matches_opencv_on_the_same_cfg(tmp_path):
    """The 107-layer cfg at a 64x64 input, random weights, through both runtimes."""
    import paddle

    from hubcore.weights import load_state
    from hubmod_detection.darknet53 import yolov3_cfg
    from hubmod_detection.network import DarknetNetwork, state_from_darknet

    text = yolov3_cfg(2, size=64)
    cfg = tmp_path / "yolov3.cfg"
    cfg.write_text(text)
    config = parse_cfg_text(text, str(cfg))
    rng = np.random.default_rng(0)
    convs = []
    for layer in config.layers:
        if layer.type != "convolutional":
            continue
        n, c, k = layer.get_int("filters"), config.input_channels(layer.index), layer.get_int("size")
        # scaled so activations keep their size through 107 layers, and the heads' box logits stay small
        # (a huge exp(tw) box has no precise centre in float32, in either runtime)
        gain = 1.0 if layer.get_int("batch_normalize", 0) else 0.2
        w = rng.standard_normal((n, c, k, k), np.float32) * np.float32(gain / np.sqrt(c * k * k))
        if layer.get_int("batch_normalize", 0):
            convs.append(ConvWeights(layer.index, w, None, rng.uniform(0.8, 1.2, n).astype(np.float32),
                                     (rng.standard_normal(n) * 0.05).astype(np.float32), np.zeros(n, np.float32),
                                     np.ones(n, np.float32)))
        else:
            convs.append(ConvWeights(layer.index, w, (rng.standard_normal(n) * 0.1).astype(np.float32)))
    weights = write_weights(tmp_path / "yolov3.weights", convs)
    net = DarknetNetwork(config)
    load_state(net, state_from_darknet(convs), weights, what="test weights")
    net.eval()
    image = rng.uniform(0, 1, (1, 3, 64, 64)).astype(np.float32)
    with paddle.no_grad():
        ours = [o.numpy() for o in net(paddle.to_tensor(image))]
    assert [o.shape[2:] for o in ours] == [(2, 2), (4, 4), (8, 8)]
    reference = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    reference.setInput(image)
    rows = np.concatenate(reference.forward(reference.getUnconnectedOutLayersNames()))
    from hubmod_detection.yolo_decode import decode_heads

    boxes, scores = decode_heads(ours, net.heads, (64, 64))
    sizes = (boxes[0, :, 2:] - boxes[0, :, :2]) / 64
    np.testing.assert_allclose(np.concatenate([(boxes[0, :, :2] + boxes[0, :, 2:]) / 2 / 64, sizes], axis=1),
                               rows[:, :4], rtol=1e-3, atol=1e-4)
    shown = rows[:, 5:] > 0  # OpenCV zeroes the scores under its own threshold
    assert shown.sum() > 50
    np.testing.assert_allclose(scores[0][shown], rows[:, 5:][shown], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name,labels,anchors0", [
    ("yolov3_darknet53_pedestrian", ["pedestrian"], (10.0, 13.0)),
    ("yolov3_darknet53_vehicles", ["car", "truck", "bus", "motorbike", "tricycle", "carplate"], (8.0, 9.0)),
])
def test_paddlehub_variants(name, labels, anchors0):
    """PaddleHub's label lists and anchors; only the three output convolutions differ from the COCO network."""
    from hubmod_detection.darknet53 import yolov3_cfg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomWeightsWarning)
        module = hub.Module(name=name, pretrained=False, threads=1)
    assert module.labels == labels and module.input_size == (608, 608)
    assert module.heads[2].anchors[0] == anchors0 and all(h.classes == len(labels) for h in module.heads)
    coco = expected_floats(parse_cfg_text(yolov3_cfg(80), "coco"))
    outputs_removed = sum((255 - 3 * (5 + len(labels))) * (c + 1) for c in (1024, 512, 256))
    assert expected_floats(module.config) == coco - outputs_removed
    with pytest.raises(WeightsNotPublished, match=f"hub download {name} --artifact weights --from FILE"):
        hub.Module(name=name).object_detection(images=[np.zeros((16, 16, 3), np.uint8)])


def test_a_provided_file_is_read_as_darknet_weights_and_checked(tmp_hub_home, tmp_path):
    """`hub download NAME --artifact weights --from FILE` installs the file; one made for another cfg
    (here YOLOv3-tiny's float count) is refused naming it and the count this network needs."""
    from hubcore.cli.main import main

    wrong = write_weights(tmp_path / "yolov3-tiny.weights",
                          [ConvWeights(0, np.zeros((16, 3, 3, 3), np.float32), np.zeros(16, np.float32))])
    assert main(["download", NAME, "--artifact", "weights", "--from", str(wrong)]) == 0
    module = hub.Module(name=NAME)
    with pytest.raises(ArtifactError, match=r"truncated: it has 448 floats .* needs 62,001,757") as err:
        module.object_detection(images=[np.zeros((16, 16, 3), np.uint8)])
    assert str(tmp_hub_home) in str(err.value)  # the installed copy, by its path in the cache
