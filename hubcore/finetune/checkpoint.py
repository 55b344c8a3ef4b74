"""Checkpoints that survive a kill at any moment, without pickle.

    checkpoint_dir/
      last.json                     {"folder": "epoch-3-1f2e3d4c", "epoch": 3}
      best.json                     {"folder": "epoch-2-...", "epoch": 2, "metric": "acc", "value": 0.93}
      epoch-3-1f2e3d4c/
        model.safetensors           parameters and buffers, by structured name (state_dict keys)
        optimizer.safetensors       optimizer accumulators, keyed by the parameter's structured name
        optimizer.json              the rest of the optimizer state (learning-rate scheduler)
        trainer_state.json          epoch, step, seed, labels, best metric, metric history

A checkpoint folder is written under a temporary name and renamed into place when complete; the
pointer files are replaced with os.replace after that, so they only ever name complete folders.
Folders no pointer names (an older epoch, a half-written one from a crash) are deleted afterwards.
Best and last share one folder when the latest epoch is the best.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

FORMAT = 1
MODEL_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
OPTIMIZER_META_FILE = "optimizer.json"
STATE_FILE = "trainer_state.json"
POINTERS = ("last", "best")


# -- atomic files -----------------------------------------------------------------------------------
def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write data to path so that a reader sees the old file or the whole new one, never a part."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=1, sort_keys=True) + "\n").encode("utf-8"))


def save_arrays(path: Path, arrays: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> None:
    from safetensors.numpy import save

    contiguous = {name: np.ascontiguousarray(value) for name, value in arrays.items()}
    atomic_write_bytes(path, save(contiguous, metadata=metadata))


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(path))


# -- model and optimizer state ----------------------------------------------------------------------
def model_arrays(model: Any) -> dict[str, np.ndarray]:
    return {name: tensor.numpy() for name, tensor in model.state_dict().items()}


def load_model_arrays(model: Any, arrays: dict[str, np.ndarray], where: str) -> None:
    """Set every parameter and buffer of model from arrays; refuse a checkpoint of another model."""
    import paddle

    expected = model.state_dict()
    missing = sorted(set(expected) - set(arrays))
    unexpected = sorted(set(arrays) - set(expected))
    wrong = sorted(name for name in set(expected) & set(arrays)
                   if tuple(expected[name].shape) != tuple(arrays[name].shape))
    if missing or unexpected or wrong:
        details = []
        if missing:
            details.append(f"missing {missing[:5]}")
        if unexpected:
            details.append(f"unexpected {unexpected[:5]}")
        if wrong:
            details.append(f"shape differs for {[(n, tuple(arrays[n].shape), tuple(expected[n].shape)) for n in wrong[:3]]}")
        raise InputError(f"{where} does not hold this model's weights ({'; '.join(details)}); it was saved "
                         f"from another model or label list. Use another checkpoint_dir, or delete it to start over")
    model.set_state_dict({name: paddle.to_tensor(arrays[name]).astype(expected[name].dtype)
                          for name in expected})


def _param_names(model: Any) -> list[tuple[str, str]]:
    """(paddle's unique parameter name, structured name), longest unique name first."""
    pairs = [(param.name, structured) for structured, param in model.named_parameters()]
    return sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)


def _structured(key: str, names: list[tuple[str, str]]) -> tuple[str, str] | None:
    for unique, structured in names:
        if key.startswith(unique + "_"):
            return structured, key[len(unique) + 1:]
    return None


def optimizer_arrays(optimizer: Any, model: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The optimizer's state, with accumulators keyed by structured parameter names.

    Paddle names accumulators after a parameter's process-wide unique name ("linear_3.w_0_moment1_0"),
    which differs between processes that built other layers first; structured names do not.
    """
    import paddle

    names = _param_names(model)
    by_unique = dict(names)
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {}
    for key, value in optimizer.state_dict().items():
        if key == "master_weights" and isinstance(value, dict):
            for unique, tensor in value.items():
                arrays[f"master/{by_unique.get(unique, unique)}"] = tensor.numpy()
        elif isinstance(value, paddle.Tensor):
            found = _structured(key, names)
            arrays[f"state/{found[0]}/{found[1]}" if found else f"other/{key}"] = value.numpy()
        else:
            try:
                json.dumps(value)
            except TypeError:
                raise InputError(f"optimizer state {key!r} ({type(value).__name__}) cannot be saved as JSON; "
                                 f"use a paddle.optimizer optimizer and scheduler") from None
            meta[key] = value
    return arrays, meta


def load_optimizer_arrays(optimizer: Any, model: Any, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    import paddle

    unique_of = {structured: unique for unique, structured in _param_names(model)}
    state: dict[str, Any] = dict(meta)
    master: dict[str, Any] = {}
    for key, value in arrays.items():
        kind, _, rest = key.partition("/")
        if kind == "master":
            master[unique_of.get(rest, rest)] = paddle.to_tensor(value)
        elif kind == "state":
            structured, _, suffix = rest.rpartition("/")
            if structured not in unique_of:
                raise InputError(f"the checkpoint's optimizer state names parameter {structured!r}, which this "
                                 f"model does not have; it was saved from another model")
            state[f"{unique_of[structured]}_{suffix}"] = paddle.to_tensor(value)
        else:
            state[rest] = paddle.to_tensor(value)
    if master:
        state["master_weights"] = master
    optimizer.set_state_dict(state)


# -- checkpoint folders -----------------------------------------------------------------------------
def write_checkpoint(checkpoint_dir: Path, *, model: Any, optimizer: Any, state: dict[str, Any],
                     pointers: dict[str, dict[str, Any]]) -> Path:
    """Write one complete checkpoint folder, then point each name in pointers ("last", "best") at it."""
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    name = f"epoch-{state['epoch']}-{uuid.uuid4().hex[:8]}"
    tmp = checkpoint_dir / f".{name}.tmp"
    tmp.mkdir()
    try:
        save_arrays(tmp / MODEL_FILE, model_arrays(model), {"format": str(FORMAT)})
        opt_arrays, opt_meta = optimizer_arrays(optimizer, model)
        save_arrays(tmp / OPTIMIZER_FILE, opt_arrays, {"format": str(FORMAT)})
        atomic_write_json(tmp / OPTIMIZER_META_FILE, opt_meta)
        atomic_write_json(tmp / STATE_FILE, {"format": FORMAT, **state})
        _fsync_dir(tmp)
        os.replace(tmp, checkpoint_dir / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _fsync_dir(checkpoint_dir)
    for pointer, extra in pointers.items():
        atomic_write_json(checkpoint_dir / f"{pointer}.json", {"folder": name, "epoch": state["epoch"], **extra})
    remove_unreferenced(checkpoint_dir)
    return checkpoint_dir / name


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_pointer(checkpoint_dir: Path, pointer: str = "last") -> dict[str, Any] | None:
    """The pointer's record with "path" added, or None when there is no such checkpoint."""
    path = checkpoint_dir / f"{pointer}.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise InputError(f"{path} is not valid JSON ({exc}); delete {checkpoint_dir} to start over") from None
    folder = checkpoint_dir / str(record.get("folder", ""))
    if not record.get("folder") or not (folder / STATE_FILE).is_file():
        raise InputError(f"{path} names checkpoint {record.get('folder')!r}, which is missing or incomplete; "
                         f"delete {checkpoint_dir} to start over")
    return {**record, "path": folder}


def read_state(folder: Path) -> dict[str, Any]:
    return json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))


def load_checkpoint(folder: Path, *, model: Any, optimizer: Any | None) -> dict[str, Any]:
    """Restore model (and optimizer when given) from a checkpoint folder; return its trainer state."""
    state = read_state(folder)
    if state.get("format") != FORMAT:
        raise InputError(f"{folder} has checkpoint format {state.get('format')!r}; this hubcore reads "
                         f"format {FORMAT}. Use another checkpoint_dir")
    load_model_arrays(model, load_arrays(folder / MODEL_FILE), str(folder))
    if optimizer is not None:
        meta = json.loads((folder / OPTIMIZER_META_FILE).read_text(encoding="utf-8"))
        load_optimizer_arrays(optimizer, model, load_arrays(folder / OPTIMIZER_FILE), meta)
    return state


def remove_unreferenced(checkpoint_dir: Path) -> None:
    keep = set()
    for pointer in POINTERS:
        try:
            keep.add(json.loads((checkpoint_dir / f"{pointer}.json").read_text(encoding="utf-8")).get("folder"))
        except (FileNotFoundError, ValueError):
            pass
    for child in checkpoint_dir.iterdir():
        is_checkpoint = child.is_dir() and (child.name.startswith("epoch-") or child.name.startswith(".epoch-"))
        if is_checkpoint and child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)
