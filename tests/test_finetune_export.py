"""Trainer.save_module: the fine-tuned model becomes a loadable module folder with its own weights."""
from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest
from PIL import Image

import hubcore as hub
from hubcore import discovery
from hubcore.errors import InputError, IntegrityError
from hubcore.finetune import Classifier, sklearn_digits
from hubcore.manifest import tomllib
from tests.support.fakedist import install_fake_module

BASE_CODE = '''
import io
import numpy as np
import hubcore


class Mod(hubcore.Module):
    """A tiny image "backbone" standing in for a pretrained module."""

    def context(self, trainable=True):
        import paddle

        paddle.seed(0)
        backbone = paddle.nn.Sequential(paddle.nn.Flatten(), paddle.nn.Linear(8 * 8 * 3, 32), paddle.nn.ReLU())

        def preprocess(images):
            arrays = []
            for image in images:
                if isinstance(image, bytes):
                    from PIL import Image
                    image = Image.open(io.BytesIO(image)).convert("RGB")
                arrays.append(np.asarray(image, dtype="float32") / 255.0)
            return np.stack(arrays)

        return hubcore.Context(backbone, 32, preprocess,
                               extra={"module": self.name, "module_version": self.version, "input": "image"})
'''


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    discovery.clear_caches()
    install_fake_module(folder, module="fkimage", version="2.1.0", code=BASE_CODE)
    yield folder
    discovery.clear_caches()
    for name in [m for m in sys.modules if m.startswith("hubmod_fkimage")]:
        del sys.modules[name]


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_saved_module_loads_and_predicts_with_the_fine_tuned_weights(site: Path, tmp_hub_home: Path,
                                                                    tmp_path: Path) -> None:
    train = sklearn_digits("train", size=8, limit=400)
    test = sklearn_digits("test", size=8, limit=60)
    model = Classifier(hub.Module(name="fkimage").context(trainable=True), train.label_list)
    trainer = hub.Trainer(model, paddle.optimizer.Adam(0.01, parameters=model.parameters()), seed=0)
    trainer.train(train, epochs=4, batch_size=32, eval_dataset=test)
    assert trainer.history[-1]["eval"]["acc"] > 0.7

    folder = trainer.save_module(tmp_path / "digits8", name="digits8", version="1.0.0")
    manifest = tomllib.loads((folder / "hubmodule.toml").read_text())
    entry = manifest["modules"]["digits8"]
    assert manifest["version"] == "1.0.0" and entry["pretrained"] is True
    assert entry["requires"]["modules"] == {"fkimage": "==2.1.0"}
    artifact = entry["artifacts"][0]
    assert artifact["source"] == (folder / "weights.safetensors").as_uri() and len(artifact["sha256"]) == 64

    module = hub.Module(directory=folder)
    assert (module.name, module.version, module.label_list) == ("digits8", "1.0.0", train.label_list)
    images = [image for image, _ in test][:20]
    results = module.classify(images=[_png(image) for image in images])
    expected = model.predict_probs(images)
    assert [r["label"] for r in results] == [train.label_list[i] for i in expected.argmax(1)]
    assert results[0]["score"] == pytest.approx(float(expected[0].max()), abs=1e-5)
    assert set(results[0]["probs"]) == set(train.label_list)
    assert module.default_signature.name == "classify" and module.default_signature.batch_input == "images"

    # saving again replaces the folder; a folder that is not ours is refused
    trainer.save_module(folder, name="digits8", version="1.0.1")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not an earlier save_module folder"):
        trainer.save_module(tmp_path / "other", name="digits8")
    with pytest.raises(InputError, match="name="):
        trainer.save_module(tmp_path / "x", name="Digits 8")


def test_changed_weights_are_refused(site: Path, tmp_hub_home: Path, tmp_path: Path) -> None:
    train = sklearn_digits("train", size=8, limit=64)
    trainer = hub.Trainer(hub.Module(name="fkimage").context(), label_list=train.label_list)
    trainer.train(train, epochs=1, batch_size=32)
    folder = trainer.save_module(tmp_path / "m", name="digits8")
    weights = folder / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        hub.Module(directory=folder)


def test_save_module_needs_to_know_the_base(tmp_path: Path) -> None:
    paddle.seed(0)
    context = hub.Context(backbone=paddle.nn.Linear(4, 8), feature_size=8, preprocess=np.stack)
    trainer = hub.Trainer(context, label_list=["a", "b"])
    trainer.input_kind = "image"
    with pytest.raises(InputError, match="pass base=the_module"):
        trainer.save_module(tmp_path / "m", name="m")
