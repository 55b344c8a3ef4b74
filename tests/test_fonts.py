"""hubcore.fonts: the font drawings use for labels; a module's own variable wins over $HUB_FONT."""
from __future__ import annotations

from hubcore.fonts import KNOWN_FONTS, cjk_font, cjk_font_path


def test_variables_choose_the_font_in_order(tmp_path, monkeypatch):
    mine, shared = tmp_path / "mine.ttf", tmp_path / "shared.ttf"
    mine.write_bytes(b"x")
    shared.write_bytes(b"x")
    monkeypatch.setenv("HUB_FONT", str(shared))
    monkeypatch.setenv("HUB_TEST_FONT", str(mine))
    assert cjk_font_path("HUB_TEST_FONT") == str(mine)
    assert cjk_font_path() == str(shared)
    monkeypatch.setenv("HUB_TEST_FONT", str(tmp_path / "missing.ttf"))  # a stale setting falls through
    assert cjk_font_path("HUB_TEST_FONT") == str(shared)


def test_installed_cjk_font_draws_chinese(monkeypatch):
    """dev_setup installs WenQuanYi; the font found must have real glyphs for Chinese labels."""
    monkeypatch.delenv("HUB_FONT", raising=False)
    path = cjk_font_path()
    assert path is not None and (path in KNOWN_FONTS or path.endswith((".ttf", ".ttc", ".otf")))
    font = cjk_font(24)
    assert font.getbbox("汽车")[2] > font.getbbox("a")[2] * 2  # two wide glyphs, not missing-glyph boxes
