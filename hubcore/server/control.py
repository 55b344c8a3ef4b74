"""Starting (foreground or background) and stopping a server, with its pid file."""
from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from ..errors import HubError
from . import pidfile
from .config import CONFIG_ENV, ServingConfig

APP = "hubcore.server.worker:app_from_environment"
PROTOCOL = "hubcore.server.connections:GuardedHttpToolsProtocol"
CHILD_FLAG = "--from-environment"  # hidden: the background child reads its config from CONFIG_ENV


class _Stopped(Exception):
    """SIGTERM arrived after uvicorn finished its graceful shutdown and handed the signal back."""


def check_free(config: ServingConfig) -> None:
    """Refuse early, with the fix, if our server or anything else already holds the port."""
    record = pidfile.read(config.port)
    if record is not None:
        if pidfile.is_ours(record):
            raise HubError(f"a server started by hub already runs on port {config.port} (pid {record.pid}); "
                           f"stop it with `hub serving stop -p {config.port}` or choose another -p")
        pidfile.remove(config.port, record.pid)  # stale: its process is gone
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((config.host, config.port))
        except OSError as exc:
            raise HubError(f"cannot listen on {config.host}:{config.port} ({exc.strerror}); "
                           f"another program uses it: choose another -p") from None


def run_foreground(config: ServingConfig) -> int:
    """Serve until SIGTERM/SIGINT (graceful: requests in flight finish, up to graceful_timeout_s)."""
    import uvicorn

    from .connections import raise_open_file_limit
    from .logs import logging_config

    check_free(config)
    raise_open_file_limit()  # workers inherit it; max_connections stays below it
    os.environ[CONFIG_ENV] = config.to_json()  # spawned workers inherit it
    pidfile.write(config.port, config.host)

    def stopped(signum: int, frame: Any) -> None:
        raise _Stopped()

    previous = signal.signal(signal.SIGTERM, stopped)
    code = 0
    try:
        uvicorn.run(
            APP,
            factory=True,
            host=config.host,
            port=config.port,
            workers=config.workers,
            lifespan="on",
            log_config=logging_config(config.log_level),
            access_log=False,
            server_header=False,
            http=PROTOCOL,
            timeout_keep_alive=config.keep_alive_timeout_s,
            timeout_graceful_shutdown=max(1, math.ceil(config.graceful_timeout_s)),
            # a worker loading large models answers pings from a thread; give slow machines room
            timeout_worker_healthcheck=60,
        )
    except _Stopped:
        code = 0
    except SystemExit as exc:  # uvicorn exits 3 when a worker fails to start (module load error, ...)
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        signal.signal(signal.SIGTERM, previous)
        pidfile.remove(config.port, os.getpid())
    return code


def start_background(config: ServingConfig, start_timeout_s: float) -> int:
    """Start a detached server, wait until it is ready, print where it is and how to stop it."""
    check_free(config)
    pidfile.writable_serving_dir()
    log = pidfile.log_path(config.port)
    env = {**os.environ, CONFIG_ENV: config.to_json()}
    with open(log, "ab") as out:
        child = subprocess.Popen([sys.executable, "-m", "hubcore.server", "start", CHILD_FLAG],
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True)
    host = "127.0.0.1" if config.host in ("0.0.0.0", "") else ("::1" if config.host == "::" else config.host)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{config.port}/v2/health/ready"
    deadline = time.monotonic() + start_timeout_s
    while time.monotonic() < deadline:
        if child.poll() is not None:
            print(f"the server exited with code {child.returncode} while starting; its log ({log}) ends with:",
                  file=sys.stderr)
            print(_tail(log), file=sys.stderr)
            return 1
        if _ready(url):
            print(f"serving on http://{config.host}:{config.port} (pid {child.pid}, log {log}); "
                  f"stop it with `hub serving stop -p {config.port}`")
            return 0
        time.sleep(0.2)
    print(f"the server (pid {child.pid}) is not ready after {start_timeout_s:.0f} s; it keeps loading in the "
          f"background: watch {log}, or stop it with `hub serving stop -p {config.port}`", file=sys.stderr)
    return 1


def stop(port: int, wait_s: float) -> int:
    record = pidfile.read(port)
    path = pidfile.pid_path(port)
    if record is None:
        print(f"no server started by hub on port {port} (no pid file at {path})", file=sys.stderr)
        return 1
    if not pidfile.is_ours(record):
        pidfile.remove(port, record.pid)
        print(f"the server recorded for port {port} (pid {record.pid}) is no longer running; "
              f"removed the stale pid file {path}", file=sys.stderr)
        return 1
    os.kill(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while pidfile.is_running(record.pid):
        if time.monotonic() > deadline:
            print(f"the server (pid {record.pid}) is still finishing requests after {wait_s:.0f} s; it stops "
                  f"once its graceful timeout passes (force it with `kill -9 {record.pid}`)", file=sys.stderr)
            return 1
        time.sleep(0.1)
    pidfile.remove(port, record.pid)
    print(f"stopped the server on port {port} (pid {record.pid})")
    return 0


def _ready(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    try:
        with opener.open(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Any, lines: int = 20) -> str:
    try:
        return "\n".join(open(path, encoding="utf-8", errors="replace").read().splitlines()[-lines:])
    except OSError:
        return "(no log)"
