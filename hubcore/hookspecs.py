"""Extension points beyond modules, as pluggy hooks (entry-point group `hubcore.plugins`).

Each hook receives a `register` callback (or the object to extend) and declares only the arguments
it needs, so the core can add arguments later without breaking plugins.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("hubcore")
hookimpl = pluggy.HookimplMarker("hubcore")


@hookspec
def register_artifact_sources(register):
    """Call register(scheme, fetch) for each artifact source; fetch(spec, dest: Path) writes the file."""


@hookspec
def register_commands(register):
    """Call register(name, help, configure, run) for each `hub NAME` command a plugin adds."""


@hookspec
def register_serving_addons(register):
    """Call register(name, install) for each serving add-on; install(app, config) extends the server."""
