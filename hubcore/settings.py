"""Settings, read at the moment they are used (never frozen at import), from the environment."""
from __future__ import annotations

import configparser
import os
from pathlib import Path

DEFAULT_INDEX_URL = "https://pypi.org/simple"


def _number(variable: str, default: str, kind: type = float) -> float:
    """The non-negative number in $variable (default when unset); InputError naming it when not one."""
    from .errors import InputError

    text = os.environ.get(variable, "").strip() or default
    try:
        value = kind(text)
    except ValueError:
        value = -1
    if not value >= 0:  # also refuses nan
        raise InputError(f"${variable}={text!r} is not a non-negative {'integer' if kind is int else 'number'}; "
                         f"fix or unset it (default {default})")
    return value


def hub_home() -> Path:
    """Root of the artifact cache: $HUB_HOME, else $XDG_CACHE_HOME/hubcore, else ~/.cache/hubcore."""
    explicit = os.environ.get("HUB_HOME")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "hubcore"


def offline() -> bool:
    """True when HUB_OFFLINE is set to a true value: no network, cached artifacts only."""
    return os.environ.get("HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def mirror() -> str | None:
    """Base URL that replaces the host of http(s) artifact sources ($HUB_MIRROR), if set."""
    value = os.environ.get("HUB_MIRROR", "").strip()
    return value.rstrip("/") or None


def registry_location() -> str | None:
    """Path or URL of a registry.json to use instead of the embedded one ($HUB_REGISTRY)."""
    return os.environ.get("HUB_REGISTRY") or None


def plugin_allowlist() -> set[str] | None:
    """Names of hubcore.plugins entry points to load ($HUB_PLUGINS, comma separated); None = all."""
    value = os.environ.get("HUB_PLUGINS")
    if value is None:
        return None
    return {item.strip() for item in value.split(",") if item.strip()}


def download_timeout() -> float:
    """Seconds without data before a download attempt is abandoned ($HUB_DOWNLOAD_TIMEOUT)."""
    return _number("HUB_DOWNLOAD_TIMEOUT", "30")


def download_retries() -> int:
    """Failed or stalled download attempts in a row before giving up ($HUB_DOWNLOAD_RETRIES)."""
    return int(_number("HUB_DOWNLOAD_RETRIES", "5", int))


def download_min_rate() -> float:
    """Bytes/s below which a download attempt is abandoned as stalled ($HUB_DOWNLOAD_MIN_RATE; 0: none)."""
    return _number("HUB_DOWNLOAD_MIN_RATE", "1024")


def download_rate_window() -> float:
    """Seconds over which a download's rate is held to the minimum ($HUB_DOWNLOAD_RATE_WINDOW)."""
    return _number("HUB_DOWNLOAD_RATE_WINDOW", "60")


def max_unpacked_bytes() -> int:
    """Most bytes an archive member without a declared unpacked_size may expand to ($HUB_MAX_UNPACKED_BYTES)."""
    return int(_number("HUB_MAX_UNPACKED_BYTES", str(4 << 30), int))


def max_unpack_ratio() -> float:
    """Most times its archive's size a member without a declared unpacked_size may expand to ($HUB_MAX_UNPACK_RATIO)."""
    return _number("HUB_MAX_UNPACK_RATIO", "100")


def _pip_config_files() -> list[Path]:
    # pip's own order: global, then user, then site (later files win).
    files = [Path("/etc/pip.conf")]
    xdg_dirs = os.environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(":")
    files += [Path(d) / "pip" / "pip.conf" for d in xdg_dirs if d]
    files += [Path.home() / ".pip" / "pip.conf", Path.home() / ".config" / "pip" / "pip.conf"]
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        files.append(Path(venv) / "pip.conf")
    explicit = os.environ.get("PIP_CONFIG_FILE")
    if explicit and explicit != os.devnull:
        files.append(Path(explicit))
    return files


def _pip_config_index_url() -> tuple[str, Path] | None:
    """The index-url pip's config files set, and the file that set it (the last one wins, as in pip)."""
    found = None
    for path in _pip_config_files():
        if not path.is_file():
            continue
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except configparser.Error:
            continue
        for section in ("global", "install", "download"):
            if parser.has_option(section, "index-url"):
                found = (parser.get(section, "index-url").strip(), path)
    return found


def index_url() -> str:
    """The package index pip would use: $HUB_INDEX_URL, $PIP_INDEX_URL, pip's config, else PyPI."""
    for var in ("HUB_INDEX_URL", "PIP_INDEX_URL"):
        if os.environ.get(var):
            return os.environ[var].rstrip("/")
    configured = _pip_config_index_url()
    return (configured[0] if configured else DEFAULT_INDEX_URL).rstrip("/")
