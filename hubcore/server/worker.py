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


def logging_config(level: str) -> dict:
    """uvicorn's logging setup, plus our loggers; uvicorn applies it in the parent and each worker."""
    fmt = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": fmt}},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},  # we log requests ourselves
            "hubcore": {"handlers": ["default"], "level": level.upper(), "propagate": False},
        },
    }
