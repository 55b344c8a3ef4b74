"""The server's log format and levels, shared by uvicorn's parent, its workers and the model processes."""
from __future__ import annotations


def logging_config(level: str) -> dict:
    """uvicorn's logging setup, plus our loggers: uvicorn applies it in the parent and each worker, the
    model processes in themselves."""
    fmt = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    access = {**handler, "formatter": "preformatted"}  # middleware.AccessLines writes whole lines in `fmt`
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": fmt}, "preformatted": {"format": "%(message)s"}},
        "handlers": {"default": handler, "access": access},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},  # we log requests ourselves
            "hubcore": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "hubcore.server.access": {"handlers": ["access"], "level": level.upper(), "propagate": False},
        },
    }
