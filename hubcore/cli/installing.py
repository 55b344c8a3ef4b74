"""`hub install` and `hub uninstall`: thin wrappers over hubcore.install."""
from __future__ import annotations

import argparse


def cmd_install(args: argparse.Namespace) -> int:
    from ..install import PipOptions, install

    options = PipOptions(index_url=args.index_url, find_links=tuple(args.find_links), no_index=args.no_index,
                         quiet=args.quiet)
    install(args.modules, options, upgrade=args.upgrade, dry_run=args.dry_run)
    return 0


def cmd_uninstall(args: argparse.Namespace) -> int:
    from ..install import uninstall

    uninstall(args.modules, force=args.force, quiet=args.quiet)
    return 0
