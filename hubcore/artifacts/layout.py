"""Where everything lives under the cache root (settings.hub_home(), read on every call).

    blobs/<sha256>                          downloaded files, named by their content
    trees/<sha256>/<member-key>/            members taken out of an archive blob (+ .manifest.json)
    builds/<module>/<version>/<key>-<hash>/ folders made by cached_build (+ .manifest.json)
    modules/<module>/<version>/<artifact>.json   which blob an artifact of a module version is
    modules/<module>/<version>/<artifact>   symlink to the file or folder it resolves to, for humans
    tmp/                                    work in progress; same file system, so os.replace is atomic
    .locks/                                 one lock file per blob, tree and build
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from ..settings import hub_home

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._+=-]")


def root() -> Path:
    return hub_home()


def component(text: str) -> str:
    """A single safe path component for text; a hash suffix keeps altered names distinct."""
    cleaned = _UNSAFE_CHARS.sub("_", text).lstrip(".")
    if cleaned != text or not cleaned:
        cleaned = f"{cleaned or '_'}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return cleaned


def blobs_dir() -> Path:
    return root() / "blobs"


def blob_path(sha256: str) -> Path:
    return blobs_dir() / sha256


def trees_dir() -> Path:
    return root() / "trees"


def member_key(member: str) -> str:
    last = member.rstrip("/").rsplit("/", 1)[-1] or "root"
    return f"{component(last)}-{hashlib.sha256(member.encode()).hexdigest()[:12]}"


def tree_path(sha256: str, member: str) -> Path:
    return trees_dir() / sha256 / member_key(member)


def builds_dir() -> Path:
    return root() / "builds"


def build_path(module: str, version: str, key: str, digest: str) -> Path:
    return builds_dir() / component(module) / component(version) / f"{component(key)}-{digest[:16]}"


def modules_dir() -> Path:
    return root() / "modules"


def module_dir(module: str, version: str) -> Path:
    return modules_dir() / component(module) / component(version)


def ref_path(module: str, version: str, artifact: str) -> Path:
    return module_dir(module, version) / f"{component(artifact)}.json"


def link_path(module: str, version: str, artifact: str) -> Path:
    return module_dir(module, version) / component(artifact)


def ensure_dir(path: Path) -> Path:
    from .writable import not_writable

    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise not_writable(exc, f"the folder {path.name}/") from None
    return path


def tmp_dir() -> Path:
    return ensure_dir(root() / "tmp")


def tmp_name(prefix: str, suffix: str = "") -> Path:
    """A path in tmp/ that no other process or thread will pick: prefix.<pid>-<random><suffix>."""
    return tmp_dir() / f"{prefix}.{os.getpid()}-{os.urandom(4).hex()}{suffix}"


def lock_path(name: str) -> Path:
    return ensure_dir(root() / ".locks") / f"{name}.lock"
