"""hubmod-gan: stgan_celeba, stargan_celeba, attgan_celeba, cyclegan_cityscapes.

No weights are published for these modules, so the tests make their own: a module built with
pretrained=False saves its generator as safetensors, which is then served on a loopback HTTP
server (declared with its sha256 in a test copy of the manifest) or handed to the cache as
`hub download NAME --from FILE` does, and loaded by the module. Images are 32x32 to stay fast.
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

SIZE = 32
MODULES = ("stgan_celeba", "stargan_celeba", "attgan_celeba", "cyclegan_cityscapes")
PARAMS = {"stgan_celeba": 74_998_771, "attgan_celeba": 43_459_203, "stargan_celeba": 8_430_528,
          "cyclegan_cityscapes": 2 * 11_388_035}
PADDLEHUB_MB = {"stgan_celeba": 287, "attgan_celeba": 167, "stargan_celeba": 33}  # PaddleHub's published sizes
PYTORCH_CYCLEGAN_G = 11_378_179  # pytorch-CycleGAN's resnet_9blocks generator, "11.378 M"


def face(seed: int = 0, height: int = 40, width: int = 36) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    img[10:30, 10:26] = (60, 120, 200)
    return img


def decode_png(b64: str) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(b64))) as img:
        return np.asarray(img)


def random_module(name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hub.Module(name=name, pretrained=False, image_size=SIZE)


@pytest.fixture(scope="module")
def modules() -> dict:
    import paddle

    paddle.seed(0)
    return {name: random_module(name) for name in MODULES}


def save(module, folder: Path) -> Path:
    from hubcore.weights import save_weights

    return save_weights(module.network, folder / f"{module.name}.safetensors")


def test_generators_have_the_published_architectures_sizes(modules):
    from hubmod_gan.layers import count_parameters

    for name, expected in PARAMS.items():
        net = modules[name].network
        assert count_parameters(net) == expected, name
        if name in PADDLEHUB_MB:
            stored = sum(int(v.numel()) for v in net.state_dict().values()) * 4 / 2**20
            assert abs(stored - PADDLEHUB_MB[name]) / PADDLEHUB_MB[name] < 0.03, (name, stored)
    stgan = modules["stgan_celeba"].network
    assert len(stgan.encoder) == 5 and len(stgan.stus) == 4 and len(stgan.decoder) == 5  # 4 selective transfer units
    assert stgan.encoder[-1].conv.weight.shape[0] == 1024 and stgan.n_attrs == 13
    assert len([m for m in modules["stargan_celeba"].network.main if type(m).__name__ == "ResidualBlock"]) == 6
    # CycleGAN: the paper's generator; PaddleCV's layout trades 5 conv biases for affine instance norms.
    g = modules["cyclegan_cityscapes"].network.g_a
    affine = 2 * (64 + 128 + 256 + 18 * 256 + 128 + 64)
    dropped_biases = 64 + 128 + 256 + 128 + 64
    assert count_parameters(g) == PYTORCH_CYCLEGAN_G + affine - dropped_biases


def test_attribute_vectors_follow_paddlehub_words_and_celeba_rules():
    from hubmod_gan.attributes import CELEBA_5, CELEBA_13, apply_style, parse_info, user_styles

    src = parse_info("Female,Black_Hair,Eyeglasses", CELEBA_13, need_gender=True, where="info")
    assert [CELEBA_13[i] for i in np.flatnonzero(src)] == ["Black_Hair", "Eyeglasses", "Young"]
    blond = apply_style(src, "Blond_Hair", CELEBA_13, where="style")
    assert blond[CELEBA_13.index("Blond_Hair")] == 1 and blond[CELEBA_13.index("Black_Hair")] == 0
    aged_man = apply_style(src, "Gender,Aged", CELEBA_13, where="style")
    assert aged_man[CELEBA_13.index("Male")] == 1 and aged_man[CELEBA_13.index("Young")] == 0
    bangs = apply_style(parse_info("Male,Bald", CELEBA_13, need_gender=True, where="i"), "Bangs", CELEBA_13, where="s")
    assert bangs[CELEBA_13.index("Bangs")] == 1 and bangs[CELEBA_13.index("Bald")] == 0
    assert "Gender" in user_styles(CELEBA_13) and "Aged" in user_styles(CELEBA_13)
    assert user_styles(CELEBA_5) == ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Female", "Aged")
    # StarGAN sets rather than toggles
    star = apply_style(parse_info("Male,Brown_Hair", CELEBA_5, need_gender=False, where="i"), "Female,Blond_Hair",
                       CELEBA_5, where="s")
    assert star.tolist() == [0, 1, 0, 0, 1]
    with pytest.raises(InputError, match="Male.*Female"):
        parse_info("Black_Hair", CELEBA_13, need_gender=True, where="info[0]")
    with pytest.raises(InputError, match=r"style\[0\]: unknown style 'Purple_Hair'"):
        apply_style(src, "Purple_Hair", CELEBA_13, where="style[0]")


def test_network_conditions_match_paddlecv_inference():
    from hubmod_gan.attgan import AttGANCeleba
    from hubmod_gan.stgan import STGANCeleba

    source = np.array([[1, 0, 1]], dtype=np.float32)
    target = np.array([[1, 1, 1]], dtype=np.float32)
    assert STGANCeleba.network_condition(source, target).tolist() == [[0, 1, 0]]  # difference of +-0.5 labels
    assert AttGANCeleba.network_condition(source, target).tolist() == [[0.5, 1.0, 0.5]]  # changed one doubled


def test_without_weights_construction_raises_weights_not_published(tmp_hub_home):
    from hubcore.discovery import find_entries

    for name in MODULES:
        with pytest.raises(WeightsNotPublished) as err:
            hub.Module(name=name)
        message = str(err.value)
        assert f"{name}_weights" in message and f"hub download {name}" in message and "HUB_MIRROR" in message
        assert str(tmp_hub_home) in message and "pretrained=False" in message
        assert "Traceback" not in message and "paddle" not in message.lower().replace("paddlehub", "")
        manifest = find_entries(name)[0].manifest
        assert manifest.pretrained is False and not manifest.artifacts[0].published


def test_stgan_weights_from_http_are_verified_loaded_and_edit_faces(modules, tmp_path, tmp_hub_home):
    reference = modules["stgan_celeba"]
    data = save(reference, tmp_path).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    with FakeServer() as server:
        server.add("/gan/stgan.safetensors", data)
        folder = tmp_path / "devmod"
        folder.mkdir()
        (folder / "module.py").write_text("from hubmod_gan.stgan import STGANCeleba\n\n\n"
                                          "class STGANUnderTest(STGANCeleba):\n    pass\n")
        (folder / "hubmodule.toml").write_text(textwrap.dedent(f"""
            package = "hubmod-gan"
            version = "1.0.0"
            [modules.stgan_celeba]
            class = "module:STGANUnderTest"
            category = "cv/image_generation"
            summary = "test copy with generated weights"
            license = "Apache-2.0"
            pretrained = false
            [[modules.stgan_celeba.artifacts]]
            name = "stgan_celeba_weights"
            source = "{server.url('/gan/stgan.safetensors')}"
            sha256 = "{sha}"
            size = {len(data)}
            """))
        loaded = hub.Module(directory=folder, image_size=SIZE)
        assert len(server.gets("/gan/stgan.safetensors")) == 1
    assert loaded.random_weights is False and (tmp_hub_home / "blobs" / sha).is_file()
    images = [face(1), face(2)]
    out = loaded.generate(images=images, info=["Female,Black_Hair", "Male"], style=["Bangs", "Gender,Eyeglasses"],
                          output_dir=str(tmp_path / "out"))
    want = reference.generate(images=images, info=["Female,Black_Hair", "Male"], style=["Bangs", "Gender,Eyeglasses"],
                              visualization=False)
    assert [r["data"] for r in out] == [r["data"] for r in want]  # same weights, same edits
    assert [r["style"] for r in out] == ["Bangs", "Gender,Eyeglasses"]
    edited = decode_png(out[0]["data"])
    assert edited.shape == (SIZE, SIZE, 3)
    assert Path(out[1]["save_path"]).name == "image1_Gender+Eyeglasses.png"
    assert base64.b64decode(out[0]["data"]) == Path(out[0]["save_path"]).read_bytes()

    # PaddleHub's generate(data={...}) form still works
    path = tmp_path / "face.png"
    from PIL import Image

    Image.fromarray(face(1)[:, :, ::-1]).save(path)
    legacy = loaded.generate(data={"image": [str(path)], "info": ["Female,Black_Hair"], "style": ["Bangs"]},
                             visualization=False)
    assert legacy[0]["data"] == out[0]["data"]  # the file holds the same pixels as the BGR array

    sig = loaded.signatures["generate"]
    kwargs = sig.bind({"images": [base64.b64encode(path.read_bytes()).decode()], "info": "Female,Black_Hair",
                       "style": "Bangs", "visualization": False}, remote=True)
    answer = json.loads(json.dumps(loaded.generate(**kwargs)))
    assert answer[0]["data"] == out[0]["data"]
    with pytest.raises(InputError, match="unknown field"):
        sig.bind({"images": [], "data": {"image": ["/etc/passwd"]}}, remote=True)  # no server-side paths over HTTP


@pytest.mark.parametrize("name, kwargs", [
    ("stargan_celeba", {"style": "Blond_Hair"}),
    ("attgan_celeba", {"style": "Bangs", "info": "Male"}),
    ("cyclegan_cityscapes", {"direction": "label2photo"}),
])
def test_provided_weights_load_by_name_and_generate(modules, tmp_path, tmp_hub_home, name, kwargs):
    from hubcore.artifacts import provide_artifact
    from hubcore.discovery import find_entries

    entry = find_entries(name)[0]
    provide_artifact(entry.name, entry.version, entry.manifest.artifacts[0], save(modules[name], tmp_path))
    loaded = hub.Module(name=name, image_size=SIZE)
    assert loaded.random_weights is False
    images = [face(3)]
    got = loaded.generate(images=images, visualization=False, **kwargs)
    assert got[0]["data"] == modules[name].generate(images=images, visualization=False, **kwargs)[0]["data"]
    assert decode_png(got[0]["data"]).shape == (SIZE, SIZE, 3)


def test_cyclegan_directions_use_different_generators(modules):
    cycle = modules["cyclegan_cityscapes"]
    a = cycle.generate(images=[face(4)], direction="photo2label", visualization=False)[0]["data"]
    b = cycle.generate(images=[face(4)], direction="label2photo", visualization=False)[0]["data"]
    assert a != b
    with pytest.raises(InputError, match="direction"):
        cycle.generate(images=[face(4)], direction="sideways")


def test_bad_inputs_are_named(modules):
    stgan = modules["stgan_celeba"]
    with pytest.raises(InputError, match="style"):
        stgan.generate(images=[face()], info="Male")
    with pytest.raises(InputError, match=r"info\[0\].*Male.*Female"):
        stgan.generate(images=[face()], style="Bangs")
    with pytest.raises(InputError, match="style has 2 entries for 1 images"):
        stgan.generate(images=[face()], info="Male", style=["Bangs", "Bald"])
    with pytest.raises(InputError, match=r"images\[0\]"):
        stgan.generate(images=[b"not an image"], info="Male", style="Bangs")
    with pytest.raises(InputError, match="image_size must be a positive multiple of 32"):
        hub.Module(name="stgan_celeba", pretrained=False, image_size=48)


@pytest.mark.parametrize("name", MODULES)
def test_fine_tune_context_lowers_the_reconstruction_loss(modules, name):
    import paddle

    module = modules[name]
    paddle.seed(1)
    ctx = module.context(trainable=True)
    try:
        assert ctx.task == "image_generation" and ctx.extra["image_size"] == SIZE and ctx.extra["random_weights"]
        x = paddle.to_tensor(ctx.preprocess([face(5), face(6)]))
        assert x.shape == [2, 3, SIZE, SIZE] and float(x.abs().max()) <= 1.0
        attrs = paddle.to_tensor(np.tile(np.eye(1, len(getattr(module, "attrs", ())) or 1, dtype=np.float32), (2, 1)))
        disc = ctx.extra["discriminator"]
        judged = disc(x)
        assert (judged[0] if isinstance(judged, tuple) else judged).shape[0] == 2
        loss_fn = ctx.extra["reconstruction_loss"]
        opt = paddle.optimizer.Adam(learning_rate=1e-4, parameters=ctx.backbone.parameters())
        before = loss_fn(x, attrs)
        before.backward()
        opt.step()
        opt.clear_grad()
        with paddle.no_grad():
            after = loss_fn(x, attrs)
        assert float(after) < float(before), (float(before), float(after))
    finally:
        module.context(trainable=False)


def test_every_gan_module_passes_the_hub_conformance_check(tmp_hub_home):
    from hubcore.conformance import EXPECTED, PASS, check_module

    for name in MODULES:
        honest = check_module(name)
        assert honest.ok and honest.status("loads") == EXPECTED, honest.format()
    # With random weights the whole contract runs (the big generators' paths are covered above).
    for name in ("stargan_celeba", "cyclegan_cityscapes"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            running = check_module(name, init_args={"pretrained": False, "image_size": SIZE})
        assert running.ok and running.status("predict") == PASS and running.status("serving") == PASS, running.format()
