"""CPU choices that must be made once per process, before paddle's first matrix product.

Paddle's CPU wheels ship MKL 2019.0 Update 5, which on AMD processors takes a generic code path
unless MKL_DEBUG_CPU_TYPE=5 says the CPU runs its AVX2 kernels. MKL reads the variable when it
first picks its kernels, so every hubcore path that builds a paddle network or predictor calls
prefer_mkl_avx2_on_amd first: then all modules of a process run on the same kernels whichever
loads first, and no module's float outputs depend on the order modules were loaded in.
Measured on an AMD EPYC: a 256-sentence lac call 71-84 ms -> 50-53 ms with identical words and
tags (modules/hubmod-lac/README.md). MKL releases from 2020.1 ignore the variable; Intel CPUs get
MKL's AVX2/AVX-512 kernels without it.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

MKL_CPU_TYPE_VARIABLE = "MKL_DEBUG_CPU_TYPE"
MKL_CPU_TYPE_AVX2 = "5"


def first_cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The first processor's block of /proc/cpuinfo ("" where there is none, e.g. not Linux)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as handle:
            lines = []
            for line in handle:
                if not line.strip():
                    break
                lines.append(line)
    except OSError:
        return ""
    return "".join(lines)


def prefer_mkl_avx2_on_amd(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Let paddle's MKL use its AVX2 kernels on an AMD CPU that has AVX2; True if the variable was set.

    It changes nothing once MKL has run in this process. A value the user set, even empty, is kept
    (`MKL_DEBUG_CPU_TYPE=` restores MKL's own choice).
    """
    if MKL_CPU_TYPE_VARIABLE in os.environ:
        return False
    text = first_cpu(cpuinfo)  # empty where there is no /proc/cpuinfo: MKL decides
    if "AuthenticAMD" not in text or not re.search(r"^flags\s*:.*\bavx2\b", text, re.MULTILINE):
        return False
    os.environ[MKL_CPU_TYPE_VARIABLE] = MKL_CPU_TYPE_AVX2
    return True
