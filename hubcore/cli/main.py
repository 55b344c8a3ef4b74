"""`hub`: the command line. Parsing lives here; each command's code is imported only when it runs.

Keeping this file free of heavy imports is what keeps `hub --help`, `hub list`, `hub search` and
`hub show` fast and free of paddle and plugin code. `hub run NAME ...` and `hub serving ...` build
their flags at run time (from the module's signature, and from hubcore.server.cli), so they are
dispatched before the main parser sees their arguments.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Sequence

from .. import __version__
from ..errors import HubError

# name -> (handler "module:function" under hubcore.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("listing:cmd_list", "list installed modules (and broken ones, with their error)"),
    "search": ("listing:cmd_search", "search installed modules and the registry by name, summary or category"),
    "show": ("listing:cmd_show", "show a module's metadata, requirements, artifacts and signatures"),
    "install": ("installing:cmd_install", "install modules with their module dependencies (resolved first)"),
    "uninstall": ("installing:cmd_uninstall", "uninstall the packages providing modules"),
    "download": ("cache:cmd_download", "fetch a module's artifacts into the cache, or provide one from a file"),
    "run": ("running:main", "run a module's default signature on inputs given as flags"),
    "cache": ("cache:cmd_cache", "list, verify or clear the artifact cache"),
    "config": ("settings_view:cmd_config", "show the effective settings and where each comes from"),
    "version": ("settings_view:cmd_version", "show versions of hubcore, python and paddle, and the registry"),
    "new": ("scaffold:cmd_new", "create a new module package from the template"),
    "check": ("check:cmd_check", "check that a module follows the hub's contract (conformance)"),
    "serving": ("", "serve modules over HTTP (`hub serving --help`)"),
    "import-paddlehub": ("", "turn a PaddleHub module folder into our safetensors weights (no unpickling)"),
}
DYNAMIC = {"run", "serving", "import-paddlehub"}  # commands that parse their own arguments

EPILOG = """examples:
  hub search ocr                    find modules
  hub install lac                   install a module and its module dependencies
  hub run lac --input_text "今天天气真好"
  hub show lac                      metadata, artifacts, requirements
  hub serving start -m lac          serve it over HTTP

settings come from environment variables (HUB_HOME, HUB_OFFLINE, HUB_MIRROR, HUB_REGISTRY, ...):
see `hub config`. HUB_DEBUG=1 shows tracebacks."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description="Pretrained PaddlePaddle modules: find, install, "
                                     "run, serve.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"hubcore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    configure: dict[str, Callable[[argparse.ArgumentParser], None]] = {
        "list": _list_args, "search": _search_args, "show": _show_args, "install": _install_args,
        "uninstall": _uninstall_args, "download": _download_args, "cache": _cache_args, "config": _json_only,
        "version": _json_only, "new": _new_args, "check": _check_args,
    }
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, add_help=name not in DYNAMIC)
        if name in configure:
            configure[name](p)
    return parser


def _json_only(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def _list_args(p: argparse.ArgumentParser) -> None:
    _json_only(p)


def _search_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("word", help="text to look for in names, summaries and categories (case-insensitive)")
    _json_only(p)


def _show_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="module name")
    p.add_argument("--signatures", action="store_true",
                   help="also show the callable signatures (imports the module's code, not its weights)")
    _json_only(p)


def _pip_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index-url", "-i", help="package index for pip (default: pip's own configuration)")
    p.add_argument("--find-links", "-f", action="append", default=[], metavar="DIR_OR_URL",
                   help="also look for packages here (a wheelhouse); repeatable")
    p.add_argument("--no-index", action="store_true", help="do not use any package index (with --find-links)")
    p.add_argument("--quiet", "-q", action="store_true", help="less pip output")


def _install_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("modules", nargs="+", metavar="NAME[SPEC]", help="e.g. lac, 'lac==1.0.0', 'lac>=1,<2'")
    p.add_argument("--upgrade", "-U", action="store_true", help="prefer the newest versions of the named modules")
    p.add_argument("--dry-run", action="store_true", help="print the plan, install nothing")
    _pip_args(p)


def _uninstall_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("modules", nargs="+", metavar="NAME", help="module names (or their package names)")
    p.add_argument("--force", action="store_true", help="remove even if other installed modules need them")
    p.add_argument("--quiet", "-q", action="store_true", help="less pip output")


def _download_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="module name (installed, or known to the registry)")
    p.add_argument("--artifact", "-a", action="append", default=[], help="only this artifact; repeatable")
    p.add_argument("--from", dest="from_file", metavar="FILE",
                   help="install FILE as the artifact (for weights that are not published, or an offline copy)")


def _cache_args(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = actions.add_parser("ls", help="list cached artifacts")
    ls.add_argument("name", nargs="?", help="only this module")
    _json_only(ls)
    verify = actions.add_parser("verify", help="re-hash cached files, extracted trees and builds; report damaged ones")
    verify.add_argument("name", nargs="?", help="only this module")
    verify.add_argument("--remove", action="store_true", help="delete damaged ones (fetched or made again on next use)")
    clear = actions.add_parser("clear", help="delete cached artifacts and builds")
    clear.add_argument("name", nargs="?", help="only this module (files other modules use are kept)")


def _new_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="module name: lowercase letters, digits and underscores, e.g. my_classifier")
    p.add_argument("--dir", default=".", help="folder to create hubmod-NAME/ in (default: current folder)")
    p.add_argument("--category", default="text/example", help="category, e.g. cv/classification")
    p.add_argument("--summary", default="", help="one-line summary")


def _check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="installed module name")
    p.add_argument("--dir", help="check a development folder instead of an installed module")
    _json_only(p)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    import warnings

    # paddle warns about a missing C++ compiler cache on every import; irrelevant to hub users.
    warnings.filterwarnings("ignore", message="No ccache found")
    try:
        return _dispatch(argv)
    except HubError as exc:
        return _fail(f"hub: error: {exc}")
    except KeyboardInterrupt:
        print("hub: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `hub list | head`
        return 0
    except Exception as exc:  # a bug, here or in a module: one line, the traceback on request
        return _fail(f"hub: internal error: {type(exc).__name__}: {exc} (set HUB_DEBUG=1 for the traceback)", code=2)


def _fail(message: str, code: int = 1) -> int:
    if os.environ.get("HUB_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}:
        import traceback

        traceback.print_exc()
    print(" ".join(message.split("\n")), file=sys.stderr)
    return code


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] == "serving":
        return _serving(argv[1:])
    if argv and argv[0] == "import-paddlehub":
        from ..paddlehub_import import main as import_main

        return import_main(argv[1:])
    if argv and argv[0] == "run":
        from .running import main as run_main

        return run_main(argv[1:])
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        from .plugin_commands import run_plugin_command

        code = run_plugin_command(argv[0], argv[1:])
        if code is not None:
            return code
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    target, _ = COMMANDS[args.command]
    module_name, _, function = target.partition(":")
    import importlib

    handler = getattr(importlib.import_module(f"hubcore.cli.{module_name}"), function)
    return int(handler(args) or 0)


def _serving(argv: list[str]) -> int:
    try:
        from ..server import cli as serving_cli
    except ImportError as exc:
        missing = getattr(exc, "name", "") or ""
        if missing.startswith("hubcore.server"):
            raise HubError("`hub serving` is not available in this installation (hubcore.server.cli is missing); "
                           "reinstall hubcore") from None
        raise HubError(f"`hub serving` needs a package that is not installed: {exc}; install it with "
                       f"`pip install 'hubcore[serving]'`") from None
    parser = argparse.ArgumentParser(prog="hub serving", description=COMMANDS["serving"][1])
    serving_cli.configure(parser)
    args = parser.parse_args(argv)
    return int(serving_cli.main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
