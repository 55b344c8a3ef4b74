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


class OneWritePerIteration:
    """A connection's transport whose writes during one loop iteration leave in one system call.

    uvicorn writes a response's status line and headers, then its body: two sends per request
    (and often two TCP segments). Everything else is the transport's own.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with read deadlines, a header size limit and a connection limit."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._limits = connection_limits()
        self._timer: asyncio.TimerHandle | None = None
        self._phase = "headers"  # "headers", "body", then "app" until the next request's first byte
        self._phase_ends = 0.0  # loop time by which the request must have left "headers" or "body"
        self._header_bytes = 0
        self._refused = False

    # Most requests arrive whole in one read, so a phase usually begins and ends inside one
    # data_received: a timer is armed only for a phase still open when a read ends (or for the
    # connection's start), and a timer that fires early just re-arms for the phase now open.

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(OneWritePerIteration(transport, self.loop))  # type: ignore[arg-type]
        if len(self.connections) > self._limits.max_connections:
            self._refuse(503, f"the server holds max_connections={self._limits.max_connections} connections; "
                              f"retry shortly")
            return
        self._phase_ends = self.loop.time() + self._limits.header_timeout_s
        self._timer = self.loop.call_at(self._phase_ends, self._expired)

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
        elif self._phase != "app" and self._timer is None and not self._refused:
            self._timer = self.loop.call_at(self._phase_ends, self._expired)

    def on_message_begin(self) -> None:
        if self._refused:
            return
        super().on_message_begin()
        if self._phase != "headers":  # a keep-alive connection's next request: its headers' clock starts now
            self._phase = "headers"
            self._phase_ends = self.loop.time() + self._limits.header_timeout_s

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self._limits.max_header_bytes:  # they came in one piece, so data_received could not tell
            self._refuse(431, f"request line and headers are over max_header_bytes={self._limits.max_header_bytes}")
            return
        self._phase, self._header_bytes = "body", 0
        self._phase_ends = self.loop.time() + self._limits.body_timeout_s
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._phase = "app"
        super().on_message_complete()

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self._refused or self._phase == "app" or self.transport.is_closing():
            return
        if self.loop.time() < self._phase_ends:
            self._timer = self.loop.call_at(self._phase_ends, self._expired)
            return
        limit, what = ("header_timeout_s", "its headers") if self._phase == "headers" else ("body_timeout_s", "its body")
        seconds = getattr(self._limits, limit)
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
        self._timer = self.loop.call_later(LINGER_S, self.transport.close)
