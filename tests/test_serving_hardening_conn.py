"""Attacks on the server's connections and model processes (issue 13), each reproduced against a real
server on a loopback port, bounded in time: slow and oversized requests, connection floods, a model
process killed while it restarts, a model process that grows, requests that cannot cross the pipe,
and a read-only cache."""
from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from hubcore.errors import InputError
from tests.support.serving_helpers import HOST, Server, child_processes, free_port, make_testmod, serving_command, session


def raw_connection(port: int, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def answer_of(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or the socket's timeout)."""
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def one_response(sock: socket.socket) -> bytes:
    """One small JSON response of a keep-alive connection (its body ends with a closing brace)."""
    raw = b""
    while not raw.endswith(b"}"):
        chunk = sock.recv(4096)
        assert chunk, raw
        raw += chunk
    return raw


def status_of(raw: bytes) -> int | None:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else None


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


# -- item 5: slow, oversized and too many connections ----------------------------------------------
FILE_LIMIT = 256  # the worker's open-file limit in the flood test; the server had 1024


def _low_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    root = tmp_path_factory.mktemp("guarded")
    folder = make_testmod(root / "testmod")
    srv = Server(["-m", str(folder), "--header-timeout-s", "3", "--body-timeout-s", "1.5",
                  "--keep-alive-timeout-s", "1", "--max-header-bytes", "8192"],
                 port=free_port(), hub_home=root / "home", preexec_fn=_low_file_limit).wait_ready()
    yield srv
    srv.stop()


def test_a_flood_of_slow_header_connections_cannot_make_the_server_unreachable(guarded):
    # The attack: more half-sent requests than the worker has file descriptors, each connection
    # holding one for ever, so that the worker cannot accept anyone. Now at most max_connections
    # (held below the file limit) are kept, and closed with a 408 after header_timeout_s; the rest
    # are answered 503 at once (or, past a few, just closed), so descriptors never run out.
    slow = []
    for _ in range(FILE_LIMIT + 100):
        sock = raw_connection(guarded.port)
        sock.sendall(b"POST /predict/testmod HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        slow.append(sock)
    time.sleep(0.6)  # refused connections have been let go
    probe_started = time.monotonic()
    probe = raw_connection(guarded.port, timeout=3)
    probe.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        probed = status_of(answer_of(probe))
    except ConnectionResetError:
        probed = "reset"
    probe.close()
    # answered (503, or closed while refusals still linger), never left hanging for the header timeout
    assert probed in (503, None, "reset") and time.monotonic() - probe_started < 2.5, probed
    started, statuses = time.monotonic(), []
    for sock in slow:
        try:
            statuses.append(status_of(answer_of(sock)))
        except ConnectionResetError:
            statuses.append("reset")
        sock.close()
    assert time.monotonic() - started < 10
    held = statuses.count(408)
    assert FILE_LIMIT - 150 < held < FILE_LIMIT - 50, statuses  # the limit sits below the file limit
    assert statuses[:held] == [408] * held and set(statuses[held:]) <= {503, None, "reset"}, statuses
    assert statuses.count(503) >= 10
    r = session().post(guarded.url + "/predict/testmod", json={"texts": ["still here"]}, timeout=10)
    assert r.status_code == 200 and r.json()["results"][0]["tag"] == "STILL HERE"
    log = guarded.log()
    assert "max_connections=1000 is above what the open-file limit (256) allows" in log
    assert "refused a connection over max_connections" in log


def test_a_request_that_stops_sending_its_body_gets_408_and_the_handler_logs_no_error(guarded):
    sock = raw_connection(guarded.port)
    sock.sendall(b"POST /predict/testmod HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
                 b"Content-Length: 100\r\n\r\n{\"texts\": [")
    started = time.monotonic()
    raw = answer_of(sock)
    sock.close()
    assert status_of(raw) == 408 and b"body_timeout_s=1.5" in raw, raw
    assert 1.0 < time.monotonic() - started < 6
    time.sleep(0.3)
    assert "unexpected error" not in guarded.log() and "Traceback" not in guarded.log()


def test_a_trickle_of_header_bytes_does_not_reset_the_header_deadline(guarded):
    sock = raw_connection(guarded.port)
    sock.sendall(b"GET /v2/health/live HTTP/1.1\r\n")
    started, raw = time.monotonic(), b""
    sock.settimeout(0.3)
    while time.monotonic() - started < 8:
        try:
            sock.sendall(b"X: y\r\n")
            raw += sock.recv(4096)
            if raw:
                break
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
    sock.close()
    assert status_of(raw) == 408 and b"header_timeout_s=3" in raw, raw
    assert time.monotonic() - started < 6


def test_oversized_headers_get_431(guarded):
    sock = raw_connection(guarded.port)
    try:
        sock.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    raw = answer_of(sock)
    sock.close()
    assert status_of(raw) == 431 and b"max_header_bytes=8192" in raw, raw


def test_an_idle_keep_alive_connection_is_closed_and_a_slow_next_request_times_out(guarded):
    sock = raw_connection(guarded.port)
    sock.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(one_response(sock)) == 200
    started = time.monotonic()
    assert answer_of(sock) == b""  # closed by the server after keep_alive_timeout_s
    assert time.monotonic() - started < 4
    sock.close()
    sock = raw_connection(guarded.port)
    sock.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(one_response(sock)) == 200
    sock.sendall(b"GET /v2/health/live HTTP/1.1\r\n")  # the next request starts, then stalls
    raw = answer_of(sock)
    sock.close()
    assert status_of(raw) == 408 and b"header_timeout_s" in raw, raw


def test_connection_settings_are_checked():
    from hubcore.server.config import build_config

    for flag, value, message in [("header_timeout_s", 0, "header_timeout_s must be > 0"),
                                 ("max_connections", 0, "max_connections must be a positive integer"),
                                 ("max_model_rss_mb", -1, "max_model_rss_mb must be a positive integer")]:
        with pytest.raises(InputError, match=message):
            build_config(modules=["lac"], config_file=None, flags={flag: value})
    with pytest.raises(InputError, match="max_model_rss_mb needs isolation process"):
        build_config(modules=["lac"], config_file=None, flags={"max_model_rss_mb": 100, "isolation": "thread"})


# -- item 6: nothing on the way to the model process is swallowed --------------------------------
def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_a_request_too_deep_to_pickle_fails_at_once_with_a_4xx(guarded):
    started = time.monotonic()
    r = session().post(guarded.url + "/predict/testmod/echo", json={"data": nested(600)}, timeout=30)
    assert time.monotonic() - started < 5  # it waited for the 60 s timeout, then answered 504
    assert 400 <= r.status_code < 500 and ("deep" in r.json()["msg"] or "depth" in r.json()["msg"]), r.text
    assert session().post(guarded.url + "/predict/testmod/echo", json={"data": nested(20)}).json()["results"] \
        == nested(20)


def test_the_pipe_raises_at_once_for_what_it_cannot_send(tmp_path):
    from hubcore.server.config import ModuleSpec
    from hubcore.server.model_process import ModelProcess
    from hubcore.server.runner import ModuleRunner

    spec = ModuleSpec(name=None, directory=str(make_testmod(tmp_path / "testmod")))

    async def main() -> tuple[str, str, dict, dict]:
        model = ModelProcess(spec, None, max_batch_size=8, batch_timeout_s=0.0)
        runner = ModuleRunner("t", model, batching=True, max_batch_size=8)
        description = await model.start()
        echo = description.signatures["echo"]
        with pytest.raises(InputError) as too_deep:
            runner.submit(echo, {"data": nested(2000)})
        with pytest.raises(Exception) as unpicklable:  # not the client's data: the server answers 500
            runner.submit(echo, {"data": {"f": lambda: None}})
        waiting = dict(runner._waiting)
        result = await asyncio.wait_for(runner.submit(echo, {"data": {"ok": 1}}), 30)
        process = model._live
        runner.close()
        await process.wait()
        return str(too_deep.value), type(unpicklable.value).__name__, waiting, result

    too_deep, unpicklable, waiting, result = asyncio.run(main())
    assert "nested too deeply" in too_deep and not isinstance(unpicklable, InputError)
    assert waiting == {} and result == {"ok": 1}


def test_a_reply_too_deep_to_pickle_becomes_an_error_for_its_request_alone():
    from hubcore.server.pipe import loads, reply_frame, HEADER

    data = reply_frame([(1, "ok", nested(3000)), (2, "ok", [1])], [])
    replies, method, started = loads(data[HEADER.size:])
    assert replies[0][1] == "error" and "nested too deeply" in str(replies[0][2])
    assert replies[1] == (2, "ok", [1]) and method is None and started == []


# -- item 11: a model process killed while it restarts -------------------------------------------
def test_requests_queued_when_the_restarting_process_is_killed_go_to_the_next_one(tmp_path):
    folder = make_testmod(tmp_path / "testmod")
    config = tmp_path / "serving.json"
    config.write_text(json.dumps({"modules_info": {"testmod": {"directory": str(folder),
                                                               "init_args": {"load_delay_s": 1.5}}}}))
    srv = Server(["-c", str(config), "--timeout-s", "30"], port=free_port(), hub_home=tmp_path / "home").wait_ready()
    try:
        http = session()
        first = http.post(srv.url + "/predict/testmod/stats", json={}, timeout=30).json()["results"]["pid"]
        answers: dict[str, object] = {}

        def send(name: str, path: str, body: dict) -> None:
            answers[name] = session().post(srv.url + path, json=body, timeout=60)

        threads = [threading.Thread(target=send, args=("slow", "/predict/testmod/slow", {"seconds": 0.5})),
                   threading.Thread(target=send, args=("crash", "/predict/testmod/crash", {}))]
        threads += [threading.Thread(target=send, args=(f"tag{i}", "/predict/testmod", {"texts": [f"t{i}"]}))
                    for i in range(16)]
        for thread in threads:  # the crash and the 16 tags queue while `slow` runs
            thread.start()
            time.sleep(0.02)
        killed, deadline = None, time.monotonic() + 20
        while killed is None and time.monotonic() < deadline:  # the new child, during its 1.5 s load
            for pid in child_processes(srv.process.pid, b"hubcore.server.model_process") - {first}:
                os.kill(pid, signal.SIGKILL)
                killed = pid
            time.sleep(0.02)
        for thread in threads:
            thread.join(60)
        assert killed is not None
        assert answers["slow"].status_code == 200 and answers["crash"].status_code == 500
        tags = [answers[f"tag{i}"] for i in range(16)]
        assert [r.status_code for r in tags] == [200] * 16, [r.text for r in tags if r.status_code != 200]
        assert [r.json()["results"][0]["tag"] for r in tags] == [f"T{i}" for i in range(16)]
        last = http.post(srv.url + "/predict/testmod/stats", json={}, timeout=30).json()["results"]["pid"]
        assert last not in (first, killed)
        assert "starting it once more for the" in srv.log()
    finally:
        srv.stop()


# -- item 3 (ceiling): a model process that grows is replaced, its queue kept ---------------------
CEILING_MB = 400


def test_a_model_process_above_the_memory_ceiling_is_replaced_without_losing_queued_requests(tmp_path):
    folder = make_testmod(tmp_path / "testmod")
    srv = Server(["-m", str(folder), "--max-model-rss-mb", str(CEILING_MB)], port=free_port(),
                 hub_home=tmp_path / "home").wait_ready()
    try:
        http = session()
        small = http.post(srv.url + "/predict/testmod/hold", json={"mb": 10}, timeout=30).json()["results"]
        assert rss_mb(small["pid"]) < CEILING_MB - 150  # room for the test: the ceiling is not passed yet
        again = http.post(srv.url + "/predict/testmod/hold", json={"mb": 1}, timeout=30).json()["results"]
        assert again == {"pid": small["pid"], "held_mb": 11}  # below the ceiling the process stays
        answers: dict[str, object] = {}

        def send(name: str, path: str, body: dict) -> None:
            answers[name] = session().post(srv.url + path, json=body, timeout=60)

        threads = [threading.Thread(target=send, args=("slow", "/predict/testmod/slow", {"seconds": 0.5})),
                   threading.Thread(target=send, args=("hold", "/predict/testmod/hold", {"mb": CEILING_MB}))]
        threads += [threading.Thread(target=send, args=(f"tag{i}", "/predict/testmod", {"texts": [f"t{i}"]}))
                    for i in range(8)]
        for thread in threads:  # the big allocation and the tags queue while `slow` runs
            thread.start()
            time.sleep(0.02)
        for thread in threads:
            thread.join(60)
        held = answers["hold"].json()["results"]
        assert held["pid"] == small["pid"] and held["held_mb"] == 11 + CEILING_MB
        assert [answers[f"tag{i}"].json()["results"][0]["tag"] for i in range(8)] == [f"T{i}" for i in range(8)]
        after = http.post(srv.url + "/predict/testmod/stats", json={}, timeout=30).json()["results"]
        assert after["pid"] != small["pid"] and rss_mb(after["pid"]) < CEILING_MB - 150
        assert not Path(f"/proc/{small['pid']}").exists() or "Z" in Path(f"/proc/{small['pid']}/stat").read_text()
        log = srv.log()
        assert f"above max_model_rss_mb={CEILING_MB}" in log and "passed the memory ceiling" in log
    finally:
        srv.stop()


# -- item 7 (serving part): pid files and logs never go to the cache ------------------------------
def run_cli(*args: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("HUB_SERVING_TOKEN", "HUB_RUNTIME_DIR")}
    full_env.update(env)
    return subprocess.run(serving_command(*args), capture_output=True, text=True, timeout=timeout, env=full_env)


def test_a_read_only_cache_does_not_stop_a_server_its_pid_file_and_log_go_to_the_runtime_folder(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")  # nothing can be created under a file, not even by root
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700)
    env = {"HUB_HOME": str(blocker / "cache"), "XDG_RUNTIME_DIR": str(runtime)}
    folder = make_testmod(tmp_path / "testmod")
    port = free_port()
    started = run_cli("start", "-m", str(folder), "-p", str(port), "--daemon", env=env)
    try:
        assert started.returncode == 0, started.stderr + started.stdout
        assert (runtime / "hubcore" / f"{port}.pid").exists()
        assert session().post(f"http://{HOST}:{port}/predict/testmod", json={"texts": ["a"]}).status_code == 200
    finally:
        stopped = run_cli("stop", "-p", str(port), env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert not (runtime / "hubcore" / f"{port}.pid").exists()
    assert '"POST /predict/testmod" 200' in (runtime / "hubcore" / f"{port}.log").read_text()


def test_an_unwritable_runtime_folder_is_named_in_the_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    folder = make_testmod(tmp_path / "testmod")
    for extra in ([], ["--daemon"]):
        r = run_cli("start", "-m", str(folder), "-p", str(free_port()), *extra,
                    env={"HUB_HOME": str(tmp_path / "home"), "HUB_RUNTIME_DIR": str(blocker / "run")})
        assert r.returncode == 2, r.stderr
        assert f"cannot write the runtime folder {blocker / 'run'}" in r.stderr and "set HUB_RUNTIME_DIR" in r.stderr


def test_a_runtime_folder_writable_by_others_is_refused(tmp_path, monkeypatch):
    from hubcore.errors import HubError
    from hubcore.server import pidfile

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("HUB_RUNTIME_DIR", str(shared))
    with pytest.raises(HubError, match="writable by others"):
        pidfile.write(8873, HOST)
    monkeypatch.delenv("HUB_RUNTIME_DIR")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg"))
    assert pidfile.pid_path(8873) == tmp_path / "xdg" / "hubcore" / "8873.pid"  # read when used
