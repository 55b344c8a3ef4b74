"""Starting and stopping real servers: config file, token, workers, daemon, graceful stop, start failures."""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from hubcore.server import pidfile
from tests.support.serving_helpers import Server, child_processes, free_port, make_testmod, serving_command, session

TOKEN = "test-token-1234"


def run_cli(*args: str, hub_home: Path, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "HUB_SERVING_TOKEN"}
    full_env.update({"HUB_HOME": str(hub_home), "HUB_RUNTIME_DIR": str(hub_home / "serving"), **(env or {})})
    return subprocess.run(serving_command(*args), capture_output=True, text=True, timeout=timeout, env=full_env)


def test_paddlehub_config_token_and_workers(tmp_path):
    make_testmod(tmp_path / "mods" / "testmod")
    port = free_port()
    config = tmp_path / "serving.json"
    config.write_text(json.dumps({
        "modules_info": {"testmod": {"directory": "mods/testmod", "init_args": {"max_sleep_s": 0.2},
                                     "predict_args": {"prefix": ">"}}},
        "port": port, "workers": 2, "use_multiprocess": True}))
    server = Server(["-c", str(config)], port=port, hub_home=tmp_path / "home",
                    env={"HUB_SERVING_TOKEN": TOKEN}).wait_ready()
    try:
        anonymous, wrong, authorised = session(), session("wrong-token-000"), session(TOKEN)
        url = server.url + "/predict/testmod"
        r = anonymous.post(url, json={"texts": ["a"]})
        assert r.status_code == 401 and r.json()["status"] == "401" and "Authorization: Bearer" in r.json()["msg"]
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert wrong.post(url, json={"texts": ["a"]}).status_code == 401
        assert anonymous.get(server.url + "/v2/models/testmod").json()["error"].startswith("missing bearer token")
        assert anonymous.get(server.url + "/openapi.json").status_code == 401
        assert anonymous.get(server.url + "/v2/health/ready").status_code == 200  # probes need no token
        # predict_args are defaults under the request's own fields; init_args reach the constructor
        assert authorised.post(url, json={"texts": ["a"]}).json()["results"][0]["tag"] == ">A"
        assert authorised.post(url, json={"texts": ["a"], "prefix": "#"}).json()["results"][0]["tag"] == "#A"
        slow = authorised.post(server.url + "/predict/testmod/slow", json={"seconds": 0.5})
        assert slow.status_code == 422 and "between 0 and 0.2" in slow.json()["msg"]
        doc = authorised.get(server.url + "/openapi.json").json()
        assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert len(child_processes(server.process.pid, b"spawn")) == 2
    finally:
        assert server.stop() == 0
    assert server.log().count("loaded module testmod") == 2  # each worker loads its own copy


def test_daemon_start_and_stop_by_pid_file_finish_the_request_in_flight(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HUB_HOME", str(home))
    monkeypatch.setenv("HUB_RUNTIME_DIR", str(home / "serving"))
    folder = make_testmod(tmp_path / "testmod")
    port = free_port()
    started = run_cli("start", "-m", str(folder), "-p", str(port), "--daemon", hub_home=home)
    assert started.returncode == 0, started.stderr + started.stdout
    assert f"stop it with `hub serving stop -p {port}`" in started.stdout
    record = pidfile.read(port)
    assert record is not None and record.port == port

    answer: dict = {}

    def in_flight():
        answer["r"] = session().post(f"http://127.0.0.1:{port}/predict/testmod/slow", json={"seconds": 1.5})

    request = threading.Thread(target=in_flight)
    request.start()
    time.sleep(0.5)
    stopped = run_cli("stop", "-p", str(port), hub_home=home)
    request.join()
    assert stopped.returncode == 0, stopped.stderr
    assert f"stopped the server on port {port} (pid {record.pid})" in stopped.stdout
    assert answer["r"].status_code == 200 and answer["r"].json()["results"] == {"slept": 1.5}
    assert not (home / "serving" / f"{port}.pid").exists()
    assert not Path(f"/proc/{record.pid}").exists() or "Z" in Path(f"/proc/{record.pid}/stat").read_text()
    log = (home / "serving" / f"{port}.log").read_text()
    assert '"POST /predict/testmod/slow" 200' in log and "Finished server process" in log


def test_stop_without_a_server_says_so(tmp_path):
    home = tmp_path / "home"
    r = run_cli("stop", "-p", "1", hub_home=home)
    assert r.returncode == 1 and "no server started by hub on port 1" in r.stderr
    dead = subprocess.Popen(["true"])
    dead.wait()
    (home / "serving").mkdir(parents=True)
    (home / "serving" / "2.pid").write_text(json.dumps({"pid": dead.pid, "port": 2, "host": "127.0.0.1"}))
    r = run_cli("stop", "-p", "2", hub_home=home)
    assert r.returncode == 1 and "no longer running; removed the stale pid file" in r.stderr
    assert not (home / "serving" / "2.pid").exists()


@pytest.mark.parametrize("args, code, message", [
    (["-m", "no_such_module_here"], 3, "no installed module named 'no_such_module_here'"),
    (["-m", "MODDIR", "--max-batch-size", "0"], 2, "max_batch_size must be >= 1"),
    (["-m", "MODDIR", "--device", "tpu:0"], 2, "device must be cpu, gpu or gpu:N"),
])
def test_start_failures_exit_with_the_reason(tmp_path, args, code, message):
    folder = make_testmod(tmp_path / "testmod")
    args = [str(folder) if a == "MODDIR" else a for a in args]
    r = run_cli("start", "-p", str(free_port()), *args, hub_home=tmp_path / "home")
    assert r.returncode == code and message in r.stderr, r.stderr[-2000:]
    assert not list((tmp_path / "home").glob("serving/*.pid"))


def test_predict_args_must_be_arguments_of_the_module(tmp_path):
    make_testmod(tmp_path / "testmod")
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"modules_info": {"testmod": {"directory": "testmod", "predict_args": {"batch_size": 1}}}}))
    r = run_cli("start", "-c", str(config), "-p", str(free_port()), hub_home=tmp_path / "home")
    assert r.returncode == 3 and "predict_args: 'batch_size' is not an argument of any serving method" in r.stderr


def test_a_busy_port_is_refused_before_loading(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run_cli("start", "-m", str(make_testmod(tmp_path / "m")), "-p", str(port), hub_home=tmp_path / "home")
    assert r.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in r.stderr
