"""`hub.Trainer`: fine-tune a model (or a module's context with a head), evaluate it, resume it.

    import hubcore as hub
    from hubcore.finetune import Classifier, ImageFolder

    context = hub.Module(name="mobilenet_v2_imagenet").context(trainable=True)
    model = Classifier(context, label_list=["cat", "dog"])
    optimizer = paddle.optimizer.Adam(learning_rate=1e-4, parameters=model.parameters())
    trainer = hub.Trainer(model, optimizer, checkpoint_dir="ckpt", seed=0)
    trainer.train(ImageFolder("pets/train"), epochs=3, batch_size=32, eval_dataset=ImageFolder("pets/dev"))
    trainer.evaluate(ImageFolder("pets/test"))            # {"loss": ..., "acc": ..., "f1": ...}
    trainer.save_module("pets_classifier", name="pets_classifier", version="1.0.0")

Passing a Context instead of a model builds the head matching context.task over label_list; the
optimizer is then given as a callable (parameters -> optimizer) or left out (Adam, lr 1e-3).

Reproducible: with the same seed, data and device, training gives the same weights, and a run
killed and resumed from its checkpoint ends with the same weights as an uninterrupted one, because
every epoch's batch order and dropout draws come from (seed, epoch) alone.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import paddle

from ..errors import InputError
from ..paddle_compat import set_training
from . import checkpoint as ckpt
from . import distributed
from .datasets import Dataset
from .heads import as_tensors, head_for
from .metrics import METRICS, confusion_matrix, is_better, metrics_from_confusion
from .progress import Progress, format_metrics, log

BUCKET_BATCHES = 50  # texts are sorted by length within windows of this many batches


class Trainer:
    """Train, evaluate, checkpoint and resume a model; see the module docstring.

    model: a head over a context (hubcore.finetune.Classifier / SequenceLabeler), any layer that
        follows the same protocol (see hubcore.finetune.heads), or a hubcore.Context.
    optimizer: a paddle optimizer over model.parameters(); a callable parameters -> optimizer;
        or None for Adam with learning rate 1e-3. A paddle LRScheduler as its learning rate is
        stepped once per training step.
    checkpoint_dir: where checkpoints go and are resumed from (None: no checkpoints).
    use_gpu: train on the GPU (needs paddlepaddle-gpu); under paddle.distributed.launch, each
        process uses the device it was given.
    seed: seeds parameter initialisation of a head built here, batch order and dropout.
    label_list: the classes, when model is a Context.
    best_metric: which evaluation metric chooses the best checkpoint: acc, f1, precision, recall
        (higher is better) or loss (lower is better).
    """

    def __init__(self, model: Any, optimizer: Any = None, *, checkpoint_dir: str | Path | None = None,
                 use_gpu: bool = False, seed: int = 0, label_list: Sequence[str] | None = None,
                 best_metric: str = "acc") -> None:
        if best_metric not in (*METRICS, "loss"):
            raise InputError(f"best_metric={best_metric!r}: expected one of {', '.join((*METRICS, 'loss'))}")
        if not isinstance(seed, int):
            raise InputError(f"seed={seed!r}: expected an int")
        _select_device(use_gpu)
        distributed.init_parallel()
        self.rank, self.world_size = distributed.rank_and_size()
        self.seed = seed
        self.best_metric = best_metric
        self.checkpoint_dir = Path(checkpoint_dir).expanduser() if checkpoint_dir is not None else None
        if _is_context(model):
            if label_list is None:
                raise InputError("Trainer(context, ...) needs label_list=[...] to build the head; or build the "
                                 "head yourself: model = hubcore.finetune.Classifier(context, label_list)")
            paddle.seed(seed)
            model = head_for(model, label_list)
        _check_model(model)
        self.model = model
        self.optimizer = _make_optimizer(optimizer, model)
        self._net = distributed.wrap(model)
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.epoch = 0
        self.global_step = 0
        self.input_kind: str | None = getattr(model, "input_kind", None)
        self.main = self.rank == 0

    # -- training ---------------------------------------------------------------------------------
    def train(self, train_dataset: Any, epochs: int = 1, batch_size: int = 1, eval_dataset: Any = None,
              log_interval: int = 10, save_interval: int = 1) -> list[dict[str, Any]]:
        """Train for epochs (resuming from checkpoint_dir's last checkpoint); return the history.

        save_interval: evaluate and checkpoint every this many epochs, and after the last one.
        log_interval: steps between log lines when the output is not a terminal.
        Everything about the data is checked first, so a bad example fails now, not an hour in.
        """
        for argument, value in (("epochs", epochs), ("batch_size", batch_size), ("log_interval", log_interval),
                                ("save_interval", save_interval)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"{argument}={value!r}: expected a positive int")
        train_dataset = self._checked_dataset(train_dataset, "train_dataset")
        if eval_dataset is not None:
            eval_dataset = self._checked_dataset(eval_dataset, "eval_dataset")
        steps = len(train_dataset) // batch_size + (len(train_dataset) % batch_size > 0)
        if steps < self.world_size:
            raise InputError(f"train_dataset has {len(train_dataset)} examples: {steps} batches of {batch_size} "
                             f"cannot feed {self.world_size} processes; use a smaller batch_size")
        self._dry_run(train_dataset, "train_dataset")
        if eval_dataset is not None:
            self._dry_run(eval_dataset, "eval_dataset")
        self.input_kind = self.input_kind or getattr(train_dataset, "input_kind", None)
        self._resume(batch_size)
        lengths = _lengths(self.model, train_dataset)
        if self.epoch >= epochs:
            log(f"[train] checkpoint in {self.checkpoint_dir} has already trained {self.epoch} epoch(s) of {epochs}; "
                f"nothing to do", self.main)
        for epoch in range(self.epoch + 1, epochs + 1):
            train_metrics = self._train_epoch(train_dataset, lengths, epoch, epochs, batch_size, log_interval)
            record: dict[str, Any] = {"epoch": epoch, "train": train_metrics}
            at_save = epoch % save_interval == 0 or epoch == epochs
            is_best = False
            if eval_dataset is not None and at_save:
                record["eval"] = self.evaluate(eval_dataset, batch_size=batch_size)
                value = record["eval"][self.best_metric]
                is_best = is_better(self.best_metric, value, self.best["value"] if self.best else None)
                if is_best:
                    self.best = {"metric": self.best_metric, "value": value, "epoch": epoch}
                log(f"[eval] epoch {epoch}: {format_metrics(record['eval'])} "
                    f"(best {self.best_metric}={self.best['value']:.4f} at epoch {self.best['epoch']})", self.main)
            self.history.append(record)
            self.epoch = epoch
            if at_save:
                self._save(is_best, batch_size)
        return self.history

    def _train_epoch(self, dataset: Any, lengths: list[int] | None, epoch: int, epochs: int, batch_size: int,
                     log_interval: int) -> dict[str, float]:
        batches = self._epoch_batches(len(dataset), lengths, batch_size, epoch)
        # Dropout draws depend on (seed, epoch) only, so a resumed epoch repeats the original one.
        paddle.seed(self.seed * 100003 + epoch)
        self.model.train()
        tally = _Tally(len(self.model.label_list))
        progress = Progress(len(batches), f"[train] epoch {epoch}/{epochs}", log_interval, enabled=self.main)
        for step, indices in enumerate(batches, start=1):
            loss = self._forward(self._net, dataset, indices, "train_dataset", tally)
            if not math.isfinite(float(loss)):
                raise FloatingPointError(f"training loss became {float(loss)} at epoch {epoch} step {step}; lower "
                                         f"the learning rate or check the inputs")
            loss.backward()
            self.optimizer.step()
            self.optimizer.clear_grad()
            scheduler = self.optimizer._learning_rate
            if isinstance(scheduler, paddle.optimizer.lr.LRScheduler):
                scheduler.step()
            self.global_step += 1
            progress.update(step, {**tally.running(), "lr": float(self.optimizer.get_lr())})
        return tally.summary()

    def _forward(self, net: Any, dataset: Any, indices: Sequence[int], name: str, tally: _Tally) -> Any:
        """Loss of one batch through net (the model, or its DataParallel wrapper); counted in tally."""
        examples = [dataset[i] for i in indices]
        try:
            inputs, labels = self.model.collate(examples)
        except InputError:
            raise
        except Exception as exc:
            shown = ", ".join(f"{name}[{i}]" for i in list(indices)[:5])
            raise InputError(f"{name}: preparing examples {shown} failed: {type(exc).__name__}: {exc}") from exc
        logits = net(*as_tensors(inputs))
        loss, predictions, labels_t = self.model.score(logits, paddle.to_tensor(labels))
        tally.add(float(loss), predictions.numpy(), labels_t.numpy())
        return loss

    def _epoch_batches(self, size: int, lengths: list[int] | None, batch_size: int, epoch: int) -> list[list[int]]:
        """This process's batches for the epoch: a seeded shuffle, length-bucketed for texts."""
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(size)
        if lengths is None:
            batches = [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]
        else:
            window = batch_size * BUCKET_BATCHES
            batches = []
            for start in range(0, len(order), window):
                chunk = sorted(order[start:start + window].tolist(), key=lambda i: lengths[i])
                batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
            batches = [batches[i] for i in rng.permutation(len(batches))]
        # Every process must take the same number of steps, or DataParallel waits forever.
        usable = len(batches) - len(batches) % self.world_size
        return batches[self.rank:usable:self.world_size]

    # -- evaluation -------------------------------------------------------------------------------
    @paddle.no_grad()
    def evaluate(self, dataset: Any, batch_size: int = 32) -> dict[str, float]:
        """Loss, accuracy and macro precision/recall/F1 of the model on dataset."""
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size={batch_size!r}: expected a positive int")
        dataset = self._checked_dataset(dataset, "dataset")
        was_training = self.model.training
        self.model.eval()
        tally = _Tally(len(self.model.label_list))
        mine = list(range(self.rank, len(dataset), self.world_size))
        lengths = _lengths(self.model, dataset)
        if lengths is not None:
            mine.sort(key=lambda i: lengths[i])
        try:
            for start in range(0, len(mine), batch_size):
                # The plain model, not DataParallel: processes evaluate different numbers of batches.
                self._forward(self.model, dataset, mine[start:start + batch_size], "dataset", tally)
        finally:
            set_training(self.model, was_training)
        return tally.summary()

    # -- checkpoints ------------------------------------------------------------------------------
    def _state(self, batch_size: int) -> dict[str, Any]:
        return {"epoch": self.epoch, "global_step": self.global_step, "seed": self.seed,
                "batch_size": batch_size, "world_size": self.world_size, "label_list": self.model.label_list,
                "task": self.model.task, "input_kind": self.input_kind, "best": self.best,
                "history": self.history}

    def _save(self, is_best: bool, batch_size: int) -> None:
        if self.checkpoint_dir is not None and self.main:
            pointers: dict[str, dict[str, Any]] = {"last": {}}
            if is_best:
                pointers["best"] = dict(self.best or {})
            folder = ckpt.write_checkpoint(self.checkpoint_dir, model=self.model, optimizer=self.optimizer,
                                           state=self._state(batch_size), pointers=pointers)
            log(f"[checkpoint] epoch {self.epoch} saved to {folder}" + (" (best)" if is_best else ""), self.main)
        distributed.barrier()

    def _resume(self, batch_size: int) -> None:
        if self.checkpoint_dir is None:
            return
        record = ckpt.read_pointer(self.checkpoint_dir, "last")
        if record is None:
            return
        state = ckpt.read_state(record["path"])
        if state.get("label_list") != self.model.label_list:
            raise InputError(f"{self.checkpoint_dir} holds a checkpoint for labels {state.get('label_list')}, not "
                             f"{self.model.label_list}; use another checkpoint_dir, or delete it to start over")
        ckpt.load_checkpoint(record["path"], model=self.model, optimizer=self.optimizer)
        self.epoch, self.global_step = state["epoch"], state["global_step"]
        self.best, self.history = state.get("best"), state.get("history", [])
        self.input_kind = self.input_kind or state.get("input_kind")
        changed = [f"{key} {state.get(key)} -> {now}" for key, now in
                   (("seed", self.seed), ("batch_size", batch_size), ("world_size", self.world_size))
                   if state.get(key) != now]
        note = f"; changed since: {', '.join(changed)} (the run no longer repeats the original)" if changed else ""
        log(f"[train] resumed from {record['path']} after epoch {self.epoch}{note}", self.main)
        distributed.barrier()

    def load_checkpoint(self, which: str = "best") -> dict[str, Any]:
        """Put the weights of checkpoint_dir's "best" or "last" checkpoint into the model; return its state."""
        if which not in ckpt.POINTERS:
            raise InputError(f"which={which!r}: expected 'best' or 'last'")
        if self.checkpoint_dir is None:
            raise InputError("this Trainer has no checkpoint_dir; pass checkpoint_dir=... to keep checkpoints")
        record = ckpt.read_pointer(self.checkpoint_dir, which)
        if record is None:
            hint = " (a best checkpoint needs an eval_dataset)" if which == "best" else ""
            raise InputError(f"{self.checkpoint_dir} has no {which} checkpoint yet{hint}")
        return ckpt.load_checkpoint(record["path"], model=self.model, optimizer=None)

    # -- export -----------------------------------------------------------------------------------
    def save_module(self, folder: str | Path, *, name: str, version: str = "1.0.0", base: Any = None,
                    summary: str = "") -> Path:
        """Write the model as a module development folder that hub.Module(directory=folder) loads.

        base: the module (instance or name) whose context the model was built on; needed only when
        the context does not say (context.extra["module"]). See hubcore.finetune.export.
        """
        from .export import write_module_folder

        metrics = self.history[-1].get("eval") if self.history else None
        return write_module_folder(Path(folder), self.model, name=name, version=version, base=base,
                                   input_kind=self.input_kind, summary=summary, metrics=metrics)

    # -- checks -----------------------------------------------------------------------------------
    def _checked_dataset(self, dataset: Any, name: str) -> Any:
        if isinstance(dataset, (list, tuple)):
            dataset = Dataset(dataset, self.model.label_list, task=self.model.task, input_kind=_guess_kind(dataset),
                              name=name)
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise InputError(f"{name}: expected a hubcore.finetune.Dataset or a list of (input, label) pairs, "
                             f"got {type(dataset).__name__}")
        if len(dataset) == 0:
            raise InputError(f"{name} is empty; give it at least one example (check the split or the file)")
        task = getattr(dataset, "task", self.model.task)
        if task != self.model.task:
            raise InputError(f"{name} is a {task} data set but the model does {self.model.task}")
        used = dataset.labels_used() if hasattr(dataset, "labels_used") else \
            {lab for i in range(len(dataset)) for lab in _as_list(dataset[i][1])}
        unknown = sorted(set(used) - set(self.model.label_list))
        if unknown:
            raise InputError(f"{name} has labels {unknown[:10]} that the model's label_list {self.model.label_list} "
                             f"does not have; build the model with a label_list that includes them")
        return dataset

    def _dry_run(self, dataset: Any, name: str) -> None:
        """Prepare and run the first examples once, so a data/model mismatch fails before training."""
        indices = list(range(min(2, len(dataset))))
        self.model.eval()
        try:
            with paddle.no_grad():
                loss = self._forward(self.model, dataset, indices, name, _Tally(len(self.model.label_list)))
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"{name}: the model cannot process its first examples: {type(exc).__name__}: {exc}. "
                             f"Check that the data suits the module's context (input kind, label_list)") from exc
        finally:
            self.model.train()
        if not math.isfinite(float(loss)):
            raise InputError(f"{name}: the loss of the first examples is {float(loss)}; check the inputs")


def _select_device(use_gpu: bool) -> None:
    if use_gpu:
        if not paddle.device.is_compiled_with_cuda():
            raise InputError("use_gpu=True but this paddle has no CUDA support; install paddlepaddle-gpu or "
                             "pass use_gpu=False")
        if paddle.distributed.get_world_size() == 1:
            paddle.set_device("gpu")
    else:
        paddle.set_device("cpu")


def _is_context(model: Any) -> bool:
    from ..module import Context

    return isinstance(model, Context)


def _check_model(model: Any) -> None:
    needed = ("label_list", "task", "collate", "score", "parameters", "train", "eval")
    missing = [attr for attr in needed if not hasattr(model, attr)]
    if missing or not callable(model):
        raise InputError(f"model {type(model).__name__} lacks {missing or ['__call__']}; pass a head such as "
                         f"hubcore.finetune.Classifier(context, label_list), or a module context with label_list")


def _make_optimizer(optimizer: Any, model: Any) -> Any:
    if optimizer is None:
        return paddle.optimizer.Adam(learning_rate=1e-3, parameters=model.parameters())
    if isinstance(optimizer, paddle.optimizer.Optimizer):
        _check_covers(optimizer, model)
        return optimizer
    if callable(optimizer):
        made = optimizer(model.parameters())
        if not isinstance(made, paddle.optimizer.Optimizer):
            raise InputError(f"optimizer(parameters) returned {type(made).__name__}, not a paddle optimizer")
        _check_covers(made, model)
        return made
    raise InputError(f"optimizer: expected a paddle.optimizer.Optimizer, a callable parameters -> optimizer, or "
                     f"None, got {type(optimizer).__name__}")


def _check_covers(optimizer: Any, model: Any) -> None:
    """Every trainable parameter must be in the optimizer, or part of the model silently never learns."""
    listed = getattr(optimizer, "_parameter_list", None)
    if not isinstance(listed, list):
        return
    params = []
    for item in listed:
        params += list(item["params"]) if isinstance(item, dict) else [item]
    known = {id(p) for p in params}
    left_out = [name for name, p in model.named_parameters() if not p.stop_gradient and id(p) not in known]
    if left_out:
        raise InputError(f"the optimizer does not update {len(left_out)} trainable parameter(s) of the model "
                         f"(e.g. {left_out[:3]}); build it from the whole model: "
                         f"paddle.optimizer.Adam(parameters=model.parameters()), or pass optimizer=lambda "
                         f"params: paddle.optimizer.Adam(learning_rate=1e-3, parameters=params)")


def _lengths(model: Any, dataset: Any) -> list[int] | None:
    """Each example's length when the model measures them (texts), else None (no bucketing)."""
    measure: Callable | None = getattr(model, "example_length", None)
    if measure is None or measure(dataset[0]) is None:
        return None
    lengths = [measure(dataset[i]) for i in range(len(dataset))]
    return None if any(n is None for n in lengths) else lengths


class _Tally:
    """Confusion counts and summed loss over the batches seen (by this process)."""

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.counts = np.zeros((num_classes, num_classes), dtype=np.int64)
        self.loss_sum = 0.0
        self.loss_count = 0

    def add(self, loss: float, predictions: np.ndarray, labels: np.ndarray) -> None:
        self.counts += confusion_matrix(predictions, labels, self.num_classes)
        valid = int((labels >= 0).sum())  # the loss is a mean over the non-padding positions
        self.loss_sum += loss * valid
        self.loss_count += valid

    def running(self) -> dict[str, float]:
        return {"loss": self.loss_sum / max(self.loss_count, 1),
                "acc": float(np.trace(self.counts) / max(self.counts.sum(), 1))}

    def summary(self) -> dict[str, float]:
        """Loss and metrics over every process's batches."""
        totals = distributed.sum_across(np.append(self.counts.ravel(), [self.loss_sum, self.loss_count]))
        counts = totals[:-2].reshape(self.num_classes, self.num_classes)
        return {"loss": float(totals[-2] / max(totals[-1], 1)), **metrics_from_confusion(counts)}


def _as_list(label: Any) -> list[Any]:
    return list(label) if isinstance(label, (list, tuple)) else [label]


def _guess_kind(examples: Sequence[Any]) -> str:
    first = examples[0][0] if examples else ""
    return "text" if isinstance(first, (str, list, tuple)) else "image"
