"""In-process tests of the serving pieces: config parsing, v2 tensor mapping, the batching queue."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest

import hubcore
from hubcore.errors import InputError
from hubcore.server import pidfile
from hubcore.server.config import ModuleSpec, build_config, parse_module_list
from hubcore.server.model_thread import ModelThread
from hubcore.server.runner import ModuleRunner
from hubcore.server.v2 import output_tensor, payload_from_request
from hubcore.signatures import collect_signatures


# -- configuration ----------------------------------------------------------------------------------
def test_paddlehub_config_file_is_read_and_flags_win(tmp_path, monkeypatch):
    monkeypatch.delenv("HUB_SERVING_TOKEN", raising=False)
    (tmp_path / "mods" / "mine").mkdir(parents=True)
    conf = tmp_path / "serving.json"
    conf.write_text(json.dumps({
        "modules_info": {
            "lac": {"init_args": {"version": "2.1.0", "use_cuda": False}, "predict_args": {"batch_size": 1}},
            "mine": {"directory": "mods/mine", "init_args": {"max_sleep_s": 0.5}},
        },
        "port": 8870, "workers": 2, "use_multiprocess": True, "use_gpu": True, "gpu": "1",
    }))
    config = build_config(modules=None, config_file=str(conf), flags={"port": 9000, "workers": None})
    lac, mine = config.modules
    assert lac == ModuleSpec(name="lac", version="2.1.0", init_args={"use_cuda": False},
                             predict_args={"batch_size": 1})
    assert mine.directory == str((tmp_path / "mods" / "mine").resolve()) and mine.init_args == {"max_sleep_s": 0.5}
    assert (config.port, config.workers, config.device, config.host) == (9000, 2, "gpu:1", "127.0.0.1")


@pytest.mark.parametrize("content, message", [
    ({"modules_info": {"lac": {}}, "prot": 1}, r"unknown key\(s\) \['prot'\]"),
    ({"modules_info": {"lac": {"init_arg": {}}}}, r"modules_info.lac: unknown key\(s\) \['init_arg'\]"),
    ({"modules_info": {"lac": {}}, "use_gpu": True, "gpu": "0,1"}, "one server per GPU"),
    ({"modules_info": []}, "modules_info must be an object"),
    ({"modules_info": {"lac": {}}, "workers": 0}, "workers must be >= 1"),
    ({"modules_info": {"lac": {}}, "device": "tpu"}, "device must be cpu, gpu or gpu:N"),
])
def test_bad_config_files_name_the_problem(tmp_path, content, message):
    conf = tmp_path / "c.json"
    conf.write_text(json.dumps(content))
    with pytest.raises(InputError, match=message):
        build_config(modules=None, config_file=str(conf), flags={})


def test_module_list_accepts_names_pins_and_folders(tmp_path):
    specs = parse_module_list(["lac,chinese_ocr_db_crnn_mobile==1.1.0", str(tmp_path)])
    assert [(s.name, s.version, s.directory) for s in specs] == [
        ("lac", None, None), ("chinese_ocr_db_crnn_mobile", "==1.1.0", None), (None, None, str(tmp_path))]
    with pytest.raises(InputError, match="no such folder"):
        parse_module_list(["./missing"])
    with pytest.raises(InputError, match="nothing to serve"):
        build_config(modules=[], config_file=None, flags={})


def test_token_comes_from_the_environment_and_must_not_be_trivial(monkeypatch):
    monkeypatch.setenv("HUB_SERVING_TOKEN", "s3cret-token")
    assert build_config(modules=["lac"], config_file=None, flags={}).token == "s3cret-token"
    assert build_config(modules=["lac"], config_file=None, flags={"token": "other-token"}).token == "other-token"
    with pytest.raises(InputError, match="at least 8 characters"):
        build_config(modules=["lac"], config_file=None, flags={"token": "abc"})


# -- v2 tensors -------------------------------------------------------------------------------------
class Tensors(hubcore.Module):
    @hubcore.serving
    def run(self, texts: list[str], grid: list[list[int]], scale: float = 1.0, flag: bool = False,
            options: dict | None = None, image: hubcore.Image | None = None) -> list[float]:
        return []


TSIG = collect_signatures(Tensors)["run"]


def tensor(name, datatype, shape, data):
    return {"name": name, "datatype": datatype, "shape": shape, "data": data}


def test_v2_inputs_map_to_signature_arguments():
    body = {"inputs": [
        tensor("texts", "BYTES", [2], ["a", "b"]),
        tensor("grid", "INT32", [2, 3], [1, 2, 3, 4, 5, 6]),
        tensor("scale", "INT64", [1], [2]),
        tensor("flag", "BOOL", [1], [True]),
        tensor("options", "BYTES", [1], ['{"k": [1, 2]}']),
        tensor("image", "BYTES", [1], ["aGVsbG8="]),
    ]}
    payload = payload_from_request(body, TSIG)
    assert payload == {"texts": ["a", "b"], "grid": [[1, 2, 3], [4, 5, 6]], "scale": 2, "flag": True,
                       "options": {"k": [1, 2]}, "image": "aGVsbG8="}
    assert TSIG.bind(payload, remote=True)["image"] == b"hello"
    nested = payload_from_request({"inputs": [tensor("grid", "INT64", [2, 1], [[1], [2]])]}, TSIG)
    assert nested == {"grid": [[1], [2]]}


@pytest.mark.parametrize("inputs, message", [
    ([tensor("texts", "INT64", [1], [1])], "datatype must be BYTES"),
    ([tensor("texts", "BYTES", [3], ["a"])], r"shape \[3\] holds 3 elements but data has 1"),
    ([tensor("grid", "INT64", [2], [1, 2])], r"expected a 2-dimensional tensor"),
    ([tensor("scale", "FP64", [2], [1.0, 2.0])], r"takes one value"),
    ([tensor("flag", "BOOL", [1], [1])], "not BOOL"),
    ([tensor("options", "BYTES", [1], ["{"])], "not valid JSON"),
    ([tensor("nope", "BYTES", [1], ["a"])], r"unknown input 'nope'"),
    ([tensor("texts", "BYTES", [1], ["a"]), tensor("texts", "BYTES", [1], ["a"])], "given twice"),
    ([{"name": "texts", "datatype": "BYTES", "shape": [-1], "data": []}], "non-negative"),
    ("x", "a list of tensors"),
])
def test_malformed_v2_inputs_name_the_tensor(inputs, message):
    with pytest.raises(InputError, match=message):
        payload_from_request({"inputs": inputs}, TSIG)


def test_v2_outputs_pick_a_datatype_from_the_result():
    assert output_tensor(["a", "b"]) == {"name": "results", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]}
    assert output_tensor([1, 2])["datatype"] == "INT64"
    assert output_tensor([1, 2.5]) == {"name": "results", "shape": [2], "datatype": "FP64", "data": [1.0, 2.5]}
    assert output_tensor([True])["datatype"] == "BOOL"
    structured = output_tensor([{"w": 1}])
    assert structured["datatype"] == "BYTES" and json.loads(structured["data"][0]) == {"w": 1}
    assert structured["parameters"] == {"content_type": "json"}
    assert output_tensor({"k": 1})["shape"] == [1]


# -- the batching queue -----------------------------------------------------------------------------
class Recorder(hubcore.Module):
    def __init__(self):
        self.calls: list[tuple[list, str]] = []

    @hubcore.serving(batch="texts")
    def tag(self, texts: list[str], prefix: str = "") -> list[str]:
        if "bad" in texts:
            raise InputError("texts: 'bad' is not accepted")
        self.calls.append((list(texts), prefix))
        return [prefix + t for t in texts]


RSIG = collect_signatures(Recorder)["tag"]


def run_concurrently(payloads: list[dict], **options) -> tuple[list, Recorder]:
    """payloads submitted at once to a runner on a Recorder thread; their results and the Recorder."""
    options = {"batching": True, "max_batch_size": 4, "batch_timeout_s": 0.05, **options}

    async def main():
        model = ModelThread("t", Recorder, max_batch_size=options["max_batch_size"],
                            batch_timeout_s=options["batch_timeout_s"])
        runner = ModuleRunner("t", model, batching=options["batching"], max_batch_size=options["max_batch_size"])
        await model.start()
        try:
            return await asyncio.gather(*(runner.submit(RSIG, p) for p in payloads), return_exceptions=True), model.module
        finally:
            runner.close()

    return asyncio.run(main())


def test_concurrent_requests_are_merged_up_to_the_batch_size_and_split_back():
    payloads = [{"texts": [f"t{i}"] * (1 + i % 2)} for i in range(6)]  # 1+2+1+2+1+2 = 9 items
    results, module = run_concurrently(payloads)
    assert results == [[f"t{i}"] * (1 + i % 2) for i in range(6)]
    assert [len(texts) for texts, _ in module.calls] == [4, 3, 2]  # whole requests, at most 4 items


def test_requests_with_different_other_arguments_are_not_merged():
    payloads = [{"texts": ["x"], "prefix": p} for p in ("a", "b", "a", "b", "a")] + [{"texts": ["y"]}, {"texts": ["z"], "prefix": ""}]
    results, module = run_concurrently(payloads, max_batch_size=32)
    assert results == [["ax"], ["bx"], ["ax"], ["bx"], ["ax"], ["y"], ["z"]]
    assert sorted((len(t), p) for t, p in module.calls) == [(2, ""), (2, "b"), (3, "a")]


def test_one_bad_request_fails_alone_when_its_batch_fails():
    results, _ = run_concurrently([{"texts": ["a"]}, {"texts": ["bad"]}, {"texts": ["c"]}])
    assert results[0] == ["a"] and results[2] == ["c"]
    assert isinstance(results[1], InputError)


def test_without_batching_every_request_is_its_own_call():
    _, module = run_concurrently([{"texts": ["a"]}] * 5, batching=False)
    assert [len(t) for t, _ in module.calls] == [1] * 5


# -- the server package never shadows the decorator --------------------------------------------------------
def test_hubcore_serving_still_decorates_after_the_server_package_is_imported():
    code = ("import hubcore, hubcore.server.cli\n"
            "class M(hubcore.Module):\n"
            "    @hubcore.serving(batch='xs', default=True)\n"
            "    def f(self, xs: list[int]) -> list[int]:\n        return xs\n"
            "from hubcore.signatures import collect_signatures\n"
            "print(collect_signatures(M)['f'].batch_input)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "xs"


# -- pid files ----------------------------------------------------------------------------------------
def test_pid_files_are_trusted_only_for_our_live_server(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_RUNTIME_DIR", str(tmp_path / "run"))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    pidfile.write(8871, "127.0.0.1", pid=dead.pid)
    assert not pidfile.is_ours(pidfile.read(8871))
    me = pidfile.write(8872, "127.0.0.1", pid=os.getpid())  # alive, but pytest is not `serving start`
    assert pidfile.read(8872) == me and not pidfile.is_ours(me)
    pidfile.remove(8872, pid=os.getpid() + 1)
    assert pidfile.pid_path(8872).exists()  # a file that records another pid is left alone
    pidfile.remove(8872, pid=os.getpid())
    assert not pidfile.pid_path(8872).exists() and pidfile.pid_path(8872).parent == tmp_path / "run"


# -- the model process pipe ------------------------------------------------------------------------
def test_the_pipe_reader_takes_plain_values_and_errors_but_never_a_reference_to_code():
    import os
    import pickle

    from hubcore.errors import InputError
    from hubcore.server.pipe import loads

    plain = {"a": [1, 2.5, None, True], "b": b"\x00\xff", "c": ("t",), "d": {1, 2}, "e": bytearray(b"x")}
    assert loads(pickle.dumps(plain)) == plain
    error = loads(pickle.dumps(InputError("texts[0]: expected a string")))
    assert isinstance(error, InputError) and str(error) == "texts[0]: expected a string"
    assert isinstance(loads(pickle.dumps(ValueError("v"))), ValueError)
    for evil in (os.system, pickle.loads, [print], __import__("collections").OrderedDict(a=1)):
        with pytest.raises(pickle.UnpicklingError, match="may not cross the model process pipe"):
            loads(pickle.dumps(evil))


def test_a_module_s_own_errors_cross_the_pipe_as_their_nearest_hubcore_or_python_error():
    import pickle

    import numpy as np

    from hubcore.errors import InputError
    from hubcore.server.pipe import loads, plain, portable

    class BadText(InputError):
        pass

    class Overheated(Exception):
        pass

    sent = loads(pickle.dumps(portable(BadText("texts[1]: empty"))))
    assert type(sent) is InputError and str(sent) == "texts[1]: empty"  # still a 422 in the server
    sent = loads(pickle.dumps(portable(Overheated("too hot"))))
    assert type(sent) is RuntimeError and str(sent) == "Overheated: too hot"
    assert plain({"scores": np.array([0.5, 0.25]), "top": np.int64(3), "pair": (np.float32(1.5), "x")}) == \
        {"scores": [0.5, 0.25], "top": 3, "pair": [1.5, "x"]}


# -- the batching loop where the model runs -----------------------------------------------------------
class ListSource:
    """Messages already queued, and `during_first_call` ones that arrive while the first call runs."""

    def __init__(self, messages: list, during_first_call: list | None = None):
        self.messages, self.later = list(messages), list(during_first_call or [])

    def call_started(self) -> None:
        self.messages += self.later
        self.later = []

    def get(self, timeout):
        if self.messages:
            return self.messages.pop(0)
        if timeout is None:
            raise EOFError  # the other side closed the pipe
        time.sleep(timeout)
        return None  # nothing arrived within the timeout


def tag_request(request_id: int, texts: list[str], prefix: str = ""):
    from hubcore.server.batching import Request

    return Request(request_id, "tag", {"texts": texts, "prefix": prefix}, "texts", ("tag", prefix), len(texts))


def serve_all(source, **options) -> tuple[list, Recorder]:
    """Every send() of one serve() run on a Recorder: (replies, ids of the call starting)."""
    from hubcore.server.batching import serve

    module, turns = Recorder(), []

    def send(replies, batch):
        turns.append((replies, [r.id for r in batch]))
        if batch:
            source.call_started()

    serve(module, source, send, **{"max_batch_size": 4, "batch_timeout_s": 0.0, **options})
    return turns, module


def test_the_loop_merges_what_queued_while_the_model_was_busy_and_reports_each_call_as_it_starts():
    turns, module = serve_all(ListSource([tag_request(1, ["a"])],
                                         during_first_call=[tag_request(2, ["b"]), tag_request(3, ["c", "d"]), tag_request(4, ["e"])]))
    assert [len(texts) for texts, _ in module.calls] == [1, 4]  # the second call takes all that queued meanwhile
    assert turns == [([], [1]),
                     ([(1, "ok", ["a"])], [2, 3, 4]),
                     ([(2, "ok", ["b"]), (3, "ok", ["c", "d"]), (4, "ok", ["e"])], [])]


def test_a_cancelled_request_is_dropped_before_its_turn():
    from hubcore.server.batching import Cancel

    turns, module = serve_all(ListSource([tag_request(1, ["a"]), tag_request(2, ["b"]), Cancel(1), tag_request(3, ["c"])]))
    assert module.calls == [(["b", "c"], "")]
    assert turns[-1][0] == [(2, "ok", ["b"]), (3, "ok", ["c"])]


def test_a_batch_whose_result_has_the_wrong_length_runs_request_by_request():
    class Short(Recorder):
        @hubcore.serving(batch="texts")
        def tag(self, texts: list[str], prefix: str = "") -> list[str]:
            self.calls.append((list(texts), prefix))
            return [t.upper() for t in texts][:1]

    from hubcore.server.batching import serve

    module, turns = Short(), []
    serve(module, ListSource([tag_request(1, ["a"]), tag_request(2, ["b"])]),
          lambda replies, batch: turns.append(replies), max_batch_size=4, batch_timeout_s=0.0)
    assert [texts for texts, _ in module.calls] == [["a", "b"], ["a"], ["b"]]
    assert turns[-1] == [(1, "ok", ["A"]), (2, "ok", ["B"])]


def test_with_a_batch_timeout_the_oldest_request_waits_for_company_only_while_requests_arrive():
    started = time.monotonic()
    _, module = serve_all(ListSource([tag_request(1, ["a"]), tag_request(2, ["b"])]), batch_timeout_s=1.0)
    assert module.calls == [(["a", "b"], "")]
    assert 0.2 <= time.monotonic() - started < 0.6  # waited one gap (a fifth of the timeout), not the whole second


def test_a_request_sent_while_the_child_s_pipe_is_closing_reaches_the_next_child(tmp_path):
    # Between a child's death and the reader seeing it, writing to its pipe fails (uvloop, which
    # uvicorn runs, raises RuntimeError on the closed handle). The request must not fail with that:
    # it is still waiting, so the death handling sends it to the next child.
    import signal

    from hubcore.server.config import ModuleSpec
    from hubcore.server.model_process import ModelProcess
    from tests.support.serving_helpers import make_testmod

    spec = ModuleSpec(name=None, directory=str(make_testmod(tmp_path / "testmod")))

    def closed_handle(data: bytes) -> None:
        raise RuntimeError("unable to perform operation on <UnixTransport closed=True>; the handler is closed")

    async def main():
        model = ModelProcess(spec, None, max_batch_size=8, batch_timeout_s=0.0)
        runner = ModuleRunner("t", model, batching=True, max_batch_size=8)
        description = await model.start()
        first = model._live.pid
        model._live.stdin.write = closed_handle
        pending = runner.submit(description.default_signature, {"texts": ["ok"]})
        os.kill(first, signal.SIGKILL)
        result = await asyncio.wait_for(pending, 60)
        second = model._live
        runner.close()
        await second.wait()
        return result, first, second.pid

    result, first, second = asyncio.run(main())
    assert result[0]["tag"] == "OK" and second != first


def test_each_merged_call_is_logged_at_debug_level(caplog):
    import logging

    with caplog.at_level(logging.DEBUG, logger="hubcore.server"):
        serve_all(ListSource([tag_request(1, ["a"]), tag_request(2, ["b", "c"])]))
    assert "tag: 3 items from 2 requests in one call" in caplog.text
