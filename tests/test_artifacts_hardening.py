"""Attacks on the artifact cache, each reproduced: damaged extracted folders and builds, a cache that
cannot be written, links that drop or trickle, bodies longer than declared, decompression bombs.

Downloads go to a real HTTP server on 127.0.0.1 (tests/support/httpserver.py); every wait is bounded.
"""
from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from support.cache_testing import hub, make_tar, server  # noqa: E402,F401 (fixtures)
from support.httpserver import FakeServer  # noqa: E402

from hubcore import artifacts  # noqa: E402
from hubcore.artifacts import download, folders, progress  # noqa: E402
from hubcore.artifacts.archive import extract_member  # noqa: E402
from hubcore.errors import ArtifactNotAvailable, InputError, IntegrityError, UnsafeArchiveError  # noqa: E402
from hubcore.manifest import ArtifactSpec  # noqa: E402

PAYLOAD = os.urandom(100_000)


def spec_for(url: str, data: bytes = PAYLOAD, **extra) -> ArtifactSpec:
    return ArtifactSpec(name="weights", source=url, sha256=hashlib.sha256(data).hexdigest(), size=len(data), **extra)


def fetch(spec: ArtifactSpec, module: str = "demo", version: str = "1.0") -> Path:
    return artifacts.fetch_artifact(spec, module=module, version=version)


def zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def in_thread(call, seconds: float):
    """call() in a thread, at most `seconds`: (finished, its result or exception)."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["value"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive(), box.get("value")


# -- 4: extracted trees and builds carry a manifest ------------------------------------------------

MODEL = {"pkg/model/inference.pdmodel": os.urandom(5000), "pkg/model/inference.pdiparams": os.urandom(20_000),
         "pkg/model/conf/vocab.txt": b"a\nb\n"}


def tree_spec(server: FakeServer) -> ArtifactSpec:
    archive = make_tar(MODEL)
    server.add("/model.tar.gz", archive)
    return spec_for(server.url("/model.tar.gz"), archive, member="pkg/model/")


def test_damaged_extracted_tree_is_reported_and_extracted_again(hub, server, capsys):
    spec = tree_spec(server)
    tree = fetch(spec)
    assert folders.manifest_path(tree).is_file() and artifacts.verify_cache() == []

    # A deleted file and a truncated one: the load's size check sees both and extracts again.
    (tree / "conf" / "vocab.txt").unlink()
    [problem] = artifacts.verify_cache("demo")
    assert "damaged" in str(problem) and "conf/vocab.txt: missing" in str(problem)
    assert fetch(spec) == tree and (tree / "conf" / "vocab.txt").read_bytes() == b"a\nb\n"
    (tree / "inference.pdiparams").write_bytes(b"\0" * 100)
    assert (fetch(spec) / "inference.pdiparams").read_bytes() == MODEL["pkg/model/inference.pdiparams"]
    assert "was damaged (inference.pdiparams: 100 bytes, made with 20000)" in capsys.readouterr().err
    assert len(server.gets("/model.tar.gz")) == 1, "the blob is still good: only the tree is made again"

    # Same size, other bytes: only the hashes of `hub cache verify` see it; --remove, and it comes back.
    damaged = bytearray(MODEL["pkg/model/inference.pdmodel"])
    damaged[10] ^= 0xFF
    (tree / "inference.pdmodel").write_bytes(bytes(damaged))
    (tree / "stray.txt").write_text("x")
    [problem] = artifacts.verify_cache()
    assert "inference.pdmodel: content changed" in str(problem) and not problem.removed
    [problem] = artifacts.verify_cache(remove=True)
    assert problem.removed and not tree.exists() and not folders.manifest_path(tree).exists()
    assert (fetch(spec) / "inference.pdmodel").read_bytes() == MODEL["pkg/model/inference.pdmodel"]
    assert not (tree / "stray.txt").exists() and artifacts.verify_cache() == []


def test_damaged_build_is_reported_and_built_again(hub):
    calls = []

    def build(folder: Path) -> None:
        calls.append(folder)
        (folder / "model.pdiparams").write_bytes(b"P" * 1000)

    kwargs = dict(module="demo", version="1.0", key="inference", input_hashes=("a" * 64,), builder_version="1")
    out = artifacts.cached_build(build=build, **kwargs)
    (out / "model.pdiparams").write_bytes(b"P" * 10)
    [problem] = artifacts.verify_cache("demo")
    assert "damaged" in str(problem) and "model.pdiparams: 10 bytes, made with 1000" in str(problem)
    assert artifacts.cached_build(build=build, **kwargs) == out and len(calls) == 2
    assert (out / "model.pdiparams").read_bytes() == b"P" * 1000 and artifacts.verify_cache() == []
    assert artifacts.cached_build(build=build, **kwargs) == out and len(calls) == 2, "an intact build is kept"


def test_folder_made_before_manifests_is_adopted(hub, server):
    spec = tree_spec(server)
    tree = fetch(spec)
    folders.manifest_path(tree).unlink()  # what an older hub left
    [problem] = artifacts.verify_cache()
    assert "unverifiable: no manifest recorded" in str(problem)
    assert fetch(spec) == tree and folders.manifest_path(tree).is_file()
    assert artifacts.verify_cache() == []


# -- 7: a cache that cannot be written ------------------------------------------------------------

def _forked(call) -> tuple[str, object]:
    """call() in a forked child (it runs the code already imported here): ("ok", its result) or
    (exception type, message)."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()

    def child() -> None:
        try:
            queue.put(("ok", call()))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            queue.put((type(exc).__name__, str(exc)))

    process = ctx.Process(target=child)
    process.start()
    process.join(60)
    assert process.exitcode == 0, "the child died or hung"
    return queue.get(timeout=5)


def _content(path: Path) -> object:
    if path.is_dir():
        return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    return path.read_bytes()


def _as_read_only(home: Path, call) -> tuple[str, object]:
    """call() run with HUB_HOME=home made read-only: ("ok", its result) or (exception type, message)."""
    for folder, dirs, files in os.walk(home):
        os.chmod(folder, 0o555)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444)

    def as_nobody():
        if os.geteuid() == 0:  # root writes anywhere: become nobody, for whom the modes count
            os.setgid(65534)
            os.setuid(65534)  # nobody cannot read this interpreter's files: hence a fork, not a new process
        os.environ["HUB_HOME"] = str(home)
        return call()

    return _forked(as_nobody)


def _fetching(*specs: ArtifactSpec):
    return lambda: [_content(fetch(spec)) for spec in specs]


@pytest.fixture
def other_home(hub, server):
    """A cache folder that user nobody can enter, and HUB_HOME pointing at it; restored after."""
    other = os.urandom(1000)
    server.add("/other.bin", other)
    fetch(spec_for(server.url("/other.bin"), other))  # in the writable home: imports what a fetch needs
    home = Path(tempfile.mkdtemp(prefix="hub-ro-"))  # not under tmp_path, which nobody cannot enter
    os.environ["HUB_HOME"] = str(home)
    try:
        yield home, spec_for(server.url("/other.bin"), other)
    finally:
        os.environ["HUB_HOME"] = str(hub)
        for folder, _dirs, _files in os.walk(home):
            os.chmod(folder, 0o755)
        shutil.rmtree(home)


@pytest.mark.parametrize("filled", [False, True], ids=["empty-cache", "cache-with-other-artifacts"])
def test_download_into_read_only_cache_is_a_clear_error(server, other_home, filled):
    home, other = other_home
    server.add("/w.bin", PAYLOAD)
    if filled:
        fetch(other)  # leaves tmp/, .locks/, blobs/, modules/
    kind, message = _as_read_only(home, _fetching(spec_for(server.url("/w.bin"))))
    assert kind == "CacheNotWritable", message
    assert f"HUB_HOME={home}" in message and "set HUB_HOME to a writable folder" in message
    assert server.gets("/w.bin") == [], "nothing is downloaded that cannot be stored"


def test_read_only_cache_still_serves_what_it_holds(server, other_home):
    home, blob = other_home
    tree = tree_spec(server)
    fetch(blob)
    folders.manifest_path(fetch(tree)).unlink()  # a tree made by an older hub: adopted without writing
    kind, got = _as_read_only(home, _fetching(blob, tree))
    assert kind == "ok", got
    assert hashlib.sha256(got[0]).hexdigest() == blob.sha256
    assert got[1] == {"conf/vocab.txt": b"a\nb\n", "inference.pdiparams": MODEL["pkg/model/inference.pdiparams"],
                      "inference.pdmodel": MODEL["pkg/model/inference.pdmodel"]}


def test_damaged_tree_in_read_only_cache_is_a_clear_error(server, other_home):
    home, _ = other_home
    tree = tree_spec(server)
    (fetch(tree) / "inference.pdmodel").unlink()
    kind, message = _as_read_only(home, _fetching(tree))
    assert kind == "CacheNotWritable" and f"HUB_HOME={home}" in message, message
    assert "is damaged (inference.pdmodel: missing) and cannot be made again" in message


def test_removing_from_read_only_cache_is_a_clear_error(other_home):
    home, blob = other_home
    path = fetch(blob)
    path.write_bytes(b"damaged")
    for call in (lambda: artifacts.verify_cache(remove=True), artifacts.clear_cache):
        kind, message = _as_read_only(home, call)
        assert kind == "CacheNotWritable" and f"HUB_HOME={home}" in message, message
    assert path.read_bytes() == b"damaged"


def test_full_disk_is_a_clear_error(hub, server):
    server.add("/w.bin", PAYLOAD)

    def with_room_for_half():
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (len(PAYLOAD) // 2, resource.RLIM_INFINITY))
        return _content(fetch(spec_for(server.url("/w.bin"))))

    kind, message = _forked(with_room_for_half)
    assert kind == "CacheNotWritable" and f"HUB_HOME={hub}" in message and "free space there" in message, message
    assert not (hub / "blobs").exists()


# -- 8: downloads ---------------------------------------------------------------------------------

def test_links_that_deliver_less_than_a_chunk_per_connection_still_finish(hub, server, monkeypatch):
    # Each connection brings 25 kB (less than a read chunk), then goes silent until the read
    # timeout: the bytes received before the silence must be kept and resumed from.
    monkeypatch.setenv("HUB_DOWNLOAD_TIMEOUT", "0.5")
    server.add("/w.bin", PAYLOAD, drop_after=25_000, drops=10, silence_before_drop=3)
    finished, result = in_thread(lambda: fetch(spec_for(server.url("/w.bin"))), 60)
    assert finished and isinstance(result, Path), result
    assert result.read_bytes() == PAYLOAD
    starts = [r.headers.get("range") for r in server.gets("/w.bin")]
    assert starts[:4] == [None, "bytes=25000-", "bytes=50000-", "bytes=75000-"], starts


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "no-content-length"])
def test_body_longer_than_declared_is_not_stored(hub, server, tmp_path, announced):
    # The declared bytes, then 256 MiB more: refused on the announced length, else one byte past.
    route = server.add("/w.bin", PAYLOAD, tail=256 << 20, send_length=announced)
    dest = tmp_path / "w.part"
    finished, result = in_thread(lambda: download.download_file(server.url("/w.bin"), dest,
                                                                expected_size=len(PAYLOAD), what="w"), 60)
    assert finished and isinstance(result, IntegrityError), result
    how = f"announces {len(PAYLOAD) + (256 << 20)} bytes" if announced else f"stopped reading at {len(PAYLOAD) + 1}"
    assert how in str(result) and f"more than the {len(PAYLOAD)} bytes the manifest declares" in str(result)
    assert not dest.exists()
    assert route.sent < 128 << 20, "the client must stop reading, not drain the body"
    with pytest.raises(IntegrityError):
        fetch(spec_for(server.url("/w.bin")))
    assert not (hub / "blobs").exists() and list((hub / "tmp").glob("*.part")) == []


@pytest.mark.parametrize("trickle", ["one-connection", "a-byte-per-connection"])
def test_trickling_server_is_abandoned(hub, server, monkeypatch, trickle):
    # Well inside any read timeout, and each connection adds bytes: only the minimum rate ends it.
    monkeypatch.setenv("HUB_DOWNLOAD_MIN_RATE", "100000")
    monkeypatch.setenv("HUB_DOWNLOAD_RATE_WINDOW", "0.5")
    monkeypatch.setenv("HUB_DOWNLOAD_RETRIES", "2")
    if trickle == "one-connection":
        server.add("/w.bin", PAYLOAD, chunk=1, delay=0.05)
    else:
        server.add("/w.bin", PAYLOAD, drop_after=1, drops=len(PAYLOAD))
    finished, result = in_thread(lambda: fetch(spec_for(server.url("/w.bin"))), 30)
    assert finished, "a trickling server held the download"
    assert isinstance(result, ArtifactNotAvailable), result
    assert "2 windows of HUB_DOWNLOAD_RATE_WINDOW=0.5 s in a row ran below HUB_DOWNLOAD_MIN_RATE=100000" \
        in str(result)
    if trickle == "one-connection":
        assert len(server.gets("/w.bin")) == 2, "a slow window ends the attempt"


def test_index_pages_are_bounded_in_size_and_rate(hub, server, monkeypatch):
    monkeypatch.setenv("HUB_INDEX_URL", server.url("/simple"))
    spec = ArtifactSpec(name="m", source="pypi:big==1.0/big-1.0.tar.gz", sha256="cd" * 32, size=None)
    monkeypatch.setattr(download, "INDEX_PAGE_MAX_BYTES", 10_000)
    server.add("/simple/big/", b"[" * 100_000, content_type="application/vnd.pypi.simple.v1+json")
    with pytest.raises(ArtifactNotAvailable, match="sent more than 10000 bytes, too much for an index page"):
        fetch(spec)
    monkeypatch.setenv("HUB_DOWNLOAD_MIN_RATE", "100000")
    monkeypatch.setenv("HUB_DOWNLOAD_RATE_WINDOW", "0.3")
    monkeypatch.setenv("HUB_DOWNLOAD_RETRIES", "2")
    server.add("/simple/big/", b"[" * 5000, chunk=1, delay=0.05)
    finished, result = in_thread(lambda: fetch(spec), 30)
    assert finished and isinstance(result, ArtifactNotAvailable), result
    assert "after 2 attempts" in str(result) and "bytes in" in str(result)


def test_progress_lines_when_not_on_a_terminal(hub, server, monkeypatch, capsys):
    monkeypatch.setattr(progress, "LINE_SECONDS", 0.0)
    server.add("/w.bin", PAYLOAD, chunk=30_000)
    fetch(spec_for(server.url("/w.bin")))
    lines = capsys.readouterr().err.splitlines()
    assert any(line.startswith("hub: downloading artifact 'weights': ") and "of 0.1 MiB" in line for line in lines)
    assert lines[-1].startswith("hub: done artifact 'weights': 0.1 MiB of 0.1 MiB (100%)"), lines


def test_bad_download_settings_are_named(hub, server, monkeypatch):
    monkeypatch.setenv("HUB_DOWNLOAD_MIN_RATE", "fast")
    server.add("/w.bin", PAYLOAD)
    with pytest.raises(InputError, match=r"\$HUB_DOWNLOAD_MIN_RATE='fast' is not a non-negative number"):
        fetch(spec_for(server.url("/w.bin")))


# -- 9: archives ----------------------------------------------------------------------------------

@pytest.mark.parametrize("pack", [zip_of, make_tar], ids=["zip", "tar.gz"])
def test_decompression_bomb_stops_while_extracting(tmp_path, hub, pack):
    archive = tmp_path / "bomb"
    archive.write_bytes(pack({"pkg/zeros.bin": bytes(64 << 20)}))  # 64 MiB of zeros, a few tens of kB packed
    limit = 100 * archive.stat().st_size  # HUB_MAX_UNPACK_RATIO's default
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(UnsafeArchiveError, match=rf"more than {limit} bytes.*HUB_MAX_UNPACK_RATIO=100"):
        extract_member(archive, "pkg/", dest, what="t")
    written = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    assert written <= limit, "the limit holds while writing, not after"


def test_unpack_limits_come_from_the_manifest_or_the_settings(tmp_path, hub, monkeypatch):
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_of({"pkg/zeros.bin": bytes(1 << 20)}))
    # Declared by the manifest: that many bytes and no more, whatever the ratio.
    for size, fits in ((1 << 20, True), ((1 << 20) - 1, False)):
        dest = tmp_path / f"declared-{size}"
        dest.mkdir()
        if fits:
            extract_member(archive, "pkg/", dest, what="t", unpacked_size=size)
            assert (dest / "zeros.bin").stat().st_size == 1 << 20
        else:
            with pytest.raises(UnsafeArchiveError, match="unpacked_size the module's manifest declares"):
                extract_member(archive, "pkg/", dest, what="t", unpacked_size=size)
    monkeypatch.setenv("HUB_MAX_UNPACK_RATIO", "1000000")
    monkeypatch.setenv("HUB_MAX_UNPACKED_BYTES", "1000")
    dest = tmp_path / "capped"
    dest.mkdir()
    with pytest.raises(UnsafeArchiveError, match="more than 1000 bytes.*HUB_MAX_UNPACKED_BYTES=1000"):
        extract_member(archive, "pkg/", dest, what="t")


def test_bomb_through_the_cache_leaves_nothing(hub, tmp_path):
    user_file = tmp_path / "upload.zip"
    user_file.write_bytes(zip_of({"pkg/a.bin": bytes(32 << 20)}))
    spec = ArtifactSpec(name="params", source=None, sha256=None, size=None, member="pkg/")
    with pytest.raises(UnsafeArchiveError):
        artifacts.provide_artifact("demo", "1.0", spec, user_file)
    assert not (hub / "trees").exists() or not any(p.is_file() for p in (hub / "trees").rglob("*"))
    assert list((hub / "tmp").iterdir()) == []
    assert not (hub / "modules").exists()


def test_unpacked_size_in_a_module_manifest_is_the_limit(hub, server):
    from hubcore.errors import ManifestError
    from hubcore.manifest import parse_manifest

    archive = zip_of({"pkg/a.bin": bytes(1 << 20)})  # expands 1000-fold: over the default ratio
    server.add("/a.zip", archive)

    def manifest(unpacked_size: object) -> ArtifactSpec:
        raw = {"name": "a", "source": server.url("/a.zip"), "sha256": hashlib.sha256(archive).hexdigest(),
               "size": len(archive), "member": "pkg/", "unpacked_size": unpacked_size}
        return parse_manifest({"package": "hubmod-demo", "version": "1.0", "modules": {"demo": {
            "class": "x:Y", "artifacts": [raw]}}}, "test")["demo"].artifacts[0]

    assert (fetch(manifest(1 << 20)) / "a.bin").stat().st_size == 1 << 20
    for bad in (-1, True, "1"):
        with pytest.raises(ManifestError, match="unpacked_size must be a non-negative integer"):
            manifest(bad)
