"""yolov3_tiny_coco as users call it: PaddleHub's object_detection(...), bad input, drawings in a folder
or (as over HTTP) in the reply, `hub run`, `hub check`, and the served module over a loopback server."""
from __future__ import annotations

import base64
import io
import json
import os
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

import hubcore as hub
from hubcore.cli.main import main
from hubcore.errors import InputError
from hubcore.signatures import SERVER_DECIDES

NAME = "yolov3_tiny_coco"


def motorcycle_rgb() -> np.ndarray:
    import skimage.data

    return skimage.data.stereo_motorcycle()[0]


@pytest.fixture(scope="module")
def module():
    return hub.Module(name=NAME, threads=1)


@pytest.fixture(scope="module")
def photo_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "motorcycle.jpg"
    cv2.imwrite(str(path), motorcycle_rgb()[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
    return path


def png(array: np.ndarray, mode: str | None = None) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array, mode).save(buf, format="PNG")
    return buf.getvalue()


def test_paddlehub_call_finds_the_motorbike(module, photo_file):
    (from_path,) = module.object_detection(paths=[str(photo_file)], score_thresh=0.5)
    assert from_path["save_path"] == ""
    (box,) = from_path["data"]
    assert set(box) == {"label", "confidence", "left", "top", "right", "bottom"}
    assert box["label"] == "motorbike" and 0.5 <= box["confidence"] <= 1
    height, width = motorcycle_rgb().shape[:2]
    assert 0 <= box["left"] < box["right"] <= width and 0 <= box["top"] < box["bottom"] <= height
    assert box["right"] - box["left"] > width / 2  # the motorbike fills most of the photo
    (from_array,) = module.object_detection(images=[cv2.imread(str(photo_file))], score_thresh=0.5)
    assert from_array["data"] == from_path["data"]  # BGR arrays, as cv2.imread gives and PaddleHub took
    (strict,) = module.object_detection(images=[photo_file.read_bytes()], score_thresh=0.99)
    assert strict["data"] == []


def test_grayscale_rgba_and_tiny_images_are_accepted(module):
    rgb = motorcycle_rgb()
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    results = module.object_detection(images=[gray, png(rgba, "RGBA"), np.zeros((1, 1, 3), np.uint8),
                                              png(np.zeros((1, 1), np.uint8))], score_thresh=0.4)
    assert [d["label"] for d in results[1]["data"]] == ["motorbike"]  # opaque RGBA: the photo itself
    assert len(results[0]["data"]) <= 3
    assert results[2]["data"] == [] and results[3]["data"] == []


@pytest.mark.parametrize("images,expected", [
    ([b"not an image at all"], r"images\[0\]: cannot decode"),
    ([b""], r"images\[0\]: empty bytes"),
    ([np.zeros((0, 5, 3), np.uint8)], r"images\[0\]: the image is empty"),
    ([np.zeros((4, 4, 7), np.uint8)], r"images\[0\]: array of shape"),
    (["/no/such/photo.jpg"], r"images\[0\]: '/no/such/photo.jpg' is not an existing image file"),
    ([], "no images given"),
    (42, "images: expected a list of images"),
])
def test_bad_images_name_the_item(module, images, expected):
    with pytest.raises(InputError, match=expected):
        module.object_detection(images=images)


@pytest.mark.parametrize("kwargs,expected", [
    ({"score_thresh": -0.1}, "score_thresh: expected a number between 0 and 1"),
    ({"score_thresh": 1.5}, "score_thresh: expected a number between 0 and 1"),
    ({"score_thresh": "0.5"}, "score_thresh"),
    ({"score_thresh": True}, "score_thresh"),
    ({"batch_size": 0}, "batch_size: expected an integer from 1 to 64"),
    ({"batch_size": 1000}, "batch_size"),
    ({"use_gpu": True}, "use_gpu=True but yolov3_tiny_coco was loaded on cpu"),
    ({"visualization": "yes"}, "visualization: expected true or false"),
    ({"visualization": True, "output_dir": 7}, "output_dir: expected a folder path"),
])
def test_bad_arguments_name_the_argument(module, kwargs, expected):
    with pytest.raises(InputError, match=expected):
        module.object_detection(images=[np.zeros((8, 8, 3), np.uint8)], **kwargs)


def test_huge_images_are_refused_before_decoding(tmp_path):
    small = hub.Module(name=NAME, threads=1, max_pixels=10_000)
    big = png(np.zeros((200, 300, 3), np.uint8))
    with pytest.raises(InputError, match=r"images\[0\]: 300x200 = 60,000 pixels is more than max_pixels=10,000"):
        small.object_detection(images=[big])
    with pytest.raises(InputError, match="max_pixels"):
        small.object_detection(images=[np.zeros((200, 300, 3), np.uint8)])
    with pytest.raises(InputError, match="max_pixels"):
        hub.Module(name=NAME, max_pixels=0)


def test_visualization_writes_a_png_with_the_boxes(module, photo_file, tmp_path):
    (result,) = module.object_detection(paths=[str(photo_file)], visualization=True, output_dir=str(tmp_path / "out"))
    path = Path(result["save_path"])
    assert path.parent == tmp_path / "out" and path.name == "motorcycle.png"
    drawn = cv2.imread(str(path))[:, :, ::-1]
    original = motorcycle_rgb()
    assert drawn.shape == original.shape
    from hubmod_detection.draw import class_colour

    box = result["data"][0]
    edge_x, middle_y = int(box["left"]) + 1, int((box["top"] + box["bottom"]) / 2)
    colour = class_colour(module.labels.index("motorbike"))
    assert tuple(int(v) for v in drawn[middle_y, edge_x]) == colour
    (again,) = module.object_detection(paths=[str(photo_file)], visualization=True, output_dir=str(tmp_path / "out"))
    assert again["save_path"] != result["save_path"]  # never overwritten


def test_no_folder_writes_nothing_and_returns_the_png(module, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (result,) = module.object_detection(images=[motorcycle_rgb()[:, :, ::-1]], visualization=True, output_dir=None)
    assert os.listdir(tmp_path) == [] and result["save_path"] == ""
    picture = cv2.imdecode(np.frombuffer(base64.b64decode(result["visualization"]), np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == motorcycle_rgb().shape


def test_signature_over_http():
    from hubcore.discovery import find_entries
    from hubcore.loader import import_entry
    from hubcore.signatures import collect_signatures

    (entry,) = [e for e in find_entries(NAME) if e.ok]
    signature = next(s for s in collect_signatures(import_entry(entry.manifest)).values() if s.default)
    assert signature.name == "object_detection" and signature.batch_input == "images"
    assert signature.field("output_dir").kind == SERVER_DECIDES
    assert signature.field("paths").kind == "path"
    with pytest.raises(InputError, match="score_thresh"):
        signature.bind({"images": ["aGk="], "score_thresh": "high"}, remote=True)
    with pytest.raises(InputError, match="server decides"):
        signature.bind({"images": ["aGk="], "output_dir": "/etc"}, remote=True)


def test_hub_run_with_input_path(photo_file, capsys):
    assert main(["run", NAME, "--input_path", str(photo_file)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [d["label"] for d in out[0]["data"]] == ["motorbike"]


def test_hub_check_passes(capsys):
    assert main(["check", NAME]) == 0, capsys.readouterr()


def test_context_exposes_the_feature_maps(module):
    import paddle

    context = module.context(trainable=False)
    image = paddle.to_tensor(context.preprocess(motorcycle_rgb())[None])
    with paddle.no_grad():
        maps = context.backbone(image)
    assert len(maps) == len(module.config.layers)
    assert list(maps[12].shape) == [1, 1024, 13, 13]  # the backbone's deepest map
    assert all(p.stop_gradient for p in context.extra["network"].parameters())


def test_served_over_http(tmp_path, photo_file):
    """A loopback server: the drawing comes back base64, wrong types and a folder are 422s naming the field."""
    from hubcore.settings import hub_home
    from tests.support.serving_helpers import Server, free_port, session

    server = Server(["-m", NAME], port=free_port(), hub_home=hub_home(), log=tmp_path / "server.log").wait_ready(300)
    try:
        http = session()
        photo = base64.b64encode(photo_file.read_bytes()).decode()
        r = http.post(f"{server.url}/predict/{NAME}", json={"images": [photo], "visualization": True}, timeout=120)
        assert r.status_code == 200, r.text
        (result,) = r.json()["results"]
        assert [d["label"] for d in result["data"]] == ["motorbike"] and result["save_path"] == ""
        assert base64.b64decode(result["visualization"]).startswith(b"\x89PNG")
        for body, field in [({"images": [photo], "score_thresh": 2}, "score_thresh"),
                            ({"images": [photo], "score_thresh": "high"}, "score_thresh"),
                            ({"images": [photo], "batch_size": "8"}, "batch_size"),
                            ({"images": ["bm90IGFuIGltYWdl"]}, "images"),
                            ({"images": [photo], "output_dir": "/tmp"}, "output_dir"),
                            ({"images": [photo], "paths": ["/etc/passwd"]}, "paths")]:
            bad = http.post(f"{server.url}/predict/{NAME}", json=body, timeout=60)
            assert bad.status_code == 422 and field in bad.json()["msg"], (body, bad.text)
    finally:
        assert server.stop() == 0


def test_network_size(module):
    """Every float of the release file is used: learned parameters + 2 running statistics per BatchNorm channel."""
    net = module.build_network()
    learned = sum(int(np.prod(p.shape)) for p in net.parameters() if p.trainable)
    statistics = sum(int(np.prod(p.shape)) for p in net.parameters() if not p.trainable)
    assert learned == 8_852_366 and learned + statistics == 8_858_734


def test_batch_sizes_a_client_chooses_do_not_pile_up_predictors():
    """The attack: a client cycling batch_size 1..64 made the module create a predictor (a copy of the
    weights) per size. Only the PREDICTORS_KEPT most recently used stay."""
    from hubmod_detection.detector import PREDICTORS_KEPT

    module = hub.Module(name=NAME, threads=1)
    tiny = np.zeros((8, 8, 3), np.uint8)
    for size in (1, 2, 3, 4, 1):
        module.object_detection(images=[tiny] * size, batch_size=size)
    assert len(module._predictors) == PREDICTORS_KEPT
    assert list(module._predictors) == [4, 1]  # the most recently used, oldest first


def test_batch_size_larger_than_the_call_costs_nothing_extra(module):
    """One image with batch_size=64 runs the network on one image, not on 64 (63 of them padding)."""
    module.object_detection(images=[np.zeros((8, 8, 3), np.uint8)], batch_size=64)
    assert 64 not in module._predictors and 1 in module._predictors
    with pytest.raises(InputError, match="batch_size: expected an integer from 1 to 16"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hub.Module(name="yolov3_darknet53_coco2017", pretrained=False).object_detection(
                images=[np.zeros((8, 8, 3), np.uint8)], batch_size=17)
