"""The model process's own resident memory, and giving freed memory back to the system.

Allocators keep what a large call freed (glibc's malloc holds it in its arenas), so a process
that once served a huge request stays that large. After each call the child measures itself;
above the ceiling it first asks malloc to return free pages, and only if that is not enough does
it end itself so that a fresh process takes its queue (`model_process`).
"""
from __future__ import annotations

import ctypes
import os
import resource
import sys

_MB = 1024 * 1024


def rss_bytes() -> int:
    """Resident set size now (Linux: /proc/self/statm); elsewhere the peak, the best available."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def trim() -> None:
    """Return the allocator's free memory to the system, where the C library can (glibc's malloc_trim)."""
    try:
        malloc_trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # the process's own C library
    except OSError:
        return
    if malloc_trim is not None:
        malloc_trim(0)


def above_ceiling(ceiling_mb: int) -> int | None:
    """The resident MB if above ceiling_mb even after trimming, else None."""
    if rss_bytes() <= ceiling_mb * _MB:
        return None
    trim()
    rss = rss_bytes()
    return rss // _MB if rss > ceiling_mb * _MB else None
