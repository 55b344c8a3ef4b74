"""The Starlette application: PaddleHub's /predict routes, the v2 protocol, health, OpenAPI and docs.

Routes are generic over the served modules (`/predict/{module}`, `/v2/models/{model}/infer`):
what each accepts comes from the module's signatures at request time, so nothing here is written
per module.
"""
from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import Any, AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from .. import __version__
from ..errors import HubError, InputError
from .config import ServingConfig
from .docs_page import DOCS_HTML
from .limits import body_too_large, export_image_limits
from .middleware import Front
from .openapi import build_openapi
from .request_json import parse_json
from .responses import HttpError, JSONBody, encode_json
from .service import Service
from .v2 import (BINARY_HEADER, attach_binary_data, infer_response, model_metadata, payload_from_request,
                 split_model_name)

log = logging.getLogger("hubcore.server")


def create_app(config: ServingConfig) -> Starlette:
    service = Service(config)
    openapi_cache: dict[str, Any] = {}
    startup_failure: dict[str, str] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        export_image_limits(config.limits)  # before the model processes start: they inherit it
        try:
            await service.load()
        except BaseException as exc:
            if isinstance(exc, HubError):
                startup_failure["message"] = str(exc)  # HubErrors name the fix; their tracebacks only add noise
            service.close()  # modules that did load must not outlive the failed start
            raise
        log.info("ready: %d module(s) on http://%s:%d (docs at /docs)", len(service.modules), config.host, config.port)
        try:
            yield
        finally:
            service.close()

    # -- PaddleHub ----------------------------------------------------------------------------------
    async def predict(request: Request) -> Response:
        started = time.monotonic()
        try:
            loaded, sig = _found(service, request.path_params["module"], request.path_params.get("method"))
            payload = await _read_json(request, config)
            result = await service.invoke(loaded, sig, payload, started)
            return _result_response({"status": "000", "msg": "", "results": result}, f"{loaded.name}.{sig.name}")
        except HttpError as exc:
            return JSONBody({"status": str(exc.status), "msg": exc.message, "results": None, **exc.details()},
                            status_code=exc.status)

    # -- Open Inference Protocol (v2) ----------------------------------------------------------------
    async def v2_server(request: Request) -> Response:
        return JSONBody({"name": "hubcore", "version": __version__, "extensions": []})

    async def live(request: Request) -> Response:
        return JSONBody({"live": True})

    async def ready(request: Request) -> Response:
        return JSONBody({"ready": service.ready}, status_code=200 if service.ready else 503)

    def v2_model(request: Request) -> tuple[Any, Any, str]:
        name = request.path_params["model"]
        module, method = split_model_name(name)
        loaded, sig = _found(service, module, method)
        version = request.path_params.get("version")
        if version is not None and version != loaded.version:
            raise HttpError(404, f"model {name!r} is served at version {loaded.version}, not {version!r}")
        return loaded, sig, name

    @_v2_errors
    async def v2_metadata(request: Request) -> Response:
        loaded, sig, _ = v2_model(request)
        return JSONBody(model_metadata(loaded.name, loaded.version, sig))

    @_v2_errors
    async def v2_ready(request: Request) -> Response:
        v2_model(request)
        return JSONBody({"name": request.path_params["model"], "ready": service.ready},
                        status_code=200 if service.ready else 503)

    @_v2_errors
    async def v2_infer(request: Request) -> Response:
        started = time.monotonic()
        loaded, sig, name = v2_model(request)
        raw = await _read_body(request, config)
        header_length = request.headers.get(BINARY_HEADER)
        try:
            if header_length is None:
                body = _parse_json(raw, config)
            else:  # the binary tensor extension (tritonclient's default): JSON header, then raw tensors
                length = _header_number(header_length)
                if length is None or length > len(raw):
                    raise HttpError(400, f"{BINARY_HEADER} {header_length[:40]!r} is not a length within the "
                                         f"{len(raw)}-byte body")
                body = _parse_json(raw[:length], config)
                attach_binary_data(body, raw[length:], sig)
            payload = payload_from_request(body, sig, config.limits)
        except InputError as exc:
            raise HttpError(422, str(exc)) from None
        result = await service.invoke(loaded, sig, payload, started)
        request_id = body.get("id") if isinstance(body, dict) else None
        try:
            answer = infer_response(name, loaded.version, request_id, result)
        except (TypeError, ValueError) as exc:
            raise _not_json(f"{loaded.name}.{sig.name}", exc) from None
        return JSONBody(answer)

    # -- discovery ------------------------------------------------------------------------------------
    async def openapi(request: Request) -> Response:
        if "doc" not in openapi_cache:
            openapi_cache["doc"] = build_openapi(service.modules, secured=bool(config.token))
        return JSONBody(openapi_cache["doc"])

    async def docs(request: Request) -> Response:
        return HTMLResponse(DOCS_HTML)

    async def index(request: Request) -> Response:
        return JSONBody({"modules": {name: {"version": m.version, "methods": list(m.module.signatures)}
                                     for name, m in service.modules.items()},
                         "docs": "/docs", "openapi": "/openapi.json"})

    routes = [  # tried in order: the prediction routes first
        Route("/predict/{module}", predict, methods=["POST"]),
        Route("/predict/{module}/{method}", predict, methods=["POST"]),
        Route("/", index, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Route("/v2", v2_server, methods=["GET"]),
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
    ]
    for prefix in ("/v2/models/{model}", "/v2/models/{model}/versions/{version}"):
        routes += [
            Route(prefix, v2_metadata, methods=["GET"]),
            Route(prefix + "/ready", v2_ready, methods=["GET"]),
            Route(prefix + "/infer", v2_infer, methods=["POST"]),
        ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(Front, token=config.token, failure=startup_failure)],
        exception_handlers={HTTPException: _http_exception, ClientDisconnect: _client_gone, Exception: _unexpected},
    )


def _found(service: Service, module: str, method: str | None) -> Any:
    if not service.ready:
        raise HttpError(503, "modules are still loading; poll /v2/health/ready")
    return service.find(module, method)


async def _read_json(request: Request, config: ServingConfig) -> Any:
    """The body as JSON, within max_body_bytes (checked on Content-Length, then while reading)."""
    return _parse_json(await _read_body(request, config), config)


async def _read_body(request: Request, config: ServingConfig) -> bytes:
    limit = config.limits.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None:
        length = _header_number(declared)
        if length is None:
            raise HttpError(400, f"Content-Length {declared[:40]!r} is not a number")
        if length > limit:
            raise body_too_large(config.limits, length if length < sys.maxsize else None)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise body_too_large(config.limits)
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        raise HttpError(400, "empty request body; send a JSON object whose keys are the method's arguments")
    return body


def _parse_json(body: bytes, config: ServingConfig) -> Any:
    try:
        return parse_json(body, max_depth=config.limits.max_json_depth, where="request body")
    except InputError as exc:
        raise HttpError(400, str(exc)) from None


def _header_number(value: str) -> int | None:
    """The non-negative integer a length header holds, None if it holds something else.

    More than 18 digits reads as sys.maxsize (past any body size) without converting them: int() of
    thousands of digits is slow, and past 4300 raises.
    """
    if not (value.isascii() and value.isdigit()):  # isdigit alone accepts "²", which int() refuses
        return None
    return int(value) if len(value) <= 18 else sys.maxsize


def _result_response(content: dict, where: str) -> Response:
    try:
        return Response(encode_json(content), media_type="application/json")
    except (TypeError, ValueError) as exc:
        raise _not_json(where, exc) from None


def _not_json(where: str, exc: Exception) -> HttpError:
    log.error("%s returned a value JSON cannot carry: %s", where, exc)
    return HttpError(500, f"{where} returned a value JSON cannot carry ({exc}); serving methods return "
                          f"lists, dicts, strings, finite numbers (numpy arrays via .tolist())")


def _v2_errors(handler: Callable) -> Callable:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except HttpError as exc:
            return JSONBody({"error": exc.message, **exc.details()}, status_code=exc.status)

    wrapped.__name__ = handler.__name__
    return wrapped


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: f"no route {request.url.path}; see /docs", 405: f"{request.method} is not allowed here"}.get(
        exc.status_code, str(exc.detail))
    return JSONBody({"error": message}, status_code=exc.status_code, headers=exc.headers)


async def _client_gone(request: Request, exc: Exception) -> Response:
    # The client closed the connection, or sent its body too slowly (connections.py closed it): no
    # one reads an answer, and it is not the server's error.
    return Response(status_code=499)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONBody({"error": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)
