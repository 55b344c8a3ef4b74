"""Pid files (<port>.pid) and background logs (<port>.log) in the runtime folder, so `hub serving stop -p
PORT` finds its server.

The runtime folder is $HUB_RUNTIME_DIR, else $XDG_RUNTIME_DIR/hubcore, else hubcore-<uid> in the
system's temporary folder; never the artifact cache, which may be read-only (a shared or baked-in
HUB_HOME). A folder of our own in a shared /tmp must belong to this user and be writable by no one
else, or a stranger could plant pid files there.

A recorded pid is trusted only while that process is alive, is not a zombie, started at the
recorded time (pids get reused) and runs `serving start` (so stop never signals a stranger).
"""
from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import HubError

RUNTIME_ENV = "HUB_RUNTIME_DIR"


@dataclass(frozen=True)
class PidRecord:
    pid: int
    port: int
    host: str
    start_ticks: int | None  # /proc/<pid>/stat start time, where /proc exists


def serving_dir() -> Path:
    """The runtime folder (read from the environment at each call); see the module's docstring."""
    explicit = os.environ.get(RUNTIME_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / "hubcore"
    return Path(tempfile.gettempdir()) / f"hubcore-{os.getuid()}"


def writable_serving_dir() -> Path:
    """serving_dir(), created if need be; HubError naming it and the fix if it cannot be written."""
    folder = serving_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
        if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
            raise HubError(f"the runtime folder {folder} (pid files and logs of `hub serving`) belongs to another "
                           f"user or is writable by others; remove it, or set {RUNTIME_ENV} to a folder of your own")
        probe = folder / f".probe.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise HubError(f"cannot write the runtime folder {folder} (pid files and logs of `hub serving`): "
                       f"{exc.strerror or exc}; set {RUNTIME_ENV} to a folder you can write") from None
    return folder


def pid_path(port: int) -> Path:
    return serving_dir() / f"{port}.pid"


def log_path(port: int) -> Path:
    return serving_dir() / f"{port}.log"


def write(port: int, host: str, pid: int | None = None) -> PidRecord:
    pid = pid or os.getpid()
    record = PidRecord(pid=pid, port=port, host=host, start_ticks=_start_ticks(pid))
    writable_serving_dir()
    path = pid_path(port)
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
