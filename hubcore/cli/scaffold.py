"""`hub new NAME`: a module package that installs, is found by hub.Module, passes `hub check` and
builds a wheel, modelled on modules/hubmod-example. Replace the toy method with your model."""
from __future__ import annotations

import argparse
import keyword
import re
from pathlib import Path

from ..errors import InputError

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=61", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "{summary}"
readme = "README.md"
requires-python = ">=3.9"
license = {{ text = "Apache-2.0" }}
# Never list paddlepaddle here: paddlepaddle or paddlepaddle-gpu both satisfy the module, so the
# framework need goes in hubmodule.toml (requires.paddle) and the hub checks it at load time.
dependencies = ["hubcore"]

[project.entry-points."hubcore.modules"]
{name} = "{pkg}.module:{cls}"

[tool.setuptools]
packages = ["{pkg}"]

[tool.setuptools.package-data]
# The manifest (and any data files the module reads) must ship inside the package.
{pkg} = ["hubmodule.toml"]
'''

MANIFEST = '''\
package = "{dist}"

[modules.{name}]
class = "{pkg}.module:{cls}"
category = "{category}"
summary = "{summary}"
license = "Apache-2.0"
# true only when every artifact below is real, published pretrained weights.
pretrained = false

# [modules.{name}.requires]
# paddle = ">=2.6"                  # met by paddlepaddle or paddlepaddle-gpu; never a pip dependency
# modules = {{ other = ">=1.0" }}     # other hub modules this one loads

# Weights and other files, fetched and sha256-verified by the hub: self.artifact("weights").
# [[modules.{name}.artifacts]]
# name = "weights"
# source = "pypi:PROJECT==VERSION/FILENAME"   # or https://..., or leave out when not published
# sha256 = "..."
# size = 123
# member = "path/inside/the/archive"        # optional; a trailing "/" takes a folder
'''

INIT = '''\
"""{dist}: {summary} Keep this file tiny: the hub lists modules without importing them."""
'''

MODULE = '''\
"""{cls}: {summary}

Import paddle inside methods (or in a model file imported from them), never at the top of the
package, so that `hub list` and `import hubcore` stay fast.
"""
from __future__ import annotations

import hubcore
from hubcore.errors import InputError


class {cls}(hubcore.Module):
    def __init__(self, lowercase: bool = False):
        self.lowercase = lowercase
        # Load weights here or lazily: path = self.artifact("weights")  (declared in hubmodule.toml)

    @hubcore.serving(batch="texts", default=True)
    def analyze(self, texts: list[str]) -> list[dict]:
        """Replace with your model's prediction; this toy version counts words and characters.

        Args:
            texts: the texts to process, one result per text.
        """
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise InputError("texts must be a list of strings, e.g. [\\"hello world\\"]")
        return [{{"words": len((t.lower() if self.lowercase else t).split()), "chars": len(t)}} for t in texts]

    @classmethod
    def sample_input(cls) -> dict:
        """Keyword arguments for the default signature; `hub check` predicts on them."""
        return {{"texts": ["hello world"]}}
'''

README = '''\
# {dist}

Module `{name}` (category `{category}`): {summary}

**No pretrained weights are published for this module** (`pretrained = false`). When you add real
weights, declare them as artifacts in `{pkg}/hubmodule.toml` with their sha256.

```python
import hubcore as hub

m = hub.Module(name="{name}")
m.analyze(texts=["hello world"])
```

Develop and check it:

```
pip install -e . --no-deps        # or: hub check --dir .  (without installing)
hub check {name}
pytest tests
pip wheel --no-deps -w dist .     # or: python -m build --wheel
```
'''

TEST = '''\
from pathlib import Path

from hubcore.conformance import assert_conformant


def test_{name}_keeps_the_hub_contract():
    assert_conformant(directory=Path(__file__).resolve().parents[1])
'''


def check_name(name: str) -> None:
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise InputError(f"module name {name!r}: use lowercase letters, digits and underscores, starting with a "
                         f"letter (e.g. my_classifier)")


def class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) or "Module"


def create_module(name: str, where: str | Path = ".", *, category: str = "text/example",
                  summary: str = "") -> Path:
    """Write hubmod-NAME/ under where and return its folder."""
    check_name(name)
    if "/" not in category:
        raise InputError(f"--category {category!r}: write AREA/TASK, e.g. cv/classification or nlp/sentiment")
    dist = "hubmod-" + name.replace("_", "-")
    pkg = "hubmod_" + name
    folder = Path(where).expanduser() / dist
    if folder.exists():
        raise InputError(f"{folder} already exists; pick another name or --dir")
    values = {"name": name, "dist": dist, "pkg": pkg, "cls": class_name(name), "category": category,
              "summary": (summary or f"The {name} module").replace('"', "'")}
    files = {
        "pyproject.toml": PYPROJECT, "README.md": README, f"{pkg}/__init__.py": INIT,
        f"{pkg}/hubmodule.toml": MANIFEST, f"{pkg}/module.py": MODULE, f"tests/test_{name}.py": TEST,
    }
    for relative, template in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values), encoding="utf-8")
    return folder


def cmd_new(args: argparse.Namespace) -> int:
    folder = create_module(args.name, args.dir, category=args.category, summary=args.summary)
    print(f"created {folder}")
    print(f"next: pip install -e {folder} --no-deps && hub check {args.name}")
    return 0
