"""Pid files under settings.hub_home()/serving/<port>.pid, so `hub serving stop -p PORT` finds its server.

A recorded pid is trusted only while that process is alive, is not a zombie, started at the
recorded time (pids get reused) and runs `serving start` (so stop never signals a stranger).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .. import settings


@dataclass(frozen=True)
class PidRecord:
    pid: int
    port: int
    host: str
    start_ticks: int | None  # /proc/<pid>/stat start time, where /proc exists


def serving_dir() -> Path:
    return settings.hub_home() / "serving"


def pid_path(port: int) -> Path:
    return serving_dir() / f"{port}.pid"


def log_path(port: int) -> Path:
    return serving_dir() / f"{port}.log"


def write(port: int, host: str, pid: int | None = None) -> PidRecord:
    pid = pid or os.getpid()
    record = PidRecord(pid=pid, port=port, host=host, start_ticks=_start_ticks(pid))
    path = pid_path(port)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{pid}.tmp")
    tmp.write_text(json.dumps(record.__dict__))
    os.replace(tmp, path)
    return record


def read(port: int) -> PidRecord | None:
    try:
        raw = json.loads(pid_path(port).read_text())
        return PidRecord(pid=int(raw["pid"]), port=int(raw["port"]), host=str(raw["host"]),
                         start_ticks=raw.get("start_ticks"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove(port: int, pid: int) -> None:
    """Remove the pid file if it still records pid (a newer server may have replaced it)."""
    record = read(port)
    if record is not None and record.pid == pid:
        try:
            pid_path(port).unlink()
        except FileNotFoundError:
            pass


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, but someone else's
    stat = _stat_fields(pid)
    return stat is None or stat[0] != "Z"


def is_ours(record: PidRecord) -> bool:
    """Alive, the same process that wrote the record, and a `serving start` command."""
    if not is_running(record.pid):
        return False
    if record.start_ticks is not None and _start_ticks(record.pid) != record.start_ticks:
        return False
    cmdline = _cmdline(record.pid)
    if cmdline is None:
        return True  # no /proc: alive is the best we can check
    joined = " ".join(cmdline)  # `hub serving start ...` or `python -m hubcore.server start ...`
    return ("serving" in joined or "hubcore.server" in joined) and "start" in cmdline


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()  # fields from the 3rd (state) on; comm may hold spaces


def _start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
