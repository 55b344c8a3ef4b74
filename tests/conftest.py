"""Shared fixtures. Tests needing real artifacts use the environment's HUB_HOME (CI points it at a
persistent cache so runs reuse downloads); tests making their own artifacts use tmp_hub_home."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def tmp_hub_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "hub_home"
    monkeypatch.setenv("HUB_HOME", str(home))
    monkeypatch.delenv("HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HUB_MIRROR", raising=False)
    return home
