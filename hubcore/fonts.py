"""A font with Chinese glyphs for drawing labels and text on pictures (module packages need Pillow).

The first found of: the module's environment variable (e.g. $HUB_OCR_FONT), $HUB_FONT, the usual
locations of WenQuanYi, Noto CJK, PingFang, Microsoft YaHei and SimHei, then fontconfig's pick for
Chinese. Without one PIL's built-in font is used, which shows Latin text only (a warning says how
to fix it).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

KNOWN_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)


def cjk_font_path(env_var: str | None = None) -> str | None:
    """Path of a font with Chinese glyphs, or None (see the module docstring for the search order)."""
    for name in (env_var, "HUB_FONT"):
        explicit = os.environ.get(name) if name else None
        if explicit and Path(explicit).is_file():
            return explicit
    return _search_fonts()


@lru_cache(maxsize=1)
def _search_fonts() -> str | None:
    for path in KNOWN_FONTS:
        if Path(path).is_file():
            return path
    if shutil.which("fc-match"):
        try:
            found = subprocess.run(["fc-match", "-f", "%{file}", ":lang=zh"], capture_output=True, text=True,
                                   timeout=10, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            found = ""
        if found and Path(found).is_file() and Path(found).suffix.lower() in (".ttf", ".ttc", ".otf"):
            return found
    return None


def cjk_font(size: int, env_var: str | None = None) -> Any:
    """A PIL font of that pixel size with Chinese glyphs where one is installed."""
    from PIL import ImageFont

    path = cjk_font_path(env_var)
    if path:
        return _truetype(path, size)
    hint = f"${env_var} or $HUB_FONT" if env_var else "$HUB_FONT"
    warnings.warn(f"no CJK font found: drawn Chinese text will show as boxes; install one (Debian: `apt-get install "
                  f"fonts-wqy-microhei`) or set {hint} to a .ttf/.ttc file", stacklevel=3)
    return ImageFont.load_default(size)


@lru_cache(maxsize=64)
def _truetype(path: str, size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(path, size)
