"""A paddle.inference predictor for LAC's Paddle 1.x programs, fed whole batches as one LoD tensor.

LAC's models take int64 ids of shape [total, 1] plus a LoD (the offsets [0, n1, n1+n2, ...] of each
sentence), so any number of sentences of any lengths run in a single call: the GRU kernels step
through all sentences together, which is where the speed of batching comes from (batching.py
decides which sentences share a call).

CPU choices: paddle's native CPU kernels, oneDNN off by default (it builds and caches its kernels
per input shape, and real text gives every call a new total length: with fresh batches a call
took 1.2-1.7x as long as without oneDNN, and never less), the GRUs left as plain `gru` ops (see
GRU_FUSION_PASSES) whose matrix products run in MKL, told to use its AVX2 kernels on AMD
processors (hubcore.cpu.prefer_mkl_avx2_on_amd), and one math thread by default. The work per call is
a chain of small sequential GRU steps, so more threads mostly add synchronisation; more
throughput comes from more sentences per call and, in a server, from more workers. `threads=`
overrides it.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hubcore.cpu import prefer_mkl_avx2_on_amd
from hubcore.errors import ArtifactError, NotSupported
from hubcore.inference import gpu_available, parse_device
from hubcore.paddle_compat import set_onednn

PROGRAM_FILE = "__model__"  # Paddle 1.x inference program; parameters sit beside it, one file each

# Passes that fuse an fc and a GRU into one `fusion_gru` op; on the CPU they are turned off.
# With oneDNN, paddle's fusion_gru kernel (3.3.1) caches its buffers per input shape and longest
# sentence but not per number of sentences: a call with the same total ids and longest sentence as
# an earlier one, but more sentences, writes past buffers sized for the earlier call (heap
# corruption: segfaults, aborts, hangs) or reads its initial state from past the end of one
# (wrong tags, silently).
# Serving's varying batch sizes hit it within seconds; set_mkldnn_cache_capacity does not help
# (the number of sentences is in no cache key). The plain `gru` kernel takes any LoD batch, costs
# in proportion to the ids rather than sentences x longest, and is faster than fusion_gru's
# non-oneDNN kernel; with mkldnn=True oneDNN still runs the fc layers. With MKL's AVX2 kernels (below) it is also
# 15-20% faster than the oneDNN fusion_gru on batches of 256. See the README's "Speed" section.
GRU_FUSION_PASSES = ("fc_gru_fuse_pass", "mul_gru_fuse_pass")

def offsets(lengths: Sequence[int]) -> list[int]:
    """LoD offsets [0, n1, n1+n2, ...] for sequences of the given lengths."""
    out = [0]
    for n in lengths:
        out.append(out[-1] + n)
    return out


class LodPredictor:
    """Runs one LAC program on id sequences; safe to share between threads (calls are serialised)."""

    def __init__(self, model_dir: Path, device: str | None = "cpu", threads: int = 1, mkldnn: bool = False) -> None:
        import paddle.inference as pi

        if not (Path(model_dir) / PROGRAM_FILE).is_file():
            raise ArtifactError(f"{model_dir} holds no {PROGRAM_FILE}; the cached LAC artifact is incomplete, "
                                f"remove it with `hub clear lac` and load the module again")
        kind, index = parse_device(device)
        config = pi.Config(str(model_dir))
        config.disable_glog_info()
        config.switch_ir_optim(True)
        if kind == "gpu":
            if not gpu_available():
                raise NotSupported(f"device={device!r} but paddle sees no GPU; install paddlepaddle-gpu or "
                                   f"load the module with device='cpu'")
            config.enable_use_gpu(256, index)
            self.device = f"gpu:{index}"
        else:
            config.disable_gpu()
            # A 256-sentence call ~30% faster on an AMD EPYC (71-84 ms -> 50-53 ms), every word, tag
            # and rank identical (tests/test_lac_engine.py checks the pinned corpus on both paths).
            prefer_mkl_avx2_on_amd()
            config.set_cpu_math_library_num_threads(max(1, int(threads)))
            set_onednn(config, mkldnn)
            for name in GRU_FUSION_PASSES:
                config.delete_pass(name)
            self.device = "cpu"
        self._predictor = pi.create_predictor(config)
        self.input_names: list[str] = list(self._predictor.get_input_names())
        self._inputs = [self._predictor.get_input_handle(n) for n in self.input_names]
        self._output = self._predictor.get_output_handle(self._predictor.get_output_names()[0])
        self._lock = threading.Lock()

    def run(self, lod: list[int], *sequences: Any) -> np.ndarray:
        """One output value per input id, for all sentences at once (lod: the sentences' offsets).

        sequences: one flat id sequence per program input (words; for the rank model also the tags).
        """
        arrays = [np.asarray(s, dtype=np.int64).reshape(-1, 1) for s in sequences]
        with self._lock:
            for handle, array in zip(self._inputs, arrays):
                handle.reshape(list(array.shape))
                handle.copy_from_cpu(array)
                handle.set_lod([lod])
            self._predictor.run()
            return self._output.copy_to_cpu().reshape(-1)
