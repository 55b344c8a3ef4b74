"""The pluggy plugin manager: loads `hubcore.plugins` entry points once, each one guarded."""
from __future__ import annotations

import sys
from functools import lru_cache

import pluggy

from . import hookspecs
from .discovery import PLUGIN_GROUP, metadata
from .settings import plugin_allowlist

# Plugins that failed to load, by entry-point name, so `hub list` can show them instead of crashing.
load_errors: dict[str, str] = {}


@lru_cache(maxsize=1)
def manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("hubcore")
    pm.add_hookspecs(hookspecs)
    allowed = plugin_allowlist()
    for ep in metadata.entry_points(group=PLUGIN_GROUP):
        if allowed is not None and ep.name not in allowed and ep.name != "builtin":
            continue
        if pm.has_plugin(ep.name):
            continue
        try:
            pm.register(ep.load(), name=ep.name)
        except Exception as exc:  # one broken plugin must not break the hub
            load_errors[ep.name] = f"Error importing plugin {ep.name!r} ({ep.value}): {type(exc).__name__}: {exc}"
            print(f"hub: warning: {load_errors[ep.name]}", file=sys.stderr)
    if not pm.has_plugin("builtin"):
        # Running from a source tree that was never pip-installed: no entry points, same built-ins.
        from . import builtin_plugin

        pm.register(builtin_plugin, name="builtin")
    return pm
