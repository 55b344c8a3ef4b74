"""HTTP connections a client cannot hold open by sending slowly, sending too much, or opening many.

uvicorn times out only idle keep-alive connections: a client that sends a request line and then a
header byte now and then (slowloris), or headers and then no body, keeps its connection, and its
file descriptor, for ever; a thousand of them exhaust the worker's open-file limit and nobody
else can connect. `GuardedHttpToolsProtocol` (uvicorn's httptools protocol, which the server names
in `uvicorn.run(http=...)`) adds, per worker:

- header_timeout_s: from a connection's start, or a request's first byte, to its last header; 408;
- body_timeout_s: from the last header to the last body byte; 408 (the handler reading the body
  sees the client gone);
- max_header_bytes: request line and headers; 431;
- max_connections: open at once; one more is answered 503 and closed as soon as it is accepted, so
  a flood costs a descriptor only for a moment (the limit stays below the open-file limit).

Each breach closes the connection. Settings come from the worker's config (`HUB_SERVING_CONFIG`).
"""
from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import resource
import time
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from .config import CONFIG_ENV, ServingConfig

log = logging.getLogger("hubcore.server")

# Descriptors a worker needs besides its connections: the listening socket, model pipes, logs, paddle.
RESERVED_FDS = 100
# How long a refused connection is kept to read (and drop) what its client still sends. Closing a
# socket with unread data makes the kernel reset it, and the client would never see the answer.
LINGER_S = 0.5
# Refused connections linger only while few: under a flood the rest are closed at once (a reset,
# but never the worker's last descriptors).
LINGER_ROOM = RESERVED_FDS // 4


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_s: float
    body_timeout_s: float
    max_header_bytes: int
    max_connections: int


def raise_open_file_limit() -> int:
    """Raise this process's soft limit on open files to the hard one (inherited by workers); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


@functools.lru_cache(maxsize=4)
def _limits_from(config_text: str) -> ConnectionLimits:
    config = ServingConfig.from_json(config_text)
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    allowed = config.max_connections
    if soft != resource.RLIM_INFINITY and soft - RESERVED_FDS < allowed:
        allowed = max(1, soft - RESERVED_FDS)
        log.warning("max_connections=%d is above what the open-file limit (%d) allows; using %d (raise the limit "
                    "with `ulimit -n`)", config.max_connections, soft, allowed)
    return ConnectionLimits(config.header_timeout_s, config.body_timeout_s, config.max_header_bytes, allowed)


def connection_limits() -> ConnectionLimits:
    """The limits of the config this worker serves (read from the environment, parsed once per config)."""
    return _limits_from(os.environ.get(CONFIG_ENV) or ServingConfig(modules=()).to_json())


class _Throttled:
    """A warning logged at most every `every_s` seconds, with how often it happened meanwhile."""

    def __init__(self, message: str, every_s: float = 10.0):
        self.message = message
        self.every_s = every_s
        self._count = 0
        self._last = float("-inf")

    def __call__(self, *args: Any) -> None:
        self._count += 1
        now = time.monotonic()
        if now - self._last >= self.every_s:
            log.warning(self.message + " (%d time(s) since the last such line)", *args, self._count)
            self._count, self._last = 0, now


_WARNINGS = {
    408: _Throttled("closed a connection that sent too slowly: %s"),
    431: _Throttled("closed a connection whose request headers passed max_header_bytes: %s"),
    503: _Throttled("refused a connection over max_connections: %s"),
}


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with read deadlines, a header size limit and a connection limit."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._limits = connection_limits()
        self._deadline: asyncio.TimerHandle | None = None
        self._phase = "headers"  # "headers", "body", then "app" until the next request's first byte
        self._header_bytes = 0
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self._limits.max_connections:
            self._refuse(503, f"the server holds max_connections={self._limits.max_connections} connections; "
                              f"retry shortly")
            return
        self._arm(self._limits.header_timeout_s, "header_timeout_s")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._phase != "body":
            self._header_bytes += len(data)
        super().data_received(data)
        if self._phase == "headers" and self._header_bytes > self._limits.max_header_bytes \
                and not self.transport.is_closing():
            self._refuse(431, f"request line and headers are over max_header_bytes={self._limits.max_header_bytes}")

    def on_message_begin(self) -> None:
        if self._refused:
            return
        super().on_message_begin()
        if self._phase != "headers":  # a keep-alive connection's next request: its headers' clock starts now
            self._phase = "headers"
            self._arm(self._limits.header_timeout_s, "header_timeout_s")

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self._limits.max_header_bytes:  # they came in one piece, so data_received could not tell
            self._refuse(431, f"request line and headers are over max_header_bytes={self._limits.max_header_bytes}")
            return
        self._phase, self._header_bytes = "body", 0
        self._arm(self._limits.body_timeout_s, "body_timeout_s")
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._phase = "app"
        self._disarm()
        super().on_message_complete()

    def _arm(self, seconds: float, limit: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired, limit, seconds)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, limit: str, seconds: float) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        what = "its headers" if limit == "header_timeout_s" else "its body"
        self._refuse(408, f"the request did not send {what} within {limit}={seconds:g} s")

    def _refuse(self, status: int, message: str) -> None:
        """Answer status (unless the handler already answered) and close; the handler sees the client gone.

        What the client sends meanwhile is read and dropped until it closes, or for LINGER_S.
        """
        self._disarm()
        _WARNINGS[status](f"{self.client[0] if self.client else '-'}: {message}")
        cycle = self.cycle
        # Reading headers, the last cycle (if any) is an earlier request's; reading a body, it is this one's.
        unanswered = (cycle is None or cycle.response_complete) if self._phase == "headers" \
            else not cycle.response_started
        if unanswered:
            body = json.dumps({"error": message}).encode()
            self.transport.write(b"".join([
                STATUS_LINE[status], b"content-type: application/json\r\n",
                b"content-length: %d\r\n" % len(body), b"connection: close\r\n\r\n", body]))
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the handler's own answer, if it comes, is dropped
            cycle.message_event.set()
        self._refused = True
        if len(self.connections) > self._limits.max_connections + LINGER_ROOM:
            self.transport.close()
            return
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._deadline = self.loop.call_later(LINGER_S, self.transport.close)
