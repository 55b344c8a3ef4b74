"""hubcore: install, load by name, run, fine-tune and serve pretrained PaddlePaddle models.

    import hubcore as hub
    lac = hub.Module(name="lac")

Everything here is imported lazily so that `import hubcore` stays fast and never imports paddle.
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from .paddle_compat import guard_paddle_import as _guard_paddle_import

# Before anything imports paddle: paddle 2.6 exports a zlib that crashes zlib users loaded after it.
_guard_paddle_import()

_LAZY = {
    "Module": ("hubcore.module", "Module"),
    "Context": ("hubcore.module", "Context"),
    "serving": ("hubcore.signatures", "serving"),
    "runnable": ("hubcore.signatures", "runnable"),
    "Image": ("hubcore.signatures", "Image"),
    "FilePath": ("hubcore.signatures", "FilePath"),
    "OutputDir": ("hubcore.signatures", "OutputDir"),
    "Signature": ("hubcore.signatures", "Signature"),
    "errors": ("hubcore.errors", None),
    "list_modules": ("hubcore.discovery", "iter_entries"),
    "Trainer": ("hubcore.finetune", "Trainer"),
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'hubcore' has no attribute {name!r}")
    import importlib

    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
