"""cached_build: folders derived from artifacts (converted weights, exported programs), built once."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

from ..errors import InputError
from . import layout
from .store import ensure_folder


def build_digest(module: str, version: str, key: str, builder_version: str, input_hashes: tuple[str, ...]) -> str:
    text = json.dumps([module, version, key, builder_version, list(input_hashes)])
    return hashlib.sha256(text.encode()).hexdigest()


def cached_build(*, module: str, version: str, key: str, build: Callable[[Path], None],
                 input_hashes: tuple[str, ...], builder_version: str) -> Path:
    """Folder produced once by build(tmp_folder), cached by (module, version, key, builder_version, inputs).

    build writes into an empty temporary folder under the cache root; the folder is renamed into
    place only when build returns, so an exception or a crash leaves no half-built entry. A build
    whose files no longer have the sizes they were made with is built again.
    """
    if not key or not isinstance(key, str):
        raise InputError(f"cached_build key must be a non-empty string, got {key!r}")
    if any(not isinstance(h, str) or not h for h in input_hashes):
        raise InputError(f"cached_build inputs must all have a sha256, got {input_hashes!r}")
    digest = build_digest(module, version, key, str(builder_version), tuple(input_hashes))
    final = layout.build_path(module, version, key, digest)
    ensure_folder(final, f"build-{digest[:24]}", f"build {key!r} of module {module} {version}", build)
    return final
