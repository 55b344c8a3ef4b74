"""ASGI middleware: one log line per request, the optional bearer token, a plain startup failure."""
from __future__ import annotations

import hmac
import logging
import time
from typing import Any, Awaitable, Callable

from .responses import encode_json

access_log = logging.getLogger("hubcore.server.access")

# Probes and the static docs page (which asks for the token itself) need no token.
OPEN_PATHS = frozenset({"/v2/health/live", "/v2/health/ready", "/docs"})

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class RequestLog:
    """Logs `client "METHOD /path" status ms` once the answer has been sent."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            client = scope.get("client") or ("-", 0)
            access_log.info('%s:%s "%s %s" %d %.1fms', client[0], client[1], scope["method"], scope["path"],
                            status[0], (time.perf_counter() - started) * 1000.0)


class BearerToken:
    """Answers 401 unless `Authorization: Bearer <token>` matches (compared in constant time)."""

    def __init__(self, app: Any, token: str | None):
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.expected is None or scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        if hmac.compare_digest(given, self.expected):
            await self.app(scope, receive, send)
            return
        message = ("missing bearer token; send the header `Authorization: Bearer <token>` (the server's --token "
                   "or HUB_SERVING_TOKEN)" if not given else "wrong bearer token")
        path = scope["path"]
        body = ({"status": "401", "msg": message, "results": None} if path.startswith("/predict")
                else {"error": message})
        payload = encode_json(body)
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
            (b"www-authenticate", b'Bearer realm="hub serving"')]})
        await send({"type": "http.response.body", "body": payload})


class StartupFailureMessage:
    """Replaces the traceback Starlette reports for a failed startup with the error's own message.

    `failure["message"]` is set by the lifespan for errors whose message says what to fix (a
    module that cannot load, say); anything else keeps its traceback, which is then worth reading.
    """

    def __init__(self, app: Any, failure: dict[str, str]):
        self.app = app
        self.failure = failure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def plain(message: dict) -> None:
            if message["type"] == "lifespan.startup.failed" and "message" in self.failure:
                message = {**message, "message": self.failure["message"]}
            await send(message)

        await self.app(scope, receive, plain)
