"""Conformance: does a module keep the hub's contract? (`hub check NAME`, or from pytest.)

    from hubcore.conformance import assert_conformant
    def test_lac_conforms():
        assert_conformant("lac")

Checks, in order (a failed step stops the ones that depend on it):
  metadata     category ("area/task"), summary, license and version are present
  entry point  the `hubcore.modules` entry point and the manifest name the same class; the package
               does not list paddlepaddle as a pip dependency
  import       the class imports and subclasses hubcore.Module
  signatures   at least one @serving method, exactly one default; each has a JSON request schema;
               a batch input is a list; every input is typed and documented (warnings otherwise)
  server paths no input named like a path (output_dir, model_path, paths, file, ...) takes a plain
               str (or is untyped): over HTTP a client would pick a file or folder on the server;
               type it hubcore.OutputDir (a folder it writes to) or hubcore.FilePath (a file it reads)
  artifacts    every artifact is published with a sha256, or unpublished with pretrained = false
  loads        the module constructs with no arguments (or with init_args)
  sample       the class provides a sample input for its default signature (see below)
  predict      predict(**sample) returns JSON-able output, one result per batch element; for a
               module whose weights are not published, WeightsNotPublished naming the artifact and
               `hub download` is the expected, honest outcome (reported as "expected", not "pass")
  serving      the sample, sent as JSON (images base64), binds to the serving signature; when that
               changes the inputs (images arrive as bytes, OutputDir is None), predict runs again on
               the bound request

Sample input convention: the module class defines `sample_input` as a classmethod (or staticmethod)
returning the keyword arguments of its default signature, or as a plain dict attribute:

    @classmethod
    def sample_input(cls) -> dict:
        return {"texts": ["今天天气真好"]}

Image inputs may be given as bytes, a file path (e.g. a file shipped in the package next to the
module), a numpy HWC uint8 array or a PIL image; keep the sample small so the check stays fast.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import ArtifactError, HubError, ModuleNotFound, WeightsNotPublished
from .manifest import MANIFEST_NAME, ModuleManifest, read_manifest
from .signatures import SERVER_DECIDES

PASS, FAIL, WARN, EXPECTED, SKIP = "pass", "fail", "warn", "expected", "skip"


@dataclass(frozen=True)
class Check:
    """The outcome of one step of the conformance check."""

    name: str
    status: str  # pass, fail, warn, expected (honest WeightsNotPublished), skip
    detail: str


@dataclass
class Report:
    """All checks of one module; ok when none failed."""

    module: str
    version: str | None = None
    package: str | None = None
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(c.status == FAIL for c in self.checks)

    def status(self, name: str) -> str | None:
        return next((c.status for c in self.checks if c.name == name), None)

    def add(self, name: str, status: str, detail: str) -> None:
        self.checks.append(Check(name, status, detail))

    def format(self) -> str:
        head = f"hub check {self.module}" + (f" {self.version}" if self.version else "") + (
            f" ({self.package})" if self.package else "")
        lines = [head] + [f"  {c.status:<9}{c.name:<13}{c.detail}" for c in self.checks]
        failures = sum(c.status == FAIL for c in self.checks)
        expected = sum(c.status == EXPECTED for c in self.checks)
        if failures:
            lines.append(f"NOT conformant: {failures} failed check(s)")
        else:
            note = f" ({expected} expected outcome(s): no published weights)" if expected else ""
            lines.append(f"conformant{note}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"module": self.module, "version": self.version, "package": self.package, "ok": self.ok,
                "checks": [vars(c) for c in self.checks]}


def assert_conformant(name: str | None = None, *, directory: str | Path | None = None,
                      init_args: dict | None = None) -> Report:
    """check_module, raising AssertionError with the whole report when a check failed (for pytest)."""
    report = check_module(name, directory=directory, init_args=init_args)
    if not report.ok:
        raise AssertionError(report.format())
    return report


def check_module(name: str | None = None, *, directory: str | Path | None = None,
                 init_args: dict | None = None) -> Report:
    """Run every check on an installed module (by name) or a development folder."""
    if directory is not None:
        return _check_directory(Path(directory), name, init_args or {})
    if not name:
        raise ModuleNotFound("check_module needs a module name or directory=")
    return _check_installed(name, init_args or {})


# -- the two ways in ----------------------------------------------------------------------------
def _check_installed(name: str, init_args: dict) -> Report:
    from packaging.version import Version

    from .discovery import find_entries

    entries = find_entries(name)
    if not entries:
        raise ModuleNotFound(f"no installed module named {name!r}; install it (`hub install {name}`) or check a "
                             f"folder with `hub check --dir PATH`")
    good = [e for e in entries if e.ok]
    report = Report(name)
    if not good:
        report.package, report.version = entries[0].package, entries[0].version
        report.add("manifest", FAIL, entries[0].error or "broken manifest")
        return report
    entry = max(good, key=lambda e: Version(e.version))
    manifest = entry.manifest
    report.version, report.package = entry.version, entry.package
    _metadata(report, manifest)
    _entry_point_installed(report, entry)
    cls = _step(report, "import", lambda: _import(manifest))
    if cls is None:
        return report
    _rest(report, cls, manifest, lambda: _construct_installed(name, entry.version, init_args))
    return report


def _check_directory(directory: Path, name: str | None, init_args: dict) -> Report:
    directory = directory.expanduser().resolve()
    candidates = [directory / MANIFEST_NAME] + sorted(directory.glob(f"*/{MANIFEST_NAME}"))
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        raise ModuleNotFound(f"no {MANIFEST_NAME} in {directory} or its subfolders")
    report = Report(name or directory.name)
    try:
        manifests = read_manifest(path)
    except HubError as exc:
        report.add("manifest", FAIL, str(exc))
        return report
    if name is None and len(manifests) != 1:
        raise ModuleNotFound(f"{path} declares {sorted(manifests)}; pass the module name too")
    manifest = manifests[name or next(iter(manifests))]
    report.module, report.package = manifest.name, manifest.package
    report.version = manifest.version or _pyproject_version(path.parent.parent)
    from dataclasses import replace

    manifest = replace(manifest, version=report.version)
    _metadata(report, manifest)
    _entry_point_folder(report, manifest, path.parent.parent)
    holder: dict[str, Any] = {}

    def construct() -> Any:
        import hubcore

        holder["instance"] = hubcore.Module(directory=path.parent, name=manifest.name, **init_args)
        return holder["instance"]

    # A development folder is imported by constructing it; the class comes from the instance.
    instance = _step(report, "import", construct, ok=lambda obj: f"{type(obj).__module__}.{type(obj).__qualname__}")
    if instance is None:
        return report
    _rest(report, type(instance), manifest, lambda: instance, constructed=True)
    return report


# -- individual checks --------------------------------------------------------------------------
def _metadata(report: Report, m: ModuleManifest) -> None:
    problems = []
    if not m.category or m.category == "uncategorized":
        problems.append("category is missing (write e.g. category = \"cv/classification\")")
    elif "/" not in m.category:
        problems.append(f"category {m.category!r} should read AREA/TASK, e.g. nlp/lexical_analysis")
    if not m.summary.strip():
        problems.append("summary is empty")
    if not m.license or m.license == "unknown":
        problems.append("license is missing")
    if not m.version or m.version.startswith("0+"):
        problems.append("version is unknown (the package's pyproject version)")
    if problems:
        report.add("metadata", FAIL, "; ".join(problems))
    else:
        report.add("metadata", PASS, f"{m.category}, {m.license}, {'pretrained' if m.pretrained else 'not pretrained'}")


def _entry_point_installed(report: Report, entry: Any) -> None:
    from .discovery import metadata

    if entry.entry.strip() != entry.manifest.entry:
        report.add("entry point", FAIL, f"entry point says {entry.entry!r}, {MANIFEST_NAME} says "
                                        f"{entry.manifest.entry!r}")
        return
    paddle = _paddle_pip_deps(metadata.requires(entry.package) or [])
    if paddle:
        report.add("entry point", FAIL, f"{entry.package} lists {paddle} as pip dependencies; remove them (either "
                                        f"paddle build satisfies requires.paddle)")
        return
    report.add("entry point", PASS, f"{entry.name} = {entry.entry}")


def _entry_point_folder(report: Report, m: ModuleManifest, project: Path) -> None:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    pyproject = project / "pyproject.toml"
    if not pyproject.is_file():
        report.add("entry point", SKIP, f"no {pyproject}; checked once the package is installed")
        return
    data = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    declared = data.get("entry-points", {}).get("hubcore.modules", {}).get(m.name)
    if declared is None:
        report.add("entry point", FAIL, f"{pyproject} has no [project.entry-points.\"hubcore.modules\"] {m.name} = "
                                        f"\"{m.entry}\"")
    elif declared.strip() != m.entry:
        report.add("entry point", FAIL, f"{pyproject} says {m.name} = {declared!r}, {MANIFEST_NAME} says {m.entry!r}")
    elif _paddle_pip_deps(data.get("dependencies", [])):
        report.add("entry point", FAIL, f"{pyproject} lists paddle in dependencies; remove it")
    else:
        report.add("entry point", PASS, f"{m.name} = {declared}")


def _pyproject_version(project: Path) -> str | None:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    pyproject = project / "pyproject.toml"
    if pyproject.is_file():
        return tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("version")
    return None


def _paddle_pip_deps(requirements: list[str]) -> list[str]:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    names = []
    for text in requirements:
        try:
            req = Requirement(text)
        except Exception:
            continue
        if canonicalize_name(req.name) in ("paddlepaddle", "paddlepaddle-gpu") and not req.marker:
            names.append(req.name)
    return names


def _import(manifest: ModuleManifest) -> type:
    from .loader import check_requirements, import_entry

    check_requirements(manifest)
    return import_entry(manifest)


def _construct_installed(name: str, version: str, init_args: dict) -> Any:
    import hubcore

    return hubcore.Module(name=name, version=f"=={version}", **init_args)


def _step(report: Report, name: str, action: Callable[[], Any], ok: Callable[[Any], str] | None = None) -> Any:
    try:
        value = action()
    except Exception as exc:
        report.add(name, FAIL, f"{type(exc).__name__}: {exc}")
        return None
    report.add(name, PASS, ok(value) if ok else (getattr(value, "__qualname__", "") or "ok"))
    return value


def _rest(report: Report, cls: type, m: ModuleManifest, construct: Callable[[], Any],
          constructed: bool = False) -> None:
    sig = _signatures(report, cls)
    unpublished = _artifacts(report, m)
    instance = _load(report, construct, unpublished, constructed)
    sample = _sample(report, cls, sig) if sig is not None else None
    if instance is None or sample is None:
        for step in ("predict", "serving"):
            report.add(step, SKIP, "needs a loaded module and a sample input")
        return
    outcome = _predict(report, instance, sig, sample, unpublished)
    _serving(report, instance, sig, sample, run_again=outcome == PASS)


def _signatures(report: Report, cls: type) -> Any:
    from .signatures import collect_signatures

    try:
        signatures = collect_signatures(cls)
    except Exception as exc:
        report.add("signatures", FAIL, f"{type(exc).__name__}: {exc}")
        return None
    if not signatures:
        report.add("signatures", FAIL, "no method is marked @hubcore.serving")
        return None
    defaults = [s.name for s in signatures.values() if s.default]
    problems, warnings = [], []
    if len(defaults) != 1:
        problems.append(f"exactly one signature must be default, got {defaults}")
    for sig in signatures.values():
        try:
            json.dumps(sig.request_schema())
            json.dumps(sig.to_dict())
        except (TypeError, ValueError) as exc:
            problems.append(f"{sig.name}: schema is not JSON ({exc}); give JSON-able defaults")
        if sig.batch_input and sig.field(sig.batch_input).schema.get("type") != "array":
            problems.append(f"{sig.name}: batch input {sig.batch_input!r} must be typed list[...]")
        untyped = [f.name for f in sig.inputs if not f.schema]
        undocumented = [f.name for f in sig.inputs if not f.description]
        if untyped:
            warnings.append(f"{sig.name}: untyped inputs {untyped}")
        if undocumented:
            warnings.append(f"{sig.name}: inputs without an Args: description {undocumented}")
    names = ", ".join(f"{s.name}{'*' if s.default else ''}" for s in signatures.values())
    if problems:
        report.add("signatures", FAIL, "; ".join(problems))
        _server_paths(report, signatures)
        return None
    report.add("signatures", WARN if warnings else PASS, f"{names}" + (f"; {'; '.join(warnings)}" if warnings else ""))
    _server_paths(report, signatures)
    return next(s for s in signatures.values() if s.default)


# Words of an argument name that say it is a path; "file*" also covers filename, filepath, file_list.
_PATH_WORDS = frozenset({"path", "paths", "pathname", "dir", "dirs", "dirname", "directory", "directories",
                         "folder", "folders"})


def path_like(name: str) -> bool:
    """Whether an argument's name says it is a file or folder path (output_dir, paths, filename, ...)."""
    return any(word in _PATH_WORDS or word.startswith("file") for word in re.split(r"_+", name.lower()))


def _takes_text(schema: dict) -> bool:
    """Whether a JSON request may put a string there: str, list[str], str | None, or untyped."""
    if not schema:
        return True
    if schema.get("type") == "string":
        return True
    if schema.get("type") == "array":
        return _takes_text(schema.get("items", {}))
    return any(_takes_text(option) for option in schema.get("anyOf", []))


def server_path_inputs(signatures: dict) -> list[str]:
    """"method.argument" of every input through which an HTTP client could name a path on the server."""
    return [f"{sig.name}.{f.name}" for sig in signatures.values() for f in sig.inputs
            if f.kind == "value" and path_like(f.name) and _takes_text(f.schema)]


def _server_paths(report: Report, signatures: dict) -> None:
    found = server_path_inputs(signatures)
    if found:
        report.add("server paths", FAIL, f"{found} take a plain str named like a path, so an HTTP client would "
                                         f"choose a path on the server: type a folder the method writes to "
                                         f"hubcore.OutputDir (the server pins it), a file it reads hubcore.FilePath "
                                         f"(refused over HTTP)")
    else:
        report.add("server paths", PASS, "no input lets a client name a path on the server")


def _artifacts(report: Report, m: ModuleManifest) -> list[str]:
    unpublished = [a.name for a in m.artifacts if not a.published]
    problems = []
    for a in m.artifacts:
        if a.source and not a.sha256:
            problems.append(f"{a.name}: source {a.source} has no sha256 (a development file: source); publish it "
                            f"with a sha256")
    if m.pretrained and unpublished:
        problems.append(f"pretrained = true but {unpublished} have no published source; set pretrained = false or "
                        f"publish them")
    if m.pretrained and not m.artifacts and not m.requires.modules:
        problems.append("pretrained = true but no artifact is declared and no module it builds on; where do the "
                        "weights come from?")
    if problems:
        report.add("artifacts", FAIL, "; ".join(problems))
    elif unpublished:
        report.add("artifacts", EXPECTED, f"not published: {unpublished} (pretrained = false)")
    elif m.artifacts:
        report.add("artifacts", PASS, f"{len(m.artifacts)} published with sha256")
    elif m.requires.modules:
        report.add("artifacts", PASS, f"none of its own; it builds on modules {', '.join(m.requires.modules)}")
    else:
        report.add("artifacts", PASS, "none declared")
    return unpublished


def _load(report: Report, construct: Callable[[], Any], unpublished: list[str], constructed: bool) -> Any:
    try:
        instance = construct()
    except WeightsNotPublished as exc:
        status, detail = _honest(str(exc), unpublished)
        report.add("loads", status, f"at construction: {detail}")
        return None
    except Exception as exc:
        report.add("loads", FAIL, f"{type(exc).__name__}: {exc}")
        return None
    report.add("loads", PASS, repr(instance) if not constructed else f"{repr(instance)} (constructed on import)")
    return instance


def _sample(report: Report, cls: type, sig: Any) -> dict | None:
    source = getattr(cls, "sample_input", None)
    if source is None:
        report.add("sample", FAIL, f"{cls.__qualname__} has no sample_input; add a classmethod sample_input() "
                                   f"returning keyword arguments for {sig.name}()")
        return None
    try:
        sample = source() if callable(source) else source
    except Exception as exc:
        report.add("sample", FAIL, f"sample_input() raised {type(exc).__name__}: {exc}")
        return None
    if not isinstance(sample, dict):
        report.add("sample", FAIL, f"sample_input must give a dict of keyword arguments, got {type(sample).__name__}")
        return None
    names = {f.name for f in sig.inputs}
    unknown = sorted(set(sample) - names)
    missing = [f.name for f in sig.inputs if f.required and f.name not in sample]
    if unknown or missing:
        report.add("sample", FAIL, f"sample_input does not fit {sig.name}({', '.join(sorted(names))}): "
                                   f"unknown {unknown}, missing {missing}")
        return None
    report.add("sample", PASS, f"{sig.name}({', '.join(sample)})")
    return sample


def _predict(report: Report, instance: Any, sig: Any, sample: dict, unpublished: list[str]) -> str:
    try:
        result = instance.predict(**sample)
    except WeightsNotPublished as exc:
        status, detail = _honest(str(exc), unpublished)
        report.add("predict", status, detail)
        return status
    except ArtifactError as exc:
        report.add("predict", FAIL, f"{type(exc).__name__}: {exc}")
        return FAIL
    except Exception as exc:
        report.add("predict", FAIL, f"{type(exc).__name__}: {exc}")
        return FAIL
    problem = _result_problem(result, sig, sample)
    if problem:
        report.add("predict", FAIL, problem)
        return FAIL
    report.add("predict", PASS, _preview(result))
    return PASS


def _honest(message: str, unpublished: list[str]) -> tuple[str, str]:
    """WeightsNotPublished is the expected outcome when the module says which artifact and how to provide it."""
    if not unpublished:
        return FAIL, f"WeightsNotPublished although every artifact is published: {message}"
    named = [a for a in unpublished if a in message]
    if not named or "hub download" not in message:
        return FAIL, (f"WeightsNotPublished must name the artifact ({unpublished}) and how to provide it "
                      f"(`hub download ... --from FILE`); got: {message}")
    return EXPECTED, f"WeightsNotPublished for {named}: the honest outcome without weights"


def _result_problem(result: Any, sig: Any, sample: dict) -> str | None:
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        return f"the result is not JSON-able ({exc}); return lists/dicts/str/numbers (numpy: .tolist())"
    if sig.batch_input and sig.batch_input in sample:
        batch = sample[sig.batch_input]
        if not isinstance(result, list) or len(result) != len(batch):
            got = len(result) if isinstance(result, list) else type(result).__name__
            return f"batch input {sig.batch_input!r} has {len(batch)} elements but the result has {got}; return one " \
                   f"result per element"
    return None


def _preview(result: Any) -> str:
    text = json.dumps(result, ensure_ascii=False)
    return text if len(text) <= 100 else text[:97] + "..."


def _serving(report: Report, instance: Any, sig: Any, sample: dict, run_again: bool) -> None:
    try:
        payload, skipped = request_payload(sig, sample)
        body = json.loads(json.dumps(payload))
    except (TypeError, ValueError) as exc:
        report.add("serving", FAIL, f"the sample cannot travel as JSON: {exc}")
        return
    try:
        kwargs = sig.bind(body, remote=True)
    except HubError as exc:
        report.add("serving", FAIL, f"a JSON request does not bind: {exc}")
        return
    note = f"; path inputs {skipped} left out (refused over HTTP)" if skipped else ""
    pinned = {f.name for f in sig.inputs if f.kind == SERVER_DECIDES}
    changed = any(f.kind == "image" or f.kind == SERVER_DECIDES for f in sig.inputs if f.name in kwargs)
    if run_again and kwargs.keys() - pinned == sample.keys() - pinned and changed:
        try:
            problem = _result_problem(getattr(instance, sig.name)(**kwargs), sig, kwargs)
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            how = "images as bytes" + (f", {sorted(pinned)} as None" if pinned else "")
            report.add("serving", FAIL, f"the request binds, but {sig.name} fails on it ({how}): {problem}")
            return
        note += "; ran on the decoded request"
    report.add("serving", PASS, f"request {{{', '.join(body)}}} binds to {sig.name}{note}")


def request_payload(sig: Any, sample: dict) -> tuple[dict, list[str]]:
    """The sample as an HTTP client sends it: images base64-encoded, path inputs left out."""
    out, skipped = {}, []
    for f in sig.inputs:
        if f.name not in sample or f.kind == SERVER_DECIDES:
            continue
        value = sample[f.name]
        if f.kind == "path":
            skipped.append(f.name)
            continue
        if f.kind == "image":
            value = [_image_b64(v) for v in value] if isinstance(value, (list, tuple)) else _image_b64(value)
        out[f.name] = value
    return out, skipped


def _image_b64(value: Any) -> str:
    import base64

    if isinstance(value, (str, Path)):
        data = Path(value).read_bytes()
    elif isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    else:
        import io

        from PIL import Image

        image = value if hasattr(value, "save") else Image.fromarray(value)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        data = buffer.getvalue()
    return base64.b64encode(data).decode("ascii")
