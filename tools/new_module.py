"""Create a new module package: `python tools/new_module.py NAME [--dir modules]` (same as `hub new`).

Defaults to creating it in this repository's modules/ folder."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hubcore.cli.main import main  # noqa: E402

if __name__ == "__main__":
    argv = sys.argv[1:]
    if "--dir" not in argv and not any(a.startswith("--dir=") for a in argv) and "-h" not in argv and "--help" not in argv:
        argv += ["--dir", str(ROOT / "modules")]
    sys.exit(main(["new", *argv]))
