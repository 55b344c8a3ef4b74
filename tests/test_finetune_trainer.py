"""hub.Trainer on small synthetic problems: learning, metrics, checkpoints, resume after a kill,
reproducibility and bad input found before the first step."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest

import hubcore as hub
from hubcore.errors import InputError
from hubcore.finetune import Classifier, Dataset, SequenceLabeler
from hubcore.finetune import checkpoint as ckpt

ROOT = Path(__file__).resolve().parents[1]
LABELS = ["a", "b", "c"]


def make_data(n: int, seed: int) -> list[tuple[np.ndarray, str]]:
    """Points in 4-D whose class is the argmax of a fixed linear map: learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    w = np.array([[2, 0, 0], [0, 2, 0], [0, 0, 2], [1, -1, 0]], dtype="float32")
    return [(row, LABELS[int(k)]) for row, k in zip(x, (x @ w).argmax(axis=1))]


def make_context(seed: int = 0, width: int = 16) -> hub.Context:
    paddle.seed(seed)
    backbone = paddle.nn.Sequential(paddle.nn.Linear(4, width), paddle.nn.Tanh())
    return hub.Context(backbone=backbone, feature_size=width, preprocess=lambda xs: np.stack(xs))


def datasets() -> tuple[Dataset, Dataset]:
    return (Dataset(make_data(240, 1), LABELS, input_kind="image", name="train"),
            Dataset(make_data(60, 2), LABELS, input_kind="image", name="dev"))


def weights(model: paddle.nn.Layer) -> np.ndarray:
    return np.concatenate([v.numpy().ravel() for v in model.state_dict().values()])


def train(checkpoint_dir: Path | None, epochs: int = 4, seed: int = 0, model_cls: type = Classifier,
          **kwargs) -> hub.Trainer:
    model = model_cls(make_context(seed), LABELS)
    opt = paddle.optimizer.Adam(learning_rate=0.05, parameters=model.parameters())
    trainer = hub.Trainer(model, opt, checkpoint_dir=checkpoint_dir, seed=seed)
    train_ds, dev_ds = datasets()
    trainer.train(train_ds, epochs=epochs, batch_size=16, eval_dataset=dev_ds, **kwargs)
    return trainer


def test_learns_and_reports_metrics_and_writes_plain_log_lines(tmp_path: Path, capsys) -> None:
    trainer = train(tmp_path / "ckpt", log_interval=5)
    result = trainer.evaluate(datasets()[1])
    assert set(result) == {"loss", "acc", "precision", "recall", "f1"}
    assert result["acc"] > 0.9 and result["f1"] > 0.85, result
    assert [h["epoch"] for h in trainer.history] == [1, 2, 3, 4]
    err = capsys.readouterr().err
    assert "\r" not in err  # not a terminal: plain lines
    assert "[train] epoch 1/4 5/15 loss=" in err and "[eval] epoch 4:" in err
    last = json.loads((tmp_path / "ckpt" / "last.json").read_text())
    best = json.loads((tmp_path / "ckpt" / "best.json").read_text())
    assert last["epoch"] == 4 and best["metric"] == "acc"
    assert best["value"] == max(h["eval"]["acc"] for h in trainer.history)
    folder = tmp_path / "ckpt" / last["folder"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [ckpt.MODEL_FILE, ckpt.OPTIMIZER_FILE, ckpt.OPTIMIZER_META_FILE, ckpt.STATE_FILE])
    from safetensors.numpy import load_file

    assert set(load_file(str(folder / ckpt.MODEL_FILE))) == set(trainer.model.state_dict())
    moments = load_file(str(folder / ckpt.OPTIMIZER_FILE))
    assert any(k.startswith("state/head.weight/") and "moment1" in k for k in moments), sorted(moments)[:4]
    # only the folders named by last.json and best.json are kept
    assert {p.name for p in (tmp_path / "ckpt").iterdir() if p.is_dir()} == {last["folder"], best["folder"]}


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    a, b, c = (weights(train(None, epochs=2, seed=s).model) for s in (0, 0, 1))
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


KILL_SCRIPT = """
import os, signal, sys
sys.path.insert(0, {root!r})
import hubcore as hub  # before paddle, as the README says (paddle 2.6's zlib clash)
import paddle
from tests.test_finetune_trainer import Classifier, make_context, datasets, LABELS

class KilledAt(Classifier):
    calls = 0
    def collate(self, examples):
        KilledAt.calls += 1
        if KilledAt.calls == int(os.environ.get("KILL_AT_COLLATE", "0")):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().collate(examples)

model = KilledAt(make_context(0), LABELS)
opt = paddle.optimizer.Adam(learning_rate=0.05, parameters=model.parameters())
trainer = hub.Trainer(model, opt, checkpoint_dir=sys.argv[1], seed=0)
train_ds, dev_ds = datasets()
trainer.train(train_ds, epochs=4, batch_size=16, eval_dataset=dev_ds)
import numpy as np
np.save(sys.argv[2], np.concatenate([v.numpy().ravel() for v in model.state_dict().values()]))
"""


def test_resume_after_kill_ends_with_the_uninterrupted_weights(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(KILL_SCRIPT.format(root=str(ROOT)))
    run = [sys.executable, str(script), str(tmp_path / "ckpt"), str(tmp_path / "w.npy")]
    # collate calls: 2 dry runs, then 15 train + 4 eval batches per epoch: call 48 is inside epoch 3
    killed = subprocess.run(run, env={**os.environ, "KILL_AT_COLLATE": "48"}, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert json.loads((tmp_path / "ckpt" / "last.json").read_text())["epoch"] == 2
    resumed = subprocess.run(run, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resumed from" in resumed.stderr and "after epoch 2" in resumed.stderr
    assert "[train] epoch 1/4" not in resumed.stderr
    uninterrupted = weights(train(None).model)
    np.testing.assert_allclose(np.load(tmp_path / "w.npy"), uninterrupted, rtol=0, atol=1e-6)


def test_a_failed_checkpoint_write_leaves_the_previous_one_usable(tmp_path: Path, monkeypatch) -> None:
    real_replace = os.replace
    calls = {"folders": 0}

    def flaky_replace(src, dst):
        if Path(src).name.startswith(".epoch-"):
            calls["folders"] += 1
            if calls["folders"] == 2:
                raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(ckpt.os, "replace", flaky_replace)
    with pytest.raises(OSError, match="disk full"):
        train(tmp_path / "ckpt", epochs=3)
    monkeypatch.setattr(ckpt.os, "replace", real_replace)
    assert json.loads((tmp_path / "ckpt" / "last.json").read_text())["epoch"] == 1
    assert not [p for p in (tmp_path / "ckpt").iterdir() if ".tmp" in p.name]
    trainer = train(tmp_path / "ckpt", epochs=3)
    assert [h["epoch"] for h in trainer.history] == [1, 2, 3]
    assert json.loads((tmp_path / "ckpt" / "last.json").read_text())["epoch"] == 3
    trainer.load_checkpoint("best")


def test_bad_input_fails_before_any_training_step(tmp_path: Path) -> None:
    context = make_context()
    model = Classifier(context, LABELS)
    trainer = hub.Trainer(model, paddle.optimizer.Adam(parameters=model.parameters()), checkpoint_dir=tmp_path)
    before = weights(model)
    train_ds, dev_ds = datasets()
    with pytest.raises(InputError, match=r"labels \['d'\] that the model's label_list"):
        trainer.train(train_ds, epochs=1, batch_size=8, eval_dataset=Dataset([(np.zeros(4, "float32"), "d")],
                                                                            input_kind="image"))
    with pytest.raises(InputError, match="eval_dataset is empty"):
        trainer.train(train_ds, eval_dataset=[])
    with pytest.raises(InputError, match="batch_size=0"):
        trainer.train(train_ds, batch_size=0)
    wrong_width = Classifier(hub.Context(backbone=paddle.nn.Linear(4, 8), feature_size=16,
                                         preprocess=lambda xs: np.stack(xs)), LABELS)
    with pytest.raises(InputError, match="features of width 8.*feature_size=16"):
        hub.Trainer(wrong_width).train(train_ds)
    with pytest.raises(InputError, match="preparing examples|cannot process its first examples"):
        trainer.train(Dataset([("not a vector", "a")], LABELS), batch_size=1)
    assert np.array_equal(before, weights(model)) and not list(tmp_path.iterdir())


def test_optimizer_and_context_misuse_is_explained() -> None:
    context = make_context()
    with pytest.raises(InputError, match="needs label_list"):
        hub.Trainer(context)
    model = Classifier(context, LABELS)
    backbone_only = paddle.optimizer.Adam(parameters=context.backbone.parameters())
    with pytest.raises(InputError, match="does not update 2 trainable parameter.*head.weight"):
        hub.Trainer(model, backbone_only)
    trainer = hub.Trainer(make_context(), lambda params: paddle.optimizer.SGD(0.1, parameters=params),
                          label_list=LABELS)
    assert isinstance(trainer.model, Classifier) and isinstance(trainer.optimizer, paddle.optimizer.SGD)
    with pytest.raises(InputError, match="label_list"):
        Classifier(context, "ab")


class CharTagger(paddle.nn.Layer):
    """Embeds characters and runs a small BiLSTM: per-token features for a tagging test."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = paddle.nn.Embedding(128, 16)
        self.rnn = paddle.nn.LSTM(16, 16, direction="bidirect")

    def forward(self, ids: paddle.Tensor, lengths: paddle.Tensor) -> paddle.Tensor:
        out, _ = self.rnn(self.embedding(ids), sequence_length=lengths)
        return out


def char_batch(texts: list) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(t) for t in texts)
    ids = np.zeros((len(texts), width), dtype="int64")
    for i, t in enumerate(texts):
        ids[i, :len(t)] = [ord(c) % 128 for c in t]
    return ids, np.array([len(t) for t in texts], dtype="int64")


def test_sequence_labelling_learns_to_tag_characters() -> None:
    rng = np.random.default_rng(0)
    alphabet = list("abcdefgh0123456789")

    def example() -> tuple[str, list[str]]:
        text = "".join(rng.choice(alphabet, size=int(rng.integers(3, 12))))
        return text, ["DIGIT" if c.isdigit() else "LETTER" for c in text]

    train_ds = Dataset([example() for _ in range(200)], task="sequence_labeling", name="train")
    dev_ds = Dataset([example() for _ in range(40)], train_ds.label_list, task="sequence_labeling", name="dev")
    paddle.seed(0)
    context = hub.Context(backbone=CharTagger(), feature_size=32, preprocess=char_batch, task="sequence_labeling")
    trainer = hub.Trainer(context, lambda p: paddle.optimizer.Adam(0.02, parameters=p), label_list=train_ds.label_list)
    assert isinstance(trainer.model, SequenceLabeler)
    trainer.train(train_ds, epochs=3, batch_size=20, eval_dataset=dev_ds)
    result = trainer.evaluate(dev_ds)
    assert result["acc"] > 0.95 and result["f1"] > 0.95, result
    probs = trainer.model.predict_probs(["ab12"])
    assert probs.shape == (1, 4, 2)
    assert [train_ds.label_list[i] for i in probs[0].argmax(-1)] == ["LETTER", "LETTER", "DIGIT", "DIGIT"]


def test_progress_bar_on_a_terminal() -> None:
    from hubcore.finetune.progress import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    bar = Progress(4, "[train] epoch 1/1", log_interval=10, stream=out)
    for step in range(1, 5):
        bar.update(step, {"loss": 0.5})
    text = out.getvalue()
    assert text.count("\r") == 4 and text.endswith("\n") and "[########################] 4/4 loss=0.5000" in text


def test_use_gpu_needs_a_cuda_build() -> None:
    model = Classifier(make_context(), LABELS)
    if not paddle.device.is_compiled_with_cuda():
        with pytest.raises(InputError, match="install paddlepaddle-gpu"):
            hub.Trainer(model, use_gpu=True)
        return
    trainer = hub.Trainer(model, use_gpu=True)  # a CUDA build: one epoch runs on the GPU
    trainer.train(datasets()[0], epochs=1, batch_size=16)
    assert "gpu" in str(paddle.get_device())
    paddle.set_device("cpu")
