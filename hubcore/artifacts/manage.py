"""What the CLI shows and does with the cache: list, verify, clear, download a module's artifacts."""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import WeightsNotPublished
from ..manifest import ModuleManifest
from . import folders, layout, store
from .writable import not_writable, writing_cache


@dataclass(frozen=True)
class CacheEntry:
    """One artifact of one module version as recorded in the cache."""

    module: str
    version: str
    artifact: str
    sha256: str
    size: int | None  # bytes of the blob; None when the blob is gone
    path: Path  # what fetch_artifact returns for it (a file, or a folder for a folder member)
    ok: bool  # the blob exists (or its extracted member does) with the recorded sha256 as its name
    provided: bool = False  # installed by the user (hub download --from) rather than published


@dataclass(frozen=True)
class CacheProblem:
    """Something verify_cache found wrong."""

    path: Path
    message: str
    removed: bool = False

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" + (" (removed)" if self.removed else "")


def _refs(module: str | None = None) -> list[dict]:
    base = layout.modules_dir()
    pattern = f"{layout.component(module)}/*/*.json" if module else "*/*/*.json"
    out = []
    for path in sorted(base.glob(pattern)):
        try:
            ref = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(ref, dict) and ref.get("sha256"):
            out.append(ref)
    return out


def cache_entries(module: str | None = None) -> list[CacheEntry]:
    """Every recorded artifact (of one module when given), with its blob's size and state."""
    entries = []
    for ref in _refs(module):
        sha = ref["sha256"]
        blob = layout.blob_path(sha)
        member = ref.get("member")
        path = store.member_result(layout.tree_path(sha, member), member) if member else blob
        size = blob.stat().st_size if blob.is_file() else None
        ok = size is not None or (path is not None and path.exists())
        entries.append(CacheEntry(module=ref["module"], version=ref["version"], artifact=ref["artifact"], sha256=sha,
                                  size=size, path=path or layout.tree_path(sha, member), ok=ok,
                                  provided=bool(ref.get("provided"))))
    return entries


def _blobs_of(module: str | None) -> list[Path]:
    if module is None:
        return sorted(p for p in layout.blobs_dir().glob("*") if p.is_file())
    return sorted({layout.blob_path(ref["sha256"]) for ref in _refs(module)})


STALE_TMP_SECONDS = 24 * 3600  # older temporary files belong to runs that died (downloads resume sooner)


def verify_cache(module: str | None = None, remove: bool = False) -> list[CacheProblem]:
    """Re-hash blobs, extracted trees and builds (of one module when given) against their sha256 and
    manifests; report, and with remove=True delete, damaged ones (made again on next use).

    Without a module it also reports temporary files left for more than a day by runs that died.
    """
    with writing_cache("removing damaged entries"):
        return _verify(module, remove)


def _verify(module: str | None, remove: bool) -> list[CacheProblem]:
    problems = [] if module else _stale_tmp(remove)
    for blob in _blobs_of(module):
        if not blob.is_file():
            problems.append(CacheProblem(blob, "missing: recorded for a module but not in the cache; "
                                               "it is downloaded again on next use"))
            continue
        got, size = store.sha256_file(blob)
        if got == blob.name:
            continue
        if remove:
            blob.unlink(missing_ok=True)
            _remove(layout.trees_dir() / blob.name)
        problems.append(CacheProblem(blob, f"corrupt: content has sha256 {got} ({size} bytes), not {blob.name}"
                                           + ("" if remove else "; run `hub cache verify --remove` to delete it"),
                                     removed=remove))
    for folder in _folders_of(module):
        found = folders.state(folder, full=True)
        if found.ok or found.kind == "absent":  # absent: removed above with its corrupt blob
            continue
        if remove:
            _remove(folder)
            folders.manifest_path(folder).unlink(missing_ok=True)
        advice = "made again on next use" if remove else "`hub cache verify --remove` deletes it to be made again"
        problems.append(CacheProblem(folder, f"{'damaged' if found.kind == 'damaged' else 'unverifiable'}: "
                                             f"{found.reason}; {advice}", removed=remove))
    return problems


def _folders_of(module: str | None) -> list[Path]:
    """Extracted trees and builds (those of module when given): trees/<sha>/<member>/, builds/<m>/<v>/<b>/."""
    if module is None:
        trees = layout.trees_dir().glob("*/*")
        builds = layout.builds_dir().glob("*/*/*")
    else:
        trees = (p for ref in _refs(module) for p in (layout.trees_dir() / ref["sha256"]).glob("*"))
        builds = (layout.builds_dir() / layout.component(module)).glob("*/*")
    return sorted({p for p in (*trees, *builds) if p.is_dir() and not p.is_symlink()})


def _stale_tmp(remove: bool) -> list[CacheProblem]:
    folder = layout.root() / "tmp"
    if not folder.is_dir():
        return []
    problems = []
    now = time.time()
    for path in sorted(folder.iterdir()):
        try:
            age = now - path.lstat().st_mtime
        except FileNotFoundError:
            continue
        if age > STALE_TMP_SECONDS:
            freed = _remove(path) if remove else _tree_size(path)
            problems.append(CacheProblem(path, f"left over by an interrupted run {age / 3600:.0f} h ago ({freed} bytes)"
                                               + ("" if remove else "; `hub cache verify --remove` deletes it"),
                                         removed=remove))
    return problems


def _tree_size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


def _remove(path: Path) -> int:
    if not (path.exists() or path.is_symlink()):
        return 0
    size = _tree_size(path)
    if path.is_dir() and not path.is_symlink():
        try:
            shutil.rmtree(path)
        except FileNotFoundError:  # another process removed part of it meanwhile; other errors are real
            shutil.rmtree(path, ignore_errors=True)
        except OSError as exc:  # rmtree names the file relative to its folder: say which folder
            raise not_writable(exc, f"removing {path}") from None
    else:
        path.unlink(missing_ok=True)
    return size


def clear_cache(module: str | None = None) -> int:
    """Delete cached artifacts and builds (of one module when given, keeping blobs others use); bytes freed."""
    with writing_cache("clearing it"):
        return _clear(module)


def _clear(module: str | None) -> int:
    if module is None:
        return sum(_remove(layout.root() / name) for name in ("blobs", "trees", "builds", "modules", "tmp"))
    mine = {ref["sha256"] for ref in _refs(module)}
    others = {ref["sha256"] for ref in _refs() if ref["module"] != module}
    freed = 0
    for sha in mine - others:
        freed += _remove(layout.blob_path(sha)) + _remove(layout.trees_dir() / sha)
    freed += _remove(layout.modules_dir() / layout.component(module))
    freed += _remove(layout.builds_dir() / layout.component(module))
    return freed


def download_module_artifacts(manifest: ModuleManifest, names: list[str] | None = None) -> list[Path]:
    """Fetch every artifact of a module (or those named) into the cache, as `hub download MODULE` does.

    Published artifacts are all fetched first; then the first unpublished one that nobody provided
    raises WeightsNotPublished, whose message says how to provide it.
    """
    from .fetch import fetch_artifact

    version = manifest.known_version
    specs = [manifest.artifact(n) for n in names] if names else list(manifest.artifacts)
    paths, missing = [], []
    for spec in specs:
        try:
            paths.append(fetch_artifact(spec, module=manifest.name, version=version))
        except WeightsNotPublished as exc:
            missing.append(exc)
    if missing:
        raise missing[0]
    return paths
