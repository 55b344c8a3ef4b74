"""For tests of the artifact cache: fixtures for a private HUB_HOME with quick retries and for the
test HTTP server (import them into a test module to use them), and a tar.gz maker.
"""
from __future__ import annotations

import io
import tarfile

import pytest

from hubcore.artifacts import download

from .httpserver import FakeServer

_CLEARED = ("HUB_MIRROR", "HUB_OFFLINE", "HUB_INDEX_URL", "PIP_INDEX_URL", "HUB_DOWNLOAD_MIN_RATE",
            "HUB_DOWNLOAD_RATE_WINDOW", "HUB_MAX_UNPACKED_BYTES", "HUB_MAX_UNPACK_RATIO")


@pytest.fixture
def hub(tmp_path, monkeypatch):
    home = tmp_path / "hub"
    monkeypatch.setenv("HUB_HOME", str(home))
    for var in _CLEARED:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HUB_DOWNLOAD_RETRIES", "3")
    monkeypatch.setenv("HUB_DOWNLOAD_TIMEOUT", "5")
    monkeypatch.setattr(download, "BACKOFF_SECONDS", 0.01)
    return home


@pytest.fixture
def server():
    with FakeServer() as srv:
        yield srv


def make_tar(members: dict[str, bytes]) -> bytes:
    """A tar.gz holding members (name -> bytes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
