"""`hub.Module(name=..., version=..., directory=...)`: find, check, import and construct a module."""
from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from .discovery import ModuleEntry, distribution_version, find_entries, iter_entries
from .errors import InputError, ModuleLoadError, ModuleNotFound, RequirementError
from .manifest import MANIFEST_NAME, ModuleManifest, read_manifest
from .paddle_compat import warn_if_zlib_clash

PADDLE_DISTRIBUTIONS = ("paddlepaddle", "paddlepaddle-gpu")


def load_module(name: str | None = None, version: str | None = None, directory: str | Path | None = None,
                **init_args: Any) -> Any:
    """Return a constructed module instance; see hubcore.Module."""
    return module_class(name=name, version=version, directory=directory)(**init_args)


def module_class(name: str | None = None, version: str | None = None,
                 directory: str | Path | None = None) -> type:
    """The class hub.Module(...) would construct, found, checked and imported but not constructed."""
    warn_if_zlib_clash()
    if directory is not None:
        manifest, cls = _from_directory(Path(directory), name)
    else:
        if not name or not isinstance(name, str):
            raise InputError("hub.Module needs name='MODULE' (see `hub list`) or directory='PATH'")
        entry = _pick_entry(name, version)
        manifest = entry.manifest
        check_requirements(manifest)
        cls = import_entry(manifest)
    _attach(cls, manifest)
    return cls


def _pick_entry(name: str, version: str | None) -> ModuleEntry:
    entries = find_entries(name)
    if not entries:
        known = [e.name for e in iter_entries()]
        close = difflib.get_close_matches(name, known, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ModuleNotFound(f"no installed module named {name!r}.{hint} Install it with `hub install {name}` "
                             f"(or `pip install hubmod-{name}`); `hub list` shows what is installed.")
    broken = [e for e in entries if not e.ok]
    good = [e for e in entries if e.ok]
    if not good:
        raise ModuleLoadError(f"module {name!r} is installed but unusable: {broken[0].error}")
    if version:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            spec = SpecifierSet(version if version[0] in "<>=!~" else f"=={version}")
        except InvalidSpecifier:
            raise InputError(f"version={version!r} is not a PEP 440 specifier; write e.g. '>=1.2,<2' or '==1.0.0'") from None
        matching = [e for e in good if spec.contains(e.version, prereleases=True)]
        if not matching:
            have = ", ".join(f"{e.version} ({e.package})" for e in good)
            raise ModuleNotFound(f"module {name!r} is installed at {have}, which does not match {version!r}; "
                                 f"install a matching one with `hub install '{name}{spec}'`")
        good = matching
    from packaging.version import Version

    return max(good, key=lambda e: Version(e.version))


def check_requirements(manifest: ModuleManifest) -> None:
    """Paddle and module dependencies must be installed at matching versions; say what to type."""
    from packaging.specifiers import SpecifierSet

    req = manifest.requires
    if req.paddle:
        have = next(((d, v) for d in PADDLE_DISTRIBUTIONS if (v := distribution_version(d))), None)
        if have is None:
            raise RequirementError(f"module {manifest.name!r} needs the paddle framework ({req.paddle}); install "
                                   f"`pip install paddlepaddle` (CPU) or `pip install paddlepaddle-gpu` (CUDA)")
        if not SpecifierSet(req.paddle).contains(have[1], prereleases=True):
            raise RequirementError(f"module {manifest.name!r} needs paddle {req.paddle} but {have[0]} {have[1]} is "
                                   f"installed; install a matching `pip install '{have[0]}{req.paddle}'`")
    for dep, spec in req.modules.items():
        entries = [e for e in find_entries(dep) if e.ok]
        if not entries:
            raise RequirementError(f"module {manifest.name!r} needs module {dep!r} ({spec or 'any version'}), "
                                   f"which is not installed; run `hub install {manifest.name}` to install its "
                                   f"dependencies")
        if spec and not any(SpecifierSet(spec).contains(e.version, prereleases=True) for e in entries):
            have = ", ".join(e.version for e in entries)
            raise RequirementError(f"module {manifest.name!r} needs {dep}{spec} but {dep} {have} is installed; "
                                   f"run `hub install '{dep}{spec}'`")


def import_entry(manifest: ModuleManifest) -> type:
    """Import the class named by the manifest, turning any failure into a ModuleLoadError."""
    module_path, _, attr = manifest.entry.partition(":")
    try:
        module = importlib.import_module(module_path)
    except Exception as exc:
        raise ModuleLoadError(f"error importing module {manifest.name!r} from package {manifest.package} "
                              f"({module_path}): {type(exc).__name__}: {exc}. Reinstall it with "
                              f"`hub install {manifest.name}`; `hub list` shows every broken module.") from exc
    return _get_class(module, attr, manifest)


def _get_class(module: Any, attr: str, manifest: ModuleManifest) -> type:
    from .module import Module

    obj = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise ModuleLoadError(f"module {manifest.name!r}: {module.__name__} has no attribute {attr!r}; "
                                  f"fix class = {manifest.entry!r} in {MANIFEST_NAME}")
    if not (isinstance(obj, type) and issubclass(obj, Module)):
        raise ModuleLoadError(f"module {manifest.name!r}: {manifest.entry} is not a subclass of hubcore.Module")
    return obj


def _attach(cls: type, manifest: ModuleManifest) -> None:
    cls._hub_manifest = manifest


def _from_directory(directory: Path, name: str | None) -> tuple[ModuleManifest, type]:
    """Load a module from a development folder (the folder with hubmodule.toml, or its parent)."""
    directory = directory.expanduser().resolve()
    candidates = [directory / MANIFEST_NAME] + sorted(directory.glob(f"*/{MANIFEST_NAME}"))
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        raise ModuleNotFound(f"no {MANIFEST_NAME} in {directory} or its subfolders; "
                             f"create one with `hub new NAME` or point directory= at the module's folder")
    manifests = read_manifest(path)
    if name is None:
        if len(manifests) != 1:
            raise InputError(f"{path} declares several modules {sorted(manifests)}; pass name= to pick one")
        name = next(iter(manifests))
    if name not in manifests:
        raise ModuleNotFound(f"{path} declares no module {name!r}; it declares {sorted(manifests)}")
    manifest = manifests[name]
    if manifest.version is None:
        manifest = replace(manifest, version=distribution_version(manifest.package) or "0+dev")
    check_requirements(manifest)
    folder = path.parent
    module_path, _, attr = manifest.entry.partition(":")
    top = module_path.split(".")[0]
    if top == folder.name:
        # A package folder: import it under its own name so its absolute imports work.
        existing = sys.modules.get(top)
        if existing is not None and Path(getattr(existing, "__file__", "") or "").resolve().parent != folder:
            raise ModuleLoadError(f"package {top!r} is already imported from {existing.__file__}; load the "
                                  f"development copy in a fresh process or uninstall the installed one")
        if str(folder.parent) not in sys.path:
            sys.path.insert(0, str(folder.parent))
        full = module_path
    else:
        # A flat folder: give it a private package name so two folders' `module.py` never collide.
        package = "_hubdir_" + hashlib.sha1(str(folder).encode()).hexdigest()[:12]
        if package not in sys.modules:
            spec = importlib.util.spec_from_file_location(package, folder / "__init__.py",
                                                          submodule_search_locations=[str(folder)])
            pkg = importlib.util.module_from_spec(spec)
            sys.modules[package] = pkg
            if (folder / "__init__.py").exists():
                spec.loader.exec_module(pkg)
        full = f"{package}.{module_path}"
    try:
        module = importlib.import_module(full)
    except Exception as exc:
        raise ModuleLoadError(f"error importing {module_path} from {folder}: {type(exc).__name__}: {exc}") from exc
    return manifest, _get_class(module, attr, manifest)
