"""Write a module package straight into a folder as pip would have installed it (dist-info + code),
so discovery and loading run against real distribution metadata without building a wheel."""
from __future__ import annotations

import textwrap
from pathlib import Path


def install_fake_module(site: Path, *, module: str, version: str, package_dir: str | None = None,
                        code: str | None = None, manifest_extra: str = "", requires: str = "") -> Path:
    pkg = package_dir or f"hubmod_{module}"
    dist = pkg.replace("_", "-")
    folder = site / pkg
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "__init__.py").write_text("")
    (folder / "module.py").write_text(code if code is not None else textwrap.dedent(f"""
        import hubcore

        class Mod(hubcore.Module):
            def __init__(self, greeting: str = "hello"):
                self.greeting = greeting

            @hubcore.serving(batch="texts")
            def greet(self, texts: list[str]) -> list[str]:
                return [f"{{self.greeting}} {{t}} from {module} {version}" for t in texts]
        """))
    (folder / "hubmodule.toml").write_text(textwrap.dedent(f"""
        package = "{dist}"
        [modules.{module}]
        class = "{pkg}.module:Mod"
        category = "text/test"
        summary = "fake module {module}"
        license = "MIT"
        """) + requires + manifest_extra)
    info = site / f"{pkg}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[hubcore.modules]\n{module} = {pkg}.module:Mod\n")
    return folder
