"""Benchmark yolov3_tiny_coco against OpenCV's DNN runtime on the same Darknet weights, side by side:
images/s and CPU ms per image at batch 1 and 8, pre- and post-processing included, and peak RSS.

    .venv/bin/python tools/bench/bench_detection.py                  # 32 images, 3 rounds, 1 math thread
    .venv/bin/python tools/bench/bench_detection.py --images 64 --rounds 5 --darknet53

Both engines start from the same BGR uint8 arrays (photos from scikit-image composed as in
tests/test_detection_parity.py, of several sizes) and end with boxes in the images' pixels:
- hub: `object_detection(images=..., batch_size=B, score_thresh=0.25)`: letterbox, the exported
  paddle program (oneDNN), decoding, class-wise NMS, mapping back, result dicts;
- opencv: cv2 letterbox (resize + grey border), `cv2.dnn.blobFromImages`, `net.forward`, then
  per class `cv2.dnn.NMSBoxes`, mapping back: the usual OpenCV YOLO pipeline.
Each engine runs with one math thread (threads=1; cv2.setNumThreads(1)). Rounds alternate which
engine goes first, so a busy machine slows both alike; the first pass of each is a warm-up and not
counted. CPU ms (process CPU time per image) is the steadier number on a shared machine; img/s is
wall-clock throughput. Peak RSS is measured in a fresh child process per engine that loads it and
detects every image once at batch 8 (VmHWM).

--darknet53 adds yolov3_darknet53_coco2017 (built with random weights, pretrained=False: its speed
does not depend on the weights) at batch 1 and 8.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SCORE = 0.25
IOU = 0.45
SIZE = 416


def bench_images(count: int) -> list[np.ndarray]:
    from tests.test_detection_parity import composed_images

    base = [im[:, :, ::-1].copy() for im in composed_images().values()]  # BGR, as cv2.imread gives
    return [base[i % len(base)] for i in range(count)]


class OpenCVYolo:
    """The usual OpenCV DNN YOLO pipeline, from BGR images to boxes in their pixels."""

    def __init__(self, cfg: str, weights: str) -> None:
        import cv2

        cv2.setNumThreads(1)
        self.cv2 = cv2
        self.net = cv2.dnn.readNetFromDarknet(cfg, weights)
        self.net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self.outputs = self.net.getUnconnectedOutLayersNames()

    def letterbox(self, bgr: np.ndarray) -> tuple[np.ndarray, float, int, int]:
        h, w = bgr.shape[:2]
        ratio = min(SIZE / w, SIZE / h)
        nw, nh = max(1, round(w * ratio)), max(1, round(h * ratio))
        resized = self.cv2.resize(bgr, (nw, nh), interpolation=self.cv2.INTER_AREA if ratio < 1 else self.cv2.INTER_LINEAR)
        left, top = (SIZE - nw) // 2, (SIZE - nh) // 2
        boxed = self.cv2.copyMakeBorder(resized, top, SIZE - nh - top, left, SIZE - nw - left,
                                        self.cv2.BORDER_CONSTANT, value=(127, 127, 127))
        return boxed, ratio, left, top

    def detect(self, images: list[np.ndarray], batch: int) -> list[list[tuple[int, float, list[float]]]]:
        out = []
        for start in range(0, len(images), batch):
            chunk = images[start:start + batch]
            boxed = [self.letterbox(im) for im in chunk]
            blob = self.cv2.dnn.blobFromImages([b[0] for b in boxed], 1 / 255.0, (SIZE, SIZE), swapRB=True, crop=False)
            self.net.setInput(blob)
            heads = self.net.forward(self.outputs)
            # with a batch, each head's rows are (image, cell, anchor) in that order
            rows = np.concatenate([h.reshape(len(chunk), -1, h.shape[-1]) for h in heads], axis=1)
            for image_rows, (_, ratio, left, top), im in zip(rows, boxed, chunk):
                out.append(self._boxes(image_rows, ratio, left, top, im.shape))
        return out

    def _boxes(self, rows: np.ndarray, ratio: float, left: int, top: int, shape) -> list:
        scores = rows[:, 5:]
        classes, best = scores.argmax(1), scores.max(1)
        keep = best >= SCORE
        rows, classes, best = rows[keep], classes[keep], best[keep]
        found = []
        for label in np.unique(classes):
            idx = np.flatnonzero(classes == label)
            cx, cy, w, h = (rows[idx, k] * SIZE for k in range(4))
            rects = [[float(a), float(b), float(c), float(d)] for a, b, c, d in zip(cx - w / 2, cy - h / 2, w, h)]
            for j in np.array(self.cv2.dnn.NMSBoxes(rects, best[idx].tolist(), SCORE, IOU)).reshape(-1):
                x, y, bw, bh = rects[j]
                box = [min(max((x - left) / ratio, 0), shape[1]), min(max((y - top) / ratio, 0), shape[0]),
                       min(max((x + bw - left) / ratio, 0), shape[1]), min(max((y + bh - top) / ratio, 0), shape[0])]
                found.append((int(label), float(best[idx[j]]), box))
        return found


def load_engine(name: str):
    import hubcore as hub

    if name == "opencv":
        hub_module = hub.Module(name="yolov3_tiny_coco", threads=1)
        return OpenCVYolo(str(hub_module.artifact("cfg")), str(hub_module.artifact("weights")))
    if name == "darknet53":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return hub.Module(name="yolov3_darknet53_coco2017", threads=1, pretrained=False)
    return hub.Module(name="yolov3_tiny_coco", threads=1)


def run(engine, name: str, images: list[np.ndarray], batch: int) -> int:
    """Detect every image; the number of boxes found."""
    if name == "opencv":
        return sum(len(found) for found in engine.detect(images, batch))
    results = engine.object_detection(images=images, batch_size=batch, score_thresh=SCORE)
    return sum(len(r["data"]) for r in results)


def peak_rss_mb(name: str, count: int) -> float:
    """Peak RSS of a fresh process that loads the engine and detects count images at batch 8."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent through fork and exec.
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from tools.bench.bench_detection import *; "
            f"e = load_engine({name!r}); run(e, {name!r}, bench_images({count}), 8); "
            f"print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--darknet53", action="store_true", help="also time yolov3_darknet53_coco2017 (random weights)")
    parser.add_argument("--darknet53-images", type=int, default=8, help="images per round for darknet53 (slow)")
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS child processes")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    images = bench_images(args.images)
    names = ["hub", "opencv"] + (["darknet53"] if args.darknet53 else [])
    count = {n: args.darknet53_images if n == "darknet53" else args.images for n in names}
    engines = {name: load_engine(name) for name in names}
    batches = (1, 8)
    cpu = {(n, b): 0.0 for n in names for b in batches}
    wall = dict(cpu)
    found = {}
    for n in names:  # warm-up: kernels compiled, caches filled
        for b in batches:
            run(engines[n], n, images[:b * 2], b)
    for r in range(args.rounds):
        order = names if r % 2 == 0 else names[::-1]
        for b in batches:
            for n in order:
                start_wall, start_cpu = time.perf_counter(), time.process_time()
                found[(n, b)] = run(engines[n], n, images[:count[n]], b)
                cpu[(n, b)] += time.process_time() - start_cpu
                wall[(n, b)] += time.perf_counter() - start_wall
    print(f"{args.images} images x {args.rounds} rounds (darknet53: {args.darknet53_images}), one math thread per "
          f"engine, score_thresh {SCORE}\n")
    print(f"{'engine':<12}{'batch':>6}{'img/s':>9}{'CPU ms/img':>12}{'boxes':>7}{'vs opencv (img/s)':>19}"
          f"{'vs opencv (CPU)':>17}")
    for b in batches:
        per_image = {n: (wall[(n, b)] / (count[n] * args.rounds), cpu[(n, b)] / (count[n] * args.rounds)) for n in names}
        for n in names:
            seconds, cpu_seconds = per_image[n]
            ratio = per_image["opencv"][0] / seconds
            cpu_ratio = per_image["opencv"][1] / cpu_seconds
            print(f"{n:<12}{b:>6}{1 / seconds:>9.1f}{1000 * cpu_seconds:>12.1f}{found[(n, b)]:>7}{ratio:>18.2f}x"
                  f"{cpu_ratio:>16.2f}x")
    if not args.no_rss:
        print("\npeak RSS (fresh process, load + all images at batch 8):")
        for n in names:
            print(f"  {n:<12}{peak_rss_mb(n, max(8, count[n])):>8.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
