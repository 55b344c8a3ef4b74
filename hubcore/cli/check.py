"""`hub check NAME` / `hub check --dir PATH`: the conformance check, printed."""
from __future__ import annotations

import argparse

from ..errors import InputError
from .output import print_json


def cmd_check(args: argparse.Namespace) -> int:
    from ..conformance import check_module

    if bool(args.name) == bool(args.dir):
        raise InputError("give an installed module name (`hub check NAME`) or a folder (`hub check --dir PATH`)")
    report = check_module(name=args.name, directory=args.dir)
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.format())
    return 0 if report.ok else 1
