from pathlib import Path

import pytest

from hubcore.errors import ManifestError
from hubcore.manifest import read_manifest

GOOD = """
package = "hubmod-x"
[modules.x]
class = "hubmod_x.module:X"
category = "nlp/test"
summary = "a test module"
license = "MIT"
pretrained = true
[modules.x.requires]
paddle = ">=2.6"
modules = { y = ">=1.0" }
[[modules.x.artifacts]]
name = "weights"
source = "https://example.invalid/w.bin"
sha256 = "%s"
size = 3
""" % ("ab" * 32)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hubmodule.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_all_fields(tmp_path):
    m = read_manifest(write(tmp_path, GOOD))["x"]
    assert (m.name, m.package, m.category, m.license, m.pretrained) == ("x", "hubmod-x", "nlp/test", "MIT", True)
    assert m.requires.paddle == ">=2.6" and dict(m.requires.modules) == {"y": ">=1.0"}
    assert m.artifact("weights").sha256 == "ab" * 32 and m.artifact("weights").published
    with pytest.raises(ManifestError, match="no artifact named 'nope'.*declared: weights"):
        m.artifact("nope")


@pytest.mark.parametrize("broken, message", [
    (GOOD.replace('class = "hubmod_x.module:X"\n', ""), "missing required field 'class'"),
    (GOOD.replace("ab" * 32, "xyz"), "sha256 must be 64 hex digits"),
    (GOOD.replace(f'sha256 = "{"ab" * 32}"\n', ""), "has a source but no sha256"),
    (GOOD.replace("size = 3", "size = -1"), "size must be a non-negative integer"),
    ("package = 'p'\n[modules]\n", r"\[modules\] is empty"),
    ("this is not toml", "not valid TOML"),
])
def test_rejects_broken_manifests_with_a_named_field(tmp_path, broken, message):
    with pytest.raises(ManifestError, match=message):
        read_manifest(write(tmp_path, broken))


def test_missing_file_names_the_fix(tmp_path):
    with pytest.raises(ManifestError, match="ships one in its top-level package"):
        read_manifest(tmp_path / "hubmodule.toml")
