"""A real HTTP server on 127.0.0.1 (a thread in the test process) serving bytes the tests make.

Each route can misbehave on demand: drop the connection after some bytes (at once, or after going
silent for a while), ignore Range requests, serve slowly (a trickle), send more than its data, or
answer an error status. Every request is recorded, so tests can count downloads.
"""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    data: bytes
    content_type: str = "application/octet-stream"
    status: int = 200  # anything else: answer this status with no body
    drop_after: int | None = None  # close the connection after this many body bytes...
    drops: int = 0  # ...this many times (then serve normally)
    silence_before_drop: float = 0.0  # seconds to stay silent, connection open, before each drop
    ignore_range: bool = False  # always answer 200 with the whole body
    chunk: int = 64 * 1024
    delay: float = 0.0  # seconds to sleep between chunks
    sent: int = 0  # body bytes written so far, over all requests
    tail: int = 0  # zero bytes sent after data (in Content-Length too), made as they are sent
    send_length: bool = True  # False: no Content-Length, the body ends when the connection closes


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class FakeServer:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def add(self, path: str, data: bytes, **behaviour) -> Route:
        self.routes[path] = Route(data=data, **behaviour)
        return self.routes[path]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def gets(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == "GET" and r.path == path]

    def start(self) -> "FakeServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                server.requests.append(Request("GET", self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                if route.status != 200:
                    self.send_response(route.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = _range_start(self.headers.get("Range"))
                if start is not None and not route.ignore_range and start < len(route.data):
                    body = route.data[start:]
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(route.data) - 1}/{len(route.data)}")
                else:
                    body = route.data
                    self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                if route.send_length:
                    self.send_header("Content-Length", str(len(body) + route.tail))
                self.end_headers()
                limit = len(body) + route.tail
                dropping = route.drop_after is not None and route.drops > 0
                if dropping:
                    route.drops -= 1
                    limit = min(limit, route.drop_after)
                for i in range(0, limit, route.chunk):
                    end = min(i + route.chunk, limit)
                    piece = body[i:end] + bytes(max(0, end - max(i, len(body))))
                    try:
                        self.wfile.write(piece)
                        self.wfile.flush()
                    except OSError:
                        return
                    route.sent += len(piece)
                    if route.delay:
                        time.sleep(route.delay)
                if dropping:
                    time.sleep(route.silence_before_drop)
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _range_start(value: str | None) -> int | None:
    if not value or not value.startswith("bytes=") or not value.endswith("-"):
        return None
    try:
        return int(value[len("bytes="):-1])
    except ValueError:
        return None
