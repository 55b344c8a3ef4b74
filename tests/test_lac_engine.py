"""The choice of MKL kernels on AMD processors (hubcore/cpu.py) as lac uses it: loading the module applies it.

The plain GRU kernel's matrix products run in the MKL that paddle ships, which takes a slow generic
path on AMD CPUs unless MKL_DEBUG_CPU_TYPE=5 tells it to use AVX2 (tests/test_core_cpu.py tests
when the variable is set). Child processes check that loading the module really sets it on such a
machine, and that MKL's default path gives the pinned results too (so the speed-up cannot change a
tag on any CPU).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hubcore.cpu import MKL_CPU_TYPE_AVX2, MKL_CPU_TYPE_VARIABLE, prefer_mkl_avx2_on_amd


@pytest.fixture
def no_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    # monkeypatch restores the variable afterwards, whatever prefer_mkl_avx2_on_amd wrote.
    monkeypatch.setenv(MKL_CPU_TYPE_VARIABLE, "placeholder")
    monkeypatch.delenv(MKL_CPU_TYPE_VARIABLE)


CHILD = """
import json, os, sys
sys.path.insert(0, {tests!r})
import hubcore as hub
from test_lac_corpus import CORPUS
lac = hub.Module(name="lac")
print(json.dumps({{"variable": os.environ.get({name!r}), "corpus": lac.cut(CORPUS)}}, ensure_ascii=False))
"""


def run_child(env_value: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != MKL_CPU_TYPE_VARIABLE}
    if env_value is not None:
        env[MKL_CPU_TYPE_VARIABLE] = env_value
    code = CHILD.format(tests=str(Path(__file__).parent), name=MKL_CPU_TYPE_VARIABLE)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_loading_the_module_applies_the_choice_and_both_mkl_paths_match_the_pins(
        tmp_path: Path, no_variable: None) -> None:
    pins = json.loads((Path(__file__).parent / "data" / "lac_corpus.json").read_text(encoding="utf-8"))
    wants_avx2 = prefer_mkl_avx2_on_amd()  # what this machine's CPU calls for

    chosen = run_child(None)
    assert chosen["variable"] == (MKL_CPU_TYPE_AVX2 if wants_avx2 else None)
    assert chosen["corpus"] == pins["modes"]["lac"]["corpus"]

    # MKL's own choice (an empty value is kept by the engine and ignored by MKL).
    default = run_child("")
    assert default["variable"] == ""
    assert default["corpus"] == pins["modes"]["lac"]["corpus"]
