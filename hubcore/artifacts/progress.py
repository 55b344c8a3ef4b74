"""What a download shows while it runs: a bar on a terminal, a line now and then everywhere else."""
from __future__ import annotations

import sys
import time
from typing import Any

# Seconds between progress lines when stderr is not a terminal (logs, CI, pipes).
LINE_SECONDS = 10.0


def _mib(n: float) -> str:
    return f"{n / (1 << 20):.1f} MiB"


class ProgressLines:
    """A line on stderr every LINE_SECONDS: how far the download is and how fast it goes."""

    def __init__(self, total: int | None, initial: int, what: str) -> None:
        self.total, self.done, self.what = total, initial, what
        self.started = self.last = time.monotonic()
        self.initial = initial
        self.printed = False

    def __enter__(self) -> "ProgressLines":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.printed and exc[0] is None:
            self._line("done")

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= LINE_SECONDS:
            self.last = now
            self._line("downloading")

    def _line(self, doing: str) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        of = f" of {_mib(self.total)} ({100 * self.done / self.total:.0f}%)" if self.total else ""
        print(f"hub: {doing} {self.what}: {_mib(self.done)}{of}, {_mib((self.done - self.initial) / elapsed)}/s",
              file=sys.stderr, flush=True)
        self.printed = True


def progress(total: int | None, initial: int, what: str) -> Any:
    """A tqdm bar on an interactive stderr, else ProgressLines; both have update(n)."""
    if hasattr(sys.stderr, "isatty") and sys.stderr.isatty():
        try:
            from tqdm import tqdm
        except ImportError:
            pass
        else:
            return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024,
                        desc=what, leave=False, file=sys.stderr)
    return ProgressLines(total, initial, what)
