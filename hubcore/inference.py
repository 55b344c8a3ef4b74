"""Export a paddle Layer to an inference program, and run such programs fast (paddle.inference).

Modules predict through an exported program rather than eager code: the inference engine fuses
operators and uses oneDNN on the CPU, and on the GPU can use mixed precision or TensorRT. paddle is
imported inside the functions, so importing this file stays cheap.

    folder = module.cached_build("inference", lambda out: export_layer(layer, [([None, 3, 224, 224], "float32", "image")], out))
    predictor = create_predictor(folder, device="cpu")
    (logits,) = predictor.run(batch)
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .cpu import prefer_mkl_avx2_on_amd
from .errors import InputError, NotSupported
from .paddle_compat import set_onednn

MODEL_STEM = "inference"
# paddle >= 3 with PIR writes the program as JSON; older versions (and old exported models) use .pdmodel.
_PROGRAM_SUFFIXES = (".json", ".pdmodel")
_DTYPES = {"float32", "float16", "int64", "int32", "uint8", "bool"}

InputSpecLike = Any  # paddle.static.InputSpec, or (shape, dtype, name) with None for free dimensions


def export_layer(layer: Any, input_spec: Sequence[InputSpecLike], folder: str | Path, *,
                 stem: str = MODEL_STEM) -> Path:
    """Trace layer (in eval mode) into an inference program saved under folder; return folder.

    input_spec: one entry per forward() argument, each a paddle.static.InputSpec or a tuple
    (shape, dtype, name) where None marks a free dimension (usually the batch).
    """
    import paddle

    specs = [_to_input_spec(s) for s in input_spec]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    was_training = layer.training
    layer.eval()
    try:
        paddle.jit.save(layer, str(folder / stem), input_spec=specs)
    finally:
        if was_training:
            layer.train()
    model_files(folder, stem=stem)  # fail here, not at load, if paddle wrote something unexpected
    return folder


def _to_input_spec(spec: InputSpecLike) -> Any:
    import paddle

    if isinstance(spec, paddle.static.InputSpec):
        return spec
    try:
        shape, dtype, name = spec
    except (TypeError, ValueError):
        raise InputError(f"input_spec entries must be paddle.static.InputSpec or (shape, dtype, name), "
                         f"got {spec!r}") from None
    if dtype not in _DTYPES:
        raise InputError(f"input_spec dtype {dtype!r} is not one of {sorted(_DTYPES)}")
    return paddle.static.InputSpec(shape=list(shape), dtype=dtype, name=name)


def model_files(model: str | Path | Sequence[str | Path], *, stem: str | None = None) -> tuple[Path, Path]:
    """(program file, parameters file) of an exported model: a folder, a stem path, or the two files."""
    if isinstance(model, (list, tuple)):
        if len(model) != 2:
            raise InputError("pass the exported model as a folder or as (program_file, params_file)")
        program, params = (Path(p) for p in model)
    else:
        path = Path(model)
        if path.is_dir():
            stems = [stem] if stem else sorted({p.stem for p in path.iterdir() if p.suffix == ".pdiparams"})
            if len(stems) != 1:
                raise InputError(f"{path} must hold exactly one exported model (NAME.json or NAME.pdmodel with "
                                 f"NAME.pdiparams); found parameter files for {stems or 'none'}")
            path = path / stems[0]
        program = next((path.with_suffix(s) for s in _PROGRAM_SUFFIXES if path.with_suffix(s).is_file()), None)
        params = path.with_suffix(".pdiparams")
        if program is None:
            raise InputError(f"no exported program at {path}.json or {path}.pdmodel; export it with "
                             f"hubcore.inference.export_layer")
    for file in (program, params):
        if not file.is_file():
            raise InputError(f"exported model file {file} does not exist")
    return program, params


def cpu_count() -> int:
    """CPUs this process may run on (the affinity mask, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def gpu_available() -> bool:
    """True when paddle was built with CUDA and sees at least one GPU."""
    import paddle

    try:
        return paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0
    except Exception:
        return False


def default_device() -> str:
    """"gpu:0" when a usable GPU is present, else "cpu"."""
    return "gpu:0" if gpu_available() else "cpu"


def tensorrt_available() -> bool:
    """True when this paddle build links TensorRT and the TensorRT runtime library is loadable."""
    import paddle.inference as pi

    try:
        return tuple(pi.get_trt_compile_version()) > (0, 0, 0) and tuple(pi.get_trt_runtime_version()) > (0, 0, 0)
    except Exception:
        return False


def parse_device(device: str | None) -> tuple[str, int]:
    """("cpu", 0) or ("gpu", index) from "cpu", "gpu", "gpu:1" or None (auto)."""
    device = (device or default_device()).strip().lower()
    kind, _, index = device.partition(":")
    if kind == "cpu" and not index:
        return "cpu", 0
    if kind in ("gpu", "cuda") and (not index or index.isdigit()):
        return "gpu", int(index or 0)
    raise InputError(f"device={device!r} is not understood; use 'cpu', 'gpu' or 'gpu:N'")


class Predictor:
    """A paddle.inference predictor that runs numpy batches; safe to share between threads.

    The engine's handles are not thread-safe, so one lock serialises run(); create one Predictor
    per thread when concurrent throughput matters more than memory.
    """

    def __init__(self, predictor: Any, device: str) -> None:
        self._predictor = predictor
        self.device = device
        self.input_names: list[str] = list(predictor.get_input_names())
        self.output_names: list[str] = list(predictor.get_output_names())
        self._inputs = [predictor.get_input_handle(n) for n in self.input_names]
        self._outputs = [predictor.get_output_handle(n) for n in self.output_names]
        self._lock = threading.Lock()

    def run(self, *arrays: np.ndarray) -> list[np.ndarray]:
        """Feed one array per model input (in input_names order); return every output as numpy."""
        if len(arrays) != len(self._inputs):
            raise InputError(f"the model takes {len(self._inputs)} input(s) {self.input_names}, got {len(arrays)}")
        with self._lock:
            for handle, array in zip(self._inputs, arrays):
                array = np.ascontiguousarray(array)
                handle.reshape(list(array.shape))
                handle.copy_from_cpu(array)
            self._predictor.run()
            return [handle.copy_to_cpu() for handle in self._outputs]

    __call__ = run


# paddle 3.3 (PIR) segfaults while building a predictor when its oneDNN pass fuses a convolution
# with leaky ReLU (FusedConv2dOp reads a missing float attribute). Programs holding leaky_relu skip
# that one fusion; convolution + batch-norm folding and every other pass still run.
_LEAKY_RELU_UNSAFE_PASSES = ("conv_activation_onednn_fuse_pass",)


def _passes_to_skip(program: Path, mkldnn: bool) -> tuple[str, ...]:
    if not mkldnn or program.suffix != ".json":
        return ()
    with open(program, "rb") as f:
        return _LEAKY_RELU_UNSAFE_PASSES if b"leaky_relu" in f.read() else ()


def create_predictor(model: str | Path | Sequence[str | Path], device: str | None = "cpu", threads: int | None = None,
                     mkldnn: bool = True, *, precision: str = "fp32", tensorrt: bool = False,
                     trt_shapes: dict[str, tuple[list[int], list[int], list[int]]] | None = None,
                     gpu_memory_mb: int = 256, skip_passes: Sequence[str] = (), memory_optim: bool = False,
                     onednn_cache_shapes: int | None = None) -> Predictor:
    """A Predictor for an exported model (folder, stem path, or (program, params) files).

    device: "cpu", "gpu", "gpu:N", or None for a GPU when one is usable, else the CPU.
    threads: CPU math threads (default: every CPU this process may use).
    mkldnn: use oneDNN kernels on the CPU (the largest CPU speed-up; off only for debugging).
    precision: "fp32", or "fp16" on the GPU (mixed precision; with tensorrt, a half-precision engine).
    tensorrt: build TensorRT subgraphs on the GPU (needs a paddle built with TensorRT; the first
        run builds engines, which takes a while). trt_shapes gives each input's (min, opt, max)
        shape for dynamic-shape engines.
    skip_passes: inference passes to leave out (a workaround for a pass that breaks a model).
    memory_optim: reuse buffers between operators (less memory, and faster on the CPU where
        buffers are large: PP-OCR recognition ~10%, detection ~5%).
    onednn_cache_shapes: how many input shapes' compiled oneDNN kernels a thread keeps (paddle's
        default is about 10, shared by every predictor of the thread). A model fed more shapes
        than that recompiles at 1.5-3x the cost of a cached run; each kept shape holds its
        buffers, so a larger cache costs memory.
    """
    import paddle.inference as pi

    program, params = model_files(model)
    kind, index = parse_device(device)
    if precision not in ("fp32", "fp16"):
        raise InputError(f"precision={precision!r}: use 'fp32' or 'fp16'")
    config = pi.Config(str(program), str(params))
    config.disable_glog_info()
    config.switch_ir_optim(True)
    if kind == "gpu":
        if not gpu_available():
            raise NotSupported(f"device={device!r} but paddle sees no GPU (installed build compiled with CUDA: "
                               f"{_compiled_with_cuda()}); install paddlepaddle-gpu or use device='cpu'")
        half = precision == "fp16"
        if tensorrt:
            if not tensorrt_available():
                raise NotSupported("tensorrt=True but this paddle build has no usable TensorRT; install a "
                                   "paddlepaddle-gpu build with TensorRT and the TensorRT libraries, or pass tensorrt=False")
            config.enable_use_gpu(gpu_memory_mb, index)
            config.enable_tensorrt_engine(
                workspace_size=1 << 30, max_batch_size=1, min_subgraph_size=3,
                precision_mode=pi.PrecisionType.Half if half else pi.PrecisionType.Float32,
                use_static=False, use_calib_mode=False)
            if trt_shapes:
                config.set_trt_dynamic_shape_info({n: s[0] for n, s in trt_shapes.items()},
                                                  {n: s[2] for n, s in trt_shapes.items()},
                                                  {n: s[1] for n, s in trt_shapes.items()})
        else:
            config.enable_use_gpu(gpu_memory_mb, index, pi.PrecisionType.Half if half else pi.PrecisionType.Float32)
        name = f"gpu:{index}"
    else:
        if precision != "fp32":
            raise InputError("precision='fp16' needs a GPU; on the CPU use precision='fp32'")
        config.disable_gpu()
        prefer_mkl_avx2_on_amd()
        config.set_cpu_math_library_num_threads(int(threads or cpu_count()))
        # Off is said explicitly: paddle 3 turns oneDNN on by default for CPU predictors.
        set_onednn(config, mkldnn, onednn_cache_shapes)
        if mkldnn:
            skip_passes = (*skip_passes, *_passes_to_skip(program, mkldnn))
        name = "cpu"
    if memory_optim:
        config.enable_memory_optim()
    for name_of_pass in skip_passes:
        config.delete_pass(name_of_pass)
    return Predictor(pi.create_predictor(config), name)


def _compiled_with_cuda() -> bool:
    import paddle

    return bool(paddle.device.is_compiled_with_cuda())
