"""Print the pip requirements of every module package in modules/, except hubcore itself.

dev_setup installs the module packages with --no-deps (their `hubcore` requirement is the local
checkout, not a package on the index) and then these requirements in one pip call."""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    seen: dict[str, str] = {}
    for pyproject in sorted(ROOT.glob("modules/*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        for text in project.get("dependencies", []):
            req = Requirement(text)
            if req.name.lower() in ("hubcore", "paddlepaddle", "paddlepaddle-gpu"):
                continue
            seen.setdefault(str(req), pyproject.parent.name)
    for req in sorted(seen):
        print(req)
    return 0


if __name__ == "__main__":
    sys.exit(main())
