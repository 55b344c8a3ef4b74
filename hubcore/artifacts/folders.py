"""Manifests of cached folders (extracted trees, builds): what each held when it was made.

A folder's manifest lies next to it, `<folder>.manifest.json`, and lists every entry: files with
size and sha256, folders, links with their target. It is written before the folder is renamed
into place, so a folder made by this code always has one. Loading compares sizes only (a stat
per file); `hub cache verify` also re-hashes and looks for entries nobody made.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

FORMAT = 1


def sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@dataclass(frozen=True)
class FolderState:
    """What a cached folder looks like against its manifest."""

    kind: str  # "ok", "absent", "unrecorded" (made before manifests were recorded), "damaged"
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


def manifest_path(folder: Path) -> Path:
    return folder.with_name(folder.name + ".manifest.json")


def describe(folder: Path) -> dict:
    """The manifest of folder as it is now (hashes every file)."""
    entries: dict[str, dict] = {}
    for rel, path in _walk(folder):
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            entries[rel] = {"link": os.readlink(path)}
        elif stat.S_ISDIR(mode):
            entries[rel] = {"dir": True}
        else:
            digest, size = sha256_file(Path(path))
            entries[rel] = {"size": size, "sha256": digest}
    return {"format": FORMAT, "entries": dict(sorted(entries.items()))}


def write_manifest(folder: Path, manifest: dict, tmp: Path) -> None:
    """Record manifest for folder, through tmp (a fresh path in the cache's tmp/) and a rename."""
    tmp.write_text(json.dumps(manifest, indent=0, sort_keys=True), encoding="utf-8")
    os.replace(tmp, manifest_path(folder))


def read_manifest(folder: Path) -> dict | None:
    """The recorded manifest; None when there is none; {} when it is unreadable (damage too)."""
    try:
        data = json.loads(manifest_path(folder).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def state(folder: Path, *, full: bool = False) -> FolderState:
    """folder checked against its manifest: sizes (cheap, on every load), or sizes and sha256 (full)."""
    if not folder.is_dir():
        return FolderState("absent")
    manifest = read_manifest(folder)
    if manifest is None:
        return FolderState("unrecorded", "no manifest recorded (made by an older hub)")
    entries = manifest.get("entries")
    if manifest.get("format") != FORMAT or not isinstance(entries, dict):
        return FolderState("damaged", f"its manifest {manifest_path(folder).name} is unreadable")
    base = str(folder)
    for rel, entry in entries.items():
        problem = _entry_problem(os.path.join(base, rel), entry, full)
        if problem:
            return FolderState("damaged", f"{rel}: {problem}")
    if full:
        extra = sorted({rel for rel, _ in _walk(folder)} - set(entries))
        if extra:
            return FolderState("damaged", f"{extra[0]}: not made with the folder" +
                               (f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""))
    return FolderState("ok")


def _walk(folder: Path) -> Iterator[tuple[str, str]]:
    """(relative name with "/", path) of everything under folder; links are not followed."""
    for parent, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(parent, name)
            yield os.path.relpath(path, folder).replace(os.sep, "/"), path


def _entry_problem(path: str, entry: object, full: bool) -> str:
    if not isinstance(entry, dict):
        return "unreadable in the manifest"
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "missing"
    if "link" in entry:
        if not stat.S_ISLNK(st.st_mode) or os.readlink(path) != entry["link"]:
            return f"should be a link to {entry['link']}"
        return ""
    if entry.get("dir"):
        return "" if stat.S_ISDIR(st.st_mode) else "should be a folder"
    if not stat.S_ISREG(st.st_mode):
        return "should be a file"
    if st.st_size != entry.get("size"):
        return f"{st.st_size} bytes, made with {entry.get('size')}"
    if full:
        digest, _ = sha256_file(Path(path))
        if digest != entry.get("sha256"):
            return f"content changed (sha256 {digest}, made with {entry.get('sha256')})"
    return ""
