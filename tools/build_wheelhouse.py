"""Build wheels of hubcore and of every module package in modules/ into one folder (a wheelhouse).

    python tools/build_wheelhouse.py OUT                       # hubcore + every modules/*/
    python tools/build_wheelhouse.py OUT --only hubmod-example # hubcore + the named packages
    hub install --find-links OUT --no-index example           # then install from it

Each source is copied to a temporary folder first, so setuptools' build/ and *.egg-info never land
in the tree and a stale build/lib cannot leak deleted files into a wheel (the copy also resolves
the hubcore/registry.json symlink). All wheels are built by one pip process, without build
isolation by default (setuptools and wheel from this environment: no network needed). OUT also
gets the registry.json these wheels were built with.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORED = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".pytest_cache", ".venv",
                                 "wheelhouse", ".git")
CORE_FILES = ("pyproject.toml", "README.md", "LICENSE", "LICENSE.txt", "MANIFEST.in", "setup.cfg")


def module_packages(only: list[str] | None = None) -> list[Path]:
    folders = sorted(p for p in (ROOT / "modules").iterdir() if (p / "pyproject.toml").is_file())
    if only is None:
        return folders
    wanted = set(only)
    unknown = wanted - {p.name for p in folders}
    if unknown:
        raise SystemExit(f"build_wheelhouse: no package folder modules/{sorted(unknown)[0]}; "
                         f"have: {', '.join(p.name for p in folders)}")
    return [p for p in folders if p.name in wanted]


def stage_core(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in CORE_FILES:
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "hubcore", dest / "hubcore", ignore=IGNORED, symlinks=False)
    return dest


def stage_module(folder: Path, dest: Path) -> Path:
    shutil.copytree(folder, dest, ignore=IGNORED, symlinks=False)
    return dest


def build(out: Path, only: list[str] | None = None, *, core: bool = True, isolation: bool = False,
          quiet: bool = True) -> list[Path]:
    """Build the wheels into out and return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.glob("*.whl"))
    with tempfile.TemporaryDirectory(prefix="wheelhouse-src-") as tmp:
        sources = [stage_core(Path(tmp) / "hubcore")] if core else []
        sources += [stage_module(f, Path(tmp) / f.name) for f in module_packages(only)]
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
                   "--wheel-dir", str(out), *(["-q"] if quiet else []),
                   *([] if isolation else ["--no-build-isolation"]), *map(str, sources)]
        code = subprocess.call(command)
    if code != 0:
        raise SystemExit(f"build_wheelhouse: pip wheel failed (exit code {code}); its output is above")
    if (ROOT / "registry.json").is_file():
        shutil.copy2(ROOT / "registry.json", out / "registry.json")
    return sorted(set(out.glob("*.whl")) - before) or sorted(out.glob("*.whl"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the wheels (created if missing)")
    parser.add_argument("--only", nargs="+", metavar="FOLDER", help="only these modules/ folders, e.g. hubmod-lac")
    parser.add_argument("--no-core", action="store_true", help="do not build hubcore")
    parser.add_argument("--isolation", action="store_true",
                        help="build in isolated environments (downloads setuptools from the index)")
    parser.add_argument("--verbose", "-v", action="store_true", help="show pip's output")
    args = parser.parse_args(argv)
    wheels = build(args.out, args.only, core=not args.no_core, isolation=args.isolation, quiet=not args.verbose)
    for wheel in wheels:
        print(wheel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
