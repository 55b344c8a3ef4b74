"""Several processes at once, a process killed mid-download, and waiting on a held lock."""
from __future__ import annotations

import contextlib
import hashlib
import io
import multiprocessing
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from support.httpserver import FakeServer  # noqa: E402

from hubcore.artifacts import fetch_artifact, locks  # noqa: E402
from hubcore.manifest import ArtifactSpec  # noqa: E402

# The same bytes in every spawned process (each re-imports this file).
PAYLOAD = random.Random(20261125).randbytes(1 << 20)
SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def hub(tmp_path, monkeypatch):
    # Environment, not monkeypatched attributes: spawned processes inherit only the environment.
    home = tmp_path / "hub"
    monkeypatch.setenv("HUB_HOME", str(home))
    for var in ("HUB_MIRROR", "HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HUB_DOWNLOAD_RETRIES", "3")
    monkeypatch.setenv("HUB_DOWNLOAD_TIMEOUT", "20")
    return home


def spec(url: str) -> ArtifactSpec:
    return ArtifactSpec(name="weights", source=url, sha256=SHA, size=len(PAYLOAD))


def fetch_in_child(url: str, barrier, results) -> None:
    err = io.StringIO()
    barrier.wait(timeout=120)
    with contextlib.redirect_stderr(err):
        path = fetch_artifact(spec(url), module="demo", version="1.0")
    results.put((str(path), hashlib.sha256(path.read_bytes()).hexdigest(), err.getvalue()))


def fetch_until_killed(url: str) -> None:
    fetch_artifact(spec(url), module="demo", version="1.0")


def test_four_processes_download_once(hub):
    ctx = multiprocessing.get_context("spawn")
    with FakeServer() as server:
        # Slow enough (about 1 s) that all four ask while the first is still downloading.
        server.add("/w.bin", PAYLOAD, delay=0.06)
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=fetch_in_child, args=(server.url("/w.bin"), barrier, results)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=120)
        assert [p.exitcode for p in procs] == [0] * 4, "a fetching process failed (its traceback is above)"
        got = [results.get(timeout=10) for _ in procs]
        assert len(server.gets("/w.bin")) == 1, "exactly one process may download the artifact"
    assert {g[0] for g in got} == {str(hub / "blobs" / SHA)}
    assert {g[1] for g in got} == {SHA}
    assert sum("waiting for artifact 'weights'" in g[2] for g in got) >= 1, [g[2] for g in got]


def test_killed_download_then_clean_retry(hub):
    ctx = multiprocessing.get_context("spawn")
    with FakeServer() as server:
        route = server.add("/w.bin", PAYLOAD, delay=0.2)
        proc = ctx.Process(target=fetch_until_killed, args=(server.url("/w.bin"),))
        proc.start()
        deadline = time.monotonic() + 120
        while route.sent < 3 * route.chunk and time.monotonic() < deadline:
            time.sleep(0.02)
        assert route.sent >= 3 * route.chunk, "the child never started downloading"
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(timeout=30)
        assert proc.exitcode == -signal.SIGKILL
        assert not (hub / "blobs" / SHA).exists() and not (hub / "modules").exists()
        assert list((hub / "tmp").glob(f"{SHA}.*.part")), "the partial download stays in tmp/ only"

        route.delay = 0.0
        path = fetch_artifact(spec(server.url("/w.bin")), module="demo", version="1.0")
        assert path.read_bytes() == PAYLOAD
        assert server.gets("/w.bin")[-1].headers.get("range", "").startswith("bytes="), \
            "the retry continues the abandoned partial file"
    assert list((hub / "tmp").glob("*.part")) == []


def test_waiting_for_a_held_lock_says_so(hub, monkeypatch, capsys):
    monkeypatch.setattr(locks, "NOTICE_SECONDS", 0.1)
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with locks.locked("blob-x", "the held blob"):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    timer = threading.Timer(0.45, release.set)
    timer.start()
    started = time.monotonic()
    with locks.locked("blob-x", "the held blob"):
        waited = time.monotonic() - started
    thread.join()
    err = capsys.readouterr().err
    assert waited >= 0.4
    assert "waiting for the held blob (locked by another process" in err
    assert err.count("still waiting for the held blob (locked by another process)") >= 2, err
