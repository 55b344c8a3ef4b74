"""One real round trip: a pypi: source resolved through the configured package index's JSON simple API.

Uses the index pip would use (HUB_INDEX_URL, PIP_INDEX_URL, pip's config, else PyPI), and a fresh
HUB_HOME so the download really happens. six 1.16.0's wheel is 11 kB; its sha256 was read from the
index when this test was written and is pinned here, so a different file fails the test.
"""
from __future__ import annotations

from hubcore import settings
from hubcore.artifacts import fetch_artifact
from hubcore.manifest import ArtifactSpec

SIX_WHEEL = ArtifactSpec(
    name="six_module",
    source="pypi:six==1.16.0/six-1.16.0-py2.py3-none-any.whl",
    sha256="8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254",
    size=11053,
    member="six.py",
)


def test_pypi_source_against_the_real_index(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "hub"))
    monkeypatch.delenv("HUB_OFFLINE", raising=False)
    path = fetch_artifact(SIX_WHEEL, module="realindex", version="1")
    text = path.read_text(encoding="utf-8")
    assert path.name == "six.py"
    assert '__version__ = "1.16.0"' in text, f"unexpected six.py from {settings.index_url()}"
    assert (tmp_path / "hub" / "blobs" / SIX_WHEEL.sha256).stat().st_size == SIX_WHEEL.size
