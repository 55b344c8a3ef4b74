"""hubcore.cpu.prefer_mkl_avx2_on_amd on hand-made /proc/cpuinfo files.

Its effect on a real module's outputs, on both MKL paths, is tested in tests/test_lac_engine.py.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from hubcore.cpu import MKL_CPU_TYPE_AVX2, MKL_CPU_TYPE_VARIABLE, prefer_mkl_avx2_on_amd

AMD_AVX2 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
flags\t\t: fpu vme sse sse2 avx avx2 fma avx512f

processor\t: 1
vendor_id\t: AuthenticAMD
"""
AMD_NO_AVX2 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse sse2 avx\n"
INTEL = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse sse2 avx avx2 avx512f\n"
# Only the first processor's block is read: a later one naming AMD and avx2 changes nothing.
INTEL_THEN_AMD = INTEL + "\nprocessor\t: 1\nvendor_id\t: AuthenticAMD\nflags\t\t: avx2\n"


@pytest.fixture
def no_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    # monkeypatch restores the variable afterwards, whatever prefer_mkl_avx2_on_amd wrote.
    monkeypatch.setenv(MKL_CPU_TYPE_VARIABLE, "placeholder")
    monkeypatch.delenv(MKL_CPU_TYPE_VARIABLE)


@pytest.mark.parametrize("cpuinfo, expected", [(AMD_AVX2, True), (AMD_NO_AVX2, False), (INTEL, False),
                                               (INTEL_THEN_AMD, False)],
                         ids=["amd-avx2", "amd-no-avx2", "intel", "intel-then-amd"])
def test_set_only_on_amd_with_avx2(tmp_path: Path, no_variable: None, cpuinfo: str, expected: bool) -> None:
    path = tmp_path / "cpuinfo"
    path.write_text(cpuinfo, encoding="utf-8")
    assert prefer_mkl_avx2_on_amd(path) is expected
    assert os.environ.get(MKL_CPU_TYPE_VARIABLE) == (MKL_CPU_TYPE_AVX2 if expected else None)


def test_a_value_the_user_set_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cpuinfo"
    path.write_text(AMD_AVX2, encoding="utf-8")
    monkeypatch.setenv(MKL_CPU_TYPE_VARIABLE, "")
    assert prefer_mkl_avx2_on_amd(path) is False
    assert os.environ[MKL_CPU_TYPE_VARIABLE] == ""


def test_no_cpuinfo_leaves_mkl_alone(tmp_path: Path, no_variable: None) -> None:
    assert prefer_mkl_avx2_on_amd(tmp_path / "missing") is False
    assert MKL_CPU_TYPE_VARIABLE not in os.environ


