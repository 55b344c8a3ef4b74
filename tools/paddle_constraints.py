"""Print pip constraints for the paddle installed in this interpreter's environment.

dev_setup passes them to every pip call after paddle is installed, so that no module's requirement
moves a neighbour of paddle past what that paddle release works with."""
from __future__ import annotations

import importlib.metadata as metadata
import sys

# {paddle major.minor: constraints}; a release missing here needs none.
CONSTRAINTS: dict[tuple[int, int], list[str]] = {}


def installed_paddle() -> tuple[int, int] | None:
    # Runs before anything but paddle is installed, so no `packaging` here.
    for name in ("paddlepaddle", "paddlepaddle-gpu"):
        try:
            major, minor = metadata.version(name).split(".")[:2]
        except metadata.PackageNotFoundError:
            continue
        return int(major), int(minor)
    return None


def main() -> int:
    version = installed_paddle()
    if version is not None:
        for line in CONSTRAINTS.get(version, []):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
