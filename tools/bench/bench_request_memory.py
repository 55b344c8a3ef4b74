"""Peak RSS of a model process per request size, after the server's limits (issue 13, item 3).

    .venv/bin/python tools/bench/bench_request_memory.py                   # lac, OCR, classifier
    .venv/bin/python tools/bench/bench_request_memory.py --modules lac --no-whole

Each request first goes through the server's own checks with the default limits
(`hubcore.server.limits.check_texts` / `check_images`, as `hub serving` runs them before a model
sees anything); a refused request is listed with the limit it breaks and never reaches a model.
Each accepted request runs in a fresh child process that loads the module, warms it up with a
tiny input, resets its peak RSS (/proc/self/clear_refs), reads the request (pickled by the parent)
and makes the one call: "RSS before" is the child's RSS then, "peak" its peak RSS during the call
(VmHWM), "+call" their difference: what one request of that size costs (and keeps: paddle's
allocator does not give memory back). The lac row marked "whole" runs with long texts not cut into
pieces (what lac did before), next to the same text in pieces.

Images are PNG bytes, as the server hands them to a module: white with black bars, so OCR finds a
few lines and the classifier has edges.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SENTENCE = "今天天气不错，我们一起去公园散步吧。百度是一家高科技公司，总部位于北京。"
MODULES = {"lac": "lac", "ocr": "chinese_ocr_db_crnn_mobile", "classifier": "mobilenet_v2_imagenet"}


def text_of(chars: int) -> str:
    return (SENTENCE * (chars // len(SENTENCE) + 1))[:chars]


# (label, request description) per module; texts: [chars, ...]; images: [(width, height), ...]
CASES = {
    "lac": [("1 x 1,000 chars", {"texts": [1000]}),
            ("1 x 10,000 chars", {"texts": [10_000]}),
            ("256 x 128 chars", {"texts": [128] * 256}),
            ("1 x 50,000 chars (max_text_chars)", {"texts": [50_000]}),
            ("1 x 50,000 chars, whole", {"texts": [50_000], "whole": True}),
            ("4 x 50,000 chars (max_request_chars)", {"texts": [50_000] * 4}),
            ("1 x 50,001 chars", {"texts": [50_001]}),
            ("1 x 800,000 chars (the attack)", {"texts": [800_000]}),
            ("5 x 50,000 chars", {"texts": [50_000] * 5})],
    "ocr": [("640x480", {"images": [(640, 480)]}),
            ("1920x1080", {"images": [(1920, 1080)]}),
            ("4000x3000", {"images": [(4000, 3000)]}),
            ("9000x9000 (81 MP)", {"images": [(9000, 9000)]}),
            ("16384x164 (max side and aspect)", {"images": [(16384, 164)]}),
            ("100000x1 (the attack)", {"images": [(100000, 1)]}),
            ("20000x2000", {"images": [(20000, 2000)]})],
    "classifier": [("224x224", {"images": [(224, 224)]}),
                   ("1920x1080", {"images": [(1920, 1080)]}),
                   ("4000x3000", {"images": [(4000, 3000)]}),
                   ("9000x9000 (81 MP)", {"images": [(9000, 9000)]}),
                   ("8 x 1920x1080", {"images": [(1920, 1080)] * 8}),
                   ("16384x164 (max side and aspect)", {"images": [(16384, 164)]}),
                   ("100000x1 (the attack)", {"images": [(100000, 1)]}),
                   ("20000x2000", {"images": [(20000, 2000)]})],
}


def png(width: int, height: int) -> bytes:
    import numpy as np
    from PIL import Image

    pixels = np.full((height, width), 255, np.uint8)
    for i in range(1, 6):  # a few dark bars across the image, like lines of text
        top = height * i // 7
        pixels[top:top + max(1, height // 40), width // 10:width * 9 // 10] = 0
    buf = io.BytesIO()
    Image.fromarray(pixels, "L").convert("RGB").save(buf, format="PNG")
    return buf.getvalue()


def request_of(spec: dict) -> dict:
    if "texts" in spec:
        return {"texts": [text_of(n) for n in spec["texts"]]}
    return {"images": [png(w, h) for w, h in spec["images"]]}


def refusal(name: str, request: dict) -> str | None:
    """The server's answer to this request if it refuses it (default limits), else None."""
    from hubcore.loader import module_class
    from hubcore.server.config import Limits
    from hubcore.server.limits import check_images, check_texts
    from hubcore.server.responses import HttpError
    from hubcore.signatures import collect_signatures

    sig = next(s for s in collect_signatures(module_class(name=name)).values() if s.default)
    field = sig.batch_input
    try:
        if "texts" in request:
            check_texts(sig, {field: request["texts"]}, Limits())
        else:
            check_images(sig, {field: request["images"]}, Limits())
    except HttpError as exc:
        return f"{exc.status} {exc.limit}"
    return None


def status_kb(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(name: str, spec: dict, request_file: str) -> None:
    """Load the module, warm it up, make the one call; print the measurements as JSON."""
    import hubcore as hub

    module = hub.Module(name=name)
    sig = module.default_signature
    method = getattr(module, sig.name)
    if spec.get("whole"):
        import hubmod_lac.module as lac_module

        lac_module.split_text = lambda text: [text]  # lac before pieces
    warm = {"texts": [10]} if "texts" in spec else {"images": [(64, 64)]}
    method(**{sig.batch_input: request_of(warm)[next(iter(warm))]})
    before = status_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS: the peak read below is this call's
    request = pickle.loads(Path(request_file).read_bytes())
    cpu = time.process_time()
    method(**{sig.batch_input: request[next(iter(request))]})
    print(json.dumps({"before_kb": before, "peak_kb": status_kb("VmHWM"), "cpu_s": time.process_time() - cpu}))


def run_child(name: str, spec: dict, request: dict, timeout: float) -> dict:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with tempfile.NamedTemporaryFile(suffix=".pickle") as f:
        f.write(pickle.dumps(request))
        f.flush()
        done = subprocess.run([sys.executable, __file__, "--child", name, json.dumps(spec), f.name],
                              capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1][:80]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", default="lac,ocr,classifier", help="comma-separated: lac, ocr, classifier")
    parser.add_argument("--no-whole", action="store_true", help="skip the lac rows without pieces")
    parser.add_argument("--timeout-s", type=float, default=300.0, help="per child process")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], json.loads(args.child[1]), args.child[2])
        return
    print("| module | request | server answer | RSS before MB | peak MB | +call MB | call CPU s |")
    print("|---|---|---|---:|---:|---:|---:|")
    for key in args.modules.split(","):
        name = MODULES[key.strip()]
        for label, spec in CASES[key.strip()]:
            if spec.get("whole") and args.no_whole:
                continue
            request = request_of(spec)
            refused = refusal(name, request)
            if refused:
                print(f"| {name} | {label} | {refused} | | | | |", flush=True)
                continue
            got = run_child(name, spec, request, args.timeout_s)
            if "error" in got:
                print(f"| {name} | {label} | 200 | error: {got['error']} | | | |", flush=True)
                continue
            before, peak = got["before_kb"] / 1024, got["peak_kb"] / 1024
            print(f"| {name} | {label} | 200 | {before:,.0f} | {peak:,.0f} | {peak - before:,.0f} | "
                  f"{got['cpu_s']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
