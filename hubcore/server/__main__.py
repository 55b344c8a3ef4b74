"""`python -m hubcore.server start|stop ...`: the same entry as `hub serving`."""
from __future__ import annotations

import argparse
import sys

from .cli import configure, main


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hub serving", description="Serve installed modules over HTTP.")
    configure(parser)
    return main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(run())
