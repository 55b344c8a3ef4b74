"""Classification throughput: the module against a bare paddle.inference predictor, side by side.

    .venv/bin/python tools/bench/bench_classification.py [--modules mobilenet_v2_imagenet ...]
                                                        [--batches 1 8] [--rounds 7] [--seconds 1]

For each module and batch size, in interleaved rounds (so machine load hits every variant alike):
  eager      the paddle network in eager mode (no_grad), the speed without an exported program
  bare       a paddle.inference predictor made by hand on the module's exported program (oneDNN,
             same thread count): the target to match
  module     module.predict_batch(preprocessed batch): the module's prediction path, preprocessing excluded
  module+pre module.classification(images=[decoded photos], top_k=5): preprocessing (resize, crop,
             normalise) and top-k included
Numbers are images per second, medians over rounds; ratios are medians of per-round module / bare. Target: module >= 0.9 x bare.
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import numpy as np


def _rate(fn: Callable[[], object], images: int, seconds: float) -> float:
    fn()  # warm-up: oneDNN primitives for this shape
    count, start = 0, time.perf_counter()
    while True:
        fn()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and count >= 3:
            return count * images / elapsed


def _bare_predictor(folder, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    import paddle.inference as pi

    from hubcore.inference import model_files

    program, params = model_files(folder)
    config = pi.Config(str(program), str(params))
    config.disable_gpu()
    config.enable_mkldnn()
    config.set_cpu_math_library_num_threads(threads)
    config.disable_glog_info()
    predictor = pi.create_predictor(config)
    inp = predictor.get_input_handle(predictor.get_input_names()[0])
    out = predictor.get_output_handle(predictor.get_output_names()[0])

    def run(batch: np.ndarray) -> np.ndarray:
        inp.reshape(list(batch.shape))
        inp.copy_from_cpu(batch)
        predictor.run()
        return out.copy_to_cpu()

    return run


def bench_module(name: str, batches: list[int], rounds: int, seconds: float, threads: int) -> list[dict]:
    import paddle
    from skimage import data

    import hubcore as hub

    module = hub.Module(name=name, device="cpu", threads=threads)
    photos = [data.chelsea(), data.coffee(), data.astronaut(), data.rocket()]
    bare = _bare_predictor(module.program_dir(), threads)
    eager = module.pretrained_network()
    rows = []
    for batch_size in batches:
        images = [photos[i % len(photos)] for i in range(batch_size)]
        batch = module.preprocess(images)
        module.batch_size = max(module.batch_size, batch_size)
        tensor = paddle.to_tensor(batch)

        def run_eager() -> None:
            with paddle.no_grad():
                eager(tensor).numpy()

        variants = {
            "eager": run_eager,
            "bare": lambda: bare(batch),
            "module": lambda: module.predict_batch(batch),
            "module+pre": lambda: module.classification(images=images, top_k=5),
        }
        rates: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(rounds):
            for key, fn in variants.items():
                rates[key].append(_rate(fn, batch_size, seconds if key != "eager" else seconds / 2))
        row = {k: statistics.median(v) for k, v in rates.items()}
        # ratios per round, then the median: a load spike in one round moves both sides of that round
        for key in ("module", "module+pre"):
            row[f"{key} ratio"] = statistics.median(m / b for m, b in zip(rates[key], rates["bare"]))
        np.testing.assert_allclose(bare(batch), module.predictor().run(batch)[0], rtol=1e-4, atol=1e-4)
        rows.append({"name": name, "batch": batch_size, **row})
    return rows


def main() -> None:
    from hubcore.inference import cpu_count

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", nargs="+", default=["mobilenet_v2_imagenet", "efficientnet_lite0_imagenet"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per variant per round")
    parser.add_argument("--threads", type=int, default=cpu_count())
    args = parser.parse_args()
    rows = []
    for name in args.modules:
        rows += bench_module(name, args.batches, args.rounds, args.seconds, args.threads)
    header = (f"{'module':30s} {'batch':>5s} {'eager':>8s} {'bare':>8s} {'module':>8s} {'ratio':>6s} "
              f"{'module+pre':>10s} {'ratio':>6s}")
    print(f"images/s, CPU, {args.threads} threads, median of {args.rounds} interleaved rounds")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['name']:30s} {r['batch']:5d} {r['eager']:8.1f} {r['bare']:8.1f} {r['module']:8.1f} "
              f"{r['module ratio']:6.2f} {r['module+pre']:10.1f} {r['module+pre ratio']:6.2f}")
    worst = min(r["module ratio"] for r in rows)
    print(f"\nworst module/bare ratio (preprocessing excluded): {worst:.2f} (target >= 0.90): "
          f"{'met' if worst >= 0.9 else 'NOT met'}")


if __name__ == "__main__":
    main()
