"""Build registry.json from the module packages in modules/*/, without importing their code.

    python tools/build_registry.py            # rewrite registry.json
    python tools/build_registry.py --check    # exit 1 when registry.json is out of date

Each package contributes its pyproject.toml ([project] name, version, entry points) and its
hubmodule.toml (found in the top-level package its entry points name). The builder also refuses
packages that would break at install time: a pip dependency on paddle, entry points and manifest
that disagree, a module dependency that no package provides, one module name in two packages.

By default the registry lists exactly the versions in modules/ (what a wheelhouse built from this
tree can install). --keep-history also keeps older versions already in the file, for a registry
whose old releases stay on a package index.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from packaging.requirements import InvalidRequirement, Requirement  # noqa: E402
from packaging.utils import canonicalize_name  # noqa: E402
from packaging.version import InvalidVersion, Version  # noqa: E402

from hubcore.errors import ManifestError  # noqa: E402
from hubcore.manifest import MANIFEST_NAME, ModuleManifest, read_manifest  # noqa: E402
from hubcore.registry import SCHEMA  # noqa: E402

MODULE_GROUP = "hubcore.modules"
PADDLE_DISTRIBUTIONS = {"paddlepaddle", "paddlepaddle-gpu"}


class PackageError(Exception):
    """A module package that cannot go into the registry; the message names the file and the fix."""


def read_package(folder: Path) -> tuple[str, str, list[ModuleManifest]]:
    """(distribution name, version, manifests) of one module package folder."""
    pyproject = folder / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except tomllib.TOMLDecodeError as exc:
        raise PackageError(f"{pyproject}: not valid TOML: {exc}") from None
    name, version = project.get("name"), project.get("version")
    if not name or not version:
        raise PackageError(f"{pyproject}: [project] needs a static name and version (dynamic versions cannot be "
                           f"read without building the package)")
    try:
        Version(version)
    except InvalidVersion:
        raise PackageError(f"{pyproject}: version {version!r} is not a PEP 440 version") from None
    _check_dependencies(pyproject, project.get("dependencies", []))
    entry_points = project.get("entry-points", {}).get(MODULE_GROUP, {})
    if not entry_points:
        raise PackageError(f"{pyproject}: no [project.entry-points.\"{MODULE_GROUP}\"]; add NAME = "
                           f"\"package.module:Class\" for each module so the hub can find it")
    tops = {value.split(":")[0].split(".")[0].strip() for value in entry_points.values()}
    if len(tops) != 1:
        raise PackageError(f"{pyproject}: entry points name several top-level packages {sorted(tops)}; one "
                           f"package ships one {MANIFEST_NAME}")
    manifests = _manifests(folder, tops.pop())
    for manifest in manifests.values():
        if canonicalize_name(manifest.package) != canonicalize_name(name):
            raise PackageError(f"{manifest.source_dir}/{MANIFEST_NAME}: package = {manifest.package!r} but "
                               f"pyproject.toml names {name!r}; make them agree")
    if set(entry_points) != set(manifests):
        raise PackageError(f"{folder.name}: entry points {sorted(entry_points)} and [modules.*] tables "
                           f"{sorted(manifests)} in {MANIFEST_NAME} must name the same modules")
    for module, value in entry_points.items():
        if value.strip() != manifests[module].entry:
            raise PackageError(f"{folder.name}: entry point {module} = {value!r} but {MANIFEST_NAME} says class = "
                               f"{manifests[module].entry!r}; make them agree")
    return name, version, [manifests[m] for m in sorted(manifests)]


def _check_dependencies(pyproject: Path, dependencies: list[str]) -> None:
    names = set()
    for text in dependencies:
        try:
            names.add(canonicalize_name(Requirement(text).name))
        except InvalidRequirement as exc:
            raise PackageError(f"{pyproject}: dependency {text!r} is not a valid requirement: {exc}") from None
    if names & PADDLE_DISTRIBUTIONS:
        raise PackageError(f"{pyproject}: remove {sorted(names & PADDLE_DISTRIBUTIONS)} from dependencies; either "
                           f"paddlepaddle or paddlepaddle-gpu satisfies a module, so the manifest's "
                           f"requires.paddle states it and the core checks it at load time")
    if "hubcore" not in names:
        raise PackageError(f"{pyproject}: add \"hubcore\" to dependencies (the module subclasses hubcore.Module)")


def _manifests(folder: Path, top: str) -> dict[str, ModuleManifest]:
    for candidate in (folder / top / MANIFEST_NAME, folder / "src" / top / MANIFEST_NAME):
        if candidate.is_file():
            try:
                return read_manifest(candidate)
            except ManifestError as exc:
                raise PackageError(str(exc)) from None
    raise PackageError(f"{folder.name}: no {top}/{MANIFEST_NAME}; the top-level package named by the entry "
                       f"points must ship one (and list it in package-data)")


def release_record(package: str, version: str, manifest: ModuleManifest) -> dict[str, Any]:
    return {
        "requirement": f"{package}=={version}",
        "paddle": manifest.requires.paddle,
        "paddle_tested": list(manifest.requires.paddle_tested),
        "modules": dict(sorted(manifest.requires.modules.items())),
        "pretrained": manifest.pretrained,
        "license": manifest.license,
        "artifacts": [
            {"name": a.name, "source": a.source, "sha256": a.sha256, "size": a.size, "member": a.member,
             **({"unpacked_size": a.unpacked_size} if a.unpacked_size is not None else {})}
            for a in manifest.artifacts
        ],
    }


def build(modules_dir: Path, previous: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The registry document for every package in modules_dir, and the errors found on the way."""
    errors: list[str] = []
    modules: dict[str, dict[str, Any]] = {}
    owners: dict[str, str] = {}
    for folder in sorted(p for p in modules_dir.iterdir() if (p / "pyproject.toml").is_file()):
        try:
            package, version, manifests = read_package(folder)
        except PackageError as exc:
            errors.append(str(exc))
            continue
        for manifest in manifests:
            if manifest.name in owners:
                errors.append(f"module {manifest.name!r} is declared by both {owners[manifest.name]} and "
                              f"{folder.name}; module names must be unique")
                continue
            owners[manifest.name] = folder.name
            old = ((previous or {}).get("modules", {}).get(manifest.name) or {}).get("versions", {})
            versions = dict(old)
            versions[version] = release_record(package, version, manifest)
            modules[manifest.name] = {
                "name": manifest.name,
                "category": manifest.category,
                "summary": manifest.summary,
                "package": package,
                "versions": {v: versions[v] for v in sorted(versions, key=Version)},
            }
    for name, module in modules.items():
        for dep in module["versions"][max(module["versions"], key=Version)]["modules"]:
            if dep not in modules:
                errors.append(f"module {name!r} depends on module {dep!r}, which no package in {modules_dir} "
                              f"provides; add that package or fix requires.modules")
    return {"schema": SCHEMA, "modules": dict(sorted(modules.items()))}, errors


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the file is out of date")
    parser.add_argument("--keep-history", action="store_true",
                        help="keep versions already in the file that modules/ no longer has")
    parser.add_argument("--modules", type=Path, default=ROOT / "modules", help="folder of module packages")
    parser.add_argument("--output", type=Path, default=ROOT / "registry.json", help="registry file")
    args = parser.parse_args(argv)

    current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
    previous = json.loads(current) if (args.keep_history and current) else None
    document, errors = build(args.modules, previous)
    for error in errors:
        print(f"build_registry: error: {error}", file=sys.stderr)
    if errors:
        return 1
    text = render(document)
    count = len(document["modules"])
    if args.check:
        if text != current:
            print(f"build_registry: {args.output} is out of date with {args.modules} ({count} modules); "
                  f"run `python tools/build_registry.py` and commit the result", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date ({count} modules)")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({count} modules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
