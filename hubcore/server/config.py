"""What a server serves and how: built from CLI flags and PaddleHub's config file, passed to workers.

PaddleHub's config format is accepted as is:

    {"modules_info": {"lac": {"init_args": {"version": "2.1.0"}, "predict_args": {"batch_size": 1}}},
     "port": 8866, "workers": 2, "use_gpu": false}

Each `modules_info` entry may also name a development folder with `"directory": PATH`. Flags given
on the command line win over the file; the file wins over the defaults.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import InputError

CONFIG_ENV = "HUB_SERVING_CONFIG"  # how the parent hands the resolved config to uvicorn workers
TOKEN_ENV = "HUB_SERVING_TOKEN"

_DEVICE = re.compile(r"^(cpu|gpu(:\d+)?)$")
# PaddleHub keys we read, and the options of ours a config file may also set.
_FILE_KEYS = {"modules_info", "port", "workers", "host", "device", "use_gpu", "gpu", "use_multiprocess", "isolation",
              "batching", "max_batch_size", "batch_timeout_ms", "max_body_bytes", "max_request_items",
              "max_image_bytes", "timeout_s", "graceful_timeout_s", "max_json_depth", "max_text_chars",
              "max_request_chars", "max_image_side", "max_image_aspect", "header_timeout_s", "body_timeout_s",
              "keep_alive_timeout_s", "max_connections", "max_header_bytes", "max_model_rss_mb"}
_MODULE_KEYS = {"init_args", "predict_args", "directory", "version"}


@dataclass(frozen=True)
class ModuleSpec:
    """One module to serve: an installed name (optionally a version specifier) or a folder."""

    name: str | None  # None: the only module declared in `directory`
    directory: str | None = None
    version: str | None = None
    init_args: dict = field(default_factory=dict)
    predict_args: dict = field(default_factory=dict)  # defaults merged under every request's fields

    @property
    def label(self) -> str:
        return self.name or str(self.directory)


@dataclass(frozen=True)
class Limits:
    """Per-request limits; each breach is answered with a 4xx naming the limit and its value."""

    max_body_bytes: int = 32 * 1024 * 1024  # 413
    max_request_items: int = 256  # elements of any list field of one request: 422
    max_image_bytes: int = 16 * 1024 * 1024  # decoded bytes of one image: 422
    timeout_s: float = 60.0  # wall time from accepting the request to the answer: 504
    # Nesting of any JSON read (the body, JSON texts inside v2 BYTES inputs): 422. Real payloads
    # nest a few levels; a deep one would only exhaust recursion in whatever walks it next.
    max_json_depth: int = 64
    # Characters of one string, and of all strings of one request: 422. lac's memory follows the
    # characters of a call (~13 KB each, kept by paddle's allocator afterwards); lac splits long
    # texts into pieces so its calls stay bounded, and these bound the time a request may take
    # (lac: ~3.5 s of one core for max_request_chars) and every other text model's memory.
    max_text_chars: int = 50_000
    max_request_chars: int = 200_000
    # Declared image size, read from the header before decoding: 422 (hubcore.imaging.check_size).
    max_image_side: int = 16384
    max_image_aspect: float = 100.0


@dataclass(frozen=True)
class ServingConfig:
    modules: tuple[ModuleSpec, ...]
    host: str = "127.0.0.1"
    port: int = 8866
    workers: int = 1
    device: str | None = None  # None: paddle's own default; else "cpu" or "gpu:N", set in each worker
    isolation: str = "process"  # "process": each module runs in a child of the worker; "thread": in the worker
    batching: bool = True
    max_batch_size: int = 32  # items (elements of the batch input) per merged call
    # Longest a request waits for others to join its batch while the model is idle. 0: never; the
    # requests that arrive while a call runs are merged into the next one, which keeps the model
    # busy (measured on lac with 16 clients: 4,000 req/s at 0 against 2,600 at 5 ms).
    batch_timeout_ms: float = 0.0
    limits: Limits = Limits()
    token: str | None = None
    graceful_timeout_s: float = 30.0
    log_level: str = "info"
    # Per connection, enforced by the HTTP protocol (connections.py): each breach closes it.
    header_timeout_s: float = 10.0  # from a request's first byte (or the connection's start) to its last header: 408
    body_timeout_s: float = 60.0  # from the last header to the last body byte: 408
    keep_alive_timeout_s: float = 5.0  # an idle connection between requests is closed
    max_connections: int = 1000  # per worker, open at once; more are answered 503 and closed at once
    max_header_bytes: int = 64 * 1024  # request line and headers: 431
    max_model_rss_mb: int | None = None  # a model process above this after a call is replaced (isolation process)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "ServingConfig":
        raw = json.loads(text)
        raw["modules"] = tuple(ModuleSpec(**m) for m in raw["modules"])
        raw["limits"] = Limits(**raw["limits"])
        return cls(**raw)

    @classmethod
    def from_environment(cls) -> "ServingConfig":
        text = os.environ.get(CONFIG_ENV)
        if not text:
            raise RuntimeError(f"{CONFIG_ENV} is not set; start workers with `hub serving start`")
        return cls.from_json(text)


def parse_module_list(values: list[str]) -> list[ModuleSpec]:
    """`-m lac,ocr==1.0,./my_module`: names, `name==version` pins, and development folders."""
    specs = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            if os.sep in item or item.startswith(".") or Path(item).is_dir():
                path = Path(item).expanduser()
                if not path.is_dir():
                    raise InputError(f"-m {item}: no such folder; give an installed module name or a module folder")
                specs.append(ModuleSpec(name=None, directory=str(path.resolve())))
                continue
            name, sep, version = item.partition("==")
            if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
                raise InputError(f"-m {item!r}: not a module name; write e.g. `-m lac,chinese_ocr_db_crnn_mobile`")
            specs.append(ModuleSpec(name=name, version=f"=={version}" if sep else None))
    return specs


def read_config_file(path: str | Path) -> dict:
    """Read a PaddleHub-style serving config; return our option names mapped to values."""
    path = Path(path).expanduser()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"--config {path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"--config {path}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise InputError(f"--config {path}: must be a JSON object like "
                         f'{{"modules_info": {{"lac": {{"init_args": {{}}, "predict_args": {{}}}}}}, "port": 8866}}')
    unknown = sorted(set(raw) - _FILE_KEYS)
    if unknown:
        raise InputError(f"--config {path}: unknown key(s) {unknown}; accepted: {sorted(_FILE_KEYS)}")
    out = {k: v for k, v in raw.items() if k not in ("modules_info", "use_gpu", "gpu", "use_multiprocess")}
    if "modules_info" in raw:
        out["modules"] = _modules_info(raw["modules_info"], path)
    if raw.get("use_gpu") and "device" not in raw:
        gpus = [g.strip() for g in str(raw.get("gpu", "0")).split(",") if g.strip()]
        if len(gpus) != 1:
            raise InputError(f"--config {path}: gpu {raw.get('gpu')!r} lists several devices; a server uses one "
                             f"device, so start one server per GPU with \"device\": \"gpu:N\"")
        out["device"] = f"gpu:{gpus[0]}"
    # use_multiprocess is PaddleHub's switch for `workers`; here `workers` alone decides.
    return out


def _modules_info(info: Any, path: Path) -> list[ModuleSpec]:
    if not isinstance(info, dict) or not info:
        raise InputError(f"--config {path}: modules_info must be an object mapping module names to "
                         f'{{"init_args": {{...}}, "predict_args": {{...}}}}')
    specs = []
    for name, entry in info.items():
        where = f"--config {path}: modules_info.{name}"
        entry = entry or {}
        if not isinstance(entry, dict):
            raise InputError(f"{where} must be an object")
        unknown = sorted(set(entry) - _MODULE_KEYS)
        if unknown:
            raise InputError(f"{where}: unknown key(s) {unknown}; accepted: {sorted(_MODULE_KEYS)}")
        init_args = dict(entry.get("init_args") or {})
        predict_args = dict(entry.get("predict_args") or {})
        if not isinstance(init_args, dict) or not isinstance(predict_args, dict):
            raise InputError(f"{where}: init_args and predict_args must be objects")
        directory = entry.get("directory") or init_args.pop("directory", None)
        version = entry.get("version") or init_args.pop("version", None)
        if directory is not None:
            folder = Path(str(directory)).expanduser()
            if not folder.is_absolute():
                folder = path.parent / folder  # relative to the config file, like any config
            directory = str(folder.resolve())
        specs.append(ModuleSpec(name=name, directory=directory, version=version,
                                init_args=init_args, predict_args=predict_args))
    return specs


def build_config(*, modules: list[str] | None, config_file: str | None, flags: dict[str, Any]) -> ServingConfig:
    """Merge defaults < config file < command line flags (those not None) into a checked config."""
    values: dict[str, Any] = {}
    if config_file:
        values.update(read_config_file(config_file))
    specs = list(values.pop("modules", []))
    if modules:
        specs += parse_module_list(modules)
    if not specs:
        raise InputError("nothing to serve: name modules with `-m lac,other` or a config file with modules_info")
    values.update({k: v for k, v in flags.items() if v is not None})
    if values.get("token") is None and os.environ.get(TOKEN_ENV):
        values["token"] = os.environ[TOKEN_ENV]
    limit_names = {f for f in Limits.__dataclass_fields__}
    limits = Limits(**{k: values.pop(k) for k in list(values) if k in limit_names})
    config = ServingConfig(modules=tuple(specs), limits=limits, **values)
    return _checked(config)


def _checked(config: ServingConfig) -> ServingConfig:
    def need(ok: bool, message: str) -> None:
        if not ok:
            raise InputError(message)

    need(isinstance(config.port, int) and 0 < config.port < 65536, f"port must be 1-65535, got {config.port!r}")
    need(isinstance(config.workers, int) and config.workers >= 1, f"workers must be >= 1, got {config.workers!r}")
    need(config.device is None or bool(_DEVICE.match(str(config.device))),
         f"device must be cpu, gpu or gpu:N (e.g. gpu:0), got {config.device!r}")
    need(config.isolation in ("process", "thread"),
         f"isolation must be process or thread, got {config.isolation!r}")
    need(isinstance(config.max_batch_size, int) and config.max_batch_size >= 1,
         f"max_batch_size must be >= 1, got {config.max_batch_size!r}")
    need(isinstance(config.batch_timeout_ms, (int, float)) and config.batch_timeout_ms >= 0,
         f"batch_timeout_ms must be >= 0, got {config.batch_timeout_ms!r}")
    lim = config.limits
    for name in ("max_body_bytes", "max_request_items", "max_image_bytes", "max_text_chars", "max_request_chars",
                 "max_image_side"):
        value = getattr(lim, name)
        need(isinstance(value, int) and not isinstance(value, bool) and value >= 1,
             f"{name} must be a positive integer, got {value!r}")
    # Checks walk JSON recursively: past a few hundred levels they would hit Python's recursion limit.
    need(isinstance(lim.max_json_depth, int) and 2 <= lim.max_json_depth <= 200,
         f"max_json_depth must be an integer from 2 to 200, got {lim.max_json_depth!r}")
    need(isinstance(lim.max_image_aspect, (int, float)) and lim.max_image_aspect >= 1,
         f"max_image_aspect must be >= 1, got {lim.max_image_aspect!r}")
    need(isinstance(lim.timeout_s, (int, float)) and lim.timeout_s > 0, f"timeout_s must be > 0, got {lim.timeout_s!r}")
    for name in ("header_timeout_s", "body_timeout_s", "keep_alive_timeout_s"):
        value = getattr(config, name)
        need(isinstance(value, (int, float)) and value > 0, f"{name} must be > 0, got {value!r}")
    for name in ("max_connections", "max_header_bytes"):
        value = getattr(config, name)
        need(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
    rss = config.max_model_rss_mb
    need(rss is None or (isinstance(rss, int) and rss >= 1), f"max_model_rss_mb must be a positive integer, got {rss!r}")
    need(rss is None or config.isolation == "process",
         "max_model_rss_mb needs isolation process: a module on a thread of the worker cannot be restarted alone")
    need(config.token is None or (isinstance(config.token, str) and len(config.token) >= 8),
         "token must be at least 8 characters; generate one with `python -c \"import secrets; print(secrets.token_urlsafe())\"`")
    names = [m.name for m in config.modules if m.name]
    dupes = sorted({n for n in names if names.count(n) > 1})
    need(not dupes, f"module(s) {dupes} named more than once")
    if config.device == "gpu":
        config = replace(config, device="gpu:0")
    return config
