"""The core's own built-ins, registered through the same `hubcore.plugins` path as third parties."""
from __future__ import annotations

from .hookspecs import hookimpl


@hookimpl
def register_artifact_sources(register):
    from .artifacts import sources

    for scheme, fetch in sources.BUILTIN_SOURCES.items():
        register(scheme, fetch)
