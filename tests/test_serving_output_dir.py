"""No HTTP client may choose where the server writes (issue 13, item 2).

The attack: a module that draws pictures into `output_dir` (OCR's visualization=true) was served
with that argument open to clients, so a request with an absolute or `../` path made the server
create folders and write files there. Folders a method writes to are typed `hubcore.OutputDir`:
over HTTP a client sending one gets a 422, the method is called with None, writes nothing and
returns its pictures in the reply; in Python and `hub run` the folder works as before.

A small module served from a folder proves the mechanism end to end over a loopback server; the
real modules (OCR, ace2p, GAN) are checked at the signature level and called with what the server
passes them.
"""
from __future__ import annotations

import base64
import io
import json
import os
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import hubcore as hub
from hubcore.cli.main import main
from hubcore.conformance import check_module, server_path_inputs
from hubcore.discovery import find_entries, iter_entries
from hubcore.errors import InputError
from hubcore.loader import import_entry
from hubcore.server.service import check_predict_args
from hubcore.server.v2 import model_metadata, payload_from_request
from hubcore.signatures import SERVER_DECIDES, collect_signatures
from tests.support.fakedist import install_fake_module
from tests.support.serving_helpers import Server, free_port, session

DRAWER = '''
import base64
import io
from pathlib import Path

import hubcore

DEFAULT = {default!r}


def picture(width: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, 3), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


class Mod(hubcore.Module):
    @hubcore.serving(batch="texts", default=True)
    def draw(self, texts: list[str], visualization: bool = False, output_dir: {folder_type} = DEFAULT) -> list[dict]:
        """Draw each text as a red bar, four pixels wide per character.

        Args:
            texts: one picture per text.
            visualization: make the pictures.
            output_dir: the folder for the pictures; None keeps them in the result.
        """
        results = []
        for i, text in enumerate(texts):
            result = {{"text": text, "save_path": None}}
            if visualization:
                png = picture(4 * len(text))
                if output_dir is None:
                    result["visualization"] = base64.b64encode(png).decode("ascii")
                else:
                    folder = Path(output_dir)
                    folder.mkdir(parents=True, exist_ok=True)
                    path = folder / f"{{i}}_{{text}}.png"
                    path.write_bytes(png)
                    result["save_path"] = str(path.resolve())
            results.append(result)
        return results

    @classmethod
    def sample_input(cls):
        return {{"texts": ["ab"], "visualization": True}}
'''


def drawer_code(default: Path, folder_type: str = "hubcore.OutputDir") -> str:
    return DRAWER.format(default=str(default), folder_type=folder_type)


def drawer_folder(folder: Path, default: Path) -> Path:
    """A development module folder holding the drawer, whose default output_dir is `default`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "module.py").write_text(drawer_code(default))
    (folder / "hubmodule.toml").write_text(
        'package = "drawer-testmod"\nversion = "1.0.0"\n[modules.drawer]\nclass = "module:Mod"\n'
        'category = "test/drawing"\nsummary = "writes pictures to output_dir"\nlicense = "MIT"\n')
    return folder


def png_size(b64: str) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(b64))) as img:
        return img.size


def picture_size(b64: str) -> tuple[int, int]:
    """Width and height of a base64 PNG or JPEG."""
    import cv2

    decoded = cv2.imdecode(np.frombuffer(base64.b64decode(b64), np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded is not None, "not a PNG or JPEG"
    return decoded.shape[1], decoded.shape[0]


# -- the attack, over a loopback server -----------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("serving_output_dir")
    default = root / "module_default_folder"
    folder = drawer_folder(root / "drawer", default)
    srv = Server(["-m", str(folder), "--device", "cpu"], port=free_port(), hub_home=root / "home").wait_ready()
    srv.root, srv.default = root, default
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def http():
    return session()


def targets(root: Path) -> dict[str, str]:
    """Folders an attacker would name: absolute, and relative with ../ from the server's working folder."""
    relative = os.path.relpath(root / "relative_target" / "deep", os.getcwd())  # the server runs in this cwd
    assert relative.startswith(".."), relative
    return {"absolute": str(root / "absolute_target" / "deep"), "relative": relative}


def nothing_written(server) -> list[str]:
    """Every file or folder the server made under the test's folder besides its module and home."""
    return sorted(str(p.relative_to(server.root)) for p in server.root.iterdir() if p.name not in ("drawer", "home"))


@pytest.mark.parametrize("which", ["absolute", "relative"])
@pytest.mark.parametrize("route", ["/predict/drawer", "/predict/drawer/draw"])
def test_a_client_naming_a_folder_gets_a_422_and_nothing_is_written(server, http, which, route):
    target = targets(server.root)[which]
    r = http.post(server.url + route, json={"texts": ["ab"], "visualization": True, "output_dir": target},
                  timeout=30)
    assert r.status_code == 422, r.text
    message = r.json()["msg"]
    assert "'output_dir'" in message and "the server decides" in message and target not in message
    assert r.json()["results"] is None
    assert nothing_written(server) == []


def test_v2_clients_cannot_name_a_folder_either(server, http):
    target = targets(server.root)["absolute"]
    body = {"inputs": [{"name": "texts", "datatype": "BYTES", "shape": [1], "data": ["ab"]},
                       {"name": "visualization", "datatype": "BOOL", "shape": [1], "data": [True]},
                       {"name": "output_dir", "datatype": "BYTES", "shape": [1], "data": [target]}]}
    r = http.post(server.url + "/v2/models/drawer/infer", json=body, timeout=30)
    assert r.status_code == 422, r.text
    assert "'output_dir'" in r.json()["error"] and "the server decides" in r.json()["error"]
    # A malformed tensor gets the same answer: the field is refused before its value is read.
    body["inputs"][2].update(datatype="INT64", data=[1])
    r = http.post(server.url + "/v2/models/drawer/infer", json=body, timeout=30)
    assert r.status_code == 422 and "the server decides" in r.json()["error"], r.text
    assert nothing_written(server) == []


def test_visualization_over_http_comes_back_in_the_reply_and_the_module_default_is_not_used(server, http):
    r = http.post(server.url + "/predict/drawer", json={"texts": ["ab", "xyz"], "visualization": True}, timeout=30)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["save_path"] for x in results] == [None, None]
    assert [png_size(x["visualization"]) for x in results] == [(8, 3), (12, 3)]
    body = {"inputs": [{"name": "texts", "datatype": "BYTES", "shape": [1], "data": ["abcd"]},
                       {"name": "visualization", "datatype": "BOOL", "shape": [1], "data": [True]}]}
    r = http.post(server.url + "/v2/models/drawer/infer", json=body, timeout=30)
    assert r.status_code == 200, r.text
    (result,) = [json.loads(x) for x in r.json()["outputs"][0]["data"]]
    assert png_size(result["visualization"]) == (16, 3) and result["save_path"] is None
    assert not server.default.exists() and nothing_written(server) == []


def test_openapi_and_v2_metadata_do_not_advertise_the_folder(server, http):
    doc = http.get(server.url + "/openapi.json", timeout=30).json()
    assert "output_dir" not in json.dumps(doc)
    schema = doc["paths"]["/predict/drawer"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert sorted(schema["properties"]) == ["texts", "visualization"]
    meta = http.get(server.url + "/v2/models/drawer", timeout=30).json()
    assert [t["name"] for t in meta["inputs"]] == ["texts", "visualization"]


def test_the_server_refuses_a_config_that_pins_a_folder(tmp_path):
    module = hub.Module(directory=drawer_folder(tmp_path / "drawer", tmp_path / "default"), name="drawer")
    with pytest.raises(InputError, match=r"predict_args.output_dir: a folder on the server.*remove it"):
        check_predict_args("drawer", module, {"output_dir": str(tmp_path / "elsewhere")})
    check_predict_args("drawer", module, {"visualization": True})


# -- local use is unchanged --------------------------------------------------------------------------
def test_in_python_and_hub_run_output_dir_is_a_folder_as_before(site, tmp_path, capsys):
    module = hub.Module(directory=drawer_folder(tmp_path / "drawer", tmp_path / "default"), name="drawer")
    (result,) = module.draw(texts=["ab"], visualization=True, output_dir=str(tmp_path / "python"))
    assert Path(result["save_path"]) == (tmp_path / "python" / "0_ab.png").resolve()
    install_fake_module(site, module="fkdrawer", version="1.0.0", code=drawer_code(tmp_path / "default"))
    assert main(["run", "fkdrawer", "--texts", "xyz", "--visualization", "true",
                 "--output_dir", str(tmp_path / "cli")]) == 0
    assert (tmp_path / "cli" / "0_xyz.png").is_file()
    assert str((tmp_path / "cli" / "0_xyz.png").resolve()) in capsys.readouterr().out
    assert not (tmp_path / "default").exists()


# -- the signature type ----------------------------------------------------------------------------
def drawer_signature(tmp_path: Path, folder_type: str = "hubcore.OutputDir"):
    namespace: dict = {}
    exec(compile(drawer_code(tmp_path / "default", folder_type), "drawer", "exec"), namespace)
    return collect_signatures(namespace["Mod"])["draw"]


def test_bind_refuses_the_folder_over_http_and_pins_it_to_none(tmp_path):
    sig = drawer_signature(tmp_path)
    with pytest.raises(InputError, match=r"draw: field 'output_dir' names a folder on the server.*server decides"):
        sig.bind({"texts": ["a"], "output_dir": "/etc"}, remote=True)
    with pytest.raises(InputError, match="server decides"):  # even null: the client does not choose
        sig.bind({"texts": ["a"], "output_dir": None}, remote=True)
    assert sig.bind({"texts": ["a"]}, remote=True) == {"texts": ["a"], "output_dir": None}
    assert sig.bind({"texts": ["a"], "output_dir": "here"}, remote=False) == {"texts": ["a"], "output_dir": "here"}
    with pytest.raises(InputError, match=r"accepted fields: \['texts', 'visualization'\]"):
        sig.bind({"texts": ["a"], "outdir": "x"}, remote=True)
    with pytest.raises(InputError, match="server decides"):
        payload_from_request({"inputs": [{"name": "output_dir", "datatype": "BYTES", "shape": [1], "data": ["x"]}]},
                             sig)
    assert "output_dir" not in sig.request_schema()["properties"]
    assert [t["name"] for t in model_metadata("drawer", "1.0.0", sig)["inputs"]] == ["texts", "visualization"]
    assert "output_dir" in [f["name"] for f in sig.to_dict()["inputs"]]  # local descriptions (hub show) keep it


MODULES_WITH_FOLDERS = ["chinese_ocr_db_crnn_mobile", "chinese_text_detection_db_mobile", "ace2p",
                        "deeplabv3p_xception65_humanseg", "stgan_celeba", "attgan_celeba", "stargan_celeba",
                        "cyclegan_cityscapes"]


def module_signatures(name: str) -> dict:
    (entry,) = [e for e in find_entries(name) if e.ok]
    return collect_signatures(import_entry(entry.manifest))


@pytest.mark.parametrize("name", MODULES_WITH_FOLDERS)
def test_every_real_module_types_its_output_folder_so_the_server_pins_it(name):
    sig = next(s for s in module_signatures(name).values() if s.default)
    assert sig.field("output_dir").kind == SERVER_DECIDES
    assert "output_dir" not in sig.request_schema()["properties"]
    with pytest.raises(InputError, match="server decides"):
        sig.bind({"output_dir": "/tmp/anywhere", "visualization": True}, remote=True)
    assert sig.bind({"visualization": True}, remote=True)["output_dir"] is None


def test_no_installed_module_lets_a_client_name_a_server_path():
    """The rule `hub check` applies, over every installed module: a new module cannot slip through."""
    checked = {entry.name: server_path_inputs(collect_signatures(import_entry(entry.manifest)))
               for entry in iter_entries() if entry.ok}
    assert set(MODULES_WITH_FOLDERS) <= set(checked)
    assert {name: found for name, found in checked.items() if found} == {}


# -- the real modules, called as the server calls them ------------------------------------------------
def face() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (40, 36, 3), dtype=np.uint8)


def text_image() -> np.ndarray:
    import cv2

    image = np.full((64, 160, 3), 255, np.uint8)
    cv2.putText(image, "HELLO", (5, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (0, 0, 0), 3)
    return image


def random_weights(name: str, **init_args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hub.Module(name=name, pretrained=False, **init_args)


# name -> (constructor, call, result field holding the picture)
CALLS = {
    "chinese_ocr_db_crnn_mobile": (lambda: hub.Module(name="chinese_ocr_db_crnn_mobile", threads=1),
                                   lambda m, **kw: m.recognize_text(images=[text_image()], **kw), "visualization"),
    "chinese_text_detection_db_mobile": (lambda: hub.Module(name="chinese_text_detection_db_mobile", threads=1),
                                         lambda m, **kw: m.detect_text(images=[text_image()], **kw), "visualization"),
    "ace2p": (lambda: random_weights("ace2p", input_size=64),
              lambda m, **kw: m.segmentation(images=[face()], **kw), "visualization"),
    "deeplabv3p_xception65_humanseg": (lambda: random_weights("deeplabv3p_xception65_humanseg", input_size=64),
                                       lambda m, **kw: m.segmentation(images=[face()], **kw), "image"),
    "stargan_celeba": (lambda: random_weights("stargan_celeba", image_size=32),
                       lambda m, **kw: m.generate(images=[face()], style="Black_Hair", **kw), "data"),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_real_module_given_no_folder_writes_nothing_and_returns_the_picture(name, tmp_path, monkeypatch):
    construct, call, field = CALLS[name]
    module = construct()
    monkeypatch.chdir(tmp_path)  # the modules' default folders are relative: they would appear here
    (result,) = call(module, visualization=True, output_dir=None)
    assert os.listdir(tmp_path) == []
    assert not result.get("save_path") and "overlay_path" not in result
    width, height = picture_size(result[field])
    assert width > 0 and height > 0
    (local,) = call(module, visualization=True, output_dir=str(tmp_path / "out"))
    assert Path(local["save_path"]).resolve().parent == (tmp_path / "out").resolve()
    assert Path(local["save_path"]).is_file()


# -- hub check (the name rule itself: tests/test_conformance.py) ------------------------------------------
def test_hub_check_passes_the_typed_folder_and_runs_the_module_as_the_server_would(site, tmp_path):
    install_fake_module(site, module="fktyped", version="1.0.0", code=drawer_code(tmp_path / "default"))
    report = check_module("fktyped")
    assert report.ok and report.status("server paths") == "pass", report.format()
    assert "ran on the decoded request" in report.format()  # with output_dir None, as over HTTP
