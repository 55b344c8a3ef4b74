"""`hub serving start|stop`: the command line of the server (wired into `hub` by the CLI package)."""
from __future__ import annotations

import argparse
import importlib.util
import sys

from ..errors import HubError
from .config import Limits, ServingConfig, build_config

_LIMIT_DEFAULTS = Limits()
# Limits on what one request may hold (Limits fields), each a flag of the same name.
_INPUT_LIMITS = (
    ("max_json_depth", "deepest nesting of the JSON body and of JSON texts in v2 inputs"),
    ("max_text_chars", "most characters in one string of a request"),
    ("max_request_chars", "most characters in all strings of one request together"),
    ("max_image_side", "longest side of an image, read from its header before decoding"),
    ("max_image_aspect", "longest side over shortest side of an image"),
)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the start/stop subcommands and their options to parser."""
    sub = parser.add_subparsers(dest="serving_command", metavar="{start,stop}")
    sub.required = True

    start = sub.add_parser("start", help="serve modules over HTTP (foreground unless --daemon)",
                           description="Serve modules over HTTP: PaddleHub's POST /predict/<module>, the Open "
                                       "Inference Protocol (/v2/...), /openapi.json and /docs.")
    start.add_argument("-m", "--modules", action="append", metavar="NAMES",
                       help="comma-separated module names (name==version pins one) or module folders")
    start.add_argument("-c", "--config", metavar="FILE",
                       help='PaddleHub-style JSON: {"modules_info": {"lac": {"init_args": {}, "predict_args": {}}}, '
                            '"port": 8866, "workers": 2}; flags given here win over it')
    start.add_argument("-p", "--port", type=int, help="port to listen on (default 8866)")
    start.add_argument("--host", help="address to bind (default 127.0.0.1; 0.0.0.0 exposes it to the network)")
    start.add_argument("--workers", type=int,
                       help="worker processes (default 1); each loads its own copy of every module")
    start.add_argument("--device", help="cpu, gpu or gpu:N; set in every worker and passed to modules that "
                                        "take a `device` argument (default: paddle's own choice)")
    start.add_argument("--isolation", choices=["process", "thread"],
                       help="process (default): each module runs in its own child process, so the model computes "
                            "while the worker handles HTTP, and a crashing model is restarted instead of taking the "
                            "server down; thread: in the worker itself (less memory, no restarts)")
    batching = start.add_argument_group("dynamic batching")
    batching.add_argument("--no-batching", dest="batching", action="store_const", const=False,
                          help="run every request on its own")
    batching.add_argument("--max-batch-size", type=int, help="most items merged into one call (default 32)")
    batching.add_argument("--batch-timeout-ms", type=float,
                          help="longest a request waits for others to join its batch while the model is idle "
                               "(default 0: never; requests arriving during a call are merged into the next)")
    limits = start.add_argument_group("limits and safety")
    limits.add_argument("--token", help="require `Authorization: Bearer TOKEN` (prefer the environment variable "
                                        "HUB_SERVING_TOKEN: command lines are visible to other users)")
    limits.add_argument("--max-body-bytes", type=int,
                        help=f"largest request body (default {_LIMIT_DEFAULTS.max_body_bytes}); 413 beyond")
    limits.add_argument("--max-request-items", type=int,
                        help=f"most elements in any list field of one request (default "
                             f"{_LIMIT_DEFAULTS.max_request_items}); 422 beyond")
    limits.add_argument("--max-image-bytes", type=int,
                        help=f"largest decoded image (default {_LIMIT_DEFAULTS.max_image_bytes}); 422 beyond")
    for name, meaning in _INPUT_LIMITS:
        limits.add_argument(f"--{name.replace('_', '-')}", type=type(getattr(_LIMIT_DEFAULTS, name)),
                            help=f"{meaning} (default {getattr(_LIMIT_DEFAULTS, name):g}); 422 beyond")
    limits.add_argument("--timeout-s", type=float,
                        help=f"longest time to answer a request (default {_LIMIT_DEFAULTS.timeout_s:g}); 504 beyond")
    limits.add_argument("--graceful-timeout-s", type=float,
                        help="on SIGTERM, how long requests in flight may take to finish (default 30)")
    conn = start.add_argument_group("connections (per worker)")
    conn.add_argument("--header-timeout-s", type=float,
                      help="longest a request may take to send its line and headers (default 10); 408 and closed")
    conn.add_argument("--body-timeout-s", type=float,
                      help="longest a request may take to send its body once its headers are in (default 60); "
                           "408 and closed")
    conn.add_argument("--keep-alive-timeout-s", type=float,
                      help="an idle keep-alive connection is closed after this (default 5)")
    conn.add_argument("--max-connections", type=int,
                      help="open connections at once (default 1000, and fewer than the open-file limit); more are "
                           "answered 503 and closed at once")
    conn.add_argument("--max-header-bytes", type=int,
                      help="largest request line plus headers (default 65536); 431 and closed")
    limits.add_argument("--max-model-rss-mb", type=int,
                        help="a model process whose resident memory is above this after a call (after giving free "
                             "memory back) is replaced by a fresh one; queued requests move to it (default: none)")
    start.add_argument("--daemon", action="store_true", help="run in the background; log in the runtime folder")
    start.add_argument("--start-timeout-s", type=float, default=600.0,
                       help="with --daemon: how long to wait for the models to load (default 600)")
    start.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default=None)
    start.add_argument("--from-environment", action="store_true", help=argparse.SUPPRESS)

    stop = sub.add_parser("stop", help="stop a server started by `hub serving start`, gracefully")
    stop.add_argument("-p", "--port", type=int, default=8866, help="the server's port (default 8866)")
    stop.add_argument("--wait-s", type=float, default=120.0,
                      help="how long to wait for requests in flight to finish (default 120)")


def main(args: argparse.Namespace) -> int:
    from . import control

    try:
        if args.serving_command == "stop":
            return control.stop(args.port, args.wait_s)
        _require_server_packages()
        if args.from_environment:
            return control.run_foreground(ServingConfig.from_environment())
        config = build_config(modules=args.modules, config_file=args.config, flags={
            "port": args.port, "host": args.host, "workers": args.workers, "device": args.device,
            "isolation": args.isolation, "batching": args.batching, "max_batch_size": args.max_batch_size,
            "batch_timeout_ms": args.batch_timeout_ms, "token": args.token,
            "max_body_bytes": args.max_body_bytes, "max_request_items": args.max_request_items,
            "max_image_bytes": args.max_image_bytes, "timeout_s": args.timeout_s,
            **{name: getattr(args, name) for name, _ in _INPUT_LIMITS},
            "graceful_timeout_s": args.graceful_timeout_s, "log_level": args.log_level,
            "header_timeout_s": args.header_timeout_s, "body_timeout_s": args.body_timeout_s,
            "keep_alive_timeout_s": args.keep_alive_timeout_s, "max_connections": args.max_connections,
            "max_header_bytes": args.max_header_bytes, "max_model_rss_mb": args.max_model_rss_mb,
        })
        if not config.token and config.host not in ("127.0.0.1", "localhost", "::1"):
            print(f"hub serving: warning: listening on {config.host} without a token: anyone who can reach this "
                  f"machine can call the models (set HUB_SERVING_TOKEN or --token)", file=sys.stderr)
        if args.daemon:
            return control.start_background(config, args.start_timeout_s)
        return control.run_foreground(config)
    except HubError as exc:
        print(f"hub serving: {exc}", file=sys.stderr)
        return 2


def _require_server_packages() -> None:
    missing = [name for name in ("uvicorn", "starlette", "httptools") if importlib.util.find_spec(name) is None]
    if missing:
        raise HubError(f"`hub serving start` needs {' and '.join(missing)}: pip install 'hubcore[serving]'")
