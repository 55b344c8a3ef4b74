"""Benchmark the lac module: batched LoD calls against a loop of single-sentence calls, load time
(cold cache: download + verify + unpack; warm cache) and peak memory.

    .venv/bin/python tools/bench/bench_lac.py                 # mode lac, 1 thread, oneDNN off (the default)
    .venv/bin/python tools/bench/bench_lac.py --modes lac,seg,rank --threads 2 --mkldnn
    .venv/bin/python tools/bench/bench_lac.py --skip-cold     # no 65 MB download
    .venv/bin/python tools/bench/bench_lac.py --mkl-default   # MKL picks its own kernels (see below)

On AMD CPUs the module tells paddle's MKL to use its AVX2 kernels (MKL_DEBUG_CPU_TYPE=5, see
hubcore/cpu.py); --mkl-default sets the variable empty first, which the module keeps and
MKL ignores, to measure what MKL's own choice gives. MKL reads it once per process, so the two
cannot alternate within one run: compare separate runs made close together.

Batched and looped runs use the same loaded module (the same predictor) and alternate within one
run, so their ratio is not skewed by a busy machine. Load times are measured in fresh processes;
the cold one gets an empty temporary HUB_HOME and downloads lac==2.1.2 from the package index.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

# Typical sentences (news, reviews, questions, mixed script), 10-40 characters.
SENTENCES = [
    "百度是一家高科技公司",
    "LAC是个优秀的分词工具",
    "今天是个好天气，我们去公园散步吧。",
    "春天的花开秋天的风以及冬天的落阳",
    "北京大学的学生在图书馆里认真地复习功课",
    "这家餐厅的菜味道不错，就是价格有点贵。",
    "国务院总理李克强在人民大会堂会见了来访的外国代表团",
    "2019年双十一天猫的成交额达到了2684亿元",
    "请问从上海虹桥站到浦东国际机场怎么走？",
    "苹果公司发布了新款iPhone手机，售价999美元起",
    "他说：“我明天上午九点会准时到达会议室。”",
    "中国女排在世界杯比赛中以三比零战胜了对手",
    "房间很干净，服务员态度也很好，下次还会再来",
    "深度学习模型在自然语言处理任务上取得了显著进展",
    "张三和李四一起去杭州西湖旅游，拍了很多照片",
    "这本书的作者是一位著名的历史学家",
]


def typical_texts(n: int) -> list[str]:
    return [SENTENCES[i % len(SENTENCES)] for i in range(n)]


def maxrss_mb() -> float:
    """Peak resident memory of this process (RSS sees paddle's native memory; tracemalloc does not).

    VmHWM when /proc has it: ru_maxrss survives fork + exec on Linux, so a child would report
    its parent's peak when that is higher.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def cpu_vendor() -> str:
    """The first CPU's vendor and model from /proc/cpuinfo (MKL's kernel choice depends on the vendor)."""
    from hubcore.cpu import first_cpu

    found: dict[str, str] = {}
    for line in first_cpu().splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("vendor_id", "model name"):
            found.setdefault(key.strip(), value.strip())
    return " / ".join(found.values()) or "unknown"


def child_load(mode: str, threads: int, mkldnn: bool) -> None:
    """In a fresh process: import + construct the module; print timings as JSON."""
    start = time.perf_counter()
    import hubcore as hub

    lac = hub.Module(name="lac", mode=mode, threads=threads, mkldnn=mkldnn)
    loaded = time.perf_counter() - start
    lac.cut(typical_texts(256), batch_size=256)
    print(json.dumps({"load_s": loaded, "maxrss_mb": maxrss_mb()}))


def run_child(mode: str, threads: int, mkldnn: bool, hub_home: str | None) -> dict:
    env = dict(os.environ)
    if hub_home is not None:
        env["HUB_HOME"] = hub_home
    cmd = [sys.executable, __file__, "--child-load", "--modes", mode, "--threads", str(threads)]
    if mkldnn:
        cmd.append("--mkldnn")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"load child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def time_once(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def throughput(module, n: int, repeats: int) -> tuple[float, float]:
    """(batched sentences/s, looped sentences/s), best of repeats, alternating the two."""
    texts = typical_texts(n)
    batched = lambda: module.cut(texts, batch_size=n)  # noqa: E731 - one LoD call for all n
    looped = lambda: [module.cut([t], batch_size=1) for t in texts]  # noqa: E731 - n calls
    batched(), looped()  # warm the oneDNN kernel caches for these shapes
    best_b = best_l = float("inf")
    for _ in range(repeats):
        best_b = min(best_b, time_once(batched))
        best_l = min(best_l, time_once(looped))
    return n / best_b, n / best_l


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="lac", help="comma separated: lac,seg,rank")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--mkldnn", action="store_true", help="oneDNN on (the module's default is off)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-cold", action="store_true", help="do not measure the cold-cache load")
    parser.add_argument("--mkl-default", action="store_true",
                        help="leave MKL's kernel choice to MKL (no AVX2 hint on AMD CPUs)")
    parser.add_argument("--child-load", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mkl_default:
        os.environ["MKL_DEBUG_CPU_TYPE"] = ""  # inherited by the load children too
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    mkldnn = args.mkldnn
    if args.child_load:
        child_load(modes[0], args.threads, mkldnn)
        return 0

    print(f"lac benchmark: python {sys.version.split()[0]}, CPUs available {len(os.sched_getaffinity(0))}, "
          f"threads={args.threads}, oneDNN={'on' if mkldnn else 'off'}, best of {args.repeats}")
    print()
    # Load times first, in fresh processes, while this one has not loaded paddle yet.
    print("| mode | cache | load s (import + fetch + predictor) | peak RSS MB (after a 256-sentence batch) |")
    print("|---|---|---:|---:|")
    for mode in modes:
        if not args.skip_cold:
            with tempfile.TemporaryDirectory(prefix="bench_lac_home_") as home:
                cold = run_child(mode, args.threads, mkldnn, home)
                blobs = os.listdir(os.path.join(home, "blobs"))
                warm = run_child(mode, args.threads, mkldnn, home)
            print(f"| {mode} | cold (empty HUB_HOME, {len(blobs)} file downloaded) | {cold['load_s']:.2f} | "
                  f"{cold['maxrss_mb']:,.0f} |", flush=True)
        else:
            warm = run_child(mode, args.threads, mkldnn, None)
        print(f"| {mode} | warm | {warm['load_s']:.2f} | {warm['maxrss_mb']:,.0f} |", flush=True)
    print()

    import hubcore as hub

    mkl_type = os.environ.get("MKL_DEBUG_CPU_TYPE")
    print(f"CPU {cpu_vendor()}; MKL_DEBUG_CPU_TYPE {'unset' if mkl_type is None else repr(mkl_type)} before "
          f"loading (the module sets 5 on AMD CPUs with AVX2 when unset)")
    print()
    print("| mode | sentences | batched (1 LoD call) sent/s | loop of 1-sentence calls sent/s | batched / loop |")
    print("|---|---:|---:|---:|---:|")
    for mode in modes:
        module = hub.Module(name="lac", mode=mode, threads=args.threads, mkldnn=mkldnn)
        for n in (1, 32, 256):
            fast, slow = throughput(module, n, args.repeats)
            print(f"| {mode} | {n} | {fast:,.0f} | {slow:,.0f} | {fast / slow:.2f}x |", flush=True)
        del module
    print()
    print(f"peak RSS of this process (modes {', '.join(modes)} loaded in turn): {maxrss_mb():,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
