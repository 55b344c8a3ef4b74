"""`hub config` and `hub version`: what the hub would use right now, and where each value comes from.

Settings are the public functions of hubcore.settings; the environment variables each one reads
are the names its docstring mentions, so a setting added there shows up here without a change.
"""
from __future__ import annotations

import argparse
import inspect
import os
import re
import sys
from typing import Any

from .output import print_json, table

_VARIABLE = re.compile(r"\b((?:HUB|PIP|XDG)_[A-Z_]+)\b")


def effective_settings() -> list[dict[str, Any]]:
    """[{name, value, source, variables, help}] for every setting in hubcore.settings."""
    from .. import settings

    out = []
    for name, func in inspect.getmembers(settings, inspect.isfunction):
        if name.startswith("_") or func.__module__ != settings.__name__:
            continue
        if any(p.default is p.empty for p in inspect.signature(func).parameters.values()):
            continue
        doc = inspect.getdoc(func) or ""
        variables = list(dict.fromkeys(_VARIABLE.findall(doc)))
        try:
            value = func()
        except Exception as exc:  # a bad value in the environment: show it rather than fail
            value = f"<invalid: {exc}>"
        out.append({"name": name, "value": _plain(value), "source": _source(name, variables, settings),
                    "variables": variables, "help": doc.split("\n")[0]})
    out.append({"name": "debug", "value": os.environ.get("HUB_DEBUG", "") not in ("", "0"),
                "source": "HUB_DEBUG" if os.environ.get("HUB_DEBUG") else "default", "variables": ["HUB_DEBUG"],
                "help": "Show tracebacks for errors ($HUB_DEBUG=1)."})
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if value is None or isinstance(value, (bool, int, float, str, list)):
        return value
    return str(value)


def _source(name: str, variables: list[str], settings: Any) -> str:
    for var in variables:
        if os.environ.get(var):
            return f"${var}"
    if name == "index_url":
        return _pip_config_source(settings)
    if name == "registry_location":
        from ..registry import EMBEDDED

        return f"default: the registry shipped with hubcore ({EMBEDDED})"
    return "default"


def _pip_config_source(settings: Any) -> str:
    configured = settings._pip_config_index_url()
    return f"pip config {configured[1]}" if configured else "default"


def cmd_config(args: argparse.Namespace) -> int:
    rows = effective_settings()
    if args.json:
        print_json(rows)
        return 0
    print(table(("SETTING", "VALUE", "FROM"), [(r["name"], _show(r["value"]), r["source"]) for r in rows],
                max_last=120))
    print("\nset them with environment variables:")
    for r in rows:
        if r["variables"]:
            print(f"  {', '.join(r['variables'])}: {r['help']}")
    return 0


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "-"
    return str(value)


def cmd_version(args: argparse.Namespace) -> int:
    import platform

    from .. import __version__
    from ..discovery import iter_entries
    from ..errors import RegistryError
    from ..install import installed_paddle
    from ..registry import load_registry

    import hubcore

    paddle = installed_paddle()
    try:
        registry = load_registry()
        reg = {"location": registry.location, "modules": len(registry)}
    except RegistryError as exc:
        reg = {"location": None, "error": str(exc)}
    info = {
        "hubcore": __version__,
        "hubcore_path": os.path.dirname(hubcore.__file__),
        "python": f"{platform.python_version()} ({sys.executable})",
        "paddle": f"{paddle[0]} {paddle[1]}" if paddle else None,
        "installed_modules": len([e for e in iter_entries() if e.ok]),
        "registry": reg,
    }
    if args.json:
        print_json(info)
        return 0
    print(f"hubcore {info['hubcore']} ({info['hubcore_path']})")
    print(f"python  {info['python']}")
    print(f"paddle  {info['paddle'] or 'not installed: pip install paddlepaddle (CPU) or paddlepaddle-gpu (CUDA)'}")
    print(f"modules {info['installed_modules']} installed")
    if reg.get("location"):
        print(f"registry {reg['location']} ({reg['modules']} modules)")
    else:
        print(f"registry unreadable: {reg['error']}")
    return 0
