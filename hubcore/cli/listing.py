"""`hub list`, `hub search`, `hub show`: read manifests and the registry, never module code or paddle."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from ..discovery import ModuleEntry, iter_entries
from ..errors import ModuleNotFound, RegistryError
from ..manifest import ArtifactSpec, ModuleManifest
from .output import human_size, print_json, table


def weights_state(pretrained: bool, artifacts: tuple[ArtifactSpec, ...]) -> str:
    """One word on weights: some not published, published pretrained ones, or none."""
    if any(not a.published for a in artifacts):
        return "unpublished"
    return "pretrained" if pretrained else "none"


def _plugin_errors() -> dict[str, str]:
    from .. import plugins

    plugins.manager()
    return dict(plugins.load_errors)


def cmd_list(args: argparse.Namespace) -> int:
    entries = iter_entries()
    good = [e for e in entries if e.ok]
    broken = [e for e in entries if not e.ok]
    plugin_errors = _plugin_errors()
    if args.json:
        print_json({
            "modules": [dict(e.manifest.to_dict(), entry=e.entry) for e in good],
            "broken": [{"name": e.name, "package": e.package, "version": e.version, "error": e.error} for e in broken],
            "plugin_errors": plugin_errors,
        })
        return 0
    if good:
        rows = [(e.name, e.version, e.manifest.category, weights_state(e.manifest.pretrained, e.manifest.artifacts),
                 e.package, e.manifest.summary) for e in good]
        print(table(("NAME", "VERSION", "CATEGORY", "WEIGHTS", "PACKAGE", "SUMMARY"), rows, max_last=60))
    elif not broken:
        print("no modules installed; find some with `hub search WORD`, install with `hub install NAME`")
    if broken:
        print(f"\nbroken modules ({len(broken)}): `hub install NAME` reinstalls, `hub uninstall NAME` removes")
        for e in broken:
            print(f"  {e.name} ({e.package} {e.version}): {e.error}")
    if plugin_errors:
        print(f"\nplugins that failed to load ({len(plugin_errors)}):")
        for name, error in sorted(plugin_errors.items()):
            print(f"  {name}: {error}")
    return 0


def _load_registry_or_warn() -> Any:
    from ..registry import load_registry

    try:
        return load_registry()
    except RegistryError as exc:
        print(f"hub: warning: {exc}; showing installed modules only", file=sys.stderr)
        return None


def cmd_search(args: argparse.Namespace) -> int:
    word = args.word.lower()
    installed: dict[str, ModuleEntry] = {}
    for e in iter_entries():
        if e.ok and any(word in s.lower() for s in (e.name, e.manifest.summary, e.manifest.category)):
            installed[e.name] = e
    registry = _load_registry_or_warn()
    found = {m.name: m for m in registry.search(word)} if registry is not None else {}
    names = sorted(set(installed) | set(found))
    results = []
    for name in names:
        e, m = installed.get(name), found.get(name)
        results.append({
            "name": name,
            "installed": e.version if e else None,
            "latest": m.latest.version if m and m.releases else None,
            "category": e.manifest.category if e else m.category,
            "summary": e.manifest.summary if e else m.summary,
        })
    if args.json:
        print_json(results)
        return 0
    if not results:
        print(f"no module matches {args.word!r}" + (f" in the registry ({registry.location}) or installed"
                                                      if registry is not None else " among installed modules"))
        return 0
    rows = [(r["name"], r["installed"] or "-", r["latest"] or "-", r["category"], r["summary"]) for r in results]
    print(table(("NAME", "INSTALLED", "LATEST", "CATEGORY", "SUMMARY"), rows, max_last=60))
    return 0


def _installed_manifest(name: str) -> ModuleEntry | None:
    from packaging.version import Version

    entries = [e for e in iter_entries() if e.name == name]
    good = [e for e in entries if e.ok]
    if good:
        return max(good, key=lambda e: Version(e.version))
    return entries[0] if entries else None


def cmd_show(args: argparse.Namespace) -> int:
    entry = _installed_manifest(args.name)
    registry = _load_registry_or_warn()
    reg = registry.get(args.name) if registry is not None else None
    if entry is not None and not entry.ok:
        raise ModuleNotFound(f"module {args.name!r} ({entry.package} {entry.version}) is installed but broken: "
                             f"{entry.error}")
    if entry is None and reg is None:
        import difflib

        known = {e.name for e in iter_entries()} | ({m.name for m in registry} if registry is not None else set())
        close = difflib.get_close_matches(args.name, sorted(known), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ModuleNotFound(f"no module named {args.name!r} is installed or in the registry{hint} "
                             f"`hub search WORD` looks for modules")
    manifest = entry.manifest if entry else registry_manifest(reg.latest)
    info = manifest.to_dict()
    info["installed"] = entry is not None
    info["registry_versions"] = [r.version for r in reg.releases] if reg else []
    signatures = _signatures(manifest) if args.signatures and entry else None
    if args.json:
        if signatures is not None:
            info["signatures"] = {n: dict(s.to_dict(), request_schema=s.request_schema())
                                  for n, s in signatures.items()}
        print_json(info)
        return 0
    print(_describe(manifest, entry is not None, info["registry_versions"]))
    if signatures is not None:
        print("signatures:")
        for sig in signatures.values():
            print(describe_signature(sig))
    elif entry is not None:
        print(f"signatures: `hub show {manifest.name} --signatures` (imports the module's code, not its weights); "
              f"`hub run {manifest.name} --help` lists the run flags")
    else:
        print(f"signatures: install it first (`hub install {manifest.name}`)")
    return 0


def registry_manifest(release: Any) -> ModuleManifest:
    """A manifest built from a registry release, for modules that are not installed."""
    from ..manifest import Requirements

    return ModuleManifest(name=release.name, entry="", package=release.package, category=release.category,
                          summary=release.summary, license=release.license, pretrained=release.pretrained,
                          requires=Requirements(paddle=release.paddle, modules=dict(release.modules),
                                                paddle_tested=release.paddle_tested),
                          artifacts=release.artifacts, version=release.version)


def _describe(m: ModuleManifest, installed: bool, registry_versions: list[str]) -> str:
    from ..install import installed_paddle

    where = f"installed, package {m.package}" if installed else f"not installed; `hub install {m.name}`"
    lines = [
        f"name:       {m.name}",
        f"version:    {m.version} ({where})",
        f"category:   {m.category}",
        f"summary:    {m.summary}",
        f"license:    {m.license}",
        f"pretrained: {_pretrained_text(m)}",
    ]
    if m.entry:
        lines.append(f"class:      {m.entry}")
    paddle = installed_paddle()
    have = f"{paddle[0]} {paddle[1]} installed" if paddle else "no paddle installed"
    lines.append(f"paddle:     {m.requires.paddle or 'not needed'}" + (f" ({have})" if m.requires.paddle else ""))
    if m.requires.paddle:
        tested = ", ".join(m.requires.paddle_tested) or "none recorded"
        lines.append(f"tested on:  paddle {tested}")
    deps = ", ".join(f"{n}{s}" for n, s in m.requires.modules.items()) or "none"
    lines.append(f"modules:    {deps}")
    if m.requires.python:
        lines.append(f"python:     {', '.join(m.requires.python)}")
    if registry_versions:
        lines.append(f"registry:   {', '.join(registry_versions)}")
    if not m.artifacts:
        lines.append("artifacts:  none")
    else:
        lines.append("artifacts:")
        for a in m.artifacts:
            if a.published:
                member = f", member {a.member}" if a.member else ""
                lines.append(f"  {a.name}: {a.source} ({human_size(a.size)}{member})")
                lines.append(f"    sha256 {a.sha256}")
            else:
                lines.append(f"  {a.name}: no published weights; provide them with "
                             f"`hub download {m.name} --artifact {a.name} --from FILE` or HUB_MIRROR")
            if a.description:
                lines.append(f"    {a.description}")
    return "\n".join(lines)


def _pretrained_text(m: ModuleManifest) -> str:
    if m.pretrained:
        return "yes"
    if any(not a.published for a in m.artifacts):
        return "no: no pretrained weights are published (see artifacts)"
    return "no" if m.artifacts else "no (the module has no weights)"


def _signatures(manifest: ModuleManifest) -> dict:
    from ..loader import import_entry
    from ..signatures import collect_signatures

    return collect_signatures(import_entry(manifest))


def type_name(schema: dict) -> str:
    """A JSON schema as a short Python-like type: list[str], int | None, dict."""
    if not schema:
        return "any"
    if "anyOf" in schema:
        return " | ".join(type_name(s) for s in schema["anyOf"])
    kind = schema.get("type")
    if schema.get("format") == "image":
        return "image"
    if schema.get("format") == "path":
        return "path"
    if kind == "array":
        return f"list[{type_name(schema.get('items', {}))}]"
    return {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "object": "dict",
            "null": "None"}.get(kind, str(kind))


def describe_signature(sig: Any) -> str:
    marks = [m for m in ("default" if sig.default else "", f"batch={sig.batch_input}" if sig.batch_input else "") if m]
    head = f"  {sig.name}({', '.join(f.name for f in sig.inputs)})" + (f"  [{', '.join(marks)}]" if marks else "")
    lines = [head + (f": {sig.description}" if sig.description else "")]
    for f in sig.inputs:
        default = "required" if f.required else f"default {f.default!r}"
        lines.append(f"    {f.name}: {type_name(f.schema)}, {default}" + (f" - {f.description}" if f.description else ""))
    if sig.output:
        lines.append(f"    returns {type_name(sig.output)}")
    return "\n".join(lines)
