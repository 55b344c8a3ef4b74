"""Training progress: a redrawn bar on a terminal, plain log lines everywhere else (CI logs, files)."""
from __future__ import annotations

import sys
import time
from typing import TextIO


def format_metrics(values: dict[str, float]) -> str:
    return " ".join(f"{name}={value:.4f}" for name, value in values.items())


class Progress:
    """One epoch's steps. On a TTY the line is redrawn in place; otherwise every log_interval steps
    (and the last) prints one line, so logs stay readable and small."""

    def __init__(self, total: int, title: str, log_interval: int, stream: TextIO | None = None,
                 enabled: bool = True) -> None:
        self.total = total
        self.title = title
        self.log_interval = max(1, log_interval)
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()

    def update(self, step: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        last = step == self.total
        if self.tty:
            self.stream.write("\r" + self._line(step, values, bar=True))
            if last:
                self.stream.write("\n")
            self.stream.flush()
        elif last or step % self.log_interval == 0:
            self.stream.write(self._line(step, values, bar=False) + "\n")
            self.stream.flush()

    def _line(self, step: int, values: dict[str, float], bar: bool) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = f"{step / elapsed:.2f} steps/s"
        counter = f"{step}/{self.total}"
        if bar:
            width = 24
            filled = int(width * step / max(self.total, 1))
            counter = f"[{'#' * filled}{'.' * (width - filled)}] {counter}"
        return f"{self.title} {counter} {format_metrics(values)} {rate}"


def log(message: str, enabled: bool = True, stream: TextIO | None = None) -> None:
    if enabled:
        out = stream or sys.stderr
        out.write(message + "\n")
        out.flush()
