"""`hub download` and `hub cache ls|verify|clear`: wrappers over hubcore.artifacts."""
from __future__ import annotations

import argparse

from ..errors import InputError, ModuleNotFound
from ..manifest import ModuleManifest
from .output import human_size, print_json, table


def module_manifest(name: str) -> tuple[ModuleManifest, str]:
    """The installed module's manifest, else the registry's latest release; and which it was."""
    from packaging.version import Version

    from ..discovery import find_entries
    from ..errors import ModuleLoadError
    from ..registry import load_registry
    from .listing import registry_manifest

    entries = find_entries(name)
    good = [e for e in entries if e.ok]
    if good:
        return max(good, key=lambda e: Version(e.version)).manifest, "installed"
    if entries:
        raise ModuleLoadError(f"module {name!r} is installed but broken: {entries[0].error}")
    found = load_registry().get(name)
    if found is None or not found.releases:
        raise ModuleNotFound(f"no module named {name!r} is installed or in the registry; `hub search WORD` looks "
                             f"for modules")
    return registry_manifest(found.latest), "registry"


def cmd_download(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..artifacts import download_module_artifacts, provide_artifact

    manifest, where = module_manifest(args.name)
    if where == "registry":
        print(f"{args.name} is not installed; using the registry's {manifest.version} manifest")
    if args.from_file:
        if not manifest.artifacts:
            raise InputError(f"module {manifest.name} declares no artifacts, so --from FILE has nothing to provide")
        if len(args.artifact) > 1 or (not args.artifact and len(manifest.artifacts) > 1):
            names = ", ".join(a.name for a in manifest.artifacts)
            raise InputError(f"--from FILE installs one artifact; name it with --artifact (one of: {names})")
        spec = manifest.artifact(args.artifact[0]) if args.artifact else manifest.artifacts[0]
        path = provide_artifact(manifest.name, manifest.known_version, spec, Path(args.from_file))
        print(f"{manifest.name} {manifest.version}: artifact {spec.name} installed from {args.from_file}")
        print(f"  {path}")
        return 0
    for name in args.artifact:
        manifest.artifact(name)  # an unknown name fails before anything is downloaded
    # Without --artifact, the module's dependencies come too: `hub download chinese_ocr_db_crnn_mobile`
    # must leave everything needed offline, and that lives in its detection/recognition modules.
    todo = [(manifest, list(args.artifact) or None)]
    if not args.artifact:
        todo += [(module_manifest(dep)[0], None) for dep in _dependencies(manifest)]
    for current, names in todo:
        if not current.artifacts:
            print(f"module {current.name} {current.version} declares no artifacts: nothing to download")
            continue
        paths = download_module_artifacts(current, names)
        print(f"{current.name} {current.version}: {len(paths)} artifact(s) in the cache")
        for name, path in zip(names or [a.name for a in current.artifacts], paths):
            print(f"  {name}: {path}")
    return 0


def _dependencies(manifest: ModuleManifest) -> list[str]:
    """Module dependencies of manifest, transitively, each once, in the order first met."""
    seen: list[str] = []
    stack = list(manifest.requires.modules)
    while stack:
        name = stack.pop(0)
        if name in seen or name == manifest.name:
            continue
        seen.append(name)
        stack += list(module_manifest(name)[0].requires.modules)
    return seen


def cmd_cache(args: argparse.Namespace) -> int:
    from .. import artifacts

    if args.action == "ls":
        entries = artifacts.cache_entries(args.name)
        if args.json:
            print_json([dict(vars(e), path=str(e.path)) for e in entries])
            return 0
        if not entries:
            print("the cache is empty" + (f" for {args.name}" if args.name else ""))
            return 0
        rows = [(e.module, e.version, e.artifact, human_size(e.size), "ok" if e.ok else "missing",
                 "provided" if e.provided else "published", e.path) for e in entries]
        print(table(("MODULE", "VERSION", "ARTIFACT", "SIZE", "STATE", "ORIGIN", "PATH"), rows, max_last=200))
        return 0
    if args.action == "verify":
        problems = artifacts.verify_cache(args.name, remove=args.remove)
        for problem in problems:
            print(problem)
        if not problems:
            print("cache verified: every file matches its sha256, every extracted folder and build its manifest")
            return 0
        return 0 if all(p.removed for p in problems) else 1
    freed = artifacts.clear_cache(args.name)
    print(f"freed {human_size(freed)}" + (f" ({args.name})" if args.name else ""))
    return 0
