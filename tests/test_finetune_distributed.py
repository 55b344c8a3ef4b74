"""Two CPU processes under `python -m paddle.distributed.launch` (gloo) train like one process with
twice the batch: each step's two half-batches are the one-process batch, and DataParallel averages
their gradients."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys
import numpy as np, paddle
sys.path.insert(0, {root!r})
from tests.test_finetune_trainer import Classifier, make_context, datasets, LABELS
import hubcore as hub

batch_size, out = int(sys.argv[1]), sys.argv[2]
model = Classifier(make_context(0), LABELS)
opt = paddle.optimizer.Adam(learning_rate=0.05, parameters=model.parameters())
trainer = hub.Trainer(model, opt, checkpoint_dir=out + "_ckpt", seed=0)
train_ds, dev_ds = datasets()
trainer.train(train_ds, epochs=2, batch_size=batch_size, eval_dataset=dev_ds)
result = trainer.evaluate(dev_ds)
rank = paddle.distributed.get_rank()
np.save(f"{{out}}_rank{{rank}}.npy", np.concatenate([v.numpy().ravel() for v in model.state_dict().values()]))
open(f"{{out}}_rank{{rank}}.json", "w").write(__import__("json").dumps(result))
"""


def test_two_processes_match_one_process_with_double_batch(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(root=str(ROOT)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PADDLE_")}
    launched = subprocess.run(
        [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir",
         str(tmp_path / "logs"), str(script), "8", str(tmp_path / "two")],
        env=env, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    logs = "".join(p.read_text(errors="replace")[-1500:] for p in sorted((tmp_path / "logs").glob("workerlog.*")))
    assert launched.returncode == 0, launched.stdout[-1500:] + launched.stderr[-1500:] + logs
    single = subprocess.run([sys.executable, str(script), "16", str(tmp_path / "one")], env=env,
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert single.returncode == 0, single.stderr[-2000:]

    one = np.load(tmp_path / "one_rank0.npy")
    two = [np.load(tmp_path / f"two_rank{r}.npy") for r in (0, 1)]
    np.testing.assert_array_equal(two[0], two[1])  # the processes stay in step
    np.testing.assert_allclose(two[0], one, rtol=0, atol=1e-5)
    results = [json.loads((tmp_path / f"two_rank{r}.json").read_text()) for r in (0, 1)]
    assert results[0] == results[1]  # evaluation counts are summed over both shards
    reference = json.loads((tmp_path / "one_rank0.json").read_text())
    assert abs(results[0]["acc"] - reference["acc"]) < 1e-6
    # only rank 0 writes checkpoints
    assert json.loads((tmp_path / "two_ckpt" / "last.json").read_text())["epoch"] == 2
    assert "[train] epoch 2/2" in logs and logs.count("[checkpoint] epoch 2") == 1
