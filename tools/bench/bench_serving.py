"""Serving throughput: concurrent HTTP clients vs the same module called in-process on a batch.

    .venv/bin/python tools/bench/bench_serving.py                      # lac, 16 clients
    .venv/bin/python tools/bench/bench_serving.py --directory PATH     # a development module folder
    .venv/bin/python tools/bench/bench_serving.py --directory tools/bench/fixed_cost_module
        # a synthetic module (1 ms per call, 0.05 ms per text of busy CPU) whose batches gain ~9x:
        # what the server keeps of a large batching gain, which lac (~2.3x) cannot show

Measured side by side, on loopback only:
  - in-process: the module's default method called on batches of --clients sentences, repeatedly
    (sentences/s: what a server could reach with perfect batching and no HTTP); and, for context,
    one sentence per call. Every call gets a fresh batch drawn (seeded) from the same sentences the
    clients send, as a server's batches are: repeating one batch would flatter the in-process side,
    since a predictor with oneDNN caches its kernels per input shape and a repeated batch always hits;
  - `hub serving` (--workers, default 1) with dynamic batching: --clients concurrent clients, each sending one
    sentence per request (requests/s, p50/p99 latency);
  - the same server with --no-batching.
Both servers run at once and the phases alternate for --rounds rounds, so a machine whose load
changes (shared CI runners) biases no phase; the table shows each phase's median round.
The clients are wrk (Debian's `wrk`, a C load generator: `apt-get install wrk`) when it is on the
PATH, else Python threads with http.client (--load python). On a 2-core machine the load generator
shares the cores with the server, and wrk costs a fraction of what Python clients cost per request.
Targets: batching >= 0.7 x in-process batched, and >= 3 x no batching. Every phase stops by itself
(request count and time limit), and the servers are stopped at the end even on failure.

    .venv/bin/python tools/bench/bench_serving.py --overhead           # what the server costs per request

--overhead serves tools/bench/noop_module (a method that returns its input) with `hub serving`'s
defaults (access log on, into a file) beside tools/bench/bare_app.py, the least a Starlette app on
the same uvicorn does for that request (read the JSON, answer it), and loads both alternately with
wrk -t2 -c16. Besides requests/s it shows the CPU time each server's processes (worker and model
process) spend per request, which a busy machine disturbs less. Target: served >= 0.6 x bare.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import socket
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

SENTENCES = [
    "今天天气不错", "百度是一家高科技公司", "LAC是个优秀的分词工具", "我爱北京天安门",
    "春天来了，公园里的花都开了", "他在清华大学学习计算机科学", "这家餐厅的菜味道很好，价格也不贵",
    "飞桨是一个开源的深度学习平台", "明天上午十点在会议室开会", "长江是中国最长的河流",
    "小明和小红一起去图书馆看书", "请把这份文件发给张经理", "人工智能正在改变我们的生活",
    "上海的夜景非常漂亮", "我们下周去杭州旅游吧", "这部电影讲述了一个感人的故事",
]
HOST = "127.0.0.1"
SEED = 8866


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class InProcess:
    """The module loaded here, called directly."""

    def __init__(self, args: argparse.Namespace):
        import hubcore as hub

        init_args = json.loads(args.init_args)
        self.module = (hub.Module(directory=args.directory, **init_args) if args.directory
                       else hub.Module(name=args.module, **init_args))
        sig = self.module.default_signature
        if not sig.batch_input:
            raise SystemExit(f"{self.module.name}.{sig.name} has no batch input; dynamic batching does not apply")
        self.field = sig.batch_input
        self.method = getattr(self.module, sig.name)
        self.clients = args.clients
        self.draw = random.Random(SEED)
        self.rate(self.clients, 1.0, 50)  # warm-up

    def rate(self, batch_size: int, seconds: float, max_calls: int) -> float:
        """Sentences per second calling the method on fresh batches of batch_size sentences."""
        batches = [self.draw.choices(SENTENCES, k=batch_size) for _ in range(max_calls)]
        calls, started = 0, time.perf_counter()
        while calls < max_calls and time.perf_counter() - started < seconds:
            self.method(**{self.field: batches[calls]})
            calls += 1
        return calls * batch_size / (time.perf_counter() - started)


class ServedModule:
    """A `hub serving start` subprocess on a free loopback port."""

    def __init__(self, args: argparse.Namespace, *, batching: bool, log_level: str = "warning"):
        self.port = free_port()
        self.config = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        entry = {"init_args": json.loads(args.init_args)}
        if args.directory:
            entry["directory"] = args.directory
        json.dump({"modules_info": {args.name: entry}}, self.config)  # PaddleHub's config format
        self.config.close()
        cmd = [sys.executable, "-m", "hubcore.server", "start", "-c", self.config.name,
               "-p", str(self.port), "--log-level", log_level, "--max-batch-size", str(args.max_batch_size),
               "--workers", str(args.workers), "--isolation", args.isolation]
        if not batching:
            cmd.append("--no-batching")
        if args.batch_timeout_ms is not None:
            cmd += ["--batch-timeout-ms", str(args.batch_timeout_ms)]
        env = {k: v for k, v in os.environ.items() if k != "HUB_SERVING_TOKEN"}
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, path: str, body: bytes) -> None:
        deadline = time.monotonic() + 300
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                raise SystemExit(f"server did not start:\n{self.log.read().decode(errors='replace')[-3000:]}")
            try:
                if request(self.port, "GET", "/v2/health/ready")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        for _ in range(4):  # warm-up
            request(self.port, "POST", path, body)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        os.unlink(self.config.name)


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=60)  # loopback only, never a proxy
    try:
        conn.request(method, path, body=body, headers={"content-type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def load(port: int, path: str, field: str, clients: int, seconds: float, max_requests: int) -> dict[str, Any]:
    """clients threads, each with one keep-alive http.client connection and one sentence per request.

    http.client rather than requests/httpx: on a small machine the load generator shares the cores
    with the server, and http.client costs far less per request, so the numbers say more about the server.
    """
    latencies: list[float] = []
    errors = [0]
    first_error: list[str | None] = [None]
    lock = threading.Lock()
    budget = [max_requests]
    deadline = time.perf_counter() + seconds

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        i = index
        while time.perf_counter() < deadline:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            body = json.dumps({field: [SENTENCES[i % len(SENTENCES)]]}, ensure_ascii=False).encode()
            i += 1
            t0 = time.perf_counter()
            error = None
            try:
                conn.request("POST", path, body=body, headers={"content-type": "application/json"})
                response = conn.getresponse()
                answer = response.read()
                if response.status != 200:
                    error = f"HTTP {response.status}: {answer[:200]!r}"
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                error = f"{type(exc).__name__}: {exc}"
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                latencies.append(ms)
                if error:
                    errors[0] += 1
                    first_error[0] = first_error[0] or error
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if first_error[0]:
        print(f"{errors[0]} failed requests on port {port}, the first: {first_error[0]}", file=sys.stderr)
    return {"rps": len(latencies) / (time.perf_counter() - started), "p50": percentile(latencies, 0.5),
            "p99": percentile(latencies, 0.99), "errors": errors[0]}


WRK_SCRIPT = """
local bodies = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "%s", {["content-type"] = "application/json"}, bodies[(i %% #bodies) + 1])
end
"""
_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def load_wrk(port: int, path: str, field: str, clients: int, seconds: float, threads: int = 1) -> dict[str, Any]:
    """wrk: `threads` threads, `clients` keep-alive connections, each sending one sentence per request."""
    bodies = ", ".join("[==[" + json.dumps({field: [s]}, ensure_ascii=False) + "]==]" for s in SENTENCES)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as script:
        script.write(WRK_SCRIPT % (bodies, path))
    try:
        out = subprocess.run(["wrk", f"-t{threads}", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--latency",
                              "-s", script.name, f"http://{HOST}:{port}"],
                             capture_output=True, text=True, timeout=seconds + 60).stdout
    finally:
        os.unlink(script.name)

    def latency(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        return float(m.group(1)) * _WRK_UNITS[m.group(2)] if m else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if rps is None:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, sock.groups())) if sock else 0)
    if errors:
        print(f"{errors} failed requests on port {port}:\n{out}", file=sys.stderr)
    return {"rps": float(rps.group(1)), "p50": latency("50%"), "p99": latency("99%"), "errors": errors,
            "requests": int(total.group(1)) if total else 0}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by pid and its live descendants (the model processes)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = {pid}, [pid]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier and p not in tree]
        tree.update(children)
        frontier = children
    return sum(times.get(p, 0.0) for p in tree)


class BareApp:
    """tools/bench/bare_app.py on a free loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("bare_app.py")), str(self.port)],
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


def overhead(args: argparse.Namespace) -> int:
    """The no-op module served by `hub serving` beside the bare Starlette app, alternating rounds."""
    if args.load != "wrk":
        raise SystemExit("--overhead needs wrk (apt-get install wrk): Python clients would cost more than the servers")
    args.directory = str(Path(__file__).with_name("noop_module").resolve())
    args.name, field, path = "noop", "text", "/predict/noop"
    load_before = os.getloadavg()[0]
    warm = json.dumps({field: [SENTENCES[0]]}, ensure_ascii=False).encode()
    servers: dict[str, Any] = {"bare Starlette app": BareApp(),
                               "hub serving, no-op module": ServedModule(args, batching=True, log_level="info")}
    rounds: dict[str, list[dict]] = {label: [] for label in servers}
    try:
        for server in servers.values():
            server.wait_ready(path, warm) if isinstance(server, ServedModule) else _wait_bare(server, path, warm)
        for r in range(args.rounds):
            for label, server in servers.items():
                cpu = tree_cpu_s(server.process.pid)
                result = load_wrk(server.port, path, field, args.clients, args.phase_s, threads=2)
                result["cpu_us"] = (tree_cpu_s(server.process.pid) - cpu) / max(1, result["requests"]) * 1e6
                rounds[label].append(result)
            print(f"round {r + 1}/{args.rounds}: " + ", ".join(
                f"{label} {rounds[label][-1]['rps']:.0f}/s" for label in servers), file=sys.stderr)
    finally:
        for server in servers.values():
            server.stop()
    print(f"\nserving overhead: wrk -t2 -c{args.clients}, one sentence per request, loopback, 1 worker, "
          f"{os.cpu_count()} CPUs; median of {args.rounds} alternating rounds of {args.phase_s:g} s; load average "
          f"before {load_before:.2f}")
    print(f"{'server':<30}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU us/req':>12}{'errors':>8}{'x bare':>8}"
          f"{'CPU x bare':>12}")
    medians = {}
    for label, runs in rounds.items():
        rps = statistics.median(r["rps"] for r in runs)
        cpu = statistics.median(r["cpu_us"] for r in runs)
        middle = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
        medians[label] = (rps, cpu, sum(r["errors"] for r in runs), middle)
    base_rps, base_cpu = medians["bare Starlette app"][:2]
    for label, (rps, cpu, errs, middle) in medians.items():
        print(f"{label:<30}{rps:>9.0f}{middle['p50']:>9.2f}{middle['p99']:>9.2f}{cpu:>12.1f}{errs:>8}"
              f"{rps / base_rps:>8.2f}{cpu / base_cpu:>12.2f}")
    ratio = medians["hub serving, no-op module"][0] / base_rps
    print(f"\nserved / bare = {ratio:.2f} (target >= 0.60): {'ok' if ratio >= 0.6 else 'MISSED'}")
    return 0 if all(m[2] == 0 for m in medians.values()) else 1


def _wait_bare(server: BareApp, path: str, body: bytes) -> None:
    deadline = time.monotonic() + 60
    while True:
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the bare app did not start")
        try:
            if request(server.port, "POST", path, body)[0] == 200:
                return
        except OSError:
            time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--module", default="lac", help="installed module name (default lac)")
    parser.add_argument("--directory", help="serve a development module folder instead of --module")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients = in-process batch size")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of every phase")
    parser.add_argument("--phase-s", type=float, default=4.0, help="time limit of one phase in one round")
    parser.add_argument("--requests", type=int, default=10000, help="requests per served phase (at most)")
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--batch-timeout-ms", type=float, help="the server's --batch-timeout-ms (default: its own)")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (each loads the module)")
    parser.add_argument("--load", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python",
                        help="load generator (default wrk when installed)")
    parser.add_argument("--isolation", choices=["process", "thread"], default="process",
                        help="where the served module runs (hub serving start --isolation)")
    parser.add_argument("--init-args", default="{}", help='module init args as JSON, e.g. \'{"mkldnn": false}\'')
    parser.add_argument("--overhead", action="store_true",
                        help="serve a no-op module beside a bare Starlette app instead (what the server costs)")
    args = parser.parse_args()
    if args.overhead:
        return overhead(args)
    if args.directory:
        args.directory = str(Path(args.directory).resolve())

    load_before = os.getloadavg()[0]
    local = InProcess(args)
    name, field = local.module.name, local.field
    args.name = name
    path = f"/predict/{name}"
    warm = json.dumps({field: [SENTENCES[0]]}, ensure_ascii=False).encode()
    servers = {"served, dynamic batching": ServedModule(args, batching=True),
               "served, no batching": ServedModule(args, batching=False)}
    rounds: dict[str, list[dict]] = {label: [] for label in servers}
    inproc, single = [], []
    try:
        for server in servers.values():
            server.wait_ready(path, warm)
        for r in range(args.rounds):
            inproc.append(local.rate(local.clients, args.phase_s, 5_000))
            single.append(local.rate(1, args.phase_s / 2, 10_000))
            for label, server in servers.items():
                if args.load == "wrk":
                    rounds[label].append(load_wrk(server.port, path, field, args.clients, args.phase_s))
                else:
                    rounds[label].append(load(server.port, path, field, args.clients, args.phase_s, args.requests))
            print(f"round {r + 1}/{args.rounds}: in-process {inproc[-1]:.0f}/s, " + ", ".join(
                f"{label} {rounds[label][-1]['rps']:.0f}/s" for label in servers), file=sys.stderr)
    finally:
        for server in servers.values():
            server.stop()

    base = statistics.median(inproc)
    print(f"\nmodule {name} (init args {args.init_args}): {args.clients} concurrent clients ({args.load}), one sentence "
          f"per request, loopback, {args.workers} worker(s), isolation {args.isolation}, {os.cpu_count()} CPUs; "
          f"median of {args.rounds} alternating rounds of {args.phase_s:g} s; load average before "
          f"{load_before:.2f}")
    print(f"{'mode':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'x in-process':>14}")
    print(f"{'in-process, batch of ' + str(args.clients):<34}{base:>9.1f}{'':>9}{'':>9}{'':>8}{1.0:>14.2f}")
    print(f"{'in-process, one per call':<34}{statistics.median(single):>9.1f}{'':>9}{'':>9}{'':>8}"
          f"{statistics.median(single) / base:>14.2f}")
    summary = {}
    for label, runs in rounds.items():
        median_round = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
        rps = median_round["rps"]
        errs = sum(r["errors"] for r in runs)
        summary[label] = (rps, errs)
        print(f"{label:<34}{rps:>9.1f}{median_round['p50']:>9.1f}{median_round['p99']:>9.1f}{errs:>8}"
              f"{rps / base:>14.2f}")
    batched, unbatched = summary["served, dynamic batching"][0], summary["served, no batching"][0]
    print(f"\nbatching / in-process batched = {batched / base:.2f} (target >= 0.70): "
          f"{'ok' if batched / base >= 0.7 else 'MISSED'}")
    print(f"batching / no batching        = {batched / unbatched:.2f} (target >= 3.00): "
          f"{'ok' if batched / unbatched >= 3 else 'MISSED'}")
    print(f"in-process, batch / one per call = {base / statistics.median(single):.2f} (what batching gains the "
          f"module itself, before any server)")
    return 0 if all(errs == 0 for _, errs in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
