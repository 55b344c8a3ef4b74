import subprocess
import sys


def run(code: str, **env) -> str:
    import os

    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=full_env).stdout.strip()


def test_import_hubcore_does_not_import_paddle_or_heavy_libraries():
    out = run("import sys, hubcore; print(sorted(m for m in ('paddle', 'numpy', 'requests', 'pluggy') if m in sys.modules))")
    assert out == "[]"


def test_settings_are_read_when_used_not_at_import(tmp_path):
    code = (
        "import os, hubcore.settings as s\n"
        "a = s.hub_home()\n"
        f"os.environ['HUB_HOME'] = {str(tmp_path)!r}\n"
        "os.environ['HUB_OFFLINE'] = '1'\n"
        "print(a != s.hub_home(), s.hub_home(), s.offline())"
    )
    assert run(code) == f"True {tmp_path} True"


def test_index_url_comes_from_configuration(tmp_path):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://mirror.invalid/simple/\n")
    code = "import hubcore.settings as s; print(s.index_url())"
    assert run(code, PIP_CONFIG_FILE=str(conf), PIP_INDEX_URL="", HUB_INDEX_URL="") == "https://mirror.invalid/simple"
    assert run(code, HUB_INDEX_URL="https://other.invalid/simple") == "https://other.invalid/simple"
