"""Start a real `hub serving` process on a loopback port and talk to it; nothing leaves 127.0.0.1."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import requests

TESTMOD_SOURCE = Path(__file__).with_name("serving_testmod.py")
HOST = "127.0.0.1"


def make_testmod(folder: Path, name: str = "testmod") -> Path:
    """A development module folder holding the test module."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(TESTMOD_SOURCE, folder / "module.py")
    (folder / "hubmodule.toml").write_text(
        f'package = "serving-testmod"\nversion = "1.2.3"\n[modules.{name}]\n'
        f'class = "module:ServingTestModule"\ncategory = "test/serving"\nsummary = "serving test module"\n'
        f'license = "MIT"\n')
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def session(token: str | None = None) -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # never route loopback traffic through a proxy from the environment
    if token:
        s.headers["Authorization"] = f"Bearer {token}"
    return s


def serving_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hubcore.server", *args]


class Server:
    """A `python -m hubcore.server start ...` process in the foreground of a subprocess."""

    def __init__(self, args: list[str], *, port: int, hub_home: Path, env: dict | None = None,
                 log: Path | None = None, preexec_fn: Callable[[], None] | None = None):
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.log_path = log or hub_home / f"server-{port}.log"
        # a token in the caller's environment must not leak into servers that test running without one
        self.env = {k: v for k, v in os.environ.items() if k != "HUB_SERVING_TOKEN"}
        self.env.update({"HUB_HOME": str(hub_home), "HUB_RUNTIME_DIR": str(hub_home / "serving"), **(env or {})})
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(serving_command("start", "-p", str(port), *args), stdout=self._log,
                                        stderr=subprocess.STDOUT, env=self.env, preexec_fn=preexec_fn)

    def wait_ready(self, timeout: float = 60.0) -> "Server":
        deadline = time.monotonic() + timeout
        s = session()
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if s.get(f"{self.url}/v2/health/ready", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server not ready after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


def child_processes(parent: int, marker: bytes) -> set[int]:
    """Live (not zombie) children of parent whose command line contains marker."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rpartition(")")[2].split()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat[1]) == parent and marker in cmdline and stat[0] != "Z":
                found.add(int(entry.name))
    return found
