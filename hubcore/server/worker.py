"""What uvicorn runs in each worker process: the app built from the config its parent handed over.

Every worker builds its own app, so each loads its own copy of every module (in the worker, after
the fork/spawn): memory grows with --workers times the size of the served models.
"""
from __future__ import annotations

from starlette.applications import Starlette

from .app import create_app
from .config import ServingConfig


def app_from_environment() -> Starlette:
    """uvicorn factory (`hubcore.server.worker:app_from_environment`); reads HUB_SERVING_CONFIG."""
    return create_app(ServingConfig.from_environment())
