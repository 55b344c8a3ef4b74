"""Batches of varying sizes, as a server's dynamic batching sends them, in a fresh process.

paddle's oneDNN `fusion_gru` kernel caches its buffers without the number of sentences in the key,
so a call with the same total ids and longest sentence as an earlier one but more sentences
overran them: segfaults, aborts or hangs within seconds of random batch sizes, or silently wrong
tags (see GRU_FUSION_PASSES in hubmod_lac/engine.py). A crash kills the process, so the calls run
in a child, and the test asserts the child exits 0 and its results equal those of a module
without oneDNN. Run the child alone with `.venv/bin/python tests/test_lac_varying_batches.py --child 30`.
"""
from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time

LOOP_SECONDS = 8.0
HANG_SECONDS = 60  # a corrupted heap can deadlock (in malloc) instead of crashing; a good run takes ~10 s
SEED = 20240611

SENTENCES = [
    "百度是一家高科技公司",
    "LAC是个优秀的分词工具",
    "今天是个好天气，我们去公园散步吧。",
    "国务院总理李克强在人民大会堂会见了来访的外国代表团",
    "2019年双十一天猫的成交额达到了2684亿元",
    "请问从上海虹桥站到浦东国际机场怎么走？",
    "苹果公司发布了新款iPhone手机，售价999美元起",
    "房间很干净，服务员态度也很好，下次还会再来",
    "深度学习模型在自然语言处理任务上取得了显著进展",
]
# One character is always one model id, whatever the pre-segmentation does with longer text.
SINGLE_CHARACTERS = "天地人山水火木金土日月星风云雨雪花草鱼鸟"


def test_varying_batch_sizes_neither_crash_nor_change_results() -> None:
    cmd = [sys.executable, __file__, "--child", str(LOOP_SECONDS)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=HANG_SECONDS, check=False)
    except subprocess.TimeoutExpired as hung:
        raise AssertionError(f"the child hung for {HANG_SECONDS} s (a corrupted heap deadlocks malloc); "
                             f"run `{' '.join(cmd)}` to see it") from hung
    assert done.returncode == 0, (
        f"the child exited with {done.returncode} (negative: killed by that signal, -11 = segfault); "
        f"rerun it with `{' '.join(cmd)}`\nstdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-4000:]}")
    assert done.stdout.strip().splitlines()[-1].startswith("ok "), done.stdout[-2000:]


def child(seconds: float) -> int:
    import hubcore as hub

    lac = hub.Module(name="lac", mkldnn=True)  # oneDNN on: an option, no longer the default
    reference = hub.Module(name="lac", mkldnn=False)
    calls = 0

    def check(batch: list[str], what: str) -> None:
        nonlocal calls
        got, expected = lac.cut(batch), reference.cut(batch)
        calls += 1
        if got != expected:
            wrong = [i for i, (g, e) in enumerate(zip(got, expected)) if g != e]
            raise SystemExit(f"{what}: sentences {wrong} of {batch!r} differ from the module without oneDNN")

    # The exact overrun, first: same total ids and longest sentence, more sentences than before.
    long = SENTENCES[3]
    k = len(lac._analyzer.tagger.encode(long)[0])
    if k > len(SINGLE_CHARACTERS):
        raise SystemExit(f"{long!r} now encodes to {k} ids; add characters to SINGLE_CHARACTERS")
    check([long, long], "2 sentences of k ids")
    check([long] + list(SINGLE_CHARACTERS[:k]), "1 sentence of k ids + k of 1 id (same total)")

    rng = random.Random(SEED)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        batch = [rng.choice(SENTENCES)[: rng.randint(1, 40)] for _ in range(rng.randint(1, 16))]
        check(batch, f"random batch after {calls} calls (seed {SEED})")
    print(f"ok {calls} calls", flush=True)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", type=float, metavar="SECONDS", required=True,
                        help="run the varying batches for SECONDS, exit 0 if all went well")
    sys.exit(child(parser.parse_args().child))
