"""The detection toolkit shared by every detector: letterbox and the way back, YOLO decoding, class-wise
NMS, drawing; and the network built from a Darknet cfg, checked against OpenCV's runtime on a cfg the
test writes (stride-1 max-pool, upsample, route, shortcut, two YOLO heads) with random weights."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from hubcore.errors import ArtifactError
from hubcore.formats.darknet import ConvWeights, parse_cfg, read_weights, write_weights
from hubmod_detection.draw import class_colour, draw_detections
from hubmod_detection.letterbox import FILL, fit, letterbox, to_original
from hubmod_detection.nms import Detections, NMSParams, suppress
from hubmod_detection.yolo_decode import Head, decode


@pytest.mark.parametrize("shape", [(300, 451), (1000, 200), (1, 1), (416, 416), (37, 1200)])
def test_letterbox_places_image_centred_and_maps_back(shape):
    h, w = shape
    rgb = np.full((h, w, 3), 255, np.uint8)
    canvas, frame = letterbox(rgb, (416, 416))
    assert canvas.shape == (3, 416, 416) and canvas.dtype == np.float32
    inside = canvas[0] > FILL + 0.25
    ys, xs = np.nonzero(inside)
    assert ys.min() == frame.pad_y and xs.min() == frame.pad_x
    assert abs((xs.max() - xs.min() + 1) - 416 * min(1, w / h)) <= 1 and abs((ys.max() - ys.min() + 1) - 416 * min(1, h / w)) <= 1
    assert abs(frame.pad_x - (416 - (xs.max() + 1))) <= 1  # centred
    corners = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
    np.testing.assert_allclose(to_original(corners, frame)[0], [0, 0, w, h], atol=max(w, h) / 416 + 1e-3)


def test_to_original_clips_to_the_image():
    frame = fit(200, 100, (416, 416))
    out = to_original(np.array([[-50, -50, 500, 500]], np.float32), frame)
    np.testing.assert_allclose(out[0], [0, 0, 200, 100])


def test_decode_matches_darknet_formula():
    head = Head(((10.0, 20.0), (30.0, 40.0)), classes=2)
    out = np.zeros((1, 2 * 7, 2, 3), np.float32)  # grid 2 high, 3 wide
    # anchor 1 at row 1, column 2: tx=0, ty=0 (centre of the cell), tw=ln 2, th=0, objectness logit +inf-ish
    out[0, 7 + 0, 1, 2] = 0.0
    out[0, 7 + 2, 1, 2] = np.log(2.0)
    out[0, 7 + 4, 1, 2] = 20.0
    out[0, 7 + 6, 1, 2] = 20.0  # class 1
    out[0, 7 + 5, 1, 2] = -20.0
    boxes, scores = decode(out, head, (96, 64))
    row = (1 * 3 + 2) * 2 + 1  # (row, column, anchor) order
    cx, cy = (2 + 0.5) * 96 / 3, (1 + 0.5) * 64 / 2
    np.testing.assert_allclose(boxes[0, row], [cx - 30, cy - 20, cx + 30, cy + 20], rtol=1e-5)
    np.testing.assert_allclose(scores[0, row], [0.0, 1.0], atol=1e-6)
    assert np.allclose(np.delete(scores[0], row, axis=0), 0.25)  # every other box: sigmoid(0) * sigmoid(0)
    with pytest.raises(ValueError, match="channels"):
        decode(np.zeros((1, 13, 2, 3), np.float32), head, (96, 64))


def test_nms_is_class_wise_and_bounded():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60], [0, 0, 10, 10]], np.float32)
    scores = np.array([[0.9, 0], [0.8, 0], [0, 0.7], [0.6, 0], [0.1, 0]], np.float32)
    found = suppress(boxes, scores, NMSParams(score_thresh=0.3, iou_thresh=0.45))
    # the second class-0 box overlaps the first (IoU 0.68) and goes; the class-1 box on it stays
    assert found.classes.tolist() == [0, 1, 0]
    np.testing.assert_allclose(found.scores, [0.9, 0.7, 0.6])
    many = np.random.default_rng(0).uniform(0, 400, (5000, 2)).astype(np.float32)
    boxes = np.concatenate([many, many + 5], axis=1)
    found = suppress(boxes, np.full((5000, 1), 0.9, np.float32), NMSParams(score_thresh=0.0))
    assert len(found) == 100
    empty = suppress(boxes[:0], np.zeros((0, 3), np.float32), NMSParams())
    assert len(empty) == 0 and empty.boxes.shape == (0, 4)


def test_drawing_outlines_each_class_in_its_colour():
    rgb = np.full((200, 300, 3), 128, np.uint8)
    found = Detections(np.array([[20, 60, 120, 180], [150, 40, 280, 190]], np.float32),
                       np.array([0.9, 0.6], np.float32), np.array([3, 7]))
    picture = draw_detections(rgb, found, [f"class{i}" for i in range(8)] + [])
    assert picture.shape == rgb.shape
    for (x1, y1, x2, y2), c in zip(found.boxes.astype(int), found.classes):
        assert tuple(picture[(y1 + y2) // 2, x1]) == class_colour(int(c))  # the left edge
    assert class_colour(3) != class_colour(7)
    assert (picture[30:60, 20:120] != 128).any()  # the tag (label and score) above the first box


NET_CFG = """[net]
width=64
height=64
channels=3

[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky

[shortcut]
from=-2
activation=linear

[maxpool]
size=2
stride=1

[convolutional]
filters=21
size=1
stride=1
pad=1
activation=linear

[yolo]
mask=2,3,4
anchors=4,5, 8,9, 12,14, 20,22, 30,40, 50,60
classes=2
num=6

[route]
layers=-3

[upsample]
stride=2

[route]
layers=-1,0

[convolutional]
filters=21
size=1
stride=1
pad=1
activation=linear

[yolo]
mask=0,1,2
anchors=4,5, 8,9, 12,14, 20,22, 30,40, 50,60
classes=2
num=6
"""


@pytest.fixture
def random_darknet(tmp_path):
    cfg = tmp_path / "net.cfg"
    cfg.write_text(NET_CFG)
    config = parse_cfg(cfg)
    rng = np.random.default_rng(1)
    convs = []
    for layer in config.layers:
        if layer.type != "convolutional":
            continue
        n, c, k = layer.get_int("filters"), config.input_channels(layer.index), layer.get_int("size")
        w = (rng.standard_normal((n, c, k, k)) * 0.3).astype(np.float32)
        if layer.get_int("batch_normalize", 0):
            convs.append(ConvWeights(layer.index, w, None, rng.uniform(0.5, 1.5, n).astype(np.float32),
                                     rng.standard_normal(n).astype(np.float32) * 0.1,
                                     rng.standard_normal(n).astype(np.float32) * 0.1,
                                     rng.uniform(0.5, 2, n).astype(np.float32)))
        else:
            convs.append(ConvWeights(layer.index, w, rng.standard_normal(n).astype(np.float32) * 0.1))
    return cfg, write_weights(tmp_path / "net.weights", convs)


def test_network_from_cfg_matches_opencv(random_darknet):
    import paddle

    from hubmod_detection.network import DarknetNetwork, state_from_darknet, yolo_heads
    from hubcore.weights import load_state
    from hubmod_detection.yolo_decode import decode_heads

    cfg, weights = random_darknet
    config = parse_cfg(cfg)
    net = DarknetNetwork(config)
    load_state(net, state_from_darknet(read_weights(weights, config)[1]), weights, what="test weights")
    net.eval()
    image = np.random.default_rng(2).uniform(0, 1, (1, 3, 64, 64)).astype(np.float32)
    with paddle.no_grad():
        outputs = [o.numpy() for o in net(paddle.to_tensor(image))]
    assert [o.shape for o in outputs] == [(1, 21, 16, 16), (1, 21, 32, 32)]
    boxes, scores = decode_heads(outputs, yolo_heads(config), (64, 64))

    reference = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    reference.setInput(image)
    rows = np.concatenate(reference.forward(reference.getUnconnectedOutLayersNames()))
    centres = np.stack([(boxes[0, :, 0] + boxes[0, :, 2]) / 2, (boxes[0, :, 1] + boxes[0, :, 3]) / 2,
                        boxes[0, :, 2] - boxes[0, :, 0], boxes[0, :, 3] - boxes[0, :, 1]], axis=1) / 64
    np.testing.assert_allclose(centres, rows[:, :4], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(scores[0][rows[:, 5:] > 0], rows[:, 5:][rows[:, 5:] > 0], rtol=1e-3, atol=1e-4)


def test_yolo_layer_not_fitting_its_conv(tmp_path):
    from hubmod_detection.network import yolo_heads

    cfg = tmp_path / "bad.cfg"
    cfg.write_text(NET_CFG.replace("classes=2", "classes=3", 1))
    with pytest.raises(ArtifactError, match=r"gets 21 channels, but 3 anchors x \(5 \+ 3 classes\) = 24") as err:
        yolo_heads(parse_cfg(cfg))
    assert str(cfg) in str(err.value)
