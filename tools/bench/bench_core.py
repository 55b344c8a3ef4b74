"""Core speed: `import hubcore`, `hub list` with 300 installed modules, hub.Module(name=...) overhead.

    .venv/bin/python tools/bench/bench_core.py [--modules 300] [--repeat 9]

The 300 synthetic module packages are written straight into a temporary folder put on PYTHONPATH
(a dist-info with METADATA and entry_points.txt, and a package with hubmodule.toml and module.py,
as pip would leave them) instead of pip-installing 300 wheels: discovery sees the same files either
way. Modules already installed in this environment are listed too; the table says how many.
Every number is the median of --repeat runs; subprocess timings include interpreter start-up,
which is measured alone for reference.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

TARGETS = {"import": 0.050, "list": 0.300, "overhead": 0.020}

MODULE_PY = textwrap.dedent('''
    import hubcore

    class Synth(hubcore.Module):
        def __init__(self, scale: int = 1):
            self.scale = scale

        @hubcore.serving(batch="values", default=True)
        def double(self, values: list[int]) -> list[int]:
            """Double each value.

            Args:
                values: integers.
            """
            return [v * 2 * self.scale for v in values]
    ''')


def write_synthetic_modules(site: Path, count: int) -> list[str]:
    names = []
    for i in range(count):
        name = f"synth_{i:04d}"
        pkg, dist = f"hubmod_{name}", f"hubmod-synth-{i:04d}"
        folder = site / pkg
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text("")
        (folder / "module.py").write_text(MODULE_PY)
        (folder / "hubmodule.toml").write_text(textwrap.dedent(f"""
            package = "{dist}"
            [modules.{name}]
            class = "{pkg}.module:Synth"
            category = "bench/synthetic"
            summary = "synthetic module {i} for the core benchmark"
            license = "Apache-2.0"
            pretrained = true
            [modules.{name}.requires]
            paddle = ">=2.6"
            [[modules.{name}.artifacts]]
            name = "weights"
            source = "https://example.invalid/{name}.bin"
            sha256 = "{i:064x}"
            size = 1024
            """))
        info = site / f"{pkg}-1.0.{i}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0.{i}\n")
        (info / "entry_points.txt").write_text(f"[hubcore.modules]\n{name} = {pkg}.module:Synth\n")
        (info / "top_level.txt").write_text(pkg + "\n")
        names.append(name)
    return names


def wall(command: list[str], env: dict, repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of the command, in seconds."""
    import resource

    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def probe(code: str, env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


IMPORT_PROBE = ("import sys, time, json; t = time.perf_counter(); import hubcore; "
                "print(json.dumps({'s': time.perf_counter() - t, 'paddle': 'paddle' in sys.modules}))")

LIST_PROBE = textwrap.dedent("""
    import contextlib, io, json, sys
    from hubcore.cli.main import main
    with contextlib.redirect_stdout(io.StringIO()) as out:
        main(["list", "--json"])
    data = json.loads(out.getvalue())
    print(json.dumps({"listed": len(data["modules"]), "broken": len(data["broken"]),
                      "paddle": "paddle" in sys.modules,
                      "plugin_code": sorted(m for m in sys.modules if m.startswith("hubmod_"))}))
    """)

OVERHEAD_PROBE = textwrap.dedent("""
    import json, statistics, sys, time
    import hubcore
    name, repeat = sys.argv[1], int(sys.argv[2])
    first = time.perf_counter(); m = hubcore.Module(name=name); first = time.perf_counter() - first
    cls = type(m)
    via_hub, direct = [], []
    for _ in range(repeat):
        t = time.perf_counter(); hubcore.Module(name=name); via_hub.append(time.perf_counter() - t)
        t = time.perf_counter(); cls(); direct.append(time.perf_counter() - t)
    print(json.dumps({"first": first, "hub": statistics.median(via_hub), "direct": statistics.median(direct)}))
    """)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HUB_PLUGINS")}

    startup = wall([sys.executable, "-c", "pass"], env, args.repeat)
    imports = [probe(IMPORT_PROBE, env) for _ in range(args.repeat)]
    import_s = statistics.median(i["s"] for i in imports)
    paddle_on_import = any(i["paddle"] for i in imports)

    with tempfile.TemporaryDirectory(prefix="bench-core-") as tmp:
        site = Path(tmp) / "site"
        names = write_synthetic_modules(site, args.modules)
        env_synth = dict(env, PYTHONPATH=str(site))
        hub_list = [sys.executable, "-m", "hubcore.cli.main", "list"]
        list_empty = wall(hub_list, env, args.repeat)
        list_synth = wall(hub_list, env_synth, args.repeat)
        seen = probe(LIST_PROBE, env_synth)
        overhead = json.loads(subprocess.run(
            [sys.executable, "-c", OVERHEAD_PROBE, names[len(names) // 2], str(max(args.repeat, 21))],
            env=env_synth, check=True, capture_output=True, text=True).stdout)
    already = seen["listed"] - args.modules
    added = overhead["hub"] - overhead["direct"]

    rows = [
        ("python start-up alone (reference), wall", f"{startup[0] * 1000:.0f} ms", "", ""),
        ("import hubcore (in-process)", f"{import_s * 1000:.1f} ms", "< 50 ms", _ok(import_s < TARGETS["import"])),
        ("  paddle imported by `import hubcore`", "yes" if paddle_on_import else "no", "no", _ok(not paddle_on_import)),
        (f"hub list, {already} installed modules, wall", f"{list_empty[0] * 1000:.0f} ms", "", ""),
        (f"hub list, {seen['listed']} modules = {already} + {args.modules} synthetic, wall",
         f"{list_synth[0] * 1000:.0f} ms", "< 300 ms", _ok(list_synth[0] < TARGETS["list"])),
        ("  same, CPU time (user + sys)", f"{list_synth[1] * 1000:.0f} ms", "", ""),
        ("  paddle / module code imported by hub list", "yes" if seen["paddle"] or seen["plugin_code"] else "no",
         "no", _ok(not seen["paddle"] and not seen["plugin_code"])),
        ("hub.Module(name=...) first call (imports module code)", f"{overhead['first'] * 1000:.1f} ms", "", ""),
        ("hub.Module(name=...) cached module", f"{overhead['hub'] * 1000:.2f} ms", "", ""),
        ("Class() directly", f"{overhead['direct'] * 1000:.3f} ms", "", ""),
        ("  added by hub.Module", f"{added * 1000:.2f} ms", "< 20 ms", _ok(added < TARGETS["overhead"])),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'median':>10}  {'target':>9}  ok")
    for label, value, target, ok in rows:
        print(f"{label:<{width}}  {value:>10}  {target:>9}  {ok}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"({args.repeat} runs each; {seen['broken']} broken entries; python {sys.version.split()[0]}; "
          f"{os.cpu_count()} CPUs, load average {load})")
    return 0


def _ok(flag: bool) -> str:
    return "yes" if flag else "NO"


if __name__ == "__main__":
    sys.exit(main())
