"""End to end: wheelhouse -> fresh virtualenv -> `hub install` -> hub.Module -> `hub list` / `hub uninstall`.

The venv reuses this environment's third-party packages (paddle, numpy, pip, ...) through a .pth
file pointing at a folder of links, so nothing is downloaded; hubcore and every module package are
left out of that folder, so both must come from the wheelhouse.
"""
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _is_hub_distribution(entry: Path) -> bool:
    if entry.name.startswith(("hubcore", "hubmod", "__editable__")) or entry.suffix == ".pth":
        return True
    points = entry / "entry_points.txt"
    return entry.suffix == ".dist-info" and points.is_file() and "[hubcore." in points.read_text(errors="replace")


def shared_packages(folder: Path) -> Path:
    """Links to this environment's packages except hubcore, module packages and .pth hooks."""
    folder.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not _is_hub_distribution(entry):
            (folder / entry.name).symlink_to(entry)
    return folder


def run(*command, **kw):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HUB_REGISTRY", "VIRTUAL_ENV")}
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, env=env, **kw)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_install_from_a_wheelhouse_into_a_fresh_virtualenv(tmp_path):
    wheelhouse = tmp_path / "wheelhouse"
    run(sys.executable, ROOT / "tools" / "build_wheelhouse.py", wheelhouse, "--only", "hubmod-example")
    assert sorted(p.name for p in wheelhouse.glob("*.whl")) == ["hubcore-0.1.0-py3-none-any.whl",
                                                                "hubmod_example-1.0.0-py3-none-any.whl"]
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python, hub = venv / "bin" / "python", venv / "bin" / "hub"
    purelib = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    (purelib / "_shared_packages.pth").write_text(str(shared_packages(tmp_path / "shared")) + "\n")

    run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index", "--find-links",
        wheelhouse, "hubcore")
    out = run(hub, "install", "--find-links", wheelhouse, "--no-index", "-q", "example", cwd=tmp_path)
    assert "install   example 1.0.0  (requested)  [hubmod-example==1.0.0]" in out
    assert "installed example 1.0.0 (hubmod-example)" in out

    probe = (
        "import json, sys, importlib.metadata as md, hubcore\n"
        "m = hubcore.Module(name='example', lowercase=True)\n"
        "dist = md.distribution('hubcore')\n"
        "print(json.dumps({'core': hubcore.__file__, 'editable': 'editable' in (dist.read_text('direct_url.json') or ''),\n"
        "    'record': bool(dist.read_text('RECORD')), 'module': sys.modules[type(m).__module__].__file__,\n"
        "    'result': m.predict(texts=['Hello  World'])}))\n"
    )
    seen = json.loads(run(python, "-c", probe, cwd=tmp_path))
    assert seen["core"].startswith(str(purelib)) and seen["module"].startswith(str(purelib))
    assert seen["record"] and not seen["editable"] and not seen["core"].startswith(str(ROOT))
    assert seen["result"] == [{"tokens": ["hello", "world"], "words": 2, "chars": 12, "non_space_chars": 10}]

    listed = json.loads(run(hub, "list", "--json", cwd=tmp_path))
    assert [(m["name"], m["version"], m["package"]) for m in listed["modules"]] == [("example", "1.0.0", "hubmod-example")]
    assert json.loads(run(hub, "version", "--json", cwd=tmp_path))["registry"]["location"].startswith(str(purelib))

    run(hub, "uninstall", "-q", "example", cwd=tmp_path)
    assert json.loads(run(hub, "list", "--json", cwd=tmp_path))["modules"] == []
