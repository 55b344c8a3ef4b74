"""Module weights: fetched through the hub's artifact machinery, stored as safetensors, loaded strictly.

Shared by module packages (paddle is imported inside the functions that need it).

A module constructed with pretrained=False skips the artifact and keeps its random initialisation,
for training from scratch; it says so with a RandomWeightsWarning and `module.random_weights`.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .cpu import prefer_mkl_avx2_on_amd
from .errors import ArtifactError, WeightsNotPublished
from .paddle_compat import build_for_weights


class RandomWeightsWarning(UserWarning):
    """The module runs with randomly initialised weights: its outputs mean nothing until trained."""


def fetch_weights(module: Any, artifact: str, pretrained: bool) -> Path | None:
    """Path of the module's weights file, or None (with a warning) when pretrained=False."""
    if not pretrained:
        warnings.warn(f"{module.name}: constructed with pretrained=False, so its weights are random; use it to "
                      f"train from scratch (module.context(trainable=True)), not for predictions",
                      RandomWeightsWarning, stacklevel=4)  # module_network, the module's __init__, its caller
        return None
    try:
        return module.artifact(artifact)
    except WeightsNotPublished as exc:
        raise WeightsNotPublished(
            f"{exc} A PaddleHub module folder of {module.name} can be converted with "
            f"`hub import-paddlehub PATH --module {module.name} --out FILE`. To train from scratch "
            f"instead, construct it with pretrained=False.") from None


def module_network(module: Any, artifact: str, build: Callable[[], Any], pretrained: bool) -> tuple[Any, bool]:
    """(network in eval mode, whether its weights are random) for a module whose weights are the
    safetensors artifact named artifact; pretrained=False builds random weights, with a warning."""
    weights = fetch_weights(module, artifact, pretrained)
    network = make_network(build, weights, what=f"{module.name} weights")
    network.eval()
    return network, weights is None


def make_network(build: Callable[[], Any], weights: Path | None, *, what: str) -> Any:
    """build() with random weights when weights is None, else with the file's weights.

    With a weights file the network is built without random initialisation where paddle can (see
    paddle_compat.build_for_weights) and every tensor is checked before loading.
    """
    prefer_mkl_avx2_on_amd()  # before the network's first matrix product (see hubcore/cpu.py)
    if weights is None:
        return build()
    tensors = _read(weights, what)
    layer = build_for_weights(build)
    load_state(layer, tensors, weights, what=what)
    return layer


def _read(path: Path, what: str) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ArtifactError(f"{what}: {path} is not a readable safetensors file ({exc}); provide the weights "
                            f"file again with `hub download ... --from FILE`") from None


def load_state(layer: Any, tensors: dict[str, np.ndarray], path: Path, *, what: str) -> None:
    """Set every tensor of layer from tensors; all must be there with the right shape, none extra."""
    state = layer.state_dict()
    missing = [k for k in state if k not in tensors]
    unexpected = [k for k in tensors if k not in state]
    wrong = [f"{k}: file {tuple(tensors[k].shape)}, network {tuple(state[k].shape)}"
             for k in state if k in tensors and tuple(tensors[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or wrong:
        details = "; ".join(filter(None, [
            f"missing {len(missing)} (first: {missing[:3]})" if missing else "",
            f"unexpected {len(unexpected)} (first: {unexpected[:3]})" if unexpected else "",
            f"wrong shape: {wrong[:3]}" if wrong else "",
        ]))
        raise ArtifactError(f"{what}: {path} does not fit this network ({details}); it was made for another "
                            f"architecture or configuration")
    dtype = {k: str(v.dtype).replace("paddle.", "") for k, v in state.items()}
    layer.set_state_dict({k: np.ascontiguousarray(tensors[k]).astype(dtype[k], copy=False) for k in state})


def save_weights(layer: Any, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Write a layer's state dict as safetensors (what the module's artifact holds)."""
    from safetensors.numpy import save_file

    tensors = {k: np.ascontiguousarray(v.numpy()) for k, v in layer.state_dict().items()}
    save_file(tensors, str(path), metadata=metadata)
    return Path(path)


def set_trainable(layer: Any, trainable: bool) -> Any:
    """Put a network in train (gradients on) or eval (frozen) mode, as a fine-tune context needs."""
    layer.train() if trainable else layer.eval()
    for param in layer.parameters():
        param.stop_gradient = not trainable
    freeze_running_statistics(layer)
    return layer


def freeze_running_statistics(layer: Any) -> None:
    """Batch-norm running mean and variance are parameters in paddle but are only ever updated by the
    forward pass: marked trainable, an optimizer moves them by meaningless gradients and evaluation,
    which uses them, goes wrong. So they stay frozen whatever the rest of the network does."""
    for sub in layer.sublayers(include_self=True):
        for name in ("_mean", "_variance"):
            stat = getattr(sub, name, None)
            if stat is not None and hasattr(stat, "stop_gradient"):
                stat.stop_gradient = True
