"""Reading .pdparams: hubcore's bounded restricted reader against plain pickle.load, side by side.

    .venv/bin/python tools/bench/bench_formats.py [--rounds 5]

hubcore.formats reads weight pickles with the standard library's pure-Python unpickler, every
opcode checked and charged to a budget (hubcore/formats/safe_pickle.py), where pickle.load runs
C code and trusts the file. For each file, in interleaved rounds (so machine load hits both alike):
  pickle     pickle.load with numpy imported: C, unrestricted, unsafe: the floor
  hubcore    hubcore.formats.pdparams.read_pdparams: restricted, bounded, arrays copied out
Numbers are CPU milliseconds (process time), medians over rounds; the ratio is the median of
per-round hubcore / pickle. Files: a few large arrays (what weight files are: the cost is the
copy) and many tiny ones (the opcode loop dominates: the worst case for the pure-Python reader).
"""
from __future__ import annotations

import argparse
import pickle
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from hubcore.formats.pdparams import read_pdparams


def _files(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    cases = {
        "20 x 4 MB, protocol 4": ({f"layer{i}.weight": rng.standard_normal(1 << 20, dtype=np.float32)
                                   for i in range(20)}, 4),
        "20 x 4 MB, protocol 2": ({f"layer{i}.weight": rng.standard_normal(1 << 20, dtype=np.float32)
                                   for i in range(20)}, 2),
        "5000 x 64 B, protocol 4": ({f"layer{i}.bias": rng.standard_normal(16, dtype=np.float32)
                                     for i in range(5000)}, 4),
    }
    out = {}
    for i, (name, (state, protocol)) in enumerate(cases.items()):
        out[name] = folder / f"case{i}.pdparams"
        out[name].write_bytes(pickle.dumps(state, protocol=protocol))
    return out


def _cpu_ms(fn) -> float:
    start = time.process_time()
    fn()
    return (time.process_time() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = _files(Path(tmp))
        print(f"{'file':26} {'MB':>6} {'pickle ms':>10} {'hubcore ms':>11} {'hubcore/pickle':>15}")
        for name, path in files.items():
            def plain() -> object:
                with open(path, "rb") as f:
                    return pickle.load(f)

            ours = lambda: read_pdparams(path)  # noqa: E731
            assert set(plain()) == set(ours())
            base, mine = [], []
            for _ in range(args.rounds):
                base.append(_cpu_ms(plain))
                mine.append(_cpu_ms(ours))
            ratio = statistics.median(m / b for m, b in zip(mine, base))
            print(f"{name:26} {path.stat().st_size / 1e6:6.1f} {statistics.median(base):10.1f} "
                  f"{statistics.median(mine):11.1f} {ratio:15.2f}")


if __name__ == "__main__":
    main()
