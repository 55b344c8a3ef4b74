"""The registry: what modules exist beyond those installed, as data (`registry.json`, schema 1).

The registry is built from the module packages in `modules/*/` by tools/build_registry.py and
shipped inside the hubcore wheel; $HUB_REGISTRY (a path or an http(s) URL) points at another one.

    {
      "schema": 1,
      "modules": {
        "lac": {
          "name": "lac",
          "category": "nlp/lexical_analysis",
          "summary": "...",
          "package": "hubmod-lac",
          "versions": {
            "1.0.0": {
              "requirement": "hubmod-lac==1.0.0",
              "paddle": ">=2.6",
              "modules": {"other": ">=1.0"},
              "pretrained": true,
              "license": "Apache-2.0",
              "artifacts": [{"name": "...", "source": "...", "sha256": "...", "size": 1, "member": "..."}]
            }
          }
        }
      }
    }

Only "schema", module "package" and version "requirement" are required; everything else has a
default (empty, null or false). A registry with a newer schema than SCHEMA is refused, naming the
upgrade; unknown keys are ignored so a minor addition does not need a new schema number.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from . import settings
from .errors import RegistryError
from .manifest import ArtifactSpec

SCHEMA = 1
EMBEDDED = Path(__file__).resolve().parent / "registry.json"


@dataclass(frozen=True)
class Release:
    """One published version of a module: what pip installs and what it needs."""

    name: str
    version: str
    package: str
    requirement: str  # pip requirement of the package, e.g. "hubmod-lac==1.0.0"
    paddle: str | None  # PEP 440 specifier on the paddle framework (paddlepaddle or paddlepaddle-gpu)
    modules: dict[str, str]  # module dependencies: name -> specifier ("" = any version)
    pretrained: bool
    license: str
    artifacts: tuple[ArtifactSpec, ...]
    category: str = ""
    summary: str = ""
    paddle_tested: tuple[str, ...] = ()  # paddle versions the release's tests passed on


@dataclass(frozen=True)
class RegistryModule:
    """A module name with its releases, oldest first."""

    name: str
    category: str
    summary: str
    package: str
    releases: tuple[Release, ...] = field(default_factory=tuple)

    @property
    def latest(self) -> Release:
        from packaging.version import Version

        return max(self.releases, key=lambda r: Version(r.version))

    def release(self, version: str) -> Release | None:
        return next((r for r in self.releases if r.version == version), None)


@dataclass(frozen=True)
class Registry:
    """A parsed registry.json; `location` says where it came from (for messages)."""

    location: str
    modules: dict[str, RegistryModule]

    def get(self, name: str) -> RegistryModule | None:
        return self.modules.get(name)

    def __iter__(self) -> Iterator[RegistryModule]:
        return iter(self.modules.values())

    def __len__(self) -> int:
        return len(self.modules)

    def search(self, word: str) -> list[RegistryModule]:
        """Modules whose name, summary or category contains word (case-insensitive)."""
        needle = word.lower()
        return [m for m in self if needle in m.name.lower() or needle in m.summary.lower()
                or needle in m.category.lower()]


def load_registry(location: str | Path | None = None) -> Registry:
    """The registry at location, else $HUB_REGISTRY, else the one shipped with hubcore."""
    where = str(location) if location is not None else (settings.registry_location() or str(EMBEDDED))
    if where.startswith(("http://", "https://")):
        text = _fetch_url(where)
    else:
        path = Path(where[len("file://"):] if where.startswith("file://") else where).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            hint = " (set by HUB_REGISTRY; unset it to use the registry shipped with hubcore)" \
                if location is None and settings.registry_location() else ""
            raise RegistryError(f"cannot read registry {path}{hint}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RegistryError(f"registry {where} is not valid JSON: {exc}") from None
    return parse_registry(data, where)


def _fetch_url(url: str) -> str:
    if settings.offline():
        raise RegistryError(f"the registry is at {url} but HUB_OFFLINE is set; unset HUB_OFFLINE or point "
                            f"HUB_REGISTRY at a local copy of registry.json")
    import requests

    try:
        response = requests.get(url, timeout=settings.download_timeout())
        response.raise_for_status()
    except requests.RequestException as exc:
        raise RegistryError(f"cannot fetch registry {url}: {exc}; check the URL (HUB_REGISTRY) or your "
                            f"network") from None
    return response.text


def parse_registry(data: Any, where: str = "<registry>") -> Registry:
    """Validate a registry document (schema 1) and turn it into a Registry."""
    if not isinstance(data, dict) or "schema" not in data:
        raise RegistryError(f"registry {where}: not a registry document (no 'schema' key)")
    schema = data["schema"]
    if not isinstance(schema, int) or schema < 1:
        raise RegistryError(f"registry {where}: 'schema' must be a positive integer, got {schema!r}")
    if schema > SCHEMA:
        raise RegistryError(f"registry {where} uses schema {schema}, newer than this hubcore understands "
                            f"({SCHEMA}); upgrade hubcore with `pip install -U hubcore`")
    modules = data.get("modules", {})
    if not isinstance(modules, dict):
        raise RegistryError(f"registry {where}: 'modules' must be an object of module name -> module")
    out = {name: _module(name, raw, f"{where}: module {name!r}") for name, raw in modules.items()}
    return Registry(location=where, modules=out)


def _module(name: str, raw: Any, where: str) -> RegistryModule:
    if not isinstance(raw, dict):
        raise RegistryError(f"{where}: must be an object")
    if raw.get("name", name) != name:
        raise RegistryError(f"{where}: its 'name' is {raw['name']!r}; the key and the name must agree")
    package = raw.get("package")
    if not isinstance(package, str) or not package:
        raise RegistryError(f"{where}: 'package' (the pip distribution name) is missing")
    versions = raw.get("versions", {})
    if not isinstance(versions, dict):
        raise RegistryError(f"{where}: 'versions' must be an object of version -> release")
    category, summary = str(raw.get("category", "")), str(raw.get("summary", ""))
    releases = tuple(_release(name, package, version, rel, f"{where} version {version}", category, summary)
                     for version, rel in versions.items())
    return RegistryModule(name=name, category=category, summary=summary, package=package, releases=releases)


def _release(name: str, package: str, version: str, raw: Any, where: str, category: str, summary: str) -> Release:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    if not isinstance(raw, dict):
        raise RegistryError(f"{where}: must be an object")
    try:
        Version(version)
    except InvalidVersion:
        raise RegistryError(f"{where}: {version!r} is not a PEP 440 version") from None
    requirement = raw.get("requirement")
    if not isinstance(requirement, str) or not requirement:
        raise RegistryError(f"{where}: 'requirement' (what pip installs, e.g. '{package}=={version}') is missing")
    deps = raw.get("modules", {}) or {}
    paddle = raw.get("paddle") or None
    try:
        for spec in [paddle or "", *deps.values()]:
            SpecifierSet(spec or "")
    except (InvalidSpecifier, AttributeError, TypeError):
        raise RegistryError(f"{where}: 'paddle' and 'modules' values must be PEP 440 specifiers") from None
    tested = raw.get("paddle_tested", []) or []
    if not isinstance(tested, list) or not all(isinstance(v, str) for v in tested):
        raise RegistryError(f"{where}: 'paddle_tested' must be a list of version strings")
    artifacts = []
    for art in raw.get("artifacts", []) or []:
        if not isinstance(art, dict) or not art.get("name"):
            raise RegistryError(f"{where}: every artifact needs a 'name'")
        artifacts.append(ArtifactSpec(name=art["name"], source=art.get("source") or None,
                                      sha256=art.get("sha256") or None, size=art.get("size"),
                                      member=art.get("member") or None, description=art.get("description", ""),
                                      unpacked_size=art.get("unpacked_size")))
    return Release(name=name, version=version, package=package, requirement=requirement, paddle=paddle,
                   modules={str(k): str(v or "") for k, v in deps.items()}, pretrained=bool(raw.get("pretrained")),
                   license=str(raw.get("license", "")), artifacts=tuple(artifacts), category=category,
                   summary=summary, paddle_tested=tuple(tested))
