import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hubcore.cli.main import main

NAME = "fk_scaffolded"


def test_hub_new_makes_a_package_that_builds_installs_loads_and_passes_check(tmp_path, capsys):
    assert main(["new", NAME, "--dir", str(tmp_path), "--category", "nlp/test", "--summary", "A scaffolded module"]) == 0
    folder = tmp_path / "hubmod-fk-scaffolded"
    assert f"created {folder}" in capsys.readouterr().out

    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "-w", str(wheels), str(folder)], check=True)
    wheel, = wheels.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "hubmod_fk_scaffolded/hubmodule.toml" in names and not any(n.startswith("tests/") for n in names)

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--disable-pip-version-check", "--target", str(site), str(wheel)], check=True)
    env = dict(os.environ, PYTHONPATH=str(site))
    code = (f"import sys, hubcore as hub; m = hub.Module(name={NAME!r}); "
            "print(m.version, m.category, m.pretrained, m.predict(texts=['a b c']), "
            "sys.modules[type(m).__module__].__file__.startswith(sys.argv[1]))")
    loaded = subprocess.run([sys.executable, "-c", code, str(site)], capture_output=True, text=True, env=env,
                            cwd=tmp_path)
    assert loaded.stdout.strip() == "0.1.0 nlp/test False [{'words': 3, 'chars': 5}] True", loaded.stderr
    checked = subprocess.run([sys.executable, "-m", "hubcore.cli.main", "check", NAME], capture_output=True,
                             text=True, env=env, cwd=tmp_path)
    assert checked.returncode == 0 and checked.stdout.splitlines()[-1] == "conformant", checked.stdout + checked.stderr
    # The package's own test (written by the scaffold) passes too.
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / "tests")],
                            capture_output=True, text=True, cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout


@pytest.mark.parametrize("name, message", [("Bad-Name", "use lowercase letters"), ("class", "use lowercase letters")])
def test_hub_new_refuses_bad_names(tmp_path, capsys, name, message):
    assert main(["new", name, "--dir", str(tmp_path)]) == 1
    assert message in capsys.readouterr().err


def test_hub_new_never_overwrites(tmp_path, capsys):
    assert main(["new", "fk_twice", "--dir", str(tmp_path)]) == 0
    assert main(["new", "fk_twice", "--dir", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_tools_new_module_is_the_same_command(tmp_path):
    tool = Path(__file__).resolve().parents[1] / "tools" / "new_module.py"
    result = subprocess.run([sys.executable, str(tool), "fk_tool", "--dir", str(tmp_path)], capture_output=True,
                            text=True)
    assert result.returncode == 0 and (tmp_path / "hubmod-fk-tool" / "hubmod_fk_tool" / "hubmodule.toml").is_file()
