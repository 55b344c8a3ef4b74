"""Shared fixtures. Tests needing real artifacts use the environment's HUB_HOME (CI points it at a
persistent cache so runs reuse downloads); tests making their own artifacts use tmp_hub_home."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

import hubcore  # noqa: F401  before any test file imports paddle, as users are told (paddle 2.6's zlib clash)


@pytest.fixture
def tmp_hub_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "hub_home"
    monkeypatch.setenv("HUB_HOME", str(home))
    monkeypatch.delenv("HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HUB_MIRROR", raising=False)
    return home


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path to install fake module distributions into (tests/support/fakedist.py);
    discovery forgets it, and its hubmod_fk* packages are unimported, after the test."""
    from hubcore import discovery

    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    discovery.clear_caches()
    yield folder
    discovery.clear_caches()
    for name in [m for m in sys.modules if m.startswith("hubmod_fk")]:
        del sys.modules[name]
