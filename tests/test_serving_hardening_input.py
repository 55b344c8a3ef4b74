"""Hostile requests (issue 13, items 1, 3 and 6): each test sends the attack and checks the answer is
a 4xx naming the field and the limit, and that nothing was built, decoded or run unbounded.

Unit-level where the check is a function; a loopback server where the attack froze the event loop
or travelled through the model process.
"""
from __future__ import annotations

import base64
import io
import json
import re
import shutil
import struct
import sys
import zlib
from http.client import HTTPConnection
from pathlib import Path

import numpy as np
import pytest
import requests

from hubcore import imaging
from hubcore.errors import InputError
from hubcore.server.app import _header_number
from hubcore.server.config import Limits, build_config
from hubcore.server.limits import check_images, check_texts, export_image_limits
from hubcore.server.request_json import parse_json
from hubcore.server.responses import HttpError
from hubcore.server.v2 import payload_from_request
from hubcore.signatures import collect_signatures
from tests.support.hardening_testmod import HardeningTestModule
from tests.support.serving_helpers import Server, free_port, session

SIGS = collect_signatures(HardeningTestModule)
LIMITS = Limits(max_request_items=20, max_text_chars=1000, max_request_chars=3000)


def png_header(width: int, height: int) -> bytes:
    """A PNG holding only its header (no pixel data): Pillow reads its size, decoding it fails."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + \
        chunk(b"IEND", b"")


def png(width: int, height: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height)).save(buf, format="PNG")
    return buf.getvalue()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def tensor(name, datatype, shape, data):
    return {"name": name, "datatype": datatype, "shape": shape, "data": data}


# -- JSON: depth, infinities, huge integers (item 6) ------------------------------------------------
@pytest.mark.parametrize("text, message", [
    ('{"options": {"a": ' + nested(500) + '}}', r"request body\['options'\]\['a'\]\[0\]\[0\]\[0\]\[0\]\[\.\.\.\]: "
                                                r"JSON nested more than 64 levels deep"),
    (nested(5000), "request body: JSON nested more than 64 levels deep"),  # past Python's recursion limit
])
def test_deep_json_is_refused_naming_the_field_and_the_limit(text, message):
    with pytest.raises(HttpError) as caught:
        parse_json(text.encode(), max_depth=64, where="request body")
    assert caught.value.status == 422 and caught.value.limit == "max_json_depth" and caught.value.value == 64
    assert re.search(message, caught.value.message), caught.value.message


def test_json_at_the_depth_limit_and_brackets_in_strings_pass():
    assert parse_json('{"a": ' + nested(63) + "}", max_depth=64, where="b")["a"]
    assert parse_json(json.dumps({"a": "[" * 500}), max_depth=64, where="b") == {"a": "[" * 500}


@pytest.mark.parametrize("text, message", [
    ('{"value": [1, 2, 1e999]}', r"request body\['value'\]\[2\]: a number too large for a double"),
    ('{"value": {"x": -1E+0400}}', r"request body\['value'\]\['x'\]: a number too large for a double"),
    ('{"value": ' + "1" * 320 + ".5}", r"request body\['value'\]: a number too large for a double"),
    ("1e999", "request body: a number too large for a double"),
    ('{"value": NaN}', "request body is not valid JSON: NaN is not JSON"),
    ('{"value": ' + "7" * 5000 + "}", "request body is not valid JSON: an integer has more than 4300 digits"),
])
def test_numbers_no_double_carries_are_refused_like_nan(text, message):
    with pytest.raises(InputError, match=message):
        parse_json(text.encode(), max_depth=64, where="request body")


def test_large_finite_numbers_and_number_like_strings_pass():
    assert parse_json('{"v": [1e308, -1.5e-400, "1e999"]}', max_depth=64, where="b") == {"v": [1e308, -0.0, "1e999"]}


@pytest.mark.parametrize("value, number", [("12", 12), ("0", 0), ("²", None), ("1e3", None), ("-1", None),
                                           ("9" * 5000, sys.maxsize)])
def test_length_headers_are_read_without_converting_thousands_of_digits(value, number):
    assert _header_number(value) == number


# -- v2 tensors: shapes checked before anything is built (item 1) -----------------------------------
# Small enough that, were the check gone, building them would end (the loopback test sends 10**18).
@pytest.mark.parametrize("shape", [[300, 0], [21, 0]])
def test_a_shape_with_a_zero_cannot_build_more_rows_than_the_item_limit(shape):
    body = {"inputs": [tensor("rows", "INT64", shape, [])]}
    with pytest.raises(HttpError) as caught:
        payload_from_request(body, SIGS["matrix_sum"], LIMITS)
    assert caught.value.status == 422 and caught.value.limit == "max_request_items"
    assert "input 'rows'" in caught.value.message


def test_empty_tensors_within_the_limits_are_built():
    sig = SIGS["matrix_sum"]
    assert payload_from_request({"inputs": [tensor("rows", "INT64", [3, 0], [])]}, sig, LIMITS) == {"rows": [[], [], []]}
    assert payload_from_request({"inputs": [tensor("rows", "INT64", [0, 10 ** 4000], [])]}, sig, LIMITS) == {"rows": []}
    assert payload_from_request({"inputs": [tensor("rows", "INT64", [2, 300], [1] * 600)]}, sig,
                                LIMITS)["rows"][1] == [1] * 300


@pytest.mark.parametrize("shape, data, message", [
    ([21, 1], [1] * 21, "input 'rows' has 21 items"),
    ([10 ** 30, 10 ** 30], [1], r"holds more than 10\*\*18 elements but data has 1"),
    ([1] * 33, [1], "shape has 33 dimensions; at most 32"),
])
def test_shapes_are_checked_against_the_data_and_the_item_limit(shape, data, message):
    with pytest.raises((InputError, HttpError), match=message):
        payload_from_request({"inputs": [tensor("rows", "INT64", shape, data)]}, SIGS["matrix_sum"], LIMITS)


@pytest.mark.parametrize("text, error, message", [
    ('{"a": ' + nested(500) + "}", HttpError, r"input 'options' data\[0\]\['a'\]\[0\].*nested more than 64"),
    ('{"a": ' + "1" * 5000 + "}", InputError, r"input 'options' data\[0\] is not valid JSON: an integer has more"),
    ('{"a": 1e999}', InputError, r"input 'options' data\[0\]\['a'\]: a number too large"),
])
def test_json_texts_in_bytes_inputs_get_the_same_checks(text, error, message):
    with pytest.raises(error, match=message):
        payload_from_request({"inputs": [tensor("options", "BYTES", [1], [text])]}, SIGS["keys"], LIMITS)


def test_the_fast_check_of_plain_lists_still_refuses_booleans_for_integers():
    from hubcore.signatures import check_schema

    check_schema([[1, 2], [3]], SIGS["matrix_sum"].field("rows").schema, "rows")
    with pytest.raises(InputError, match=r"rows\[1\]\[0\]: expected an integer, got a boolean"):
        check_schema([[1, 2], [True]], SIGS["matrix_sum"].field("rows").schema, "rows")


# -- text limits (item 3) ---------------------------------------------------------------------------
def test_one_text_over_max_text_chars_is_named():
    with pytest.raises(HttpError) as caught:
        check_texts(SIGS["lengths"], {"texts": ["ok", "x" * 1001]}, LIMITS)
    assert (caught.value.status, caught.value.limit, caught.value.value) == (422, "max_text_chars", 1000)
    assert caught.value.message.startswith("lengths.texts[1] is 1001 characters long")


def test_texts_nested_in_objects_count_too():
    with pytest.raises(HttpError, match=r"keys.options\['a'\]\[0\] is 1001 characters"):
        check_texts(SIGS["keys"], {"options": {"a": ["x" * 1001]}}, LIMITS)


def test_all_texts_of_a_request_together_are_limited():
    check_texts(SIGS["lengths"], {"texts": ["x" * 1000] * 3}, LIMITS)
    with pytest.raises(HttpError) as caught:
        check_texts(SIGS["lengths"], {"texts": ["x" * 1000] * 3 + ["y"]}, LIMITS)
    assert (caught.value.limit, caught.value.value) == ("max_request_chars", 3000)
    assert "3001 characters together" in caught.value.message


def test_base64_images_and_numeric_fields_are_not_counted_as_text():
    check_texts(SIGS["shapes"], {"images": ["A" * 5000]}, LIMITS)
    check_texts(SIGS["matrix_sum"], {"rows": [[1] * 5000]}, LIMITS)
    with pytest.raises(HttpError, match=r"kind.value\[1\] is 1001 characters"):
        check_texts(SIGS["kind"], {"value": [1, "x" * 1001]}, LIMITS)  # untyped: anything may be text


# -- image limits, read from the header before decoding (item 3) ------------------------------------
def test_the_shared_decoder_refuses_a_long_thin_image_from_its_header():
    # Only a header: had the check waited for the decode, this would be "cannot decode".
    with pytest.raises(imaging.ImageTooLarge, match=r"images\[0\]: 100000x1 pixels is more than max_image_aspect=100"):
        imaging.load_rgb(png_header(100000, 1), "images[0]")
    with pytest.raises(imaging.ImageTooLarge, match="max_image_side=16384"):
        imaging.load_rgb(png_header(17000, 5000), "images[0]")
    assert imaging.load_rgb(png(300, 3), "images[0]").shape == (3, 300, 3)


def test_the_shared_decoder_checks_arrays_and_pil_images_too():
    from PIL import Image

    with pytest.raises(imaging.ImageTooLarge, match="max_image_aspect"):
        imaging.load_rgb(np.zeros((1, 500, 3), np.uint8), "a")
    with pytest.raises(imaging.ImageTooLarge, match="max_image_aspect"):
        imaging.load_rgb(Image.new("RGB", (1, 500)), "a")


def test_image_limits_come_from_the_environment_when_used(monkeypatch):
    monkeypatch.setenv(imaging.ASPECT_ENV, "2")
    with pytest.raises(imaging.ImageTooLarge, match="max_image_aspect=2"):
        imaging.load_rgb(png(30, 10), "x")
    monkeypatch.setenv(imaging.ASPECT_ENV, "0")
    with pytest.raises(InputError, match=r"\$HUB_MAX_IMAGE_ASPECT='0'"):
        imaging.size_limits()


def test_the_server_hands_its_image_limits_to_its_model_processes(monkeypatch):
    # setenv (not delenv) so monkeypatch records the variables and removes what export_image_limits
    # writes: left in the environment, 4000 px would fail later tests' large images
    monkeypatch.setenv(imaging.SIDE_ENV, "")
    monkeypatch.setenv(imaging.ASPECT_ENV, "")
    export_image_limits(Limits(max_image_side=4000, max_image_aspect=7.5))
    assert imaging.size_limits() == (4000, 7.5)


def test_the_classifier_and_ocr_decoders_use_the_shared_check():
    from hubmod_image_classification.images import to_pil
    from hubmod_ocr.images import to_bgr

    with pytest.raises(InputError, match="max_image_aspect"):
        to_pil(png_header(100000, 1))
    with pytest.raises(InputError, match="max_image_aspect"):
        to_bgr(png_header(1, 100000))


def test_the_worker_reads_image_headers_before_the_model_sees_them():
    with pytest.raises(HttpError) as caught:
        check_images(SIGS["shapes"], {"images": [png(8, 8), png_header(100000, 1)]}, LIMITS)
    assert (caught.value.status, caught.value.limit, caught.value.value) == (422, "max_image_aspect", 100.0)
    assert caught.value.message.startswith("shapes.images[1]: 100000x1 pixels")
    check_images(SIGS["shapes"], {"images": [png(8, 8), b"not an image"]}, LIMITS)  # the module reports that one


# -- configuration ----------------------------------------------------------------------------------
def test_new_limits_are_set_by_flags_and_config_file(tmp_path):
    conf = tmp_path / "serving.json"
    conf.write_text(json.dumps({"modules_info": {"lac": {}}, "max_text_chars": 10, "max_json_depth": 8,
                                "max_image_aspect": 4}))
    limits = build_config(modules=None, config_file=str(conf), flags={"max_request_chars": 99,
                                                                      "max_image_side": 640}).limits
    assert (limits.max_text_chars, limits.max_json_depth, limits.max_image_aspect) == (10, 8, 4)
    assert (limits.max_request_chars, limits.max_image_side) == (99, 640)


@pytest.mark.parametrize("flags, message", [
    ({"max_json_depth": 1000}, "max_json_depth must be an integer from 2 to 200"),
    ({"max_text_chars": 0}, "max_text_chars must be a positive integer"),
    ({"max_image_aspect": 0.5}, "max_image_aspect must be >= 1"),
])
def test_bad_limit_values_are_refused_at_start(flags, message):
    with pytest.raises(InputError, match=message):
        build_config(modules=["lac"], config_file=None, flags=flags)


def test_serving_cli_has_a_flag_for_each_new_limit():
    import argparse

    from hubcore.server.cli import configure

    parser = argparse.ArgumentParser()
    configure(parser)
    args = parser.parse_args(["start", "-m", "x", "--max-json-depth", "9", "--max-text-chars", "5",
                              "--max-request-chars", "50", "--max-image-side", "100", "--max-image-aspect", "3"])
    assert (args.max_json_depth, args.max_text_chars, args.max_request_chars, args.max_image_side,
            args.max_image_aspect) == (9, 5, 50, 100, 3.0)


# -- a loopback server: the attacks over HTTP -------------------------------------------------------
SERVER_LIMITS = ["--max-request-items", "20", "--max-text-chars", "1000", "--max-request-chars", "3000",
                 "--timeout-s", "20"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("hardening_input")
    folder = root / "hardening"
    folder.mkdir()
    shutil.copy(Path(__file__).parent / "support" / "hardening_testmod.py", folder / "module.py")
    (folder / "hubmodule.toml").write_text(
        'package = "serving-hardening"\nversion = "0.0.1"\n[modules.hardening]\n'
        'class = "module:HardeningTestModule"\ncategory = "test/serving"\nsummary = "hostile input tests"\n'
        'license = "MIT"\n')
    srv = Server(["-m", str(folder), "--device", "cpu", *SERVER_LIMITS], port=free_port(),
                 hub_home=root / "home").wait_ready()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def http():
    return session()


def test_a_297_byte_shape_no_longer_freezes_the_worker(server, http):
    body = json.dumps({"inputs": [tensor("rows", "INT64", [1000000000000000000, 0], [])]}).encode()
    assert len(body) < 297
    try:
        r = http.post(f"{server.url}/v2/models/hardening.matrix_sum/infer", data=body, timeout=5)
    except requests.Timeout:
        # What the attack did: the worker builds empty lists forever and ignores SIGTERM. Stop it
        # now rather than let it eat the machine's memory until the fixture's teardown.
        server.process.kill()
        raise AssertionError("the worker froze on a shape with a zero dimension") from None
    assert r.status_code == 422 and r.json()["limit"] == "max_request_items", r.text
    assert http.get(f"{server.url}/v2/health/live", timeout=5).status_code == 200
    ok = {"inputs": [tensor("rows", "INT64", [2, 2], [1, 2, 3, 4])]}
    assert http.post(f"{server.url}/v2/models/hardening.matrix_sum/infer", json=ok, timeout=10).json()[
        "outputs"][0]["data"] == [10]


@pytest.mark.parametrize("method", ["keys", "kind"])
def test_deep_json_for_object_and_untyped_arguments_is_a_422_at_once(server, http, method):
    field = "options" if method == "keys" else "value"
    body = '{"%s": {"a": %s}}' % (field, nested(500))
    # Before: the model process could not pickle it, and the client waited for the 504.
    r = http.post(f"{server.url}/predict/hardening/{method}", data=body, timeout=10)
    assert r.status_code == 422 and r.json()["limit"] == "max_json_depth", r.text
    assert f"request body['{field}']['a'][0]" in r.json()["msg"]
    # Up to the limit, the value crosses the pipe to the model process and back.
    within = '{"%s": {"a": %s}}' % (field, nested(60))
    r = http.post(f"{server.url}/predict/hardening/{method}", data=within, timeout=10)
    assert r.status_code == 200 and r.json()["results"] == (["a"] if method == "keys" else "dict"), r.text


@pytest.mark.parametrize("text, status, message", [
    ('{"a": ' + nested(500) + "}", 422, "nested more than 64 levels deep"),
    ('{"a": ' + "1" * 5000 + "}", 422, "an integer has more than 4300 digits"),
])
def test_json_inside_v2_bytes_inputs_is_a_4xx(server, http, text, status, message):
    body = {"inputs": [tensor("options", "BYTES", [1], [text])]}
    r = http.post(f"{server.url}/v2/models/hardening.keys/infer", json=body, timeout=10)
    assert r.status_code == status and message in r.json()["error"], r.text
    assert "input 'options' data[0]" in r.json()["error"]


@pytest.mark.parametrize("header", ["Inference-Header-Content-Length", "Content-Length"])
def test_a_5000_digit_length_header_is_a_4xx(server, header):
    body = b'{"inputs": []}'
    conn = HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        headers = {"Content-Type": "application/json", "Inference-Header-Content-Length": str(len(body)),
                   "Content-Length": str(len(body)), header: "9" * 5000}
        conn.request("POST", "/v2/models/hardening.keys/infer", body=body, headers=headers)
        response = conn.getresponse()
        status = response.status
    finally:
        conn.close()
    assert 400 <= status < 500, status


def test_infinity_written_as_1e999_is_refused_like_nan(server, http):
    r = http.post(f"{server.url}/predict/hardening/kind", data=b'{"value": [1.5, 1e999]}', timeout=10)
    assert r.status_code == 400 and "request body['value'][1]: a number too large" in r.json()["msg"], r.text
    assert http.post(f"{server.url}/predict/hardening/kind", data=b'{"value": 1e308}', timeout=10).json()[
        "results"] == "float"


def test_text_limits_over_http(server, http):
    r = http.post(f"{server.url}/predict/hardening", json={"texts": ["x" * 1001]}, timeout=10)
    assert (r.status_code, r.json()["limit"], r.json()["value"]) == (422, "max_text_chars", 1000), r.text
    r = http.post(f"{server.url}/v2/models/hardening/infer", timeout=10,
                  json={"inputs": [tensor("texts", "BYTES", [4], ["y" * 900] * 4)]})
    assert (r.status_code, r.json()["limit"]) == (422, "max_request_chars"), r.text
    assert http.post(f"{server.url}/predict/hardening", json={"texts": ["x" * 1000]}, timeout=10).json()[
        "results"] == [1000]


def test_a_92_byte_long_thin_png_is_refused_before_the_model_decodes_it(server, http):
    attack = png(100000, 1)
    assert len(attack) < 1000
    images = [base64.b64encode(png(6, 4)).decode(), base64.b64encode(attack).decode()]
    r = http.post(f"{server.url}/predict/hardening/shapes", json={"images": images}, timeout=10)
    assert (r.status_code, r.json()["limit"]) == (422, "max_image_aspect"), r.text
    assert "shapes.images[1]: 100000x1 pixels" in r.json()["msg"]
    assert http.post(f"{server.url}/predict/hardening/shapes", json={"images": images[:1]}, timeout=10).json()[
        "results"] == [[4, 6, 3]]


# -- lac: long texts in pieces, so a call's memory stays within its budget (item 3) -----------------
def test_split_text_cuts_after_sentence_ends_and_keeps_every_character():
    from hubmod_lac.pieces import split_text

    text = ("今天天气不错。" * 20) + ("没有标点" * 40)
    pieces = split_text(text, 50)
    assert "".join(pieces) == text and all(len(p) <= 50 for p in pieces)
    assert all(p.endswith("。") for p in pieces[:2])
    assert split_text("短句。", 50) == ["短句。"]
    assert split_text("x" * 120, 50) == ["x" * 50, "x" * 50, "x" * 20]  # no break anywhere: cut at the limit


@pytest.mark.parametrize("mode", ["lac", "rank"])
def test_lac_joins_the_analyses_of_a_long_texts_pieces(monkeypatch, mode):
    import hubcore as hub
    import hubmod_lac.module as lac_module
    from hubmod_lac.pieces import split_text

    monkeypatch.setattr(lac_module, "split_text", lambda text: split_text(text, 64))
    lac = hub.Module(name="lac", mode=mode)
    text = "百度是一家高科技公司，总部位于北京。" * 12 + "春天的花开秋天的风以及冬天的落阳" * 6
    pieces = split_text(text, 64)
    assert len(pieces) > 3
    whole = lac.cut([text, ""])[0]
    parts = lac.cut(pieces)
    assert "".join(whole["word"]) == text
    for key in whole:
        assert whole[key] == [x for part in parts for x in part[key]], key
    assert len(whole["word"]) == len(whole["tag"]) and (mode != "rank" or len(whole["rank"]) == len(whole["word"]))
