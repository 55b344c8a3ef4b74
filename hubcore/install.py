"""`hub install` / `hub uninstall`: resolve with the registry, then let this interpreter's pip act.

pip is run as `sys.executable -m pip`, so modules land in the environment hubcore runs in. A
constraints file keeps pip from touching paddle: the installed distribution is pinned and the other
one (or both, when none is installed) is forbidden, so no plugin's dependency can ever pull the CPU
build onto a GPU install or change the framework behind the user's back.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from .discovery import clear_caches, distribution_version, iter_entries
from .errors import ModuleNotFound, RequirementError
from .registry import Registry, load_registry
from .resolver import PADDLE_DISTRIBUTIONS, Installed, Plan, parse_request, resolve

Echo = Callable[[str], None]


@dataclass(frozen=True)
class PipOptions:
    """Where pip looks for packages; passed through unchanged."""

    index_url: str | None = None
    find_links: Sequence[str] = field(default_factory=tuple)
    no_index: bool = False
    quiet: bool = False

    def args(self) -> list[str]:
        out = ["--disable-pip-version-check"]
        if self.quiet:
            out.append("-q")
        if self.index_url:
            out += ["--index-url", self.index_url]
        for link in self.find_links:
            out += ["--find-links", str(link)]
        if self.no_index:
            out.append("--no-index")
        return out


def installed_modules() -> dict[str, Installed]:
    """Usable installed modules by name (the highest version when several packages provide one)."""
    from packaging.version import Version

    out: dict[str, Installed] = {}
    for entry in iter_entries():
        if not entry.ok:
            continue
        req = entry.manifest.requires
        mod = Installed(entry.name, entry.version, entry.package, req.paddle, dict(req.modules))
        if entry.name not in out or Version(mod.version) > Version(out[entry.name].version):
            out[entry.name] = mod
    return out


def installed_paddle() -> tuple[str, str] | None:
    """(distribution, version) of the installed paddle framework, read from metadata (no import)."""
    for dist in PADDLE_DISTRIBUTIONS:
        version = distribution_version(dist)
        if version:
            return dist, version
    return None


def plan_install(requests: Sequence[str], *, upgrade: bool = False, registry: Registry | None = None) -> Plan:
    """Resolve requests ('ocr', 'ocr>=1.2') against the registry and the installed modules."""
    if not requests:
        raise ModuleNotFound("name at least one module to install, e.g. `hub install example`")
    return resolve([parse_request(r) for r in requests], registry or load_registry(), installed_modules(),
                   installed_paddle(), upgrade=upgrade)


def paddle_constraints(paddle: tuple[str, str] | None) -> list[str]:
    """pip constraints that keep the paddle framework exactly as it is."""
    if paddle is None:
        return [f"{d}<0" for d in PADDLE_DISTRIBUTIONS]
    dist, version = paddle
    return [f"{dist}=={version}"] + [f"{d}<0" for d in PADDLE_DISTRIBUTIONS if d != dist]


def install(requests: Sequence[str], options: PipOptions = PipOptions(), *, upgrade: bool = False,
            dry_run: bool = False, registry: Registry | None = None, echo: Echo = print) -> Plan:
    """Resolve, print the plan, pip-install what changes, and check the result is discoverable."""
    plan = plan_install(requests, upgrade=upgrade, registry=registry)
    asked = " ".join(requests)
    if not plan.changes:
        echo(f"nothing to do: {asked} already installed and its dependencies met")
        echo(plan.describe())
        return plan
    echo(f"plan for `hub install {asked}`:")
    echo(plan.describe())
    if dry_run:
        echo("dry run: nothing installed")
        return plan
    with tempfile.TemporaryDirectory(prefix="hub-install-") as tmp:
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text("\n".join(paddle_constraints(plan.paddle)) + "\n", encoding="utf-8")
        run_pip(["install", *options.args(), "-c", str(constraints), *plan.pip_requirements],
                what=f"install {' '.join(plan.pip_requirements)}")
    clear_caches()
    _confirm(plan, echo)
    return plan


def _confirm(plan: Plan, echo: Echo) -> None:
    """Say what is now installed; warn when pip installed something the hub still cannot see."""
    found = {e.name: e for e in iter_entries()}
    for step in plan.changes:
        entry = found.get(step.name)
        if entry is None or entry.version != step.version:
            have = f"{entry.version}" if entry else "nothing"
            echo(f"hub: warning: pip finished but module {step.name} {step.version} is not visible (found {have}); "
                 f"check `{sys.executable} -m pip show {step.package}`")
        elif not entry.ok:
            echo(f"hub: warning: {step.name} {step.version} installed but its manifest is broken: {entry.error}")
        else:
            echo(f"installed {step.name} {step.version} ({step.package})")


def run_pip(args: list[str], *, what: str) -> None:
    """Run this interpreter's pip; its output goes to the terminal; failure raises one clear error."""
    command = [sys.executable, "-m", "pip", *args]
    code = subprocess.call(command)
    if code != 0:
        hint = (" If pip reports a conflict on paddlepaddle or paddlepaddle-gpu, a package asked pip for paddle, "
                "which `hub install` never lets pip change (a CPU build must never replace a GPU one); install "
                "paddle yourself.") if args[0] == "install" else ""
        raise RequirementError(f"pip could not {what} (exit code {code}); its output is above.{hint} The command "
                               f"was: {' '.join(command)}")


def uninstall(names: Sequence[str], *, force: bool = False, quiet: bool = False, echo: Echo = print) -> list[str]:
    """pip-uninstall the packages providing the named modules; refuse when installed modules need them."""
    from packaging.utils import canonicalize_name

    entries = iter_entries()  # broken entries included: a broken module must stay removable
    packages: dict[str, list[str]] = {}
    for name in names:
        matching = [e for e in entries if e.name == name] or [
            e for e in entries if canonicalize_name(e.package) == canonicalize_name(name)]
        if not matching:
            raise ModuleNotFound(f"no installed module or module package named {name!r}; `hub list` shows what is "
                                 f"installed")
        for entry in matching:
            packages.setdefault(entry.package, [])
    for entry in entries:
        if entry.package in packages:
            packages[entry.package].append(entry.name)
    removed = {m for mods in packages.values() for m in mods}
    needing = [f"{e.name} {e.version} needs {dep}{e.manifest.requires.modules[dep]}"
               for e in entries if e.ok and e.name not in removed
               for dep in e.manifest.requires.modules if dep in removed]
    if needing and not force:
        raise RequirementError(f"other installed modules need what you are removing: {'; '.join(needing)}. "
                               f"Uninstall those too, or pass --force to remove anyway")
    for package, modules in sorted(packages.items()):
        echo(f"uninstalling {package} (module{'s' if len(modules) > 1 else ''} {', '.join(sorted(set(modules)))})")
    run_pip(["uninstall", "-y", "--disable-pip-version-check", *(["-q"] if quiet else []), *sorted(packages)],
            what=f"uninstall {' '.join(sorted(packages))}")
    clear_caches()
    return sorted(packages)
