"""fetch_artifact and its companions for files the user provides (`hub download --from FILE`)."""
from __future__ import annotations

from pathlib import Path

from .. import settings
from ..errors import ArtifactNotAvailable, CacheNotWritable, InputError, WeightsNotPublished
from ..manifest import ArtifactSpec
from . import folders, layout, store
from .writable import writing_cache
from .sources import LOCAL_SCHEMES, describe, file_url_path, scheme_of, source_for


def _what(spec: ArtifactSpec, module: str, version: str) -> str:
    return f"artifact {spec.name!r} of module {module} {version}"


def fetch_artifact(spec: ArtifactSpec, *, module: str, version: str) -> Path:
    """Local path of the artifact: a file, or a folder when spec.member ends with "/".

    Published artifacts are downloaded once into the content-addressed cache and verified by sha256
    and size; unpublished ones come from a file the user provided (provide_artifact) or HUB_MIRROR.
    A cache that cannot be written serves what it holds; what it would have to write raises
    CacheNotWritable.
    """
    what = _what(spec, module, version)
    with writing_cache(what):
        return _fetch(spec, module, version, what)


def _fetch(spec: ArtifactSpec, module: str, version: str, what: str) -> Path:
    if spec.published:
        sha, provided = spec.sha256 or "", False
        if spec.member:
            tree = layout.tree_path(sha, spec.member)
            found = folders.state(tree)
            if found.kind in ("ok", "unrecorded"):  # the blob is needed for neither
                ready = store.member_result(tree, spec.member) if found.ok else _member_or_blob(spec, sha, what)
                _note(module, version, spec, _record(spec, sha, provided), ready)
                return ready
        if not store.blob_usable(sha, spec.size):
            if settings.offline() and scheme_of(spec.source or "") not in LOCAL_SCHEMES:
                raise ArtifactNotAvailable(_offline_message(spec, module, version, what))
            store.fetch_blob(spec, source_for(spec), what, describe(spec))
    elif spec.source and scheme_of(spec.source) == "file":
        sha, provided = _local_file(spec, what), False
    else:
        sha, provided = _provided(spec, module, version, what), True
    target = _member_or_blob(spec, sha, what)
    _note(module, version, spec, _record(spec, sha, provided), target)
    return target


def _member_or_blob(spec: ArtifactSpec, sha: str, what: str) -> Path:
    if not spec.member:
        return layout.blob_path(sha)
    return store.member_tree(sha, spec.member, what, unpacked_size=spec.unpacked_size)


def _note(module: str, version: str, spec: ArtifactSpec, record: dict, target: Path) -> None:
    """Record the artifact for `hub cache list`; a read-only cache still serves what it holds."""
    try:
        store.write_ref(module, version, spec.name, record, target)
    except (OSError, CacheNotWritable):
        pass


def _record(spec: ArtifactSpec, sha: str, provided: bool) -> dict:
    return {"sha256": sha, "source": spec.source, "member": spec.member, "provided": provided}


def _offline_message(spec: ArtifactSpec, module: str, version: str, what: str) -> str:
    return (f"{what} is not in the cache ({layout.blob_path(spec.sha256 or '')}) and HUB_OFFLINE is set, so "
            f"nothing is downloaded. Run `hub download {module}` while online (or unset HUB_OFFLINE), or install "
            f"a copy of {spec.source} with `hub download {module} --artifact {spec.name} --from FILE`.")


def _local_file(spec: ArtifactSpec, what: str) -> str:
    """A file: source without sha256 (development): stored under whatever sha256 it has now."""
    path = file_url_path(spec.source or "")
    if not path.is_file():
        raise ArtifactNotAvailable(f"{what}: {path} (from {spec.source}) is not a file; create it or fix the source")
    return store.store_file(path, expected_sha256=None, expected_size=None, what=what)


def _provided(spec: ArtifactSpec, module: str, version: str, what: str) -> str:
    ref = store.read_ref(module, version, spec.name)
    if ref and ref.get("sha256") and store.blob_usable(ref["sha256"], None):
        return ref["sha256"]
    looked = [f"the cache ({layout.ref_path(module, version, spec.name)})"]
    base = settings.mirror()
    if base and not settings.offline():
        url = mirror_url(module, version, spec.name)
        try:
            return _from_mirror(url, spec, what)
        except ArtifactNotAvailable as exc:
            looked.append(f"HUB_MIRROR at {url} ({_short(exc)})")
    elif base:
        looked.append(f"not HUB_MIRROR ({base}), because HUB_OFFLINE is set")
    raise WeightsNotPublished(unpublished_message(spec, module, version, looked))


def mirror_url(module: str, version: str, artifact: str) -> str:
    """Where HUB_MIRROR is asked for an unpublished artifact: {HUB_MIRROR}/modules/MODULE/VERSION/ARTIFACT."""
    return f"{settings.mirror()}/modules/{module}/{version}/{artifact}"


def _short(exc: Exception) -> str:
    return str(exc).split(". ")[0]


def _from_mirror(url: str, spec: ArtifactSpec, what: str) -> str:
    from .download import download_file

    part = layout.tmp_name("mirror", ".part")
    try:
        download_file(url, part, expected_size=None, what=what)
        return store.store_file(part, expected_sha256=None, expected_size=None, what=what)
    finally:
        part.unlink(missing_ok=True)


def unpublished_message(spec: ArtifactSpec, module: str, version: str, looked: list[str]) -> str:
    whole = " (the whole archive; the module takes out its member " + repr(spec.member) + ")" if spec.member else ""
    return (f"no pretrained weights are published for module {module!r} (artifact {spec.name!r}), and none were "
            f"provided. Looked in: {'; '.join(looked)}. To use the module, provide the file{whole}: "
            f"`hub download {module} --artifact {spec.name} --from FILE`, or serve it at "
            f"$HUB_MIRROR/modules/{module}/{version}/{spec.name} and set HUB_MIRROR.")


def provided_sha256(module: str, version: str, artifact: str) -> str:
    """sha256 of the file recorded for an artifact that has none in its manifest (provided or file:)."""
    ref = store.read_ref(module, version, artifact)
    if ref and ref.get("sha256"):
        return ref["sha256"]
    spec = ArtifactSpec(name=artifact, source=None, sha256=None, size=None)
    raise WeightsNotPublished(unpublished_message(spec, module, version,
                                                  [f"the cache ({layout.ref_path(module, version, artifact)})"]))


def provide_artifact(module: str, version: str, spec: ArtifactSpec, path: Path) -> Path:
    """Install a user's file as the artifact (`hub download MODULE --artifact NAME --from FILE`).

    Checked against spec.sha256 and size when the manifest has them; otherwise recorded as this
    module version's artifact. Returns what fetch_artifact will return from now on.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"--from {path}: not a file; give the downloaded file (an archive stays packed: "
                         f"the hub takes the member out itself)")
    what = _what(spec, module, version)
    with writing_cache(what):
        sha = store.store_file(path, expected_sha256=spec.sha256, expected_size=spec.size, what=what)
        # Extract before recording, so a file without the member is refused now, not at first use.
        target = _member_or_blob(spec, sha, what)
        store.write_ref(module, version, spec.name, _record(spec, sha, not spec.published), target)
    return target
