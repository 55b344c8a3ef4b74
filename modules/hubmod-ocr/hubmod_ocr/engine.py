"""Predictors for the three PP-OCR programs, and the load options every OCR module shares.

Each module creates its predictor once at load and reuses it for every call. On the CPU oneDNN is
on, and two engine settings matter as much as the kernels (measured on the PP-OCRv4 programs, one
thread):

- oneDNN compiles its kernels per input shape, and a first run at a new shape costs 1.5-3 times a
  cached one (det +20 ms, a 4-line recognition batch +30 ms, a classifier batch 3x). paddle keeps
  the kernels of about 10 shapes by default, in one cache shared by the predictors of a thread, so
  detection, direction and recognition shapes evict each other and a varied stream keeps paying.
  The cache is therefore widened (ONEDNN_SHAPES), and the recogniser and classifier feed a small,
  fixed set of shapes (see recognizer.py, classifier.py), warmed up at load. The price is memory:
  each cached shape holds its buffers, up to about 18 MB (a page-sized detection input, a
  2,500-column recognition batch). Reading the benchmark's 28 pages one by one, the process grew
  by 490 MB after loading with 64 shapes kept, 390 MB with 32, 280 MB with paddle's 10, and took
  486, 517 and 621 ms of CPU per page on a second pass.
- paddle's memory optimisation (buffers reused between operators, as RapidOCR also configures)
  makes recognition about 10% and detection about 5% faster.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubcore.errors import ArtifactError, InputError

from .options import check_bool, check_count

# Input shapes whose oneDNN kernels the thread keeps (all predictors together): the recogniser's
# common bucketed shapes, the classifier's, and a few image sizes (see the docstring for the memory).
ONEDNN_SHAPES = 64


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
    files = (model_dir / "inference.pdmodel", model_dir / "inference.pdiparams")
    if not files[0].is_file() or not files[1].is_file():
        raise ArtifactError(f"{model_dir} lacks inference.pdmodel or inference.pdiparams, so the cached model of {module} "
                            f"is incomplete; remove it with `hub cache clear {module}` and load the module again")
    return create_predictor(files, device=options.device, threads=options.threads, mkldnn=options.mkldnn,
                            memory_optim=True, onednn_cache_shapes=ONEDNN_SHAPES)
