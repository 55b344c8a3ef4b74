"""Image classification with the real published weights (MobileNetV2, EfficientNet-Lite0).

The weights come through the hub into $HUB_HOME (CI keeps it between runs), are converted once to
safetensors and exported once to an inference program; these tests check what users see.
"""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest

import hubcore as hub
from hubcore.errors import InputError

try:
    from skimage import data as skimage_data
except ImportError:  # pragma: no cover
    pytest.fail("these tests need scikit-image for its sample photos: pip install scikit-image "
                "(listed in tests/requirements.txt)", pytrace=False)

CAT_CLASSES = set(range(281, 286))  # tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO = 967


@pytest.fixture(scope="module")
def mobilenet():
    return hub.Module(name="mobilenet_v2_imagenet")


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    return {"chelsea": skimage_data.chelsea(), "coffee": skimage_data.coffee()}


def _jpeg(array: np.ndarray, mode: str = "RGB", fmt: str = "JPEG") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).convert(mode).save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize("name", ["mobilenet_v2_imagenet", "efficientnet_lite0_imagenet"])
def test_real_weights_recognise_cat_and_espresso(name: str, photos) -> None:
    module = hub.Module(name=name)
    assert module.pretrained and module.category == "cv/classification"
    cat, coffee = module.classification(images=[photos["chelsea"], photos["coffee"]], top_k=5)
    assert cat[0]["class_id"] in CAT_CLASSES, cat
    assert coffee[0]["class_id"] == ESPRESSO and coffee[0]["label"] == "espresso", coffee
    assert len(cat) == 5 and [r["score"] for r in cat] == sorted((r["score"] for r in cat), reverse=True)
    assert 0 < sum(r["score"] for r in cat) <= 1.0 + 1e-5


def test_every_input_kind_gives_the_same_answer(mobilenet, photos, tmp_path) -> None:
    from PIL import Image

    rgb = photos["coffee"]
    path = tmp_path / "coffee.png"
    Image.fromarray(rgb).save(path)
    inputs = [rgb, rgb[:, :, ::-1].copy(), str(path), path, path.read_bytes(), Image.fromarray(rgb)]
    results = [mobilenet.classification(images=[x], top_k=1, color="BGR" if i == 1 else "RGB")[0][0]
               for i, x in enumerate(inputs)]
    assert {r["class_id"] for r in results} == {ESPRESSO}
    scores = [r["score"] for r in results]
    assert max(scores) - min(scores) < 1e-4, scores  # lossless inputs: identical pixels, identical scores
    # a BGR array read as RGB is a different picture: the score changes
    swapped = mobilenet.classification(images=[rgb[:, :, ::-1].copy()], top_k=1)[0][0]
    assert abs(swapped["score"] - scores[0]) > 1e-3
    # one image without a list, and a 4-D batch array
    assert mobilenet.classification(images=rgb, top_k=1)[0][0]["class_id"] == ESPRESSO
    assert len(mobilenet.classification(images=np.stack([rgb, rgb]), top_k=1)) == 2
    assert mobilenet.predict(images=[rgb], top_k=1)[0][0]["class_id"] == ESPRESSO


def test_odd_images_are_handled(mobilenet, photos) -> None:
    cat = photos["chelsea"]
    gray = (cat.mean(axis=2)).astype(np.uint8)
    rgba = np.dstack([cat, np.full(cat.shape[:2], 255, np.uint8)])
    odd = [gray, gray[:, :, None], rgba, _jpeg(cat, "L"), _jpeg(cat, "RGBA", "PNG"), _jpeg(cat, "P", "GIF"),
           np.zeros((1, 1, 3), np.uint8), cat.astype(np.float32) / 255.0]
    results = mobilenet.classification(images=odd, top_k=1)
    assert len(results) == len(odd)
    for name, r in zip(["gray", "gray1", "rgba", "gray-jpeg", "rgba-png", "gif", "1x1", "float"], results):
        assert 0 <= r[0]["class_id"] < 1000 and 0 < r[0]["score"] <= 1, name
    # an opaque alpha channel and 0..1 floats are the same photo: still a cat
    assert results[2][0]["class_id"] in CAT_CLASSES and results[7][0]["class_id"] in CAT_CLASSES
    assert mobilenet.classification(images=[], top_k=3) == []


def test_huge_image_is_classified_and_a_pixel_limit_is_enforced(mobilenet) -> None:
    big = np.zeros((10000, 10000, 3), np.uint8)
    big[:, :, 1] = 200
    (result,) = mobilenet.classification(images=[big], top_k=1)
    assert 0 <= result[0]["class_id"] < 1000
    del big
    small_limit = hub.Module(name="mobilenet_v2_imagenet", max_pixels=100 * 100)
    with pytest.raises(InputError, match=r"images\[0\].*max_pixels"):
        small_limit.classification(images=[_jpeg(np.zeros((200, 200, 3), np.uint8))])


@pytest.mark.parametrize("bad, match", [
    (b"", "empty bytes"),
    (b"GIF89a not really", "not a readable image"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "not a readable image"),
    ("/no/such/file.jpg", "no such file"),
    (np.zeros((0, 5, 3), np.uint8), "empty"),
    (np.zeros((5, 5, 2), np.uint8), "HxWx3"),
    (np.full((5, 5, 3), 300, np.int32), "dtype"),
    (12, "got int"),
])
def test_bad_images_are_input_errors(mobilenet, bad, match) -> None:
    with pytest.raises(InputError, match=match) as info:
        mobilenet.classification(images=[bad])
    assert "images[0]" in str(info.value)


def test_bad_arguments_are_input_errors(mobilenet, photos) -> None:
    with pytest.raises(InputError, match="top_k"):
        mobilenet.classification(images=[photos["chelsea"]], top_k=0)
    with pytest.raises(InputError, match="color"):
        mobilenet.classification(images=[photos["chelsea"]], color="HSV")
    with pytest.raises(InputError, match="label_list"):
        hub.Module(name="mobilenet_v2_imagenet", label_list=["a", "a"])
    with pytest.raises(InputError, match="device"):
        hub.Module(name="mobilenet_v2_imagenet", device="tpu")
    with pytest.raises(InputError, match="batch"):
        mobilenet.predict_batch(np.zeros((1, 3, 100, 100), np.float32))


def test_serving_signature_takes_base64_images(mobilenet, photos) -> None:
    sig = mobilenet.signatures["classification"]
    assert sig.default and sig.batch_input == "images"
    assert sig.field("images").kind == "image"
    payload = {"images": [base64.b64encode(_jpeg(photos["coffee"])).decode()], "top_k": 2}
    kwargs = sig.bind(payload, remote=True)
    assert isinstance(kwargs["images"][0], bytes)
    result = mobilenet.classification(**kwargs)
    assert result[0][0]["class_id"] == ESPRESSO and len(result[0]) == 2
    with pytest.raises(InputError, match="base64"):
        sig.bind({"images": ["not base64!"]}, remote=True)


def test_exported_program_is_built_once_per_version(mobilenet, monkeypatch) -> None:
    folder = mobilenet.program_dir()
    assert any(p.suffix == ".pdiparams" for p in folder.iterdir())
    import hubcore.inference

    def refuse(*args, **kwargs):
        raise AssertionError("the inference program was exported again instead of reused from the cache")

    monkeypatch.setattr(hubcore.inference, "export_layer", refuse)
    again = hub.Module(name="mobilenet_v2_imagenet")
    assert again.program_dir() == folder
    assert again.classification(images=[np.zeros((32, 32, 3), np.uint8)], top_k=1)


def test_context_gives_backbone_features_and_preprocess(photos) -> None:
    import paddle

    module = hub.Module(name="mobilenet_v2_imagenet")
    ctx = module.context(trainable=True)
    assert ctx.feature_size == 1280 and ctx.task == "classification"
    batch = ctx.preprocess([photos["chelsea"], photos["coffee"]])
    assert batch.shape == (2, 3, 224, 224) and batch.dtype == np.float32
    ctx.backbone.eval()
    features = ctx.backbone(paddle.to_tensor(batch))
    assert tuple(features.shape) == (2, 1280)
    trainable = [p for p in ctx.backbone.parameters() if not p.stop_gradient]
    assert trainable, "trainable=True must leave the backbone's parameters trainable"
    # the pretrained head on these features is the classifier itself
    logits = ctx.extra["head"](features).numpy()
    assert logits.argmax(axis=1)[1] == ESPRESSO
    frozen = hub.Module(name="mobilenet_v2_imagenet").context(trainable=False)
    assert all(p.stop_gradient for p in frozen.backbone.parameters())


def test_label_list_builds_a_fresh_head(photos, tmp_path) -> None:
    module = hub.Module(name="mobilenet_v2_imagenet", label_list=["cat", "coffee", "other"])
    ctx = module.context(trainable=True)
    assert tuple(ctx.extra["head"].fc.weight.shape) == (1280, 3)
    assert ctx.extra["label_list"] == ["cat", "coffee", "other"]
    result = module.classification(images=[photos["chelsea"]], top_k=5)[0]
    assert {r["label"] for r in result} == {"cat", "coffee", "other"}
    assert abs(sum(r["score"] for r in result) - 1.0) < 1e-4
    # export writes the network with its new head, runnable by a bare predictor
    from hubcore.inference import create_predictor

    folder = module.export(tmp_path / "exported")
    probs = module.predict_batch(module.preprocess([photos["chelsea"]]))
    logits = create_predictor(folder).run(module.preprocess([photos["chelsea"]]))[0]
    assert logits.shape == (1, 3) and logits.argmax() == probs.argmax()
