"""What differs between the paddle releases the hub runs on (2.6.x and 3.x), in one place.

Every call that behaves differently across releases goes through here, so the rest of the hub (and
module packages) write one code path:

- the zlib clash: paddle 2.6's libpaddle.so exports its own zlib, and a zlib user loaded after it
  (Python's zlib module, Pillow's codecs) calls paddle's copy and crashes. `import hubcore` arranges
  for the system zlib and Pillow to be loaded before paddle (`guard_paddle_import`).
- train/eval mode: 2.6's `Layer.train()` takes no mode argument (`set_training`).
- lazy construction: on 2.6, parameters created under `paddle.LazyGuard` are never filled by
  `set_state_dict` (`build_for_weights`).
- program formats: 3.x (PIR) saves programs as `NAME.json`, 2.6 as `NAME.pdmodel` with
  `NAME.pdiparams.info` (`saved_program_suffix`, `saved_model_files`).
- predictor Config: 3.x names oneDNN switches `*_onednn`, 2.6 only `*_mkldnn` (`set_onednn`).
"""
from __future__ import annotations

import sys
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable, Sequence

# `import hubcore` imports this file, so it imports nothing costly (no importlib.abc, no threading).
_preloaded = False
# True when paddle was already imported when hubcore was: too late to load the system zlib first.
paddle_imported_before_hubcore = False


class ZlibClashWarning(RuntimeWarning):
    """paddle 2.x was imported before hubcore: zlib and Pillow calls in this process may crash."""


def preload_native_libraries() -> None:
    """Load the system zlib and Pillow's codecs now, before paddle, so their symbols bind to the right
    libraries instead of the zlib copy that paddle 2.6's libpaddle.so exports. Idempotent."""
    global _preloaded
    if _preloaded:
        return
    import zlib  # noqa: F401  (loads libz.so.1)

    try:
        from PIL import Image  # noqa: F401  (loads PIL._imaging and its codecs' libraries)
    except ImportError:  # Pillow is paddle's dependency, but a process may run without it
        pass
    _preloaded = True  # imports are serialised by the import lock, so two threads at worst both import


class _PreloadBeforePaddle:
    """A sys.meta_path finder that runs preload_native_libraries at the first `import paddle` (or `import paddle.x`), then steps aside."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname == "paddle":
            try:
                sys.meta_path.remove(self)
            except ValueError:  # another thread got here first
                pass
            preload_native_libraries()
        return None  # the ordinary finders import paddle itself


def guard_paddle_import() -> None:
    """Make the first import of paddle in this process load zlib and Pillow first (see above).

    Called by `import hubcore`; costs nothing until paddle is imported. Where paddle is already
    imported it only records that, for `warn_if_zlib_clash`."""
    global paddle_imported_before_hubcore
    if "paddle" in sys.modules:
        paddle_imported_before_hubcore = True
        return
    if not any(isinstance(f, _PreloadBeforePaddle) for f in sys.meta_path):
        sys.meta_path.insert(0, _PreloadBeforePaddle())


def warn_if_zlib_clash() -> None:
    """Warn once when paddle 2.x was imported before hubcore: decompressing weights may then crash."""
    if not paddle_imported_before_hubcore or paddle_major() >= 3:
        return
    warnings.warn("paddle 2.x was imported before hubcore; its libpaddle.so exports a zlib that Python's zlib "
                  "and Pillow then call, which can crash the process (segfault, 'codec configuration error'). "
                  "Import hubcore (or zlib and PIL.Image) before paddle.", ZlibClashWarning, stacklevel=3)


def paddle_major() -> int:
    """Major version of the imported paddle; a source build ("0.0.0") counts as the newest."""
    import paddle

    major = int(str(paddle.__version__).split(".")[0])
    return major if major > 0 else sys.maxsize


def set_training(layer: Any, mode: bool) -> Any:
    """layer.train(mode) on every release (2.6's train() takes no argument)."""
    layer.train() if mode else layer.eval()
    return layer


def build_for_weights(build: Callable[[], Any]) -> Any:
    """build() a network whose every parameter is about to be set from a weights file.

    On 3.x it is built under paddle.LazyGuard, skipping a random initialisation that would be
    overwritten at once; on 2.6 set_state_dict leaves lazy parameters uninitialised, so it is built
    normally there."""
    import paddle

    with paddle.LazyGuard() if paddle_major() >= 3 else nullcontext():
        return build()


def saved_program_suffix() -> str:
    """Suffix of the program file paddle.jit.save writes here: ".json" under PIR (3.x's default), else ".pdmodel"."""
    import paddle

    if paddle_major() < 3:
        return ".pdmodel"
    try:
        pir = paddle.get_flags(["FLAGS_enable_pir_api"])["FLAGS_enable_pir_api"]
    except (ValueError, KeyError):
        pir = False
    return ".json" if pir else ".pdmodel"


def saved_model_files(stem: str | Path) -> list[Path]:
    """The files paddle.jit.save(layer, stem) writes here (program, parameters and, outside PIR, the
    `.pdiparams.info` naming each parameter's layer)."""
    stem = Path(stem)
    suffix = saved_program_suffix()
    files = [Path(f"{stem}{suffix}"), Path(f"{stem}.pdiparams")]
    if suffix == ".pdmodel":
        files.append(Path(f"{stem}.pdiparams.info"))
    return files


def set_onednn(config: Any, enabled: bool, cache_shapes: int | None = None) -> None:
    """Turn a paddle.inference.Config's oneDNN kernels on or off (3.x: *_onednn, 2.6: *_mkldnn)."""
    if enabled:
        _call(config, ("enable_onednn", "enable_mkldnn"))
        if cache_shapes is not None:
            _call(config, ("set_onednn_cache_capacity", "set_mkldnn_cache_capacity"), int(cache_shapes))
    else:
        _call(config, ("disable_onednn", "disable_mkldnn"))


def _call(obj: Any, names: Sequence[str], *args: Any) -> Any:
    for name in names:
        method = getattr(obj, name, None)
        if method is not None:
            return method(*args)
    raise AttributeError(f"{type(obj).__name__} has none of {list(names)}; this paddle release is not supported")
