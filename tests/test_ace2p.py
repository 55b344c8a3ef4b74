"""ace2p and deeplabv3p_xception65_humanseg (package hubmod-ace2p): architecture, the weights path
through the hub's artifacts, predictions, serving binding, fine-tuning, honest errors.

No weights are published for these modules, so the tests make their own: the network of a module
built with pretrained=False is saved as safetensors, served on a loopback HTTP server (or given to
the cache as `hub download --from` does) and loaded by the module. Predictions run at a small
input size (64) to stay fast on CPU; the full 473x473 path differs only in that number.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import hubcore as hub
from hubcore.errors import InputError, WeightsNotPublished
from tests.support.httpserver import FakeServer

SIZE = 64
# Plain ResNet-101 without its ImageNet classifier (torchvision: 44,549,160 - 2,049,000).
RESNET101_TRUNK = 42_500_160
# CE2P's stem (3x3 convs 3->64->64->128 + BN) instead of 7x7 3->64 + BN, and layer1 fed 128 channels.
DEEP_STEM_EXTRA = (3 * 64 * 9 + 64 * 64 * 9 + 64 * 128 * 9 + 2 * (64 + 64 + 128)) - (3 * 64 * 49 + 2 * 64) \
    + (128 - 64) * 64 + (128 - 64) * 256
ACE2P_PARAMS = 66_723_928
HUMANSEG_PARAMS = 41_050_530
PADDLEHUB_MB = {"ace2p": 259, "deeplabv3p_xception65_humanseg": 162}  # PaddleHub's published model sizes


def person_image(height: int = 90, width: int = 60, seed: int = 0) -> np.ndarray:
    """A BGR test picture: noise background with a bright upright 'person' block."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 80, (height, width, 3), dtype=np.uint8)
    img[height // 5: height - 5, width // 3: 2 * width // 3] = (40, 90, 200)
    return img


def png_b64(bgr: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(bgr[:, :, ::-1]).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def random_module(name: str, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hub.Module(name=name, pretrained=False, input_size=SIZE, **kw)


def weights_file(module, folder: Path) -> Path:
    from hubcore.weights import save_weights

    return save_weights(module.network, folder / f"{module.name}.safetensors")


@pytest.fixture(scope="module")
def ace2p_random():
    return random_module("ace2p")


@pytest.fixture(scope="module")
def ace2p_weights(ace2p_random, tmp_path_factory) -> Path:
    return weights_file(ace2p_random, tmp_path_factory.mktemp("ace2p_weights"))


def test_ace2p_has_resnet101_context_edge_and_fusion_branches_with_the_expected_sizes(ace2p_random):
    from hubmod_ace2p.layers import count_parameters

    net = ace2p_random.network
    assert count_parameters(net.backbone) == RESNET101_TRUNK + DEEP_STEM_EXTRA
    assert count_parameters(net.context) == 4 * 2048 * 512 + 4096 * 512 * 9 + 5 * 2 * 512  # PSP bins 1,2,3,6
    assert net.context.bins == (1, 2, 3, 6)
    assert count_parameters(net.edge) == (256 + 512 + 1024) * 256 + 3 * 2 * 256 + (256 * 2 * 9 + 2) + (6 * 2 + 2)
    assert net.decoder.classifier.weight.shape[0] == 20 and net.fusion[-1].weight.shape[:2] == [20, 256]
    assert count_parameters(net) == ACE2P_PARAMS
    stored = sum(int(v.numel()) for v in net.state_dict().values())  # + BatchNorm running statistics
    assert abs(stored * 4 / 2**20 - PADDLEHUB_MB["ace2p"]) / PADDLEHUB_MB["ace2p"] < 0.03


def test_ace2p_forward_gives_20_class_maps_at_input_size_and_three_outputs_when_training(ace2p_random):
    import paddle

    net = ace2p_random.network
    x = paddle.randn([1, 3, SIZE, SIZE])
    with paddle.no_grad():
        assert net(x).shape == [1, 20, SIZE, SIZE]
        net.train()
        try:
            shapes = [o.shape for o in net(paddle.randn([2, 3, SIZE, SIZE]))]
        finally:
            net.eval()
    assert shapes == [[2, 20, SIZE, SIZE], [2, 20, SIZE, SIZE], [2, 2, SIZE, SIZE]]


def test_without_weights_construction_raises_weights_not_published_saying_how_to_provide_them(tmp_hub_home):
    for name, artifact in [("ace2p", "ace2p_weights"),
                           ("deeplabv3p_xception65_humanseg", "deeplabv3p_xception65_humanseg_weights")]:
        with pytest.raises(WeightsNotPublished) as err:
            hub.Module(name=name)
        message = str(err.value)
        assert artifact in message and f"hub download {name}" in message and "HUB_MIRROR" in message
        assert str(tmp_hub_home) in message  # where it looked
        assert "pretrained=False" in message and "hub import-paddlehub" in message
    from hubcore.discovery import find_entries  # the manifest says so too, for `hub show`

    for name in ("ace2p", "deeplabv3p_xception65_humanseg"):
        m = find_entries(name)[0].manifest
        assert m.pretrained is False and all(not a.published for a in m.artifacts)


def test_weights_served_over_http_are_fetched_verified_loaded_and_predict(ace2p_random, ace2p_weights, tmp_path,
                                                                          tmp_hub_home):
    data = ace2p_weights.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    with FakeServer() as server:
        server.add("/w/ace2p.safetensors", data)
        folder = tmp_path / "devmod"
        folder.mkdir()
        (folder / "module.py").write_text("from hubmod_ace2p.module import ACE2P\n\n\nclass ACE2PUnderTest(ACE2P):\n"
                                          "    pass\n")
        (folder / "hubmodule.toml").write_text(textwrap.dedent(f"""
            package = "hubmod-ace2p"
            version = "1.0.0"
            [modules.ace2p]
            class = "module:ACE2PUnderTest"
            category = "cv/segmentation"
            summary = "test copy with generated weights"
            license = "Apache-2.0"
            pretrained = false
            [[modules.ace2p.artifacts]]
            name = "ace2p_weights"
            source = "{server.url('/w/ace2p.safetensors')}"
            sha256 = "{sha}"
            size = {len(data)}
            """))
        loaded = hub.Module(directory=folder, input_size=SIZE)
        assert len(server.gets("/w/ace2p.safetensors")) == 1
    assert loaded.random_weights is False
    assert (tmp_hub_home / "blobs" / sha).is_file()  # verified into the content-addressed cache
    image = person_image()
    got = loaded.segmentation(images=[image])[0]
    want = ace2p_random.segmentation(images=[image])[0]
    classes = np.array(got["data"])
    assert classes.shape == image.shape[:2] and classes.max() < 20
    assert got["data"] == want["data"]  # the same weights give the same parsing
    assert sum(got["classes"].values()) == classes.size

    # serving: a base64 request binds to the signature and the method answers in JSON
    sig = loaded.signatures["segmentation"]
    assert sig.default and sig.batch_input == "images" and sig.field("images").kind == "image"
    kwargs = sig.bind({"images": [png_b64(image)]}, remote=True)
    assert isinstance(kwargs["images"][0], bytes)
    answer = json.loads(json.dumps(loaded.segmentation(**kwargs)))
    assert np.array(answer[0]["data"]).shape == image.shape[:2]
    with pytest.raises(InputError, match="base64"):
        sig.bind({"images": ["not base64 !"]}, remote=True)


def test_visualization_writes_the_lip_palette_class_map_and_an_overlay(ace2p_random, tmp_path):
    from PIL import Image

    from hubmod_ace2p.lip import LIP_CLASSES, palette

    assert len(LIP_CLASSES) == 20 and LIP_CLASSES[13] == "Face" and ace2p_random.label_list == LIP_CLASSES
    image = person_image(70, 50, seed=3)
    result = ace2p_random.segmentation(images=[image], visualization=True, output_dir=str(tmp_path))[0]
    with Image.open(result["save_path"]) as saved:
        assert saved.mode == "P" and saved.getpalette()[:60] == palette()
        assert np.array_equal(np.asarray(saved), np.array(result["data"], dtype=np.uint8))
    with Image.open(result["overlay_path"]) as overlay:
        assert overlay.size == (50, 70) and overlay.mode == "RGB"
    assert base64.b64decode(result["overlay"]) == Path(result["overlay_path"]).read_bytes()
    assert palette()[3:6] == [128, 0, 0] and palette()[6:9] == [0, 128, 0]


def test_paddlehub_style_arguments_and_bad_inputs(ace2p_random, tmp_path):
    from PIL import Image

    path = tmp_path / "person.jpg"
    Image.fromarray(person_image()[:, :, ::-1]).save(path)
    res = ace2p_random.segmentation(paths=[str(path)], data={"image": [str(path)]}, use_gpu=False)
    assert len(res) == 2 and res[0]["data"] == res[1]["data"] and res[0]["path"] == str(path)
    assert ace2p_random.segmentation(images=[person_image()])[0]["path"] is None
    with pytest.raises(InputError, match=r"images\[0\].*not an existing image file"):
        ace2p_random.segmentation(images=[str(tmp_path / "missing.jpg")])
    with pytest.raises(InputError, match=r"images\[0\]: got int"):
        ace2p_random.segmentation(images=[7])
    with pytest.raises(InputError, match="at least one image"):
        ace2p_random.segmentation(images=[])
    with pytest.raises(InputError, match="unknown argument"):
        ace2p_random.segmentation(images=[str(path)], colour=True)
    with pytest.raises(InputError, match="input_size"):
        hub.Module(name="ace2p", pretrained=False, input_size=8)


def test_ace2p_fine_tune_context_trains(ace2p_random):
    import paddle

    paddle.seed(0)
    ctx = ace2p_random.context(trainable=True)
    try:
        assert ctx.task == "segmentation" and ctx.feature_size == 20 and ctx.extra["random_weights"] is True
        images = [person_image(seed=s) for s in (1, 2)]
        x = paddle.to_tensor(ctx.preprocess(images))
        assert x.shape == [2, 3, SIZE, SIZE]
        labels = np.zeros((2, SIZE, SIZE), dtype=np.int64)
        labels[:, 14:60, 22:42] = 5  # the block is 'Upper-clothes'
        labels = paddle.to_tensor(labels)
        opt = paddle.optimizer.Adam(learning_rate=1e-4, parameters=ctx.backbone.parameters())
        before = ctx.extra["loss"](ctx.backbone(x), labels)
        before.backward()
        opt.step()
        opt.clear_grad()
        with paddle.no_grad():
            after = ctx.extra["loss"](ctx.backbone(x), labels)
        assert float(after) < float(before), (float(before), float(after))
    finally:
        ace2p_random.context(trainable=False)


def test_humanseg_deeplabv3p_xception65_sizes_and_alpha_output_through_provided_weights(tmp_path, tmp_hub_home):
    from PIL import Image

    from hubcore.artifacts import provide_artifact
    from hubcore.discovery import find_entries
    from hubmod_ace2p.humanseg import alpha_from_probability
    from hubmod_ace2p.layers import count_parameters
    from hubcore.weights import RandomWeightsWarning

    with pytest.warns(RandomWeightsWarning, match="weights are random"):
        reference = hub.Module(name="deeplabv3p_xception65_humanseg", pretrained=False, input_size=SIZE)
    assert reference.random_weights is True and reference.pretrained is False  # flagged, never called pretrained
    net = reference.network
    assert count_parameters(net) == HUMANSEG_PARAMS
    assert len(net.backbone.middle) == 16 and net.classifier.weight.shape[:2] == [2, 256]
    stored = sum(int(v.numel()) for v in net.state_dict().values())
    mb = PADDLEHUB_MB["deeplabv3p_xception65_humanseg"]
    assert abs(stored * 4 / 2**20 - mb) / mb < 0.03

    # `hub download deeplabv3p_xception65_humanseg --from FILE` puts the file in the cache; the module loads it.
    entry = find_entries("deeplabv3p_xception65_humanseg")[0]
    spec = entry.manifest.artifact("deeplabv3p_xception65_humanseg_weights")
    provide_artifact(entry.name, entry.version, spec, weights_file(reference, tmp_path))
    loaded = hub.Module(name="deeplabv3p_xception65_humanseg", input_size=SIZE)
    assert loaded.random_weights is False
    image = person_image(50, 40, seed=5)
    got = loaded.segmentation(images=[image], visualization=True, output_dir=str(tmp_path / "out"))[0]
    alpha = np.array(got["data"])
    assert alpha.shape == (50, 40) and alpha.min() >= 0 and alpha.max() <= 255
    assert got["data"] == reference.segmentation(images=[image])[0]["data"]
    with Image.open(got["save_path"]) as rgba:
        assert rgba.mode == "RGBA" and np.array_equal(np.asarray(rgba)[:, :, 3], alpha.astype(np.uint8))
    assert alpha_from_probability(np.array([0.0, 120 / 255, 1.0])).tolist() == [0, 0, 255]


def test_both_modules_pass_the_hub_conformance_check(tmp_hub_home):
    from hubcore.conformance import EXPECTED, PASS, check_module

    for name in ("ace2p", "deeplabv3p_xception65_humanseg"):
        honest = check_module(name)  # no weights anywhere: construction says so
        assert honest.ok and honest.status("loads") == EXPECTED, honest.format()
    # With random weights the whole contract runs (ace2p's predict and serving are covered above).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        running = check_module("deeplabv3p_xception65_humanseg", init_args={"pretrained": False, "input_size": SIZE})
    assert running.ok and running.status("predict") == PASS and running.status("serving") == PASS, running.format()
