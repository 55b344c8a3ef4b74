"""Downloads, verification, sources, offline/mirror modes and the cache's bookkeeping,
against a real HTTP server on 127.0.0.1 (tests/support/httpserver.py)."""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from support.cache_testing import hub, make_tar, server  # noqa: E402,F401 (fixtures)
from support.httpserver import FakeServer  # noqa: E402

from hubcore import artifacts  # noqa: E402
from hubcore.errors import ArtifactNotAvailable, IntegrityError, WeightsNotPublished  # noqa: E402
from hubcore.manifest import ArtifactSpec  # noqa: E402

PAYLOAD = os.urandom(300_000)
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


def spec_for(url: str, data: bytes = PAYLOAD, **extra) -> ArtifactSpec:
    return ArtifactSpec(name="weights", source=url, sha256=hashlib.sha256(data).hexdigest(), size=len(data), **extra)


def fetch(spec: ArtifactSpec, module: str = "demo", version: str = "1.0") -> Path:
    return artifacts.fetch_artifact(spec, module=module, version=version)


def complete_looking_entries(home: Path) -> list[Path]:
    """Anything outside tmp/ and .locks/ that a later run could take for a finished artifact."""
    found = []
    for name in ("blobs", "trees", "builds", "modules"):
        found += [p for p in (home / name).rglob("*") if p.is_file() or p.is_symlink()]
    return found


def test_download_is_cached_and_recorded(hub, server):
    server.add("/w.bin", PAYLOAD)
    path = fetch(spec_for(server.url("/w.bin")))
    assert path.read_bytes() == PAYLOAD
    assert path == hub / "blobs" / PAYLOAD_SHA
    assert fetch(spec_for(server.url("/w.bin"))) == path
    assert len(server.gets("/w.bin")) == 1, "a cached artifact must not be downloaded again"
    link = hub / "modules" / "demo" / "1.0" / "weights"
    assert link.resolve() == path.resolve()
    [entry] = artifacts.cache_entries("demo")
    assert (entry.module, entry.version, entry.artifact, entry.sha256, entry.size, entry.ok) == \
        ("demo", "1.0", "weights", PAYLOAD_SHA, len(PAYLOAD), True)
    assert server.gets("/w.bin")[0].headers.get("accept-encoding") == "identity"


def test_dropped_connection_resumes_with_range(hub, server):
    server.add("/w.bin", PAYLOAD, drop_after=100_000, drops=2)
    path = fetch(spec_for(server.url("/w.bin")))
    assert path.read_bytes() == PAYLOAD
    ranges = [r.headers.get("range") for r in server.gets("/w.bin")]
    assert len(ranges) == 3 and ranges[0] is None, ranges
    starts = [int(r[len("bytes="):-1]) for r in ranges[1:]]
    assert 0 < starts[0] < starts[1] < len(PAYLOAD), ranges


def test_server_ignoring_range_starts_over(hub, server):
    server.add("/w.bin", PAYLOAD, drop_after=120_000, drops=1, ignore_range=True)
    path = fetch(spec_for(server.url("/w.bin")))
    assert path.read_bytes() == PAYLOAD
    ranges = [r.headers.get("range") for r in server.gets("/w.bin")]
    assert len(ranges) == 2 and ranges[0] is None and ranges[1].startswith("bytes="), \
        "the second attempt must ask to resume (and get a 200)"


def test_wrong_bytes_raise_integrity_error_and_leave_nothing(hub, server):
    wrong = bytearray(PAYLOAD)
    wrong[1000] ^= 0xFF
    server.add("/w.bin", bytes(wrong))
    url = server.url("/w.bin")
    with pytest.raises(IntegrityError) as info:
        fetch(spec_for(url))
    message = str(info.value)
    assert PAYLOAD_SHA in message and hashlib.sha256(wrong).hexdigest() in message and url in message
    assert complete_looking_entries(hub) == []
    assert list((hub / "tmp").glob("*.part")) == [], "a file that failed verification must be deleted"


def test_wrong_size_is_refused(hub, server):
    server.add("/w.bin", PAYLOAD)
    spec = ArtifactSpec(name="weights", source=server.url("/w.bin"), sha256=PAYLOAD_SHA, size=len(PAYLOAD) + 1)
    with pytest.raises(IntegrityError):
        fetch(spec)
    assert complete_looking_entries(hub) == []


def test_server_errors_are_retried_then_reported_without_requests_traceback(hub, server):
    server.add("/w.bin", PAYLOAD, status=503)
    with pytest.raises(ArtifactNotAvailable) as info:
        fetch(spec_for(server.url("/w.bin")))
    assert len(server.gets("/w.bin")) == 3  # HUB_DOWNLOAD_RETRIES
    message = str(info.value)
    assert "HTTP 503" in message and "HUB_MIRROR" in message and server.url("/w.bin") in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_unreachable_host_is_reported(hub):
    with pytest.raises(ArtifactNotAvailable) as info:
        fetch(spec_for("http://127.0.0.1:9/w.bin"))
    assert "ConnectionError" in str(info.value) and "network" in str(info.value)
    assert info.value.__suppress_context__


def test_not_found_is_not_retried(hub, server):
    with pytest.raises(ArtifactNotAvailable, match="HTTP 404"):
        fetch(spec_for(server.url("/missing.bin")))
    assert len(server.gets("/missing.bin")) == 1


def test_offline_uses_cache_and_explains_missing(hub, server, monkeypatch):
    server.add("/w.bin", PAYLOAD)
    cached = fetch(spec_for(server.url("/w.bin")))
    monkeypatch.setenv("HUB_OFFLINE", "1")
    assert fetch(spec_for(server.url("/w.bin"))) == cached
    other = os.urandom(1000)
    server.add("/other.bin", other)
    with pytest.raises(ArtifactNotAvailable) as info:
        fetch(spec_for(server.url("/other.bin"), other), module="mymod")
    assert "HUB_OFFLINE" in str(info.value) and "hub download mymod" in str(info.value)
    assert len(server.requests) == 1, "offline mode must not touch the network"


def test_mirror_replaces_scheme_and_host(hub, server, monkeypatch):
    server.add("/mirror/models/v1/w.bin", PAYLOAD)
    monkeypatch.setenv("HUB_MIRROR", server.url("/mirror/"))
    path = fetch(spec_for("https://weights.invalid/models/v1/w.bin"))
    assert path.read_bytes() == PAYLOAD
    assert [r.path for r in server.requests] == ["/mirror/models/v1/w.bin"]


def test_file_source(hub, tmp_path):
    src = tmp_path / "weights.bin"
    src.write_bytes(PAYLOAD)
    assert fetch(spec_for(src.as_uri())).read_bytes() == PAYLOAD
    # A file: source without sha256 (development) follows the file's current content.
    dev = ArtifactSpec(name="dev", source=src.as_uri(), sha256=None, size=None)
    assert fetch(dev).read_bytes() == PAYLOAD
    assert artifacts.provided_sha256("demo", "1.0", "dev") == PAYLOAD_SHA
    src.write_bytes(b"changed")
    assert fetch(dev).read_bytes() == b"changed"


def test_package_source_reads_a_file_shipped_in_an_installed_package(hub, tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "hubmod_shipped" / "weights").mkdir(parents=True)
    (site / "hubmod_shipped" / "__init__.py").write_text("raise RuntimeError('package code must not run')")
    (site / "hubmod_shipped" / "weights" / "w.bin").write_bytes(PAYLOAD)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("HUB_OFFLINE", "1")  # a file on this disk needs no network
    path = fetch(spec_for("package:hubmod_shipped/weights/w.bin"))
    assert path.read_bytes() == PAYLOAD and "hubmod_shipped" not in sys.modules
    (site / "hubmod_shipped" / "weights" / "w.bin").write_bytes(b"tampered")
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "fresh_home"))  # nothing verified cached there
    with pytest.raises(IntegrityError):
        fetch(spec_for("package:hubmod_shipped/weights/w.bin"))
    for bad, message in [("package:hubmod_nowhere/w.bin", "is not installed"),
                         ("package:hubmod_shipped/../x", "no '..'"),
                         ("package:hubmod_shipped/weights/none.bin", "missing from the installed package")]:
        spec = ArtifactSpec(name="w", source=bad, sha256="0" * 64, size=1)
        with pytest.raises(ArtifactNotAvailable, match=message):
            fetch(spec)


def fake_index(server: FakeServer, project: str, filename: str, data: bytes, index_sha: str | None = None) -> None:
    server.add(f"/files/{filename}", data)
    page = {"meta": {"api-version": "1.1"}, "name": project,
            "files": [{"filename": "other-0.1.tar.gz", "url": "../../files/other", "hashes": {}},
                      {"filename": filename, "url": f"../../files/{filename}",
                       "hashes": {"sha256": index_sha or hashlib.sha256(data).hexdigest()}, "size": len(data)}]}
    server.add(f"/simple/{project}/", json.dumps(page).encode(), content_type="application/vnd.pypi.simple.v1+json")


def test_pypi_source_through_json_simple_index(hub, server, monkeypatch):
    archive = make_tar({"demo_pkg-1.0/demo_pkg/model/a.bin": b"A" * 10, "demo_pkg-1.0/demo_pkg/model/sub/b.txt": b"B",
                        "demo_pkg-1.0/setup.py": b"x"})
    fake_index(server, "demo-pkg", "demo_pkg-1.0.tar.gz", archive)
    monkeypatch.setenv("HUB_INDEX_URL", server.url("/simple"))
    spec = ArtifactSpec(name="model", source="pypi:Demo_Pkg==1.0/demo_pkg-1.0.tar.gz",
                        sha256=hashlib.sha256(archive).hexdigest(), size=len(archive),
                        member="demo_pkg-1.0/demo_pkg/model/")
    folder = fetch(spec)
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == ["a.bin", "sub", "sub/b.txt"]
    assert (folder / "a.bin").read_bytes() == b"A" * 10
    [index_request] = server.gets("/simple/demo-pkg/")
    assert index_request.headers["accept"].startswith("application/vnd.pypi.simple.v1+json")
    # A second artifact from the same archive reuses the blob: no new download.
    single = ArtifactSpec(name="setup", source=spec.source, sha256=spec.sha256, size=spec.size,
                          member="demo_pkg-1.0/setup.py")
    assert fetch(single).read_bytes() == b"x"
    assert len(server.gets("/files/demo_pkg-1.0.tar.gz")) == 1


def test_pypi_index_hash_mismatch_refuses_before_download(hub, server, monkeypatch):
    archive = make_tar({"x/a": b"a"})
    fake_index(server, "demo-pkg", "demo_pkg-1.0.tar.gz", archive, index_sha="ab" * 32)
    monkeypatch.setenv("HUB_INDEX_URL", server.url("/simple"))
    spec = ArtifactSpec(name="model", source="pypi:demo-pkg==1.0/demo_pkg-1.0.tar.gz",
                        sha256=hashlib.sha256(archive).hexdigest(), size=None, member="x/a")
    with pytest.raises(IntegrityError, match="ab" * 32):
        fetch(spec)
    assert server.gets("/files/demo_pkg-1.0.tar.gz") == []


def test_pypi_missing_file_names_what_the_index_has(hub, server, monkeypatch):
    fake_index(server, "demo-pkg", "demo_pkg-1.0.tar.gz", b"zz")
    monkeypatch.setenv("HUB_INDEX_URL", server.url("/simple"))
    spec = ArtifactSpec(name="m", source="pypi:demo-pkg==2.0/demo_pkg-2.0.tar.gz", sha256="cd" * 32, size=None)
    with pytest.raises(ArtifactNotAvailable, match="demo_pkg-1.0.tar.gz"):
        fetch(spec)


UNPUBLISHED = ArtifactSpec(name="params", source=None, sha256=None, size=None)


def test_unpublished_artifact_message(hub, monkeypatch):
    monkeypatch.setenv("HUB_MIRROR", "http://127.0.0.1:9")
    monkeypatch.setenv("HUB_OFFLINE", "1")
    with pytest.raises(WeightsNotPublished) as info:
        fetch(UNPUBLISHED, module="ace2p", version="1.0")
    message = str(info.value)
    for needed in ("ace2p", "'params'", "hub download ace2p --artifact params --from FILE", "HUB_MIRROR",
                   str(hub / "modules" / "ace2p" / "1.0")):
        assert needed in message, f"{needed!r} missing from: {message}"


def test_unpublished_artifact_from_mirror(hub, server, monkeypatch):
    server.add("/m/modules/ace2p/1.0/params", PAYLOAD)
    monkeypatch.setenv("HUB_MIRROR", server.url("/m"))
    assert fetch(UNPUBLISHED, module="ace2p", version="1.0").read_bytes() == PAYLOAD
    assert artifacts.provided_sha256("ace2p", "1.0", "params") == PAYLOAD_SHA
    with pytest.raises(WeightsNotPublished, match=r"HTTP 404"):
        fetch(UNPUBLISHED, module="ace2p", version="2.0")


def test_provide_artifact(hub, tmp_path):
    user_file = tmp_path / "downloaded.tar.gz"
    user_file.write_bytes(make_tar({"pkg/params/w.bin": b"w", "pkg/other": b"o"}))
    with pytest.raises(WeightsNotPublished):
        artifacts.provided_sha256("ace2p", "1.0", "params")
    spec = ArtifactSpec(name="params", source=None, sha256=None, size=None, member="pkg/params/")
    provided = artifacts.provide_artifact("ace2p", "1.0", spec, user_file)
    assert (provided / "w.bin").read_bytes() == b"w"
    assert fetch(spec, module="ace2p", version="1.0") == provided
    assert artifacts.provided_sha256("ace2p", "1.0", "params") == hashlib.sha256(user_file.read_bytes()).hexdigest()
    [entry] = artifacts.cache_entries("ace2p")
    assert entry.provided and entry.ok
    # A published artifact only accepts the very file its manifest names.
    published = spec_for("https://weights.invalid/w.bin")
    with pytest.raises(IntegrityError, match=PAYLOAD_SHA):
        artifacts.provide_artifact("demo", "1.0", published, user_file)
    right = tmp_path / "w.bin"
    right.write_bytes(PAYLOAD)
    assert artifacts.provide_artifact("demo", "1.0", published, right).read_bytes() == PAYLOAD


def test_cached_build_is_atomic_and_keyed(hub):
    calls = []

    def build(folder: Path) -> None:
        calls.append(folder)
        (folder / "out.txt").write_text("done")

    def failing(folder: Path) -> None:
        (folder / "half.txt").write_text("half")
        raise RuntimeError("conversion failed")

    kwargs = dict(module="demo", version="1.0", key="converted", input_hashes=("a" * 64,), builder_version="1")
    with pytest.raises(RuntimeError, match="conversion failed"):
        artifacts.cached_build(build=failing, **kwargs)
    assert not (hub / "builds").exists() or not any((hub / "builds").rglob("*.txt"))
    assert not any((hub / "tmp").rglob("half.txt"))
    first = artifacts.cached_build(build=build, **kwargs)
    assert (first / "out.txt").read_text() == "done"
    assert artifacts.cached_build(build=build, **kwargs) == first and len(calls) == 1
    assert calls[0] != first, "build must write into a temporary folder"
    rebuilt = artifacts.cached_build(build=build, **{**kwargs, "builder_version": "2"})
    other_inputs = artifacts.cached_build(build=build, **{**kwargs, "input_hashes": ("b" * 64,)})
    assert len({first, rebuilt, other_inputs}) == 3 and len(calls) == 3


def test_verify_cache_detects_and_removes_corrupt_blob(hub, server):
    server.add("/w.bin", PAYLOAD)
    path = fetch(spec_for(server.url("/w.bin")))
    assert artifacts.verify_cache() == []
    path.write_bytes(PAYLOAD[:-1] + b"\0")
    [problem] = artifacts.verify_cache("demo")
    assert "corrupt" in str(problem) and PAYLOAD_SHA in str(problem) and path.exists()
    [problem] = artifacts.verify_cache(remove=True)
    assert problem.removed and not path.exists()
    assert fetch(spec_for(server.url("/w.bin"))).read_bytes() == PAYLOAD  # fetched again
    old = hub / "tmp" / "abandoned.123-beef.part"
    old.write_bytes(b"x" * 10)
    os.utime(old, (1, 1))
    [problem] = artifacts.verify_cache()
    assert "interrupted run" in str(problem) and old.exists()
    assert artifacts.verify_cache(remove=True)[0].removed and not old.exists()


def test_clear_cache_keeps_blobs_other_modules_use(hub, server):
    server.add("/w.bin", PAYLOAD)
    spec = spec_for(server.url("/w.bin"))
    fetch(spec, module="a")
    fetch(spec, module="b")
    assert artifacts.clear_cache("a") < len(PAYLOAD)
    assert (hub / "blobs" / PAYLOAD_SHA).exists() and [e.module for e in artifacts.cache_entries()] == ["b"]
    assert artifacts.clear_cache() >= len(PAYLOAD)
    assert artifacts.cache_entries() == [] and not (hub / "blobs").exists()


def test_plugin_sources_are_used(hub):
    from hubcore.hookspecs import hookimpl
    from hubcore.plugins import manager

    class S3Plugin:
        @hookimpl
        def register_artifact_sources(self, register):
            def fetch_s3(spec: ArtifactSpec, dest: Path) -> None:
                dest.write_bytes(PAYLOAD)

            register("s3", fetch_s3)

    plugin = S3Plugin()
    manager().register(plugin, name="test-s3")
    try:
        assert fetch(spec_for("s3://bucket/w.bin")).read_bytes() == PAYLOAD
    finally:
        manager().unregister(plugin)
    with pytest.raises(ArtifactNotAvailable, match="no artifact source handles 'gopher://x/w.bin'.*pypi"):
        fetch(spec_for("gopher://x/w.bin", b"other"))


def test_bad_abandoned_partial_is_retried_from_scratch(hub, server):
    server.add("/w.bin", PAYLOAD)
    tmp = hub / "tmp"
    tmp.mkdir(parents=True)
    (tmp / f"{PAYLOAD_SHA}.99999-dead.part").write_bytes(b"garbage" * 1000)
    assert fetch(spec_for(server.url("/w.bin"))).read_bytes() == PAYLOAD
    ranges = [r.headers.get("range") for r in server.gets("/w.bin")]
    assert ranges == ["bytes=7000-", None], "resume the abandoned file first, then start over when it fails"
    assert list(tmp.glob("*.part")) == []


def test_offline_still_reads_file_sources(hub, tmp_path, monkeypatch):
    src = tmp_path / "w.bin"
    src.write_bytes(PAYLOAD)
    monkeypatch.setenv("HUB_OFFLINE", "1")
    assert fetch(spec_for(src.as_uri())).read_bytes() == PAYLOAD


def test_index_credentials_never_appear_in_messages(hub, server, monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", server.url("/simple").replace("http://", "http://alice:s3cret@"))
    spec = ArtifactSpec(name="m", source="pypi:nothing==1.0/nothing-1.0.tar.gz", sha256="cd" * 32, size=None)
    with pytest.raises(ArtifactNotAvailable) as info:
        fetch(spec)
    assert "HTTP 404" in str(info.value) and "s3cret" not in str(info.value) and "alice:***@" in str(info.value)
    assert server.gets("/simple/nothing/")[0].headers.get("authorization", "").startswith("Basic ")


def test_pypi_source_on_an_html_only_index(hub, server, monkeypatch):
    archive = make_tar({"pkg/a.txt": b"a"})
    sha = hashlib.sha256(archive).hexdigest()
    server.add("/files/pkg-1.0.tar.gz", archive)
    page = f'<html><body><a href="../../files/pkg-1.0.tar.gz#sha256={sha}">pkg-1.0.tar.gz</a></body></html>'
    server.add("/simple/pkg/", page.encode(), content_type="text/html")
    monkeypatch.setenv("HUB_INDEX_URL", server.url("/simple/"))
    spec = ArtifactSpec(name="a", source="pypi:pkg==1.0/pkg-1.0.tar.gz", sha256=sha, size=None, member="pkg/a.txt")
    assert fetch(spec).read_bytes() == b"a"


def test_download_module_artifacts_fetches_published_then_names_missing(hub, server):
    from hubcore.manifest import parse_manifest

    server.add("/w.bin", PAYLOAD)
    manifest = parse_manifest({"package": "hubmod-demo", "version": "1.0", "modules": {"demo": {
        "class": "x:Y", "artifacts": [
            {"name": "weights", "source": server.url("/w.bin"), "sha256": PAYLOAD_SHA, "size": len(PAYLOAD)},
            {"name": "head"}]}}}, "test")["demo"]
    with pytest.raises(WeightsNotPublished, match="hub download demo --artifact head --from FILE"):
        artifacts.download_module_artifacts(manifest)
    assert (hub / "blobs" / PAYLOAD_SHA).is_file()
    assert artifacts.download_module_artifacts(manifest, names=["weights"]) == [hub / "blobs" / PAYLOAD_SHA]
