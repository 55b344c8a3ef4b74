"""Inter-process locks that say what they wait for instead of hanging silently.

The locks only avoid duplicate work; correctness rests on process-unique temporary files and
atomic renames, so a lock that does not hold (some network file systems) costs bandwidth, not data.
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator

from .layout import lock_path

# How often a waiting process repeats that it is still waiting (seconds).
NOTICE_SECONDS = 10.0


@contextmanager
def locked(name: str, what: str) -> Iterator[None]:
    """Hold the lock .locks/<name>.lock; while another process holds it, say so on stderr."""
    from filelock import FileLock, Timeout

    path = lock_path(name)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        started = time.monotonic()
        print(f"hub: waiting for {what} (locked by another process; lock file {path})...",
              file=sys.stderr, flush=True)
        while True:
            try:
                lock.acquire(timeout=NOTICE_SECONDS)
                break
            except Timeout:
                waited = time.monotonic() - started
                print(f"hub: still waiting for {what} (locked by another process) after {waited:.0f}s; "
                      f"(lock file {path})", file=sys.stderr, flush=True)
    try:
        yield
    finally:
        lock.release()
