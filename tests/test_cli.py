import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hubcore.cli.main import main
from tests.support.fakedist import install_fake_module

ROOT = Path(__file__).resolve().parents[1]

RUN_CODE = textwrap.dedent('''
    import hubcore

    class Mod(hubcore.Module):
        def __init__(self, prefix: str = ""):
            self.prefix = prefix

        @hubcore.serving(default=True)
        def look(self, texts: list[str], image: hubcore.Image, count: int = 1, exact: bool = True,
                 scale: float | None = None) -> dict:
            """Echo what arrived.

            Args:
                texts: words to echo.
                image: an image file.
                count: how many times.
                exact: keep case.
                scale: a factor.
            """
            return {"texts": [self.prefix + t for t in texts] * count, "image_bytes": len(image),
                    "exact": exact, "scale": scale}

        @hubcore.serving
        def where(self, path: hubcore.FilePath) -> str:
            """Return the path.

            Args:
                path: a file.
            """
            return path
    ''')


@pytest.fixture
def site(site, monkeypatch):
    """The shared fake site, with tracebacks off so error output is what users see."""
    monkeypatch.delenv("HUB_DEBUG", raising=False)
    return site


def hub(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_registry(tmp_path, monkeypatch, modules):
    doc = {"schema": 1, "modules": {}}
    for name, (version, summary, extra) in modules.items():
        doc["modules"][name] = {"name": name, "package": f"hubmod-{name}", "category": "text/test", "summary": summary,
                                "versions": {version: dict({"requirement": f"hubmod-{name}=={version}"}, **extra)}}
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(doc))
    monkeypatch.setenv("HUB_REGISTRY", str(path))
    return path


def test_help_list_search_show_import_neither_paddle_nor_module_code(tmp_path):
    site = tmp_path / "site"
    install_fake_module(site, module="fkimp", version="1.0.0", code="raise RuntimeError('module code imported')")
    code = textwrap.dedent("""
        import contextlib, io, sys
        from hubcore.cli.main import main
        with contextlib.redirect_stdout(io.StringIO()) as out:
            try:
                main(["--help"])
            except SystemExit:
                pass
            codes = [main(["list"]), main(["search", "fkimp"]), main(["show", "fkimp"])]
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("paddle", "hubmod_fkimp", "numpy")
                       or m.startswith("hubcore.server"))
        print(codes, heavy, "fkimp" in out.getvalue())
        """)
    env = dict(os.environ, PYTHONPATH=str(site))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.stdout.strip() == "[0, 0, 0] [] True", result.stderr


def test_list_reports_broken_modules_and_failing_plugins_and_keeps_going(tmp_path):
    site = tmp_path / "site"
    install_fake_module(site, module="fkgood", version="1.0.0")
    broken = install_fake_module(site, module="fkbad", version="2.0.0")
    (broken / "hubmodule.toml").write_text("package = 'hubmod-fkbad'\n[modules.other]\nclass = 'x:Y'\n")
    (site / "hubfk_plugin.py").write_text("raise ImportError('plugin is broken')\n")
    info = site / "hubfk_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hubfk-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[hubcore.plugins]\nfkplug = hubfk_plugin\n")
    env = dict(os.environ, PYTHONPATH=str(site))
    result = subprocess.run([sys.executable, "-m", "hubcore.cli.main", "list"], capture_output=True, text=True,
                            env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "fkgood" in out and "broken modules (1)" in out
    assert "fkbad (hubmod-fkbad 2.0.0): entry point 'fkbad' of hubmod-fkbad has no [modules.fkbad]" in out
    assert "fkplug: Error importing plugin 'fkplug' (hubfk_plugin): ImportError: plugin is broken" in out
    listed = subprocess.run([sys.executable, "-m", "hubcore.cli.main", "list", "--json"], capture_output=True,
                            text=True, env=env)
    data = json.loads(listed.stdout)
    assert [b["name"] for b in data["broken"]] == ["fkbad"] and "fkplug" in data["plugin_errors"]


def test_show_gives_metadata_artifacts_and_signatures(site, capsys):
    sha = "cd" * 32
    install_fake_module(site, module="fkshow", version="1.4.0", requires='[modules.fkshow.requires]\npaddle = ">=2.6"\n',
                        manifest_extra=textwrap.dedent(f"""
        [[modules.fkshow.artifacts]]
        name = "vocab"
        source = "https://example.invalid/vocab.txt"
        sha256 = "{sha}"
        size = 2048
        [[modules.fkshow.artifacts]]
        name = "weights"
        """))
    code, out, _ = hub(capsys, "show", "fkshow")
    assert code == 0
    assert "version:    1.4.0 (installed, package hubmod-fkshow)" in out
    assert f"vocab: https://example.invalid/vocab.txt (2.0 KB)\n    sha256 {sha}" in out
    assert "weights: no published weights; provide them with `hub download fkshow --artifact weights --from FILE`" in out
    assert "paddle:     >=2.6 (paddlepaddle" in out and "`hub show fkshow --signatures`" in out
    assert "hubmod_fkshow.module" not in sys.modules
    code, out, _ = hub(capsys, "show", "fkshow", "--signatures")
    assert "greet(texts)  [default, batch=texts]" in out and "texts: list[str], required" in out
    code, out, _ = hub(capsys, "show", "fkshow", "--json", "--signatures")
    data = json.loads(out)
    assert data["artifacts"][0]["sha256"] == sha and data["signatures"]["greet"]["request_schema"]["required"] == ["texts"]


def test_search_covers_installed_modules_and_the_registry(site, capsys, tmp_path, monkeypatch):
    install_fake_module(site, module="fksearch", version="1.0.0")
    write_registry(tmp_path, monkeypatch, {"fkremote": ("3.1.0", "reads FAKE text", {}),
                                           "fksearch": ("1.1.0", "fake module fksearch", {})})
    code, out, _ = hub(capsys, "search", "fake")
    rows = [line.split()[:3] for line in out.splitlines()[1:]]
    assert code == 0 and ["fkremote", "-", "3.1.0"] in rows and ["fksearch", "1.0.0", "1.1.0"] in rows
    code, out, _ = hub(capsys, "show", "fkremote")
    assert "version:    3.1.0 (not installed; `hub install fkremote`)" in out


def test_run_maps_flags_to_the_default_signature(site, capsys, tmp_path):
    install_fake_module(site, module="fkrun", version="1.0.0", code=RUN_CODE)
    image = tmp_path / "pixel.png"
    image.write_bytes(b"\x89PNG-not-really-but-12")
    code, out, _ = hub(capsys, "run", "fkrun", "--input_text", "飞桨", "--input_path", str(image), "--count", "2",
                       "--exact", "false", "--init", "prefix=>")
    assert code == 0, out
    assert "飞桨" in out  # ensure_ascii=False
    assert json.loads(out) == {"texts": [">飞桨", ">飞桨"], "image_bytes": 22, "exact": False, "scale": None}
    code, out, _ = hub(capsys, "run", "fkrun", "--texts", "a", "b", "--image", str(image), "--scale", "0.5")
    assert json.loads(out)["texts"] == ["a", "b"] and json.loads(out)["scale"] == 0.5
    code, out, _ = hub(capsys, "run", "fkrun", "--signature", "where", "--input_path", "/some/file")
    assert json.loads(out) == "/some/file"
    with pytest.raises(SystemExit) as exit_:
        main(["run", "fkrun", "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and "--count VALUE" in out and "int, default: 1. how many times." in out
    assert "other signatures: where" in out


@pytest.mark.parametrize("argv, message", [
    (["--count", "two", "--texts", "a", "--image", __file__], "hub: error: --count 'two': expected int"),
    (["--texts", "a"], "hub: error: missing --image; `hub run MODULE --help` lists the flags"),
    (["--texts", "a", "--image", "/no/such.png"], "hub: error: --image /no/such.png: cannot read the image file"),
])
def test_run_errors_name_the_flag(site, capsys, argv, message):
    install_fake_module(site, module="fkrunerr", version="1.0.0", code=RUN_CODE)
    code, out, err = hub(capsys, "run", "fkrunerr", *argv)
    assert code == 1 and err.startswith(message) and err.count("\n") == 1


def test_errors_are_one_line_and_hub_debug_shows_the_traceback(site, capsys, monkeypatch):
    code, out, err = hub(capsys, "show", "fk-no-such-module")
    assert code == 1 and err.startswith("hub: error: no module named 'fk-no-such-module'") and err.count("\n") == 1
    assert "Traceback" not in err
    monkeypatch.setenv("HUB_DEBUG", "1")
    code, out, err = hub(capsys, "show", "fk-no-such-module")
    assert code == 1 and "Traceback (most recent call last)" in err and "ModuleNotFound" in err


def test_serving_is_dispatched_lazily_with_a_clear_message_when_missing(capsys, monkeypatch):
    import hubcore.server

    monkeypatch.setitem(sys.modules, "hubcore.server.cli", None)  # as if the file were not there
    monkeypatch.delattr(hubcore.server, "cli", raising=False)
    code, out, err = hub(capsys, "serving", "start", "-m", "x")
    assert code == 1 and "`hub serving` is not available in this installation" in err


def test_serving_uses_configure_and_main_of_hubcore_server_cli(capsys, monkeypatch):
    import types

    fake = types.ModuleType("hubcore.server.cli")
    fake.configure = lambda parser: parser.add_argument("action")
    fake.main = lambda args: print(f"serving {args.action}") or 7
    monkeypatch.setitem(sys.modules, "hubcore.server.cli", fake)
    import hubcore.server

    monkeypatch.setattr(hubcore.server, "cli", fake, raising=False)
    code, out, _ = hub(capsys, "serving", "start")
    assert (code, out) == (7, "serving start\n")


def test_install_prints_the_plan_and_runs_this_interpreters_pip(site, capsys, tmp_path, monkeypatch):
    install_fake_module(site, module="fkbase", version="1.0.0")
    write_registry(tmp_path, monkeypatch, {
        "fkapp": ("2.0.0", "app", {"modules": {"fkbase": ">=1", "fklib": ">=1"}}),
        "fklib": ("1.3.0", "lib", {}),
        "fkbase": ("1.0.0", "base", {}),
    })
    calls = []

    def fake_call(command):
        constraints = Path(command[command.index("-c") + 1]).read_text()
        calls.append((command, constraints))
        return 0

    monkeypatch.setattr("hubcore.install.subprocess.call", fake_call)
    code, out, _ = hub(capsys, "install", "fkapp", "--find-links", "/wheels", "--no-index", "-q")
    assert code == 0
    assert "keep      fkbase 1.0.0  (needed by fkapp 2.0.0)" in out
    assert "install   fklib 1.3.0  (needed by fkapp 2.0.0)  [hubmod-fklib==1.3.0]" in out
    (command, constraints), = calls
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert command[-2:] == ["hubmod-fklib==1.3.0", "hubmod-fkapp==2.0.0"]
    assert "--find-links" in command and "/wheels" in command and "--no-index" in command
    from hubcore.install import installed_paddle

    dist, version = installed_paddle()
    other = "paddlepaddle-gpu" if dist == "paddlepaddle" else "paddlepaddle"
    assert constraints.split() == [f"{dist}=={version}", f"{other}<0"]


def test_install_conflict_is_one_line_chain(site, capsys, tmp_path, monkeypatch):
    install_fake_module(site, module="fkold", version="1.0.0")
    install_fake_module(site, module="fkpin", version="1.0.0", requires='[modules.fkpin.requires]\nmodules = { fkold = "<2" }\n')
    write_registry(tmp_path, monkeypatch, {"fknew": ("1.0.0", "n", {"modules": {"fkold": ">=2"}}),
                                           "fkold": ("1.0.0", "o", {})})
    monkeypatch.setattr("hubcore.install.subprocess.call", lambda command: pytest.fail("pip must not run"))
    code, out, err = hub(capsys, "install", "fknew")
    assert code == 1 and err.count("\n") == 1
    assert err.strip() == ("hub: error: cannot install fknew: you asked for fknew -> fknew 1.0.0 needs fkold>=2, but "
                           "fkpin 1.0.0 (installed) needs fkold<2; fkold 1.0.0 is installed and the registry has fkold 1.0.0")


def test_uninstall_refuses_while_needed_and_works_on_broken_modules(site, capsys, monkeypatch):
    install_fake_module(site, module="fkdep", version="1.0.0")
    install_fake_module(site, module="fkuser", version="1.0.0", requires='[modules.fkuser.requires]\nmodules = { fkdep = ">=1" }\n')
    broken = install_fake_module(site, module="fkbroke", version="1.0.0")
    (broken / "hubmodule.toml").write_text("not toml at all")
    calls = []
    monkeypatch.setattr("hubcore.install.subprocess.call", lambda command: calls.append(command) or 0)
    code, _, err = hub(capsys, "uninstall", "fkdep")
    assert code == 1 and "fkuser 1.0.0 needs fkdep>=1" in err and "--force" in err and not calls
    assert hub(capsys, "uninstall", "fkdep", "--force")[0] == 0
    assert hub(capsys, "uninstall", "fkbroke")[0] == 0
    assert [c[3:] for c in calls] == [["uninstall", "-y", "--disable-pip-version-check", "hubmod-fkdep"],
                                      ["uninstall", "-y", "--disable-pip-version-check", "hubmod-fkbroke"]]


def test_download_and_cache_commands_use_the_artifact_cache(site, capsys, tmp_hub_home, tmp_path):
    data = b"weights of a fake module\n"
    source = tmp_path / "vocab.bin"
    source.write_bytes(data)
    install_fake_module(site, module="fkcache", version="1.0.0", manifest_extra=textwrap.dedent(f"""
        [[modules.fkcache.artifacts]]
        name = "vocab"
        source = "{source.as_uri()}"
        sha256 = "{hashlib.sha256(data).hexdigest()}"
        size = {len(data)}
        [[modules.fkcache.artifacts]]
        name = "weights"
        """))
    code, _, err = hub(capsys, "download", "fkcache")
    assert code == 1 and "no pretrained weights are published for module 'fkcache' (artifact 'weights')" in err
    provided = tmp_path / "my_weights.bin"
    provided.write_bytes(b"my own weights")
    code, out, _ = hub(capsys, "download", "fkcache", "--artifact", "weights", "--from", str(provided))
    assert code == 0 and "artifact weights installed from" in out
    code, out, _ = hub(capsys, "download", "fkcache")
    assert code == 0 and "2 artifact(s) in the cache" in out
    code, out, _ = hub(capsys, "cache", "ls", "fkcache", "--json")
    entries = {e["artifact"]: e for e in json.loads(out)}
    assert entries["vocab"]["ok"] and not entries["vocab"]["provided"] and entries["weights"]["provided"]
    assert Path(entries["vocab"]["path"]).read_bytes() == data
    assert hub(capsys, "cache", "verify")[:2] == \
        (0, "cache verified: every file matches its sha256, every extracted folder and build its manifest\n")
    code, out, _ = hub(capsys, "cache", "clear", "fkcache")
    assert code == 0 and out.startswith("freed ")
    assert json.loads(hub(capsys, "cache", "ls", "--json")[1]) == []


def test_download_also_fetches_the_artifacts_of_module_dependencies(site, capsys, tmp_hub_home, tmp_path):
    def artifact(module: str, data: bytes) -> str:
        source = tmp_path / f"{module}.bin"
        source.write_bytes(data)
        return textwrap.dedent(f"""
            [[modules.{module}.artifacts]]
            name = "w"
            source = "{source.as_uri()}"
            sha256 = "{hashlib.sha256(data).hexdigest()}"
            size = {len(data)}
            """)

    install_fake_module(site, module="fkleaf", version="1.0.0", manifest_extra=artifact("fkleaf", b"leaf"))
    install_fake_module(site, module="fkmid", version="1.0.0",
                        requires='[modules.fkmid.requires]\nmodules = { fkleaf = ">=1" }\n')
    install_fake_module(site, module="fktop", version="1.0.0",
                        requires='[modules.fktop.requires]\nmodules = { fkmid = "", fkleaf = "" }\n',
                        manifest_extra=artifact("fktop", b"top"))
    code, out, _ = hub(capsys, "download", "fktop")
    assert code == 0, out
    assert [line.split(":")[0] for line in out.splitlines() if not line.startswith(" ")] == [
        "fktop 1.0.0", "module fkmid 1.0.0 declares no artifacts", "fkleaf 1.0.0"]
    cached = {e["artifact"] + "@" + e["module"] for e in json.loads(hub(capsys, "cache", "ls", "--json")[1])}
    assert cached == {"w@fktop", "w@fkleaf"}


def test_config_says_where_each_setting_comes_from(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "h"))
    monkeypatch.delenv("HUB_REGISTRY", raising=False)
    monkeypatch.setenv("HUB_OFFLINE", "1")
    code, out, _ = hub(capsys, "config", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["hub_home"]["value"] == str(tmp_path / "h") and rows["hub_home"]["source"] == "$HUB_HOME"
    assert rows["offline"] == dict(rows["offline"], value=True, source="$HUB_OFFLINE")
    assert rows["registry_location"]["source"].startswith("default: the registry shipped with hubcore")
    code, out, _ = hub(capsys, "version")
    assert code == 0 and out.startswith("hubcore 0.1.0") and "registry " in out


def test_plugins_can_add_commands(capsys, monkeypatch):
    from hubcore.cli import plugin_commands

    seen = {}
    monkeypatch.setattr(plugin_commands, "plugin_commands", lambda: {
        "fkhello": ("say hello", lambda p: p.add_argument("--who"), lambda a: seen.setdefault("who", a.who) and 3)})
    assert hub(capsys, "fkhello", "--who", "you")[0] == 3 and seen == {"who": "you"}
    with pytest.raises(SystemExit):
        main(["fk-unknown-command"])


def test_list_survives_an_unreadable_manifest(site, capsys):
    folder = install_fake_module(site, module="fkbytes", version="1.0.0")
    (folder / "hubmodule.toml").write_bytes(b"package = '\xff\xfe'\n")
    code, out, _ = hub(capsys, "list")
    assert code == 0 and "fkbytes (hubmod-fkbytes 1.0.0): cannot read the manifest of hubmod-fkbytes: UnicodeDecodeError" in out


def test_install_reports_nothing_to_do_and_pip_failures_in_one_line(site, capsys, tmp_path, monkeypatch):
    install_fake_module(site, module="fkhave", version="1.0.0")
    write_registry(tmp_path, monkeypatch, {"fkhave": ("1.0.0", "h", {}), "fkwant": ("1.0.0", "w", {})})
    monkeypatch.setattr("hubcore.install.subprocess.call", lambda command: 1)
    code, out, _ = hub(capsys, "install", "fkhave")
    assert code == 0 and out.startswith("nothing to do: fkhave already installed")
    code, out, err = hub(capsys, "install", "fkwant", "--dry-run")
    assert code == 0 and "dry run: nothing installed" in out
    code, out, err = hub(capsys, "install", "fkwant")
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("hub: error: pip could not install hubmod-fkwant==1.0.0 (exit code 1); its output is above.")
