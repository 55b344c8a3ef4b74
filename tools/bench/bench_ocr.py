"""Benchmark chinese_ocr_db_crnn_mobile against rapidocr-paddle 1.4.5 (the same PP-OCRv4 weights),
side by side in one process: images/s, CPU time, seconds per stage (det, cls, rec), and agreement.

    .venv/bin/python tools/bench/bench_ocr.py                    # 16 pages, 1 math thread per network
    .venv/bin/python tools/bench/bench_ocr.py --images 32 --threads 2 --chunk 8

Pages are rendered (tests/test_ocr_samples.py): text pages mixing Chinese, English, digits and
punctuation, and receipts (short cells: items, quantities, prices), on coloured backgrounds, turned
slightly, in four sizes. Every engine first reads the same warm-up pages (other seeds). Then, chunk
by chunk, each engine reads the same pages, the order of engines rotating from chunk to chunk, so a
busy machine slows all of them alike. Each engine loads and runs on a thread of its own (paddle's
oneDNN kernel cache is per thread), one call at a time, as if it had the process to itself. CPU ms (process CPU time) is the steadier number on a shared
machine; img/s is wall-clock throughput.

Rows: rapidocr (one page per call, its only mode); this module one page per call; this module with
a chunk of pages per call (lines of all the chunk's pages recognised together, as `hub serving`'s
dynamic batching or a caller passing several images gets); and both again with rec_min_width=0
(short lines not padded to 320 px: faster, not identical to the reference). Stage times of
rapidocr are taken by wrapping its detector, classifier and recogniser objects; "other" is the rest
(image loading, cropping, result assembly).

Agreement: lines are paired by box (corners within 4 px) and compared by edit distance; "char acc
vs rapidocr" is 1 - edits / characters of rapidocr's text (unpaired lines count in full); "vs
truth" compares each engine with the strings drawn, spaces ignored (the renderer's spaces are not
always visible gaps).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.test_ocr_samples import edit_distance, page_set  # noqa: E402


class Timed:
    """Wraps a callable object and adds its run time to totals[stage]."""

    def __init__(self, inner, totals: dict, stage: str) -> None:
        self.inner, self.totals, self.stage = inner, totals, stage

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.inner(*args, **kwargs)
        finally:
            self.totals[self.stage] = self.totals.get(self.stage, 0.0) + time.perf_counter() - start

    def __getattr__(self, name):
        return getattr(self.inner, name)


def load_rapid(threads: int, totals: dict):
    from rapidocr_paddle import RapidOCR

    engine = RapidOCR(cpu_math_library_num_threads=threads)
    engine.text_det = Timed(engine.text_det, totals, "det")
    engine.text_cls = Timed(engine.text_cls, totals, "cls")
    engine.text_rec = Timed(engine.text_rec, totals, "rec")
    return engine


def run_rapid(engine, image: np.ndarray) -> list[tuple[np.ndarray, str]]:
    result, _ = engine(image)
    return [(np.asarray(box, np.float32), text) for box, text, _score in (result or [])]


def run_hub(ocr, images: list[np.ndarray], totals: dict) -> list[list[tuple[np.ndarray, str]]]:
    from hubmod_ocr.images import to_bgr

    start = time.perf_counter()
    arrays = [to_bgr(im) for im in images]
    totals["other"] = totals.get("other", 0.0) + time.perf_counter() - start
    per_image = ocr.read_arrays(arrays, timings=totals)
    return [[(ln.box, ln.text) for ln in lines] for lines in per_image]


def pair_lines(ours: list, ref: list, tolerance: float = 4.0) -> tuple[list[tuple[str, str]], int, int]:
    """(our text, reference text) for lines whose boxes match; counts of unmatched ours and reference lines."""
    pairs, used = [], set()
    for box, text in ours:
        best, best_d = None, tolerance
        for j, (rbox, _) in enumerate(ref):
            d = float(np.abs(box - rbox).max())
            if j not in used and d <= best_d:
                best, best_d = j, d
        if best is not None:
            used.add(best)
            pairs.append((text, ref[best][1]))
    return pairs, len(ours) - len(pairs), len(ref) - len(used)


def truth_accuracy(lines: list, truth: list[str]) -> tuple[int, int]:
    """(edits, characters) of the engine's lines against the rendered strings, spaces ignored."""
    remaining = [t.replace(" ", "") for t in truth]
    edits = 0
    for _, text in lines:
        text = text.replace(" ", "")
        if not remaining:
            edits += len(text)
            continue
        k = min(range(len(remaining)), key=lambda i: edit_distance(text, remaining[i]))
        edits += edit_distance(text, remaining.pop(k))
    edits += sum(len(t) for t in remaining)
    return edits, sum(len(t.replace(" ", "")) for t in truth)


def row(name: str, n: int, totals: dict, wall: float, cpu: float, acc: str, truth: str, lines: int) -> list[str]:
    other = wall - sum(totals.get(k, 0.0) for k in ("det", "cls", "rec"))
    ms = lambda s: f"{1000 * s / n:.1f}"  # noqa: E731
    return [name, f"{n / wall:.3f}", ms(cpu), ms(totals.get("det", 0)), ms(totals.get("cls", 0)),
            ms(totals.get("rec", 0)), ms(other), str(lines), acc, truth]


def agreement(results: list, references: list) -> tuple[float, int, int]:
    """Character accuracy against the references, and counts of lines found only by one side."""
    edits = chars = extra = missing = 0
    for ours, ref in zip(results, references):
        pairs, x, m = pair_lines(ours, ref)
        extra, missing = extra + x, missing + m
        unpaired = sum(len(t) for _, t in ref) - sum(len(b) for _, b in pairs)
        edits += sum(edit_distance(a, b) for a, b in pairs) + unpaired
        chars += sum(len(t) for _, t in ref)
    return 1 - edits / max(1, chars), extra, missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=16, help="timed pages (default 16)")
    parser.add_argument("--chunk", type=int, default=8, help="pages per batched call (default 8)")
    parser.add_argument("--warmup", type=int, default=4, help="warm-up pages, other seeds (default 4)")
    parser.add_argument("--threads", type=int, default=1, help="CPU math threads per network, both engines")
    parser.add_argument("--repeat", type=int, default=1, help="passes over the timed pages (default 1)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    import hubcore as hub

    pages = page_set(args.images)
    warm = page_set(args.warmup, first_seed=1000)
    # One thread per engine, each loading and running only its engine: paddle caches oneDNN's compiled
    # kernels per input shape in a cache that engines sharing a thread would evict from each other,
    # which a process running one engine alone never sees. Calls still run one at a time.
    workers = {name: ThreadPoolExecutor(1, thread_name_prefix=name) for name in ("rapid", "hub", "hub0")}
    engines = {
        "rapid": workers["rapid"].submit(load_rapid, args.threads, {}).result(),
        "hub": workers["hub"].submit(hub.Module, name="chinese_ocr_db_crnn_mobile", threads=args.threads).result(),
        "hub0": workers["hub0"].submit(hub.Module, name="chinese_ocr_db_crnn_mobile", threads=args.threads,
                                       rec_min_width=0).result(),
    }
    runs = ["rapid", "hub", "hub_batched", "hub0", "hub0_batched"]
    stage = {r: {} for r in runs}
    wall = dict.fromkeys(runs, 0.0)
    cpu = dict.fromkeys(runs, 0.0)
    results: dict[str, list] = {r: [None] * len(pages) for r in runs}

    def call(run: str, chunk: list[int], timed: bool) -> None:
        totals = stage[run] if timed else {}
        if run == "rapid":
            engines["rapid"].text_det.totals = engines["rapid"].text_cls.totals = engines["rapid"].text_rec.totals = totals
        images = [pages[i][0] if timed else warm[i][0] for i in chunk]
        if run == "rapid":
            work = lambda: [run_rapid(engines["rapid"], image) for image in images]  # noqa: E731
        elif run in ("hub", "hub0"):
            work = lambda: [run_hub(engines[run], [image], totals)[0] for image in images]  # noqa: E731
        else:
            work = lambda: run_hub(engines[run.split("_")[0]], images, totals)  # noqa: E731
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        outs = workers[run.split("_")[0]].submit(work).result()
        if timed:
            wall[run] += time.perf_counter() - start_wall
            cpu[run] += time.process_time() - start_cpu
            for i, out in zip(chunk, outs):
                results[run][i] = out

    for run in runs:
        call(run, list(range(len(warm))), timed=False)
    chunks = [list(range(k, min(k + args.chunk, len(pages)))) for k in range(0, len(pages), args.chunk)]
    for rep in range(args.repeat):
        for c, chunk in enumerate(chunks):
            shift = (c + rep) % len(runs)  # rotate who goes first, so load changes hit every engine alike
            for run in runs[shift:] + runs[:shift]:
                call(run, chunk, timed=True)
    for worker in workers.values():
        worker.shutdown()

    n = len(pages) * args.repeat

    def truth(run: str) -> str:
        e = c = 0
        for lines, (_, texts) in zip(results[run], pages):
            de, dc = truth_accuracy(lines, texts)
            e, c = e + de, c + dc
        return f"{1 - e / max(1, c):.4f}"

    names = {"rapid": "rapidocr-paddle 1.4.5", "hub": "hub, 1 page/call", "hub_batched": f"hub, {args.chunk} pages/call",
             "hub0": "hub, 1 page/call, rec_min_width=0", "hub0_batched": f"hub, {args.chunk} pages/call, rec_min_width=0"}
    table, notes = [], []
    for run in runs:
        if run == "rapid":
            acc = "(reference)"
        else:
            value, extra, missing = agreement(results[run], results["rapid"])
            acc = f"{value:.4f}"
            notes.append(f"{names[run]}: {extra} line(s) rapidocr lacks, {missing} line(s) it has that this lacks")
        table.append(row(names[run], n, stage[run], wall[run], cpu[run], acc, truth(run),
                         sum(len(r) for r in results[run])))
    header = ["engine", "img/s", "CPU ms", "det ms", "cls ms", "rec ms", "other ms", "lines", "char acc vs rapidocr",
              "char acc vs truth"]
    widths = [max(len(h), *(len(r[k]) for r in table)) for k, h in enumerate(header)]
    print(f"{len(pages)} pages x {args.repeat} pass(es), {args.threads} math thread(s) per network, "
          f"{os.cpu_count()} CPUs; times per image (wall, except CPU ms: process CPU time)")
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-|-".join("-" * w for w in widths))
    for r in table:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths)))
    ratios = ", ".join(f"{names[r]} {wall['rapid'] / wall[r]:.2f}x (CPU {cpu['rapid'] / cpu[r]:.2f}x)" for r in runs[1:])
    print(f"throughput vs rapidocr: {ratios}")
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
