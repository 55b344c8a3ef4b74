"""The content-addressed blob store, extracted member trees and per-module-version refs.

A blob only ever appears under blobs/<sha256> through os.replace of a temporary file whose sha256
and size were just checked, and a tree only through a rename of a fully extracted folder whose
manifest (folders.py) is already written, so any entry that exists is complete, whatever crashed
when. Failed writes become CacheNotWritable at the public entry points (fetch.py, build.py).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Callable

from ..errors import CacheNotWritable, IntegrityError
from ..manifest import ArtifactSpec
from . import folders, layout
from .folders import sha256_file
from .locks import locked
from .writable import writing_cache

__all__ = ["sha256_file"]  # re-exported: manage.py hashes blobs with it


def blob_usable(sha256: str, size: int | None) -> bool:
    """A blob exists with the declared size (full re-hashing is verify_cache's job)."""
    try:
        st = layout.blob_path(sha256).stat()
    except FileNotFoundError:
        return False
    return size is None or st.st_size == size


def _claim_partial(sha256: str, resume: bool) -> Path:
    """A fresh temporary path for sha256's download, holding the largest abandoned one when resume.

    Called with the blob's lock held, so any other partial download of this blob belongs to a
    process that died (the OS released its lock); the rest of them are deleted.
    """
    mine = layout.tmp_name(sha256, ".part")
    stale = sorted(layout.tmp_dir().glob(f"{sha256}.*.part"), key=lambda p: p.stat().st_size, reverse=True)
    for i, path in enumerate(stale):
        try:
            if i == 0 and resume:
                os.replace(path, mine)
            else:
                path.unlink()
        except FileNotFoundError:
            pass
    return mine


def fetch_blob(spec: ArtifactSpec, fetch: Callable[[ArtifactSpec, Path], None], what: str, origin: str) -> Path:
    """Download spec into blobs/<sha256> (spec.sha256 must be set) unless it is there already.

    origin says where the bytes really come from (a mirror, an index), for the error message.
    """
    sha = spec.sha256 or ""
    path = layout.blob_path(sha)
    if blob_usable(sha, spec.size):
        return path
    with locked(f"blob-{sha}", what):
        if blob_usable(sha, spec.size):
            return path
        path.unlink(missing_ok=True)  # wrong size: damaged, fetch again
        part = _claim_partial(sha, resume=getattr(fetch, "resumable", False))
        resumed = part.exists()
        while True:
            fetch(spec, part)
            got, size = sha256_file(part)
            if got == sha and (spec.size is None or size == spec.size):
                break
            part.unlink(missing_ok=True)
            if resumed:  # the abandoned prefix may be what is wrong: one clean try
                resumed = False
                continue
            expected_size = f" ({spec.size} bytes)" if spec.size is not None else ""
            raise IntegrityError(
                f"{what}: the file from {origin} has sha256 {got} ({size} bytes) but the manifest expects "
                f"{sha}{expected_size}. It was discarded. Retry; if it fails again the source serves a different "
                f"file (a wrong HUB_MIRROR or index, or a changed upload) and the module's manifest or your "
                f"mirror needs fixing.")
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, path)
    return path


def store_file(src: Path, *, expected_sha256: str | None, expected_size: int | None, what: str) -> str:
    """Copy a local file into the blob store, checked against expected_sha256 when given; its sha256."""
    tmp = layout.tmp_name("provided", ".part")
    try:
        digest = hashlib.sha256()
        size = 0
        with open(src, "rb") as f, open(tmp, "wb") as out:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        sha = digest.hexdigest()
        if expected_sha256 and sha != expected_sha256:
            raise IntegrityError(f"{what}: {src} has sha256 {sha} ({size} bytes) but the module's manifest expects "
                                 f"{expected_sha256}; it is not the file the module was made with, so it was not "
                                 f"installed")
        if expected_sha256 and expected_size is not None and size != expected_size:
            raise IntegrityError(f"{what}: {src} has {size} bytes but the manifest expects {expected_size}")
        with locked(f"blob-{sha}", what):
            if not blob_usable(sha, size):
                layout.blobs_dir().mkdir(parents=True, exist_ok=True)
                os.replace(tmp, layout.blob_path(sha))
        return sha
    finally:
        tmp.unlink(missing_ok=True)


def member_tree(sha256: str, member: str, what: str, *, unpacked_size: int | None = None) -> Path:
    """The member of blob sha256 extracted under trees/ (once); a folder, or the extracted file.

    unpacked_size: the bytes the manifest declares the member to hold, the extraction's limit.
    """
    final = layout.tree_path(sha256, member)
    from .archive import extract_member

    key = f"tree-{sha256[:24]}-{layout.member_key(member)}"
    ensure_folder(final, key, what, lambda work: extract_member(layout.blob_path(sha256), member, work, what=what,
                                                                 unpacked_size=unpacked_size))
    result = member_result(final, member)
    assert result is not None
    return result


def ensure_folder(final: Path, key: str, what: str, produce: Callable[[Path], None]) -> None:
    """Make folder final hold what produce(empty folder) writes, checked against its manifest (sizes).

    A missing or damaged folder is produced again under the lock `key` into a temporary folder,
    its manifest recorded, and renamed into place, so a crash or an exception never leaves a folder
    that looks complete. A folder made before manifests existed is adopted as it is.
    """
    seen = folders.state(final)
    if seen.ok:
        return
    try:
        with writing_cache(what), locked(key, what):
            now = folders.state(final)  # another process may have made or repaired it meanwhile
            if now.kind == "unrecorded":
                folders.write_manifest(final, folders.describe(final), layout.tmp_name(key, ".json"))
            elif not now.ok:
                _produce_into_place(final, key, produce)
                if now.kind == "damaged":
                    print(f"hub: {what}: {final} was damaged ({now.reason}); made it again",
                          file=sys.stderr, flush=True)
    except CacheNotWritable as exc:
        if seen.kind == "unrecorded":  # a read-only cache still serves folders made before manifests
            return
        if seen.kind == "damaged":
            raise CacheNotWritable(f"{final} is damaged ({seen.reason}) and cannot be made again: {exc}") from None
        raise


def _produce_into_place(final: Path, key: str, produce: Callable[[Path], None]) -> None:
    for stale in layout.tmp_dir().glob(f"{key}.*"):
        shutil.rmtree(stale, ignore_errors=True)
    work = layout.tmp_name(key)
    work.mkdir()
    old = layout.tmp_name(key, ".old")
    try:
        produce(work)
        final.parent.mkdir(parents=True, exist_ok=True)
        folders.write_manifest(final, folders.describe(work), layout.tmp_name(key, ".json"))
        if final.is_dir():
            os.rename(final, old)  # a reader looking in between finds no folder, and waits for the lock
        os.rename(work, final)
    finally:
        for leftover in (work, old):
            if leftover.exists():
                shutil.rmtree(leftover, ignore_errors=True)


def member_result(folder: Path, member: str) -> Path | None:
    """What fetch_artifact returns for member once extracted into folder; None when not extracted."""
    if not folder.is_dir():
        return None
    if member.endswith("/"):
        return folder
    name = member.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return folder / name


def read_ref(module: str, version: str, artifact: str) -> dict[str, Any] | None:
    try:
        return json.loads(layout.ref_path(module, version, artifact).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def write_ref(module: str, version: str, artifact: str, record: dict[str, Any], target: Path) -> None:
    """Record which blob an artifact of a module version is, and link the human path to its file."""
    record = {"module": module, "version": version, "artifact": artifact, **record}
    if read_ref(module, version, artifact) != record:
        path = layout.ref_path(module, version, artifact)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = layout.tmp_name("ref", ".json")
        tmp.write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    link = layout.link_path(module, version, artifact)
    try:
        relative = os.path.relpath(target, link.parent)
        if not link.is_symlink() or os.readlink(link) != relative:
            tmp_link = layout.tmp_name("link")
            os.symlink(relative, tmp_link)
            try:
                os.replace(tmp_link, link)
            finally:
                tmp_link.unlink(missing_ok=True)
    except OSError:
        pass  # no symlinks here (some Windows setups): the .json ref is what the hub reads
