"""Take one member (a file, or a folder when the name ends with "/") out of a tar or zip archive.

Every entry name in the archive is checked (absolute paths and ".." are refused, whichever member
is asked for: such an archive is hostile). Links inside the requested member must stay inside the
extraction folder, checked on the name and again on the real path once everything is written.
Extraction goes into a folder the caller renames into place, so a refusal leaves nothing behind.
The bytes written are counted as they are written and stop at a limit: the member's declared
unpacked_size, else HUB_MAX_UNPACKED_BYTES and HUB_MAX_UNPACK_RATIO times the archive's size.
"""
from __future__ import annotations

import difflib
import gzip
import os
import posixpath
import re
import stat
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import IO, Iterator, NamedTuple

from .. import settings
from ..errors import ArtifactNotAvailable, ArtifactError, UnsafeArchiveError


# What reading a truncated or corrupt archive raises (lzma may be missing from a Python build).
_DAMAGED: tuple[type[BaseException], ...] = (tarfile.TarError, zipfile.BadZipFile, gzip.BadGzipFile, EOFError,
                                             zlib.error)
try:
    import lzma

    _DAMAGED += (lzma.LZMAError,)
except ImportError:  # pragma: no cover
    pass


class _Entry(NamedTuple):
    name: str  # as written in the archive
    kind: str  # "file", "dir", "symlink", "hardlink", "special"
    link: str  # link target for links
    executable: bool


def entry_parts(name: str) -> list[str]:
    """Path components of an archive entry name; UnsafeArchiveError for absolute or '..' names."""
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or re.match(r"^[A-Za-z]:", normalized):
        raise UnsafeArchiveError(f"archive member {name!r} has an absolute path; refusing to extract the archive")
    parts = [p for p in normalized.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(f"archive member {name!r} climbs out with '..'; refusing to extract the archive")
    return parts


def archive_kind(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")) or head[257:262] == b"ustar":
        return "tar"
    return "zip" if zipfile.is_zipfile(path) else "tar" if tarfile.is_tarfile(path) else "unknown"


class _Budget:
    """Bytes an extraction may still write; refuses the write that would pass the limit."""

    def __init__(self, archive: Path, member: str, unpacked_size: int | None, what: str) -> None:
        if unpacked_size is not None:
            self.limit = unpacked_size
            self.why = "the unpacked_size the module's manifest declares; fix it if the member grew"
        else:
            ratio, cap, packed = settings.max_unpack_ratio(), settings.max_unpacked_bytes(), archive.stat().st_size
            self.limit = int(min(cap, ratio * packed))
            self.why = (f"HUB_MAX_UNPACKED_BYTES={cap}, HUB_MAX_UNPACK_RATIO={ratio:g} times the {packed}-byte "
                        f"archive; raise them for an archive you trust, or declare the member's unpacked_size "
                        f"in the module's manifest")
        self.written = 0
        self.member, self.what = member, what

    def copy(self, src: IO[bytes], out: IO[bytes]) -> None:
        while chunk := src.read(1 << 20):
            self.written += len(chunk)
            if self.written > self.limit:
                raise UnsafeArchiveError(
                    f"{self.what}: member {self.member!r} expands to more than {self.limit} bytes ({self.why}); "
                    f"stopped extracting it before writing more")
            out.write(chunk)


def extract_member(archive: Path, member: str, dest: Path, *, what: str, unpacked_size: int | None = None) -> Path:
    """Write member of archive into the empty folder dest; return dest (a folder) or dest/NAME (a file).

    At most unpacked_size bytes are written when given; else the HUB_MAX_UNPACK* limits apply.
    """
    is_folder = member.endswith("/")
    wanted = entry_parts(member)
    if not wanted and not is_folder:
        raise ArtifactError(f"{what}: member {member!r} names no file; end it with '/' for a folder")
    kind = archive_kind(archive)
    if kind == "unknown":
        raise ArtifactError(f"{what}: the downloaded file is neither a tar nor a zip archive, so member "
                            f"{member!r} cannot be taken out of it; remove 'member' from the manifest or fix "
                            f"the source")
    budget = _Budget(archive, member, unpacked_size, what)
    try:
        return _extract(archive, kind, member, wanted, is_folder, dest, what, budget)
    except _DAMAGED as exc:
        raise ArtifactError(f"{what}: the archive {archive} is damaged ({type(exc).__name__}: {exc}); run "
                            f"`hub cache verify --remove` and fetch it again") from None


def _extract(archive: Path, kind: str, member: str, wanted: list[str], is_folder: bool, dest: Path,
             what: str, budget: _Budget) -> Path:
    reader = _tar_entries if kind == "tar" else _zip_entries
    names: list[str] = []
    found = False
    links: list[Path] = []
    for entry, open_data in reader(archive):
        parts = entry_parts(entry.name)
        names.append("/".join(parts))
        rel = _relative(parts, wanted, is_folder)
        if rel is None:
            continue
        found = True
        if rel:
            _write(entry, rel, open_data, dest, wanted, is_folder, links, budget)
    if not found:
        close = difflib.get_close_matches(member.rstrip("/"), names, n=3, cutoff=0.5)
        hint = f"; close names: {', '.join(close)}" if close else ""
        raise ArtifactNotAvailable(f"{what}: the archive {archive} has no member {member!r}{hint}; "
                                   f"fix 'member' in the manifest")
    _check_links_resolve_inside(dest, links)
    return dest if is_folder else dest / wanted[-1]


def _relative(parts: list[str], wanted: list[str], is_folder: bool) -> list[str] | None:
    """Where an entry lands relative to dest, or None when it is not part of the member."""
    if is_folder:
        if parts[: len(wanted)] == wanted:
            return parts[len(wanted):]
        return None
    return [wanted[-1]] if parts == wanted else None


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _write(entry: _Entry, rel: list[str], open_data, dest: Path, wanted: list[str], is_folder: bool,
           links: list[Path], budget: _Budget) -> None:
    target = dest.joinpath(*rel)
    _make_parents(dest, rel, entry.name)
    if target.is_symlink():
        target.unlink()
    if entry.kind == "dir":
        target.mkdir(exist_ok=True)
    elif entry.kind == "file":
        with open_data() as src, open(target, "wb") as out:
            budget.copy(src, out)
        if entry.executable:
            target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    elif entry.kind == "symlink":
        if entry.link.startswith("/") or re.match(r"^[A-Za-z]:", entry.link):
            raise UnsafeArchiveError(f"archive member {entry.name!r} is a link to the absolute path "
                                     f"{entry.link!r}; refusing to extract it")
        lands = posixpath.normpath(posixpath.join(posixpath.dirname("/".join(rel)), entry.link.replace("\\", "/")))
        if lands == ".." or lands.startswith("../"):
            raise UnsafeArchiveError(f"archive member {entry.name!r} is a link to {entry.link!r}, outside the "
                                     f"extracted folder; refusing to extract it")
        os.symlink(entry.link, target)
        links.append(target)
    elif entry.kind == "hardlink":
        linked = entry_parts(entry.link)
        if _relative(linked, wanted, is_folder) is None:
            raise UnsafeArchiveError(f"archive member {entry.name!r} is a hard link to {entry.link!r}, outside "
                                     f"the requested member; refusing to extract it")
        with open_data() as src, open(target, "wb") as out:
            budget.copy(src, out)
    else:
        raise UnsafeArchiveError(f"archive member {entry.name!r} is a device or fifo; refusing to extract it")


def _make_parents(dest: Path, rel: list[str], name: str) -> None:
    """Create the folders above rel one by one, never creating or passing one outside dest."""
    real_dest = os.path.realpath(dest)
    folder = dest
    for part in rel[:-1]:
        folder = folder / part
        if os.path.lexists(folder):
            if not _inside(os.path.realpath(folder), real_dest):
                raise UnsafeArchiveError(f"archive member {name!r} would be written through a link to outside "
                                         f"the extraction folder; refusing to extract it")
        else:
            folder.mkdir()


def _check_links_resolve_inside(dest: Path, links: list[Path]) -> None:
    # Links through links ("a -> .", "b -> a/..") pass the name check but not this one.
    real_dest = os.path.realpath(dest)
    for link in links:
        if not _inside(os.path.realpath(link), real_dest):
            raise UnsafeArchiveError(f"archive link {link.relative_to(dest)} -> {os.readlink(link)} resolves "
                                     f"outside the extracted folder; refusing to extract it")


def _tar_entries(archive: Path) -> Iterator[tuple[_Entry, object]]:
    with tarfile.open(archive, "r:*") as tar:
        for info in tar:
            if info.isreg():
                kind = "file"
            elif info.isdir():
                kind = "dir"
            elif info.issym():
                kind = "symlink"
            elif info.islnk():
                kind = "hardlink"
            else:
                kind = "special"
            yield (_Entry(info.name, kind, info.linkname, bool(info.mode & 0o111) and kind == "file"),
                   lambda info=info, tar=tar: _tar_data(tar, info))


def _tar_data(tar: tarfile.TarFile, info: tarfile.TarInfo) -> IO[bytes]:
    data = tar.extractfile(info)
    if data is None:
        raise UnsafeArchiveError(f"archive member {info.name!r} has no data to extract")
    return data


def _zip_entries(archive: Path) -> Iterator[tuple[_Entry, object]]:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                link = zf.read(info).decode("utf-8", "replace")
                yield _Entry(info.filename, "symlink", link, False), None
            elif info.is_dir():
                yield _Entry(info.filename, "dir", "", False), None
            else:
                yield (_Entry(info.filename, "file", "", bool(mode & 0o111)),
                       lambda info=info, zf=zf: zf.open(info))
