"""Taking members out of archives: only the member, and never anything outside the target."""
from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from hubcore.artifacts import provide_artifact
from hubcore.artifacts.archive import extract_member
from hubcore.errors import ArtifactError, ArtifactNotAvailable, UnsafeArchiveError
from hubcore.manifest import ArtifactSpec


def tar_bytes(entries: list[tarfile.TarInfo | tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for item in entries:
            if isinstance(item, tarfile.TarInfo):
                tar.addfile(item)
            else:
                info = tarfile.TarInfo(item[0])
                info.size = len(item[1])
                tar.addfile(info, io.BytesIO(item[1]))
    return buf.getvalue()


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@pytest.fixture
def work(tmp_path):
    """(archive path, empty extraction folder inside a sandbox whose siblings must stay untouched)."""
    sandbox = tmp_path / "sandbox"
    dest = sandbox / "inner" / "dest"
    dest.mkdir(parents=True)
    return tmp_path / "archive.bin", dest


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


GOOD = [("pkg-1.0/pkg/model/a.bin", b"A"), ("pkg-1.0/pkg/model/conf/b.txt", b"B"),
        ("pkg-1.0/pkg/model_extra.txt", b"not me"), ("pkg-1.0/README", b"r")]


def test_tar_folder_member_prefix_is_stripped(work):
    archive, dest = work
    archive.write_bytes(tar_bytes(GOOD))
    assert extract_member(archive, "pkg-1.0/pkg/model/", dest, what="t") == dest
    assert files_under(dest) == ["a.bin", "conf", "conf/b.txt"]
    assert (dest / "conf" / "b.txt").read_bytes() == b"B"


def test_tar_file_member(work):
    archive, dest = work
    archive.write_bytes(tar_bytes(GOOD))
    result = extract_member(archive, "pkg-1.0/README", dest, what="t")
    assert result == dest / "README" and result.read_bytes() == b"r" and files_under(dest) == ["README"]


def test_zip_and_wheel_members(work):
    archive, dest = work
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("pkg/models/det/inference.pdmodel", b"M")
        zf.writestr("pkg/models/det/inference.pdiparams", b"P")
        zf.writestr("pkg/keys.txt", b"K")
    archive.write_bytes(buf.getvalue())
    assert files_under(extract_member(archive, "pkg/models/det/", dest, what="t")) == \
        ["inference.pdiparams", "inference.pdmodel"]


def test_missing_member_suggests_close_names(work):
    archive, dest = work
    archive.write_bytes(tar_bytes(GOOD))
    with pytest.raises(ArtifactNotAvailable, match="pkg-1.0/pkg/model"):
        extract_member(archive, "pkg-1.0/pkg/modle/", dest, what="t")


def test_not_an_archive(work):
    archive, dest = work
    archive.write_bytes(b"plain bytes" * 100)
    with pytest.raises(Exception, match="neither a tar nor a zip"):
        extract_member(archive, "x/", dest, what="t")


@pytest.mark.parametrize("bad, member", [
    ([("pkg/../../escaped.txt", b"x")], "pkg/"),
    ([("pkg/ok.txt", b"ok"), ("../../escaped.txt", b"x")], "pkg/"),
    ([("/tmp/escaped-absolute.txt", b"x")], "pkg/"),
    ([link("pkg/evil", "../../escaped.txt")], "pkg/"),
    ([link("pkg/evil", "/etc/passwd")], "pkg/"),
    ([link("pkg/loop", "."), link("pkg/evil", "loop/..")], "pkg/"),
    ([link("pkg/loop", "."), link("pkg/up", "loop/.."), ("pkg/up/escaped.txt", b"x")], "pkg/"),
    ([link("pkg/loop", "."), link("pkg/up", "loop/.."), ("pkg/up/newdir/escaped.txt", b"x")], "pkg/"),
    ([("other/secret", b"s"), link("pkg/hard", "other/secret", tarfile.LNKTYPE)], "pkg/"),
], ids=["dotdot-in-member", "dotdot-elsewhere", "absolute", "symlink-up", "symlink-absolute",
        "symlink-chain", "write-through-link", "mkdir-through-link", "hardlink-outside-member"])
def test_unsafe_tar_is_refused_and_writes_nothing_outside(work, bad, member):
    archive, dest = work
    archive.write_bytes(tar_bytes([("pkg/fine.txt", b"f")] + bad))
    sandbox = dest.parent.parent
    before = files_under(sandbox)
    with pytest.raises(UnsafeArchiveError) as info:
        extract_member(archive, member, dest, what="t")
    names = [b.name if isinstance(b, tarfile.TarInfo) else b[0] for b in bad]
    assert any(n in str(info.value) or n.split("/")[-1] in str(info.value) for n in names), str(info.value)
    outside = [p for p in files_under(sandbox) if not p.startswith("inner/dest")]
    assert outside == [p for p in before if not p.startswith("inner/dest")] == ["inner"]
    assert not Path("/tmp/escaped-absolute.txt").exists()


def test_symlink_inside_member_is_kept(work):
    archive, dest = work
    archive.write_bytes(tar_bytes([("pkg/real.txt", b"r"), link("pkg/alias.txt", "real.txt")]))
    extract_member(archive, "pkg/", dest, what="t")
    assert (dest / "alias.txt").is_symlink() and (dest / "alias.txt").read_bytes() == b"r"


def test_zip_symlink_escaping_is_refused(work):
    archive, dest = work
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("pkg/evil")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "../../outside")
    archive.write_bytes(buf.getvalue())
    with pytest.raises(UnsafeArchiveError, match="pkg/evil"):
        extract_member(archive, "pkg/", dest, what="t")


def test_unsafe_archive_through_the_cache_leaves_no_tree(tmp_path, monkeypatch):
    home = tmp_path / "hub"
    monkeypatch.setenv("HUB_HOME", str(home))
    user_file = tmp_path / "upload.tar.gz"
    user_file.write_bytes(tar_bytes([("pkg/a", b"a"), link("pkg/evil", "../../../../x")]))
    spec = ArtifactSpec(name="params", source=None, sha256=None, size=None, member="pkg/")
    with pytest.raises(UnsafeArchiveError):
        provide_artifact("demo", "1.0", spec, user_file)
    assert not (home / "trees").exists() or not any(p.is_file() for p in (home / "trees").rglob("*"))
    assert os.listdir(home / "tmp") == []
    assert not (home / "modules").exists(), "a refused archive must not be recorded as the artifact"


def test_truncated_archive_is_reported_as_damaged(work):
    archive, dest = work
    whole = tar_bytes([("pkg/a.bin", os.urandom(200_000))])
    archive.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ArtifactError, match="damaged.*hub cache verify"):
        extract_member(archive, "pkg/", dest, what="t")
