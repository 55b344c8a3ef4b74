"""Fetch, verify and cache module artifacts. (Being implemented: see the functions' docstrings.)"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..manifest import ArtifactSpec


def fetch_artifact(spec: ArtifactSpec, *, module: str, version: str) -> Path:
    """Local path of the artifact (a file, or a folder when spec.member names a folder)."""
    raise NotImplementedError


def cached_build(*, module: str, version: str, key: str, build: Callable[[Path], None],
                 input_hashes: tuple[str, ...], builder_version: str) -> Path:
    """Folder produced once by build(tmp_folder), cached by (module, key, builder_version, inputs)."""
    raise NotImplementedError


def provided_sha256(module: str, version: str, artifact: str) -> str:
    """sha256 of a file the user supplied for an unpublished artifact (hub download --from FILE)."""
    raise NotImplementedError
