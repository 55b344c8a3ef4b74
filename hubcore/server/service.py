"""The served modules of one worker: starting them (each in its own process or on its own thread) and
invoking a signature.

Both HTTP surfaces (PaddleHub's /predict and the v2 inference protocol) end in `Service.invoke`,
so validation, limits, batching and error mapping are the same whichever route a client uses.
"""
from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from dataclasses import dataclass
from typing import Any

from ..errors import HubError, InputError
from ..signatures import SERVER_DECIDES, Signature, check_schema
from .config import ModuleSpec, ServingConfig
from .limits import check_images, check_items, check_texts
from .model_process import ModelProcess
from .responses import HttpError, limit_error
from .model_thread import ModelThread
from .runner import ModuleRunner
from .signals import restore_after_paddle

log = logging.getLogger("hubcore.server")


@dataclass
class LoadedModule:
    name: str  # the route name: /predict/<name>
    module: Any
    runner: ModuleRunner
    predict_args: dict

    @property
    def version(self) -> str:
        return str(self.module.version)

    def signature(self, method: str | None) -> Signature:
        sigs = self.module.signatures
        if method is None:
            return self.module.default_signature
        if method not in sigs:
            raise HttpError(404, f"module {self.name!r} has no serving method {method!r}; methods: {sorted(sigs)}")
        return sigs[method]

    def defaults_for(self, signature: Signature) -> dict:
        names = {f.name for f in signature.inputs}
        return {k: v for k, v in self.predict_args.items() if k in names}


class Service:
    def __init__(self, config: ServingConfig):
        self.config = config
        self.modules: dict[str, LoadedModule] = {}
        self.ready = False

    async def load(self) -> None:
        """Start every module where it will run (its own process, or its thread with isolation "thread").

        Raises with the module named on failure.
        """
        if self.config.device and self.config.isolation == "thread":
            set_device(self.config.device)  # the worker's main thread, for anything created outside runners
            restore_after_paddle()
        for spec in self.config.modules:
            label = spec.label.replace("/", "_")[-40:]
            batching = {"max_batch_size": self.config.max_batch_size,
                        "batch_timeout_s": self.config.batch_timeout_ms / 1000.0}
            if self.config.isolation == "process":
                model = ModelProcess(spec, self.config.device, call_timeout_s=self.config.limits.timeout_s,
                                     max_rss_mb=self.config.max_model_rss_mb, **batching)
            else:
                model = ModelThread(label, functools.partial(construct, spec, self.config.device), **batching)
            runner = ModuleRunner(label, model, batching=self.config.batching,
                                  max_batch_size=self.config.max_batch_size)
            started = time.monotonic()
            try:
                module = await model.start()
            except Exception as exc:
                runner.close()
                raise HubError(f"could not load module {spec.label!r}: {type(exc).__name__}: {exc}") from exc
            restore_after_paddle()
            name = spec.name or module.name
            if not module.signatures:
                runner.close()
                raise HubError(f"module {name!r} marks no method with @serving, so there is nothing to serve")
            if name in self.modules:
                runner.close()
                raise HubError(f"two served modules are both named {name!r}; serve each name once")
            check_predict_args(name, module, spec.predict_args)
            self.modules[name] = LoadedModule(name, module, runner, dict(spec.predict_args))
            log.info("loaded module %s %s in %.1f s (methods: %s)", name, module.version,
                     time.monotonic() - started, ", ".join(module.signatures))
        self.ready = True

    def close(self) -> None:
        self.ready = False
        for loaded in self.modules.values():
            loaded.runner.close()

    def find(self, module: str, method: str | None = None) -> tuple[LoadedModule, Signature]:
        loaded = self.modules.get(module)
        if loaded is None:
            raise HttpError(404, f"no module {module!r} is served here; served: {sorted(self.modules)}")
        return loaded, loaded.signature(method)

    async def invoke(self, loaded: LoadedModule, signature: Signature, payload: Any, started: float) -> Any:
        """Validate payload against the signature and run it (batched where allowed); map errors to HTTP."""
        limits = self.config.limits
        if loaded.predict_args and isinstance(payload, dict):
            payload = {**loaded.defaults_for(signature), **payload}
        check_items(signature, payload, limits)
        check_texts(signature, payload, limits)
        try:
            kwargs = signature.bind(payload, remote=True)
        except InputError as exc:
            raise HttpError(422, str(exc)) from None
        check_images(signature, kwargs, limits)
        remaining = limits.timeout_s - (time.monotonic() - started)
        try:
            if remaining <= 0:
                raise asyncio.TimeoutError
            return await _within(loaded.runner.submit(signature, kwargs), remaining)
        except asyncio.TimeoutError:
            raise limit_error(504, "timeout_s", limits.timeout_s,
                              f"{loaded.name}.{signature.name} did not answer in time") from None
        except InputError as exc:
            raise HttpError(422, str(exc)) from None
        except Exception as exc:
            where = f"{loaded.name}.{signature.name}"
            log.error("%s raised %s: %s", where, type(exc).__name__, exc, exc_info=not isinstance(exc, HubError))
            raise HttpError(500, f"{where} failed: {type(exc).__name__}: {exc}") from None


async def _within(future: asyncio.Future, seconds: float) -> Any:
    """future's result, or TimeoutError (and future cancelled) after seconds.

    asyncio.wait_for, without its second future and callbacks: this runs on every request.
    """
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        future.cancel()

    timer = asyncio.get_running_loop().call_later(seconds, expire)
    try:
        return await future
    except asyncio.CancelledError:
        if expired:
            raise asyncio.TimeoutError from None
        raise
    finally:
        timer.cancel()


def set_device(device: str) -> None:
    import paddle

    from ..inference import gpu_available

    if device.startswith("gpu") and not gpu_available():
        raise HubError(f"--device {device}: this paddle sees no GPU (built with CUDA: "
                       f"{paddle.device.is_compiled_with_cuda()}); install paddlepaddle-gpu on a machine with a "
                       f"GPU, or serve with --device cpu")
    try:
        paddle.set_device(device)
    except (ValueError, RuntimeError) as exc:
        raise HubError(f"--device {device}: {exc}") from None


def module_class(spec: ModuleSpec) -> type:
    """The class `hub.Module` would construct for spec, so its __init__ can be inspected first."""
    from ..loader import module_class as resolve

    return resolve(name=spec.name, version=spec.version, directory=spec.directory)


def accepts_device(cls: type) -> bool:
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return False
    p = params.get("device")
    return p is not None and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)


def construct(spec: ModuleSpec, device: str | None) -> Any:
    """Build one module instance (runs on the module's own thread)."""
    from ..loader import load_module

    if device:
        set_device(device)  # paddle keeps some state per thread; set it where the model will run
    init_args = dict(spec.init_args)
    if device and "device" not in init_args and accepts_device(module_class(spec)):
        init_args["device"] = device
    return load_module(name=spec.name, version=spec.version, directory=spec.directory, **init_args)


def check_predict_args(name: str, module: Any, predict_args: dict) -> None:
    """predict_args from the config file must be arguments of some method, with the right types."""
    fields = {f.name: f for sig in module.signatures.values() for f in sig.inputs}
    for key, value in predict_args.items():
        if key not in fields:
            raise InputError(f"modules_info.{name}.predict_args: {key!r} is not an argument of any serving method "
                             f"of {name}; accepted: {sorted(fields)}")
        if fields[key].kind == SERVER_DECIDES:
            raise InputError(f"modules_info.{name}.predict_args.{key}: a folder on the server, which serving never "
                             f"writes to (pictures come back in the reply as base64); remove it")
        check_schema(value, fields[key].schema, f"modules_info.{name}.predict_args.{key}")
