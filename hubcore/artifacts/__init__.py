"""Fetch, verify and cache module artifacts; see layout.py for what lives where under HUB_HOME.

Cheap to import: `requests` and `filelock` are imported only when something is fetched or locked.
"""
from __future__ import annotations

from .build import cached_build
from .fetch import fetch_artifact, mirror_url, provide_artifact, provided_sha256
from .manage import CacheEntry, CacheProblem, cache_entries, clear_cache, download_module_artifacts, verify_cache

__all__ = [
    "CacheEntry",
    "CacheProblem",
    "cache_entries",
    "cached_build",
    "clear_cache",
    "download_module_artifacts",
    "fetch_artifact",
    "mirror_url",
    "provide_artifact",
    "provided_sha256",
    "verify_cache",
]
