"""Predictors for the three PP-OCR programs, and the load options every OCR module shares.

Each module creates its predictor once at load and reuses it for every call. On the CPU oneDNN is
on: with it the engine caches compiled kernels per input shape, which is why the recognizer feeds
a small set of bucketed shapes (see recognizer.py) rather than one new shape per batch.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubcore.errors import ArtifactError, InputError

from .options import check_bool, check_count


@dataclass(frozen=True)
class LoadOptions:
    """How a module runs: device ("cpu", "gpu", "gpu:N"), CPU math threads, oneDNN on the CPU."""

    device: str = "cpu"
    threads: int | None = None  # None: every CPU this process may use
    mkldnn: bool = True

    @classmethod
    def checked(cls, device: Any, threads: Any, mkldnn: Any) -> "LoadOptions":
        from hubcore.inference import parse_device

        if device is not None and not isinstance(device, str):
            raise InputError(f"device: expected 'cpu', 'gpu' or 'gpu:N', got {device!r}")
        kind, index = parse_device(device or "cpu")
        name = "cpu" if kind == "cpu" else f"gpu:{index}"
        return cls(name, check_count(threads, "threads", allow_none=True), check_bool(mkldnn, "mkldnn"))

    def as_init_args(self) -> dict[str, Any]:
        return {"device": self.device, "threads": self.threads, "mkldnn": self.mkldnn}


def load_predictor(model_dir: Path, options: LoadOptions, module: str) -> Any:
    """A hubcore.inference.Predictor for the PP-OCR program in model_dir."""
    from hubcore.inference import create_predictor

    model_dir = Path(model_dir)
    if not (model_dir / "inference.pdmodel").is_file() or not (model_dir / "inference.pdiparams").is_file():
        raise ArtifactError(f"{model_dir} lacks inference.pdmodel or inference.pdiparams, so the cached model of {module} "
                            f"is incomplete; remove it with `hub cache clear {module}` and load the module again")
    return create_predictor((model_dir / "inference.pdmodel", model_dir / "inference.pdiparams"),
                            device=options.device, threads=options.threads, mkldnn=options.mkldnn)
