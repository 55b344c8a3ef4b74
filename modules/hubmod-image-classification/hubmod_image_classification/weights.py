"""Weights on disk are safetensors files in this package's parameter names (never pickles).

A file may carry the class names in its metadata (key "labels", a JSON list), which is how modules
without a published label list (the dish and animal heads) get theirs.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from hubcore.errors import ArtifactError

LABELS_KEY = "labels"


def state_shapes(net: Any) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in net.state_dict().items()}


def save_weights(net: Any, path: str | Path, labels: list[str] | None = None) -> Path:
    """Write the network's parameters (and optionally its class names) as a safetensors file."""
    from safetensors.numpy import save_file

    arrays = {name: np.ascontiguousarray(t.numpy()) for name, t in net.state_dict().items()}
    metadata = {LABELS_KEY: json.dumps(labels, ensure_ascii=False)} if labels else None
    save_file(arrays, str(path), metadata=metadata)
    return Path(path)


def read_weights(path: str | Path) -> tuple[dict[str, np.ndarray], list[str] | None]:
    """Arrays and class names (None when the file has none) from a safetensors file."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as f:
            arrays = {name: f.get_tensor(name) for name in f.keys()}
            metadata = f.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise ArtifactError(f"{path} is not a readable safetensors file ({exc}); weights must be saved with "
                            f"safetensors.numpy.save_file in this module's parameter names") from None
    labels = metadata.get(LABELS_KEY)
    return arrays, (json.loads(labels) if labels else None)


def read_labels(path: str | Path) -> list[str] | None:
    """Class names stored in a safetensors file's metadata, without reading its tensors."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as f:
            labels = (f.metadata() or {}).get(LABELS_KEY)
    except Exception:
        return None
    return json.loads(labels) if labels else None


def load_into(net: Any, arrays: dict[str, np.ndarray], *, what: str, skip_head: bool = False) -> None:
    """Copy arrays into the network, refusing any missing, extra or misshapen tensor."""
    shapes = state_shapes(net)
    if skip_head:  # a fresh head for new classes keeps its own initial weights
        shapes = {n: s for n, s in shapes.items() if not n.startswith("head.")}
        arrays = {n: a for n, a in arrays.items() if not n.startswith("head.")}
    problems = [f"missing {n}" for n in shapes if n not in arrays]
    problems += [f"unexpected {n}" for n in arrays if n not in shapes]
    problems += [f"{n}: shape {tuple(arrays[n].shape)} != {shapes[n]}" for n in shapes
                 if n in arrays and tuple(arrays[n].shape) != shapes[n]]
    if problems:
        shown = "; ".join(problems[:6]) + (f"; and {len(problems) - 6} more" if len(problems) > 6 else "")
        raise ArtifactError(f"{what} does not fit the network: {shown}")
    net.set_state_dict({n: arrays[n] for n in shapes}, use_structured_name=True)
