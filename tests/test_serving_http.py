"""A real server (subprocess, loopback port) serving the test module; every test talks HTTP to it."""
from __future__ import annotations

import base64
import collections
import io
import json
import re
import struct
import threading
import time
from http.client import HTTPConnection

import pytest

import hubcore as hub
from tests.support.serving_helpers import Server, free_port, make_testmod, session

LIMITS = {"max_body_bytes": 300_000, "max_request_items": 20, "max_image_bytes": 60_000, "timeout_s": 2.5}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("serving_http")
    folder = make_testmod(root / "testmod")
    port = free_port()
    args = ["-m", str(folder), "--device", "cpu", "--max-batch-size", "8", "--batch-timeout-ms", "20",
            *[x for k, v in LIMITS.items() for x in (f"--{k.replace('_', '-')}", str(v))]]
    srv = Server(args, port=port, hub_home=root / "home").wait_ready()
    srv.folder = folder
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def http():
    return session()


def post(http, server, path, body=None, **kw):
    return http.post(server.url + path, json=body, timeout=30, **kw)


def png(width: int, height: int, noise: bool = False) -> bytes:
    from PIL import Image
    import numpy as np

    pixels = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8) if noise else \
        np.zeros((height, width, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- PaddleHub routes -------------------------------------------------------------------------------
def test_predict_answers_in_paddlehub_shape(server, http):
    r = post(http, server, "/predict/testmod", {"texts": ["今天天气不错", "ab"]})
    assert r.status_code == 200
    assert r.json() == {"status": "000", "msg": "", "results": [
        {"text": "今天天气不错", "tag": "今天天气不错", "length": 6}, {"text": "ab", "tag": "AB", "length": 2}]}


def test_other_methods_have_their_own_routes(server, http):
    assert post(http, server, "/predict/testmod/scale", {"values": [1, 2.5], "factor": 3})\
        .json()["results"] == [3.0, 7.5]
    image = png(7, 5)
    r = post(http, server, "/predict/testmod/image_size",
             {"images": [b64(image), "data:image/png;base64," + b64(png(3, 4))]})
    assert r.json()["results"] == [{"width": 7, "height": 5}, {"width": 3, "height": 4}]


def test_device_is_set_in_the_worker_and_passed_to_the_module(server, http):
    stats = post(http, server, "/predict/testmod/stats", {}).json()["results"]
    assert stats["device"] == "cpu" and stats["paddle_device"] == "cpu"
    # One worker, isolation "process": the module lives in a child of the server process.
    assert stats["pid"] != server.process.pid and parent_pid(stats["pid"]) == server.process.pid
    assert "Uvicorn running on http://127.0.0.1:" in server.log()  # loopback unless --host says otherwise


def test_a_crashing_model_process_is_replaced_and_the_server_keeps_serving(server, http):
    before = post(http, server, "/predict/testmod/stats", {}).json()["results"]["pid"]
    r = post(http, server, "/predict/testmod/crash", {})
    assert r.status_code == 500 and "died (killed by SIGKILL) while running crash" in r.json()["msg"], r.text
    after = post(http, server, "/predict/testmod/stats", {}).json()["results"]
    assert after["pid"] != before and parent_pid(after["pid"]) == server.process.pid
    assert after["batch_sizes"] == []  # a fresh instance, constructed again with the same init args
    assert after["device"] == "cpu"
    assert post(http, server, "/predict/testmod", {"texts": ["ok"]}).json()["results"][0]["tag"] == "OK"


def test_requests_queued_behind_a_crash_are_answered_by_the_new_process(server, http):
    answers: dict[str, object] = {}

    def send(name: str, path: str, body: dict) -> None:
        answers[name] = post(http if name == "slow" else session(), server, path, body)

    threads = [threading.Thread(target=send, args=("slow", "/predict/testmod/slow", {"seconds": 0.4}))]
    threads.append(threading.Thread(target=send, args=("crash", "/predict/testmod/crash", {})))
    threads += [threading.Thread(target=send, args=(f"tag{i}", "/predict/testmod", {"texts": [f"t{i}"]}))
                for i in range(3)]
    for thread in threads:  # in this order: the crash and the tags queue while `slow` runs
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join(30)
    assert answers["slow"].status_code == 200
    assert answers["crash"].status_code == 500 and "died (killed by SIGKILL)" in answers["crash"].json()["msg"]
    assert [answers[f"tag{i}"].json()["results"][0]["tag"] for i in range(3)] == ["T0", "T1", "T2"]


def test_under_load_every_request_but_the_crashing_ones_is_answered_while_the_model_process_keeps_dying(server):
    # Requests written to the pipe of a child that has just died must reach the next child.
    answers: collections.Counter = collections.Counter()
    crashes_done = threading.Event()

    def tag(i: int) -> None:  # http.client: cheap enough per request to keep the pipe busy
        connection, n = HTTPConnection("127.0.0.1", server.port, timeout=30), 0
        while not crashes_done.is_set():
            connection.request("POST", "/predict/testmod", body=json.dumps({"texts": [f"c{i}-{n}"]}),
                               headers={"content-type": "application/json"})
            r = connection.getresponse()
            body = json.loads(r.read())
            answers["ok" if r.status == 200 and body["results"][0]["tag"] == f"C{i}-{n}" else str(body)] += 1
            n += 1
        connection.close()

    def crash() -> None:
        http = session()
        for _ in range(2):
            time.sleep(0.3)  # the tags flow to the new child first
            answers[f"crash {post(http, server, '/predict/testmod/crash', {}).status_code}"] += 1
        time.sleep(0.3)
        crashes_done.set()

    threads = [threading.Thread(target=tag, args=(i,)) for i in range(16)] + [threading.Thread(target=crash)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers["crash 500"] == 2 and answers["ok"] >= 16
    assert set(answers) == {"ok", "crash 500"}, answers


def test_isolation_thread_runs_the_module_in_the_worker_itself(tmp_path, http):
    folder = make_testmod(tmp_path / "testmod")
    srv = Server(["-m", str(folder), "--isolation", "thread"], port=free_port(), hub_home=tmp_path / "home").wait_ready()
    try:
        assert post(http, srv, "/predict/testmod/stats", {}).json()["results"]["pid"] == srv.process.pid
        assert post(http, srv, "/predict/testmod", {"texts": ["a"]}).json()["results"][0]["tag"] == "A"
    finally:
        srv.stop()


def parent_pid(pid: int) -> int:
    stat = open(f"/proc/{pid}/stat").read()
    return int(stat.rsplit(")", 1)[1].split()[1])


@pytest.mark.parametrize("path, body, status, message", [
    ("/predict/testmod", b"{not json", 400, "not valid JSON"),
    ("/predict/testmod", b"", 400, "empty request body"),
    ("/predict/testmod", {}, 422, "missing required field 'texts'"),
    ("/predict/testmod", {"texts": ["a"], "colour": 1}, 422, r"unknown field\(s\) \['colour'\]"),
    ("/predict/testmod", {"texts": "a"}, 422, "tag.texts: expected a list"),
    ("/predict/testmod", [1, 2], 422, "must be a JSON object"),
    ("/predict/testmod/scale", {"values": [1, "2"]}, 422, r"scale.values\[1\]: expected a number"),
    ("/predict/testmod/image_size", {"images": ["%%%"]}, 422, r"image_size.images\[0\]: not valid base64"),
    ("/predict/testmod/image_size", {"images": [b64(b"plain text")]}, 422, r"images\[0\]: not a decodable image"),
    ("/predict/testmod/file_size", {"path": "/etc/passwd"}, 422, "refused over HTTP"),
    ("/predict/nomodule", {"texts": ["a"]}, 404, "no module 'nomodule' is served here; served: \\['testmod'\\]"),
    ("/predict/testmod/nomethod", {}, 404, "has no serving method 'nomethod'"),
])
def test_bad_requests_get_4xx_naming_the_problem(server, http, path, body, status, message):
    kw = {"data": body} if isinstance(body, bytes) else {"json": body}
    r = http.post(server.url + path, timeout=30, **kw)
    assert r.status_code == status, r.text
    answer = r.json()
    assert answer["status"] == str(status) and answer["results"] is None
    assert re.search(message, answer["msg"]), answer["msg"]


def test_a_module_error_is_a_500_and_the_server_keeps_serving(server, http):
    r = post(http, server, "/predict/testmod/fail", {"message": "the model fell over"})
    assert r.status_code == 500
    assert r.json()["msg"] == "testmod.fail failed: RuntimeError: the model fell over"
    assert post(http, server, "/predict/testmod", {"texts": ["still"]}).json()["results"][0]["tag"] == "STILL"


# -- limits -------------------------------------------------------------------------------------------
def limit_of(r) -> tuple:
    body = r.json()
    return r.status_code, body.get("limit"), body.get("value")


def test_body_size_limit_is_413(server, http):
    r = http.post(server.url + "/predict/testmod", data=b'{"texts": ["' + b"x" * 400_000 + b'"]}', timeout=30)
    assert limit_of(r) == (413, "max_body_bytes", 300_000) and "--max-body-bytes" in r.json()["msg"]


def test_items_per_request_limit_is_422(server, http):
    r = post(http, server, "/predict/testmod", {"texts": ["a"] * 21})
    assert limit_of(r) == (422, "max_request_items", 20) and "tag.texts has 21 items" in r.json()["msg"]
    assert post(http, server, "/predict/testmod", {"texts": ["a"] * 20}).status_code == 200


def test_image_size_limit_is_422(server, http):
    big = png(200, 200, noise=True)
    assert len(big) > LIMITS["max_image_bytes"]
    r = post(http, server, "/predict/testmod/image_size", {"images": [b64(png(2, 2)), b64(big)]})
    assert limit_of(r) == (422, "max_image_bytes", 60_000) and "image_size.images[1]" in r.json()["msg"]


# -- dynamic batching ----------------------------------------------------------------------------------
def batch_sizes(server, http) -> list[int]:
    return post(http, server, "/predict/testmod/stats", {}).json()["results"]["batch_sizes"]


def hold_module_then(server, http, requests: list[tuple[str, dict]]) -> list:
    """Keep the module busy with a slow call while requests queue up, so their merging is deterministic."""
    results: list = [None] * len(requests)
    slow = threading.Thread(target=post, args=(session(), server, "/predict/testmod/slow", {"seconds": 1.5}))
    slow.start()
    time.sleep(0.4)

    def send(i, path, body):
        results[i] = post(session(), server, path, body)

    threads = [threading.Thread(target=send, args=(i, p, b)) for i, (p, b) in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads + [slow]:
        t.join()
    return results


def test_concurrent_requests_are_merged_into_one_call(server, http):
    before = len(batch_sizes(server, http))
    sizes = [1, 2, 1, 2, 1, 1]  # 8 items with prefix "a", 3 requests with prefix "b"
    requests = [("/predict/testmod", {"texts": [f"a{i}"] * n, "prefix": "a"}) for i, n in enumerate(sizes)]
    requests += [("/predict/testmod", {"texts": [f"b{i}"], "prefix": "b"}) for i in range(3)]
    results = hold_module_then(server, http, requests)
    for (path, body), r in zip(requests, results):
        assert r.status_code == 200
        assert [x["tag"] for x in r.json()["results"]] == [body["prefix"] + t.upper() for t in body["texts"]]
    assert sorted(batch_sizes(server, http)[before:]) == [3, 8]  # one call per group of equal arguments


def test_merging_stops_at_the_max_batch_size(server, http):
    before = len(batch_sizes(server, http))
    results = hold_module_then(server, http, [("/predict/testmod/scale", {"values": [i]}) for i in range(12)])
    assert [r.json()["results"] for r in results] == [[2.0 * i] for i in range(12)]
    assert batch_sizes(server, http)[before:] == [8, 4]


# -- Open Inference Protocol (v2) -------------------------------------------------------------------------
def test_v2_health_and_metadata(server, http):
    assert http.get(server.url + "/v2/health/live").json() == {"live": True}
    assert http.get(server.url + "/v2/health/ready").status_code == 200
    assert http.get(server.url + "/v2").json()["name"] == "hubcore"
    meta = http.get(server.url + "/v2/models/testmod.scale").json()
    assert meta["versions"] == ["1.2.3"]
    assert meta["inputs"] == [{"name": "values", "datatype": "FP64", "shape": [-1]},
                              {"name": "factor", "datatype": "INT64", "shape": [1]},
                              {"name": "negate", "datatype": "BOOL", "shape": [1]}]
    assert http.get(server.url + "/v2/models/testmod").json()["inputs"][0] == {
        "name": "texts", "datatype": "BYTES", "shape": [-1]}
    assert http.get(server.url + "/v2/models/testmod/ready").json()["ready"] is True
    assert http.get(server.url + "/v2/models/testmod/versions/1.2.3/ready").status_code == 200
    assert http.get(server.url + "/v2/models/testmod/versions/9/ready").status_code == 404
    assert http.get(server.url + "/v2/models/nomodule").status_code == 404


def test_v2_infer_maps_tensors_both_ways(server, http):
    r = post(http, server, "/v2/models/testmod.scale/infer", {"id": "r1", "inputs": [
        {"name": "values", "datatype": "FP32", "shape": [3], "data": [1, 2.5, -1]},
        {"name": "factor", "datatype": "INT32", "shape": [1], "data": [2]},
        {"name": "negate", "datatype": "BOOL", "shape": [1], "data": [True]}]})
    assert r.json() == {"model_name": "testmod.scale", "model_version": "1.2.3", "id": "r1",
                        "outputs": [{"name": "results", "shape": [3], "datatype": "FP64", "data": [-2.0, -5.0, 2.0]}]}
    r = post(http, server, "/v2/models/testmod/infer", {"inputs": [
        {"name": "texts", "datatype": "BYTES", "shape": [2], "data": ["x", "y"]}]})
    out = r.json()["outputs"][0]
    assert out["datatype"] == "BYTES" and out["shape"] == [2] and '"tag": "Y"' in out["data"][1]
    r = post(http, server, "/v2/models/testmod.image_size/versions/1.2.3/infer", {"inputs": [
        {"name": "images", "datatype": "BYTES", "shape": [1], "data": [b64(png(4, 6))]}]})
    assert r.status_code == 200 and '"height": 6' in r.json()["outputs"][0]["data"][0]


def binary_request(inputs: list[tuple[dict, bytes]]) -> tuple[bytes, dict]:
    """A request in the binary tensor extension, as tritonclient sends it by default."""
    header = json.dumps({"inputs": [dict(t, parameters={"binary_data_size": len(raw)}) for t, raw in inputs]}).encode()
    return header + b"".join(raw for _, raw in inputs), {"Inference-Header-Content-Length": str(len(header))}


def bytes_tensor(*items: bytes) -> bytes:
    return b"".join(struct.pack("<I", len(item)) + item for item in items)


def test_v2_infer_accepts_binary_tensors(server, http):
    body, headers = binary_request([
        ({"name": "values", "datatype": "FP32", "shape": [2]}, struct.pack("<2f", 1.5, -2.0)),
        ({"name": "factor", "datatype": "INT64", "shape": [1]}, struct.pack("<q", 3))])
    r = http.post(server.url + "/v2/models/testmod.scale/infer", data=body, headers=headers, timeout=30)
    assert r.status_code == 200 and r.json()["outputs"][0]["data"] == [4.5, -6.0]
    body, headers = binary_request([({"name": "images", "datatype": "BYTES", "shape": [2]},
                                     bytes_tensor(png(3, 2), png(5, 4)))])
    r = http.post(server.url + "/v2/models/testmod.image_size/infer", data=body, headers=headers, timeout=30)
    assert [json.loads(x) for x in r.json()["outputs"][0]["data"]] == [{"width": 3, "height": 2},
                                                                       {"width": 5, "height": 4}]
    body, headers = binary_request([({"name": "texts", "datatype": "BYTES", "shape": [1]},
                                     bytes_tensor("你好".encode()))])
    r = http.post(server.url + "/v2/models/testmod/infer", data=body + b"x", headers=headers, timeout=30)
    assert r.status_code == 422 and "1 bytes after the last binary input" in r.json()["error"]
    r = http.post(server.url + "/v2/models/testmod/infer", data=body, headers=headers, timeout=30)
    assert json.loads(r.json()["outputs"][0]["data"][0])["text"] == "你好"


@pytest.mark.parametrize("path, body, status, message", [
    ("/v2/models/testmod.scale/infer", {"inputs": [{"name": "values", "datatype": "BYTES", "shape": [1],
                                                    "data": ["1"]}]}, 422, "datatype must be FP64"),
    ("/v2/models/testmod/infer", {"inputs": [{"name": "texts", "datatype": "BYTES", "shape": [2],
                                              "data": ["a"]}]}, 422, "holds 2 elements but data has 1"),
    ("/v2/models/testmod/infer", {"inputs": []}, 422, "missing required field 'texts'"),
    ("/v2/models/testmod/infer", {"inputs": [{"name": "texts", "datatype": "BYTES", "shape": [21],
                                              "data": ["a"] * 21}]}, 422, "max_request_items=20"),
    ("/v2/models/nomodule/infer", {"inputs": []}, 404, "no module 'nomodule'"),
    ("/v2/models/testmod.fail/infer", {"inputs": []}, 500, "RuntimeError: boom"),
])
def test_v2_errors_use_the_v2_error_shape(server, http, path, body, status, message):
    r = post(http, server, path, body)
    assert r.status_code == status and message in r.json()["error"]


# -- OpenAPI and docs ---------------------------------------------------------------------------------------
def test_openapi_is_generated_from_the_signatures(server, http):
    doc = http.get(server.url + "/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    module = hub.Module(directory=server.folder)  # the same module, loaded here, as the reference
    for name, sig in module.signatures.items():
        op = doc["paths"][f"/predict/testmod/{name}"]["post"]
        assert op["requestBody"]["content"]["application/json"]["schema"] == sig.request_schema()
        assert f"/v2/models/{'testmod' if sig.default else 'testmod.' + name}/infer" in doc["paths"]
    assert doc["paths"]["/predict/testmod"]["post"]["requestBody"]["content"]["application/json"]["schema"] == \
        module.signatures["tag"].request_schema()
    assert {"400", "413", "422", "500", "504"} <= set(doc["paths"]["/predict/testmod"]["post"]["responses"])


def test_docs_page_is_self_contained(server, http):
    r = http.get(server.url + "/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "openapi.json" in r.text and not re.search(r"(src|href)=\"(https?:)?//", r.text)


def test_unknown_routes_and_methods_answer_json(server, http):
    assert http.get(server.url + "/nowhere").status_code == 404
    r = http.get(server.url + "/predict/testmod")
    assert r.status_code == 405 and "error" in r.json()


# -- time limit and the request log (last: the slow call keeps the module busy a little longer) ---------------
def test_time_limit_is_504_and_every_request_is_logged(server, http):
    before = post(http, server, "/predict/testmod/stats", {}).json()["results"]["pid"]
    started = time.monotonic()
    r = post(http, server, "/predict/testmod/slow", {"seconds": 2.9})
    assert limit_of(r) == (504, "timeout_s", 2.5) and time.monotonic() - started < 2.85
    # The call outlived every request in it, so its process was stopped rather than left to finish.
    after = post(http, server, "/predict/testmod/stats", {}).json()["results"]["pid"]
    assert after != before and parent_pid(after) == server.process.pid
    time.sleep(0.2)
    log = server.log()
    assert "was still running slow after 2.5 s" in log
    assert re.search(r'"POST /predict/testmod" 200 \d+\.\dms', log)
    assert re.search(r'"POST /predict/testmod/slow" 504 \d+\.\dms', log)
    assert re.search(r'"GET /v2/health/ready" 200 \d+\.\dms', log)


def failed_start_log(args: list[str], tmp_path, env: dict | None = None) -> str:
    """Start a server that must fail to start; its log, checked free of tracebacks."""
    srv = Server(args, port=free_port(), hub_home=tmp_path / "home", env=env)
    try:
        assert srv.process.wait(60) != 0
    finally:
        srv.stop()
    log = srv.log()
    assert "Traceback" not in log, log[-3000:]
    return log


def test_a_module_failing_to_construct_in_its_process_stops_the_start_with_its_error(tmp_path):
    folder = make_testmod(tmp_path / "testmod")
    config = tmp_path / "serving.json"
    config.write_text(json.dumps({"modules_info": {"testmod": {"directory": str(folder),
                                                               "init_args": {"colour": "red"}}}}))
    log = failed_start_log(["-c", str(config)], tmp_path)
    assert "could not load module 'testmod'" in log and "unexpected keyword argument 'colour'" in log, log[-3000:]


def test_a_gpu_device_without_a_gpu_stops_the_start_naming_the_fix(tmp_path):
    # No GPU visible on any machine: the CPU build sees none, and a CUDA build sees none either.
    log = failed_start_log(["-m", str(make_testmod(tmp_path / "testmod")), "--device", "gpu:0"], tmp_path,
                           env={"CUDA_VISIBLE_DEVICES": ""})
    assert "--device gpu:0: this paddle sees no GPU" in log and "--device cpu" in log, log[-3000:]
    assert "re.Match" not in log, log[-3000:]
