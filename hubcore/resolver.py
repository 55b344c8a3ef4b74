"""Resolve module dependencies against the registry and what is installed (resolvelib backtracking).

Module dependencies (a manifest's requires.modules) and the paddle framework requirement are
resolved together: a module version whose paddle range excludes the installed paddle is passed over
for an older one, and a conflict is explained as the chains of requirements that clash, not as a
pip dump. Paddle itself is never chosen here: the installed paddlepaddle or paddlepaddle-gpu is the
only candidate, so a GPU install is never swapped for the CPU build.

Installed modules take part too: each stays installed (at its version when possible), and its own
dependencies constrain what the new modules may change, so installing one module never silently
breaks another.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from resolvelib import AbstractProvider

from .errors import ModuleNotFound, ResolutionError
from .registry import Registry, Release

PADDLE = "<paddle>"  # identifier of the framework; angle brackets keep it apart from module names
PADDLE_DISTRIBUTIONS = ("paddlepaddle", "paddlepaddle-gpu")


@dataclass(frozen=True)
class Installed:
    """A module as installed now, from its manifest and distribution metadata."""

    name: str
    version: str
    package: str
    paddle: str | None = None
    modules: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Requirement:
    """A module name (or PADDLE) with a PEP 440 specifier; reason marks root requirements."""

    name: str
    specifier: str = ""
    reason: str | None = None  # "requested" or "installed" for root requirements, None for dependencies

    def contains(self, version: str) -> bool:
        from packaging.specifiers import SpecifierSet

        return SpecifierSet(self.specifier).contains(version, prereleases=True)

    def __str__(self) -> str:
        return ("paddle" if self.name == PADDLE else self.name) + self.specifier


@dataclass(frozen=True)
class Candidate:
    """One version of a module (or of paddle) that the resolver may pick."""

    name: str
    version: str
    package: str
    installed: bool = False  # this exact version is installed now
    release: Release | None = None  # its registry entry, if the registry has it
    paddle: str | None = None
    modules: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        if self.name == PADDLE:
            return f"{self.package} {self.version}"
        return f"{self.name} {self.version}" + (" (installed)" if self.installed else "")


@dataclass(frozen=True)
class Step:
    """One line of an install plan."""

    action: str  # "install", "upgrade", "downgrade" or "keep"
    name: str
    version: str
    package: str
    requirement: str | None  # what pip installs; None for "keep"
    old_version: str | None = None
    reason: str = ""  # "requested" or "needed by X 1.0"


@dataclass(frozen=True)
class Plan:
    """What `hub install` will do, dependencies first."""

    requested: tuple[Requirement, ...]
    steps: tuple[Step, ...]
    paddle: tuple[str, str] | None  # (distribution, version) installed, if any
    paddle_needs: Mapping[str, str]  # module -> paddle specifier, for modules being installed

    @property
    def changes(self) -> list[Step]:
        return [s for s in self.steps if s.action != "keep"]

    @property
    def pip_requirements(self) -> list[str]:
        out: list[str] = []
        for step in self.changes:
            if step.requirement and step.requirement not in out:
                out.append(step.requirement)
        return out

    def describe(self) -> str:
        lines = []
        for s in self.steps:
            version = f"{s.old_version} -> {s.version}" if s.old_version and s.action != "keep" else s.version
            pip = f"  [{s.requirement}]" if s.requirement and s.action != "keep" else ""
            lines.append(f"  {s.action:<9} {s.name} {version}  ({s.reason}){pip}")
        if self.paddle_needs:
            specs = sorted(set(self.paddle_needs.values()))
            have = f"{self.paddle[0]} {self.paddle[1]}" if self.paddle else "not installed"
            lines.append(f"  paddle    {', '.join(specs)} needed; {have}")
        return "\n".join(lines)


def parse_request(text: str) -> Requirement:
    """'ocr', 'ocr==1.2', 'ocr>=1,<2' or 'ocr 1.2' -> Requirement."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    text = text.strip()
    cut = next((i for i, ch in enumerate(text) if ch in "<>=!~ "), len(text))
    name, spec = text[:cut].strip(), text[cut:].strip()
    if spec and spec[0].isdigit():
        spec = "==" + spec
    if not name or not all(ch.isalnum() or ch in "_-." for ch in name):
        raise ResolutionError(f"{text!r} is not a module request; write NAME, NAME==VERSION or 'NAME>=1,<2'")
    try:
        SpecifierSet(spec)
    except InvalidSpecifier:
        raise ResolutionError(f"{text!r}: {spec!r} is not a PEP 440 specifier; write e.g. '{name}>=1.2,<2' or "
                              f"'{name}==1.0.0'") from None
    return Requirement(name, spec, "requested")


def resolve(requests: Sequence[Requirement], registry: Registry, installed: Mapping[str, Installed],
            paddle: tuple[str, str] | None, *, upgrade: bool = False) -> Plan:
    """Pick a version of every requested module and its dependencies, or explain the conflict."""
    from resolvelib import BaseReporter, ResolutionImpossible, ResolutionTooDeep, Resolver

    for req in requests:
        if registry.get(req.name) is None and req.name not in installed:
            known = sorted({m.name for m in registry} | set(installed))
            close = difflib.get_close_matches(req.name, known, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ModuleNotFound(f"no module named {req.name!r} in the registry ({registry.location}) or installed"
                                 f"{hint} `hub search WORD` lists the modules there are; a module package that is "
                                 f"not in the registry installs with pip (`pip install PACKAGE`)")
    requested = {r.name for r in requests}
    provider = _Provider(registry, installed, paddle, requested, upgrade)
    roots = list(requests) + [Requirement(n, "", "installed") for n in sorted(installed) if n not in requested]
    provider.roots = {r.name: r for r in roots}
    try:
        result = Resolver(provider, BaseReporter()).resolve(roots, max_rounds=2000)
    except ResolutionImpossible as exc:
        raise ResolutionError(provider.explain(exc.causes, requests)) from None
    except ResolutionTooDeep:
        raise ResolutionError(f"gave up resolving {', '.join(map(str, requests))}: too many combinations to try; "
                              f"pin versions (e.g. `hub install 'NAME==1.0'`)") from None
    return _plan(requests, result.mapping, result.graph, installed, paddle)


class _Provider(AbstractProvider):
    """resolvelib provider over registry releases and installed modules."""

    def __init__(self, registry: Registry, installed: Mapping[str, Installed], paddle: tuple[str, str] | None,
                 requested: set[str], upgrade: bool):
        self.registry = registry
        self.installed = installed
        self.paddle = paddle
        self.requested = requested
        self.upgrade = upgrade
        self.roots: dict[str, Requirement] = {}
        self.parents: dict[str, tuple[Candidate, Requirement]] = {}

    # -- resolvelib interface ---------------------------------------------------------------------
    def identify(self, requirement_or_candidate: Requirement | Candidate) -> str:
        return requirement_or_candidate.name

    def get_preference(self, identifier: str, resolutions: Mapping, candidates: Mapping, information: Mapping,
                       backtrack_causes: Sequence) -> tuple:
        causes = {c.requirement.name for c in backtrack_causes}
        return (identifier != PADDLE, identifier not in causes, identifier not in self.requested, identifier)

    def find_matches(self, identifier: str, requirements: Mapping[str, Iterable[Requirement]],
                     incompatibilities: Mapping[str, Iterable[Candidate]]) -> list[Candidate]:
        reqs = list(requirements[identifier])
        bad = {c.version for c in incompatibilities[identifier]}
        return [c for c in self.candidates(identifier)
                if c.version not in bad and all(r.contains(c.version) for r in reqs)]

    def is_satisfied_by(self, requirement: Requirement, candidate: Candidate) -> bool:
        return requirement.contains(candidate.version)

    def get_dependencies(self, candidate: Candidate) -> list[Requirement]:
        if candidate.name == PADDLE:
            return []
        keeping = candidate.installed and candidate.name not in self.requested
        deps = [Requirement(n, s) for n, s in candidate.modules]
        if keeping:
            # A module left as it is keeps the needs that hold now; one already unmet cannot be kept.
            deps = [d for d in deps if self.met(d)]
        # The paddle need of a module left as it is was the user's business already; only new ones count.
        if candidate.paddle and not keeping:
            deps.append(Requirement(PADDLE, candidate.paddle))
        for dep in deps:
            self.parents[dep.name] = (candidate, dep)
        return deps

    def met(self, requirement: Requirement) -> bool:
        have = self.installed.get(requirement.name)
        return have is not None and requirement.contains(have.version)

    # -- candidates -------------------------------------------------------------------------------
    def candidates(self, name: str) -> list[Candidate]:
        from packaging.version import Version

        if name == PADDLE:
            return [Candidate(PADDLE, self.paddle[1], self.paddle[0], installed=True)] if self.paddle else []
        have = self.installed.get(name)
        entry = self.registry.get(name)
        found: dict[str, Candidate] = {}
        for rel in (entry.releases if entry else ()):
            found[rel.version] = Candidate(name, rel.version, rel.package, installed=bool(have and have.version ==
                                           rel.version), release=rel, paddle=rel.paddle,
                                           modules=tuple(sorted(rel.modules.items())))
        if have and have.version not in found:
            found[have.version] = Candidate(name, have.version, have.package, installed=True, paddle=have.paddle,
                                            modules=tuple(sorted(have.modules.items())))
        ordered = sorted(found.values(), key=lambda c: Version(c.version), reverse=True)
        if not (self.upgrade and name in self.requested):
            ordered.sort(key=lambda c: not c.installed)  # stable: installed first, then newest first
        return ordered

    # -- explanations -----------------------------------------------------------------------------
    def origin(self, name: str, seen: frozenset[str] = frozenset()) -> list[str]:
        """Why `name` is being resolved, as a chain from the user's request or an installed module."""
        root = self.roots.get(name)
        if root is not None and root.reason == "requested":
            return [f"you asked for {root}"]
        if root is not None:
            return []
        parent = self.parents.get(name)
        if parent is None or name in seen:
            return []
        cand, req = parent
        return self.origin(cand.name, seen | {name}) + [f"{cand} needs {req}"]

    def explain(self, causes: Sequence, requests: Sequence[Requirement]) -> str:
        by_name: dict[str, list[str]] = {}
        for cause in causes:
            req, parent = cause.requirement, cause.parent
            if parent is None and req.reason != "requested":
                by_name.setdefault(req.name, [])  # "keep it installed" constrains no version
                continue
            chain = [f"you asked for {req}"] if parent is None else self.origin(parent.name) + [f"{parent} needs {req}"]
            _add(by_name.setdefault(req.name, []), " -> ".join(chain))
        for name, lines in by_name.items():
            # Installed modules that are kept constrain the name too, even when the last backtrack did not
            # reach them; name them, since they are usually why a newer version cannot be used.
            for dependent in sorted(self.installed.values(), key=lambda m: m.name):
                spec = dependent.modules.get(name)
                if spec and dependent.name not in self.requested and self.met(Requirement(name, spec)):
                    _add(lines, f"{dependent.name} {dependent.version} (installed) needs {name}{spec}")
        parts = []
        for name, chains in by_name.items():
            head = [", but ".join(chains)] if chains else []
            parts.append("; ".join(head + [self.availability(name, causes)]))
        asked = " ".join(str(r) for r in requests)
        return f"cannot install {asked}: " + "; ".join(parts)

    def availability(self, name: str, causes: Sequence) -> str:
        if name == PADDLE:
            if self.paddle:
                dist, version = self.paddle
                spec = ",".join(sorted({c.requirement.specifier for c in causes if c.requirement.name == PADDLE}))
                return (f"{dist} {version} is installed; install a matching build yourself (`pip install "
                        f"'{dist}{spec}'`), the hub never changes paddle")
            return ("neither paddlepaddle nor paddlepaddle-gpu is installed; install one first: `pip install "
                    "paddlepaddle` (CPU) or `pip install paddlepaddle-gpu` (CUDA, pick the build for your CUDA "
                    "at paddlepaddle.org.cn); the hub never installs paddle itself")
        have = self.installed.get(name)
        entry = self.registry.get(name)
        bits = [f"{name} {have.version} is installed"] if have else []
        if entry:
            bits.append(f"the registry has {name} {', '.join(r.version for r in entry.releases)}")
        else:
            bits.append(f"{name} is not in the registry ({self.registry.location})")
        return " and ".join(bits)


def _add(lines: list[str], text: str) -> None:
    if text not in lines:
        lines.append(text)


def _plan(requests: Sequence[Requirement], mapping: Mapping[str, Candidate], graph: object,
          installed: Mapping[str, Installed], paddle: tuple[str, str] | None) -> Plan:
    from packaging.version import Version

    order: list[str] = []
    reasons: dict[str, str] = {r.name: "requested" for r in requests}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in order or name in trail or name == PADDLE:
            return
        for child in sorted(graph.iter_children(name)):
            if child != PADDLE:
                reasons.setdefault(child, f"needed by {mapping[name].name} {mapping[name].version}")
            visit(child, trail + (name,))
        order.append(name)

    for req in requests:
        visit(req.name, ())
    for name, cand in sorted(mapping.items()):
        have = installed.get(name)
        if name != PADDLE and name not in order and have is not None and have.version != cand.version:
            # An installed module the request does not need, changed so that everything fits together.
            reasons.setdefault(name, "installed; changed to fit the new versions")
            visit(name, ())
    steps, paddle_needs = [], {}
    for name in order:
        cand = mapping[name]
        have = installed.get(name)
        if have is not None and have.version == cand.version:
            action, requirement = "keep", None
        else:
            action = "install" if have is None else (
                "upgrade" if Version(cand.version) > Version(have.version) else "downgrade")
            if cand.release is None:
                raise ResolutionError(f"{cand.name} {cand.version} is needed but the registry has no release of it "
                                      f"to install; install it yourself or point HUB_REGISTRY at a registry that does")
            requirement = cand.release.requirement
            if cand.paddle:
                paddle_needs[name] = cand.paddle
        steps.append(Step(action, name, cand.version, cand.package, requirement,
                          have.version if have is not None else None, reasons.get(name, "")))
    return Plan(tuple(requests), tuple(steps), paddle, paddle_needs)
