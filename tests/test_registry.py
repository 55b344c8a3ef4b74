import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hubcore.errors import RegistryError
from hubcore.registry import EMBEDDED, load_registry, parse_registry
from tests.support.httpserver import FakeServer

ROOT = Path(__file__).resolve().parents[1]
BUILDER = ROOT / "tools" / "build_registry.py"

DOC = {
    "schema": 1,
    "modules": {
        "ocr": {
            "name": "ocr", "category": "cv/text_recognition", "summary": "reads text in images", "package": "hubmod-ocr",
            "versions": {
                "1.0.0": {"requirement": "hubmod-ocr==1.0.0", "paddle": ">=2.6", "modules": {"det": ">=1"},
                          "paddle_tested": ["2.6.2", "3.3.1"], "pretrained": True, "license": "Apache-2.0",
                          "artifacts": [{"name": "w", "source": "https://x.invalid/w", "sha256": "ab" * 32,
                                         "size": 3, "member": None}]},
                "1.2.0": {"requirement": "hubmod-ocr==1.2.0"},
            },
        },
    },
}


def test_the_committed_registry_is_in_sync_with_modules():
    result = subprocess.run([sys.executable, str(BUILDER), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_shipped_registry_is_the_repository_file():
    assert EMBEDDED.resolve() == (ROOT / "registry.json").resolve()
    assert "example" in {m.name for m in load_registry(EMBEDDED)}


def test_parses_modules_releases_and_artifacts():
    reg = parse_registry(DOC, "test")
    ocr = reg.get("ocr")
    assert [r.version for r in ocr.releases] == ["1.0.0", "1.2.0"] and ocr.latest.version == "1.2.0"
    first = ocr.release("1.0.0")
    assert (first.paddle, first.modules, first.pretrained) == (">=2.6", {"det": ">=1"}, True)
    assert (first.paddle_tested, ocr.release("1.2.0").paddle_tested) == (("2.6.2", "3.3.1"), ())
    assert first.artifacts[0].published and first.artifacts[0].sha256 == "ab" * 32
    later = ocr.release("1.2.0")
    assert (later.paddle, later.modules, later.pretrained, later.artifacts) == (None, {}, False, ())
    assert [m.name for m in reg.search("TEXT")] == ["ocr"] and reg.search("nothing-like-it") == []


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(schema=2), r"schema 2, newer than this hubcore understands \(1\).*pip install -U hubcore"),
    (lambda d: d.pop("schema"), "no 'schema' key"),
    (lambda d: d["modules"]["ocr"].pop("package"), "'package'.*missing"),
    (lambda d: d["modules"]["ocr"].update(name="other"), "the key and the name must agree"),
    (lambda d: d["modules"]["ocr"]["versions"]["1.2.0"].pop("requirement"), "'requirement'.*missing"),
    (lambda d: d["modules"]["ocr"]["versions"].update({"one": {"requirement": "x"}}), "not a PEP 440 version"),
    (lambda d: d["modules"]["ocr"]["versions"]["1.2.0"].update(modules={"det": ">>1"}), "PEP 440 specifiers"),
    (lambda d: d["modules"]["ocr"]["versions"]["1.2.0"].update(paddle_tested="3.3.1"), "'paddle_tested' must be a list"),
])
def test_rejects_documents_that_break_the_schema(change, message):
    doc = json.loads(json.dumps(DOC))
    change(doc)
    with pytest.raises(RegistryError, match=message):
        parse_registry(doc, "test")


def test_hub_registry_points_at_a_file_or_a_url(tmp_path, monkeypatch):
    path = tmp_path / "reg.json"
    path.write_text(json.dumps(DOC))
    monkeypatch.setenv("HUB_REGISTRY", str(path))
    assert load_registry().location == str(path) and load_registry().get("ocr") is not None
    monkeypatch.setenv("HUB_REGISTRY", str(tmp_path / "missing.json"))
    with pytest.raises(RegistryError, match="cannot read registry.*set by HUB_REGISTRY"):
        load_registry()
    with FakeServer() as server:
        server.add("/reg.json", json.dumps(DOC).encode(), content_type="application/json")
        monkeypatch.setenv("HUB_REGISTRY", server.url("/reg.json"))
        assert load_registry().get("ocr").latest.version == "1.2.0"
        monkeypatch.setenv("HUB_OFFLINE", "1")
        with pytest.raises(RegistryError, match="HUB_OFFLINE is set"):
            load_registry()


def _package(modules: Path, name: str, *, version: str = "1.0.0", deps: str = '"hubcore"', requires: str = "",
             entry: str | None = None) -> Path:
    folder = modules / f"hubmod-{name}"
    pkg = folder / f"hubmod_{name}"
    pkg.mkdir(parents=True)
    entry = entry or f"hubmod_{name}.module:M"
    (folder / "pyproject.toml").write_text(textwrap.dedent(f"""
        [project]
        name = "hubmod-{name}"
        version = "{version}"
        dependencies = [{deps}]
        [project.entry-points."hubcore.modules"]
        {name} = "{entry}"
        """))
    (pkg / "hubmodule.toml").write_text(textwrap.dedent(f"""
        package = "hubmod-{name}"
        [modules.{name}]
        class = "hubmod_{name}.module:M"
        category = "text/test"
        summary = "module {name}"
        """) + requires)
    return folder


def _build(modules: Path, out: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BUILDER), "--modules", str(modules), "--output", str(out), *flags],
                          capture_output=True, text=True)


def test_builder_writes_every_package_and_check_detects_staleness(tmp_path):
    modules, out = tmp_path / "modules", tmp_path / "registry.json"
    _package(modules, "aa", requires='[modules.aa.requires]\npaddle = ">=2.6"\nmodules = { bb = ">=1" }\n')
    _package(modules, "bb", version="2.1.0")
    assert _build(modules, out, "--check").returncode == 1  # no file yet
    assert _build(modules, out).returncode == 0
    doc = json.loads(out.read_text())
    assert doc["schema"] == 1 and sorted(doc["modules"]) == ["aa", "bb"]
    aa = doc["modules"]["aa"]["versions"]["1.0.0"]
    assert aa["requirement"] == "hubmod-aa==1.0.0" and aa["paddle"] == ">=2.6" and aa["modules"] == {"bb": ">=1"}
    assert doc["modules"]["bb"]["versions"]["2.1.0"]["requirement"] == "hubmod-bb==2.1.0"
    assert _build(modules, out, "--check").returncode == 0
    pyproject = modules / "hubmod-bb" / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("2.1.0", "2.2.0"))
    stale = _build(modules, out, "--check")
    assert stale.returncode == 1 and "out of date" in stale.stderr
    assert _build(modules, out, "--keep-history").returncode == 0
    assert list(json.loads(out.read_text())["modules"]["bb"]["versions"]) == ["2.1.0", "2.2.0"]
    assert _build(modules, out).returncode == 0
    assert list(json.loads(out.read_text())["modules"]["bb"]["versions"]) == ["2.2.0"]


@pytest.mark.parametrize("kwargs, message", [
    ({"deps": '"hubcore", "paddlepaddle>=2.6"'}, "remove ['paddlepaddle'] from dependencies"),
    ({"deps": '"numpy"'}, 'add "hubcore" to dependencies'),
    ({"entry": "hubmod_cc.other:M"}, "entry point cc = 'hubmod_cc.other:M' but hubmodule.toml says"),
    ({"requires": '[modules.cc.requires]\nmodules = { ghost = ">=1" }\n'}, "depends on module 'ghost', which no package"),
])
def test_builder_refuses_packages_that_would_break(tmp_path, kwargs, message):
    modules, out = tmp_path / "modules", tmp_path / "registry.json"
    _package(modules, "cc", **kwargs)
    result = _build(modules, out)
    assert result.returncode == 1 and not out.exists()
    assert message in result.stderr, result.stderr
