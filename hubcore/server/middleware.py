"""ASGI middleware: one log line per request, the optional bearer token, a plain startup failure."""
from __future__ import annotations

import asyncio
import atexit
import hmac
import logging
import os
import time
from typing import Any, Awaitable, Callable

from .responses import encode_json

access_log = logging.getLogger("hubcore.server.access")


class AccessLines:
    """The access log: one line per request, handed to logging every FLUSH_S.

    A log record per request (its creation, formatting and write) cost the worker more than
    routing the request. Lines are formatted here, in the server's format (logs.py), cheaply
    (the timestamp's seconds and the pid are looked up once a second), and the lines of each
    FLUSH_S make one record, which the access logger's handler writes as they are.
    """

    FLUSH_S = 0.05

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._second = -1
        self._stamp = ""
        self._pid = 0
        atexit.register(self.flush)  # before logging's own shutdown: atexit runs last-registered first

    def add(self, client: str, port: Any, method: str, path: str, status: int, ms: float) -> None:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._pid = os.getpid()
        if not self._lines:
            asyncio.get_running_loop().call_later(self.FLUSH_S, self.flush)
        self._lines.append(f'{self._stamp},{int((now - second) * 1000):03d} INFO [{self._pid}] '
                           f'hubcore.server.access: {client}:{port} "{method} {path}" {status} {ms:.1f}ms')

    def flush(self) -> None:
        lines, self._lines = self._lines, []
        if lines:
            access_log.info("%s", "\n".join(lines))


_access_lines = AccessLines()

# Probes and the static docs page (which asks for the token itself) need no token.
OPEN_PATHS = frozenset({"/v2/health/live", "/v2/health/ready", "/docs"})

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class Front:
    """The one middleware layer: lifespan failures, the bearer token, one log line per request.

    One layer rather than one per job: each layer costs a coroutine call on the way in and a
    wrapper around every send on the way out, on every request.

    - lifespan: replaces the traceback Starlette reports for a failed startup with the error's own
      message, when the lifespan set `failure["message"]` (errors whose message says what to fix,
      a module that cannot load, say; anything else keeps its traceback, which is worth reading);
    - the token: 401 unless `Authorization: Bearer <token>` matches (compared in constant time);
    - the log: `client "METHOD /path" status ms` once the answer has been sent.
    """

    def __init__(self, app: Any, token: str | None, failure: dict[str, str]):
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None
        self.failure = failure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def capture(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if self.expected is None or scope["path"] in OPEN_PATHS:
                await self.app(scope, receive, capture)
            else:
                await self._with_token(scope, receive, capture)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client") or ("-", 0)
                _access_lines.add(client[0], client[1], scope["method"], scope["path"], status,
                                  (time.perf_counter() - started) * 1000.0)

    async def _with_token(self, scope: Scope, receive: Receive, send: Send) -> None:
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

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def plain(message: dict) -> None:
            if message["type"] == "lifespan.startup.failed" and "message" in self.failure:
                message = {**message, "message": self.failure["message"]}
            await send(message)

        await self.app(scope, receive, plain)
