"""Find installed modules through the `hubcore.modules` entry points, without importing them.

Names and versions come from distribution metadata; everything else from the hubmodule.toml that
sits in the entry point's top-level package, located with importlib's finders (which do not run
package code for top-level names).

Speed (`hub list` with hundreds of modules, `hub.Module(name=...)` called in a loop): the name and
version are read from the `NAME-VERSION.dist-info` folder name rather than by parsing each METADATA
file; the package folder is looked for next to its dist-info before asking importlib's finders; and
the whole scan is reused while no folder on sys.path has changed (installing or removing a package
changes its site folder's mtime; clear_caches() forgets everything explicitly).
"""
from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import ManifestError
from .manifest import MANIFEST_NAME, ModuleManifest, read_manifest

if sys.version_info >= (3, 10):
    from importlib import metadata
else:  # pragma: no cover
    import importlib_metadata as metadata

MODULE_GROUP = "hubcore.modules"
PLUGIN_GROUP = "hubcore.plugins"


@dataclass(frozen=True)
class ModuleEntry:
    """One installed module as seen from its distribution, before its code is imported."""

    name: str
    entry: str  # "package.module:Class"
    package: str  # distribution name
    version: str
    manifest: ModuleManifest | None  # None when the manifest is broken; see error
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.manifest is not None


def distribution_version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _package_folder(top: str, site: str | None = None) -> Path | None:
    if site:
        beside = Path(site) / top  # where pip put it: next to the dist-info; no finder walk needed
        if (beside / MANIFEST_NAME).is_file():
            return beside
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=None)
def _manifests_in(top: str, folder_hint: str, site: str | None = None) -> dict[str, ModuleManifest]:
    folder = _package_folder(top, site)
    if folder is None:
        raise ManifestError(f"package {top!r} named by an entry point cannot be found on sys.path; "
                            f"reinstall it with pip")
    return read_manifest(folder / MANIFEST_NAME)


def _name_and_version(dist: metadata.Distribution | None) -> tuple[str, str, str | None]:
    """(distribution name, version, site folder) without parsing METADATA when the folder name says it."""
    if dist is None:
        return "?", "0+unknown", None
    path = getattr(dist, "_path", None)
    site = str(Path(path).parent) if path is not None else None
    stem = Path(path).name if path is not None else ""
    if stem.endswith(".dist-info"):
        name, sep, version = stem[: -len(".dist-info")].partition("-")
        if sep and version and "-" not in version:
            return name.replace("_", "-"), version, site
    return dist.metadata["Name"], dist.version, site


_scan_cache: tuple[tuple, list[ModuleEntry]] | None = None


def _path_state() -> tuple:
    state = []
    for entry in sys.path:
        try:
            state.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            state.append((entry, None))
    return tuple(state)


def iter_entries() -> list[ModuleEntry]:
    """Every installed module entry point, manifests read, broken ones reported with their error."""
    global _scan_cache
    state = _path_state()
    if _scan_cache is None or _scan_cache[0] != state:
        _scan_cache = (state, _scan())
    return list(_scan_cache[1])


def _scan() -> list[ModuleEntry]:
    out: list[ModuleEntry] = []
    seen: set[tuple[str, str]] = set()
    for ep in metadata.entry_points(group=MODULE_GROUP):
        dist = getattr(ep, "dist", None)
        package, version, site = _name_and_version(dist)
        key = (ep.name, package)
        if key in seen:  # the same distribution visible twice on sys.path: the first one wins, as in import
            continue
        seen.add(key)
        top = ep.value.split(":")[0].split(".")[0].strip()
        try:
            manifests = _manifests_in(top, package, site)
            if ep.name not in manifests:
                raise ManifestError(f"entry point {ep.name!r} of {package} has no [modules.{ep.name}] in "
                                    f"{top}/{MANIFEST_NAME}")
            manifest = manifests[ep.name]
            if manifest.entry != ep.value.strip():
                raise ManifestError(f"{package}: entry point {ep.name} = {ep.value!r} but {MANIFEST_NAME} says "
                                    f"class = {manifest.entry!r}; make them agree")
            from dataclasses import replace

            manifest = replace(manifest, version=version, package=package)
            out.append(ModuleEntry(ep.name, ep.value, package, version, manifest))
        except ManifestError as exc:
            out.append(ModuleEntry(ep.name, ep.value, package, version, None, str(exc)))
        except (OSError, UnicodeError, ValueError) as exc:  # an unreadable file must not break listing
            out.append(ModuleEntry(ep.name, ep.value, package, version, None,
                                   f"cannot read the manifest of {package}: {type(exc).__name__}: {exc}; "
                                   f"reinstall it"))
    out.sort(key=lambda e: (e.name, e.version))
    return out


def find_entries(name: str) -> list[ModuleEntry]:
    """Installed entries for one module name (more than one when several packages provide it)."""
    return [e for e in iter_entries() if e.name == name]


def clear_caches() -> None:
    """Forget cached manifests and entries (after installing or uninstalling packages in-process)."""
    global _scan_cache
    _scan_cache = None
    _manifests_in.cache_clear()
    importlib.invalidate_caches()
