"""Dynamic batching on the model's side of the queue: merge what waits, run it once, split the results.

This loop runs where the model runs: in the model process (isolation "process") or on the
module's thread (isolation "thread"). The HTTP worker sends every request on as soon as it is
read; the loop closes a batch at the moment the model is free, with everything that queued during
the previous call, so the model never idles waiting for the worker to hand it the next call.

A turn takes the oldest request and, if it is batchable, every queued request with the same key
(same method, same other arguments), oldest first, up to `max_batch_size` items. Their batch lists
are concatenated, the method is called once, and the results are split back by each request's
length. With `batch_timeout_s` above 0 the oldest request waits up to that long (counted from its
arrival here) for company, and less when requests stop arriving (none for a fifth of the timeout).

Nothing here knows about HTTP, pipes or asyncio: requests come from a `Source`, and the replies of a
turn go to `send` together with the next batch, once per call.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Protocol

log = logging.getLogger("hubcore.server")

Reply = tuple  # (request id, "ok" | "error", result or exception)


@dataclass
class Request:
    id: int
    method: str
    kwargs: dict
    batch_input: str | None  # the argument whose list may be merged with other requests' lists
    key: Hashable | None  # requests with equal keys may be merged; None: runs alone
    items: int  # length of the batch input (0 when it runs alone)
    arrived: float = field(default_factory=time.monotonic, compare=False)

    def fields(self) -> tuple:
        """Plain values for the pipe (the arrival time is the receiver's own)."""
        return self.id, self.method, self.kwargs, self.batch_input, self.key, self.items

    def alone(self) -> "Request":
        """The same request, never merged (a batch it was in failed in a way that blames no request)."""
        return Request(self.id, self.method, self.kwargs, None, None, 0)


@dataclass(frozen=True)
class Cancel:
    """The request with this id no longer has anyone waiting for it: drop it if it has not started."""
    id: int


class Source(Protocol):
    def get(self, timeout: float | None) -> Request | Cancel | None:
        """The next message; None if none came within timeout (0: do not wait); EOFError at the end."""


class BatchQueue:
    def __init__(self, max_batch_size: int):
        self.max_batch_size = max_batch_size
        self._pending: dict[int, Request] = {}  # insertion order is arrival order

    def __bool__(self) -> bool:
        return bool(self._pending)

    def accept(self, message: Request | Cancel) -> None:
        if isinstance(message, Cancel):
            self._pending.pop(message.id, None)
        else:
            self._pending[message.id] = message

    def oldest(self) -> Request:
        return next(iter(self._pending.values()))

    def items_like(self, first: Request) -> int:
        return sum(r.items for r in self._pending.values() if r.key == first.key)

    def take(self) -> list[Request]:
        """The oldest request and the queued ones that may join it, removed from the queue."""
        first = self.oldest()
        batch, total = [first], first.items
        if first.key is not None:
            for request in list(self._pending.values())[1:]:
                if request.key == first.key and total + request.items <= self.max_batch_size:
                    batch.append(request)
                    total += request.items
        for request in batch:
            del self._pending[request.id]
        return batch


def serve(module: Any, source: Source, send: Callable[[list[Reply], list[Request]], None], *,
          max_batch_size: int, batch_timeout_s: float) -> None:
    """Run requests from source on module until source ends.

    send(replies, started) is called once per turn: the replies of the call that just ended and the
    requests of the call about to start (empty when the queue is empty, or the next batch still
    waits for company), so the other side knows which requests a stuck or crashed call holds.
    """
    queue = BatchQueue(max_batch_size)
    replies: list[Reply] = []  # of the last call, sent with the next batch or before waiting

    def answer(batch: list[Request]) -> None:
        nonlocal replies
        if replies or batch:
            send(replies, batch)
        replies = []

    try:
        while True:
            _drain(source, queue)
            if not queue:
                answer([])
                queue.accept(source.get(None))
                continue
            first = queue.oldest()
            if batch_timeout_s > 0 and first.key is not None and queue.items_like(first) < max_batch_size:
                answer([])
                _wait_for_company(source, queue, first, batch_timeout_s)
                if not queue:
                    continue
            batch = queue.take()
            answer(batch)
            started = time.perf_counter()
            replies = run_batch(module, batch)
            if len(batch) > 1 and log.isEnabledFor(logging.DEBUG):
                log.debug("%s: %d items from %d requests in one call, %.1f ms", batch[0].method,
                          sum(r.items for r in batch), len(batch), (time.perf_counter() - started) * 1000)
    except EOFError:
        answer([])


def run_batch(module: Any, batch: list[Request]) -> list[Reply]:
    """One call for the whole batch; if it fails, each request alone, so errors land where they belong."""
    if len(batch) == 1:
        return [_run_alone(module, batch[0])]
    first = batch[0]
    name = first.batch_input
    merged = [item for request in batch for item in request.kwargs[name]]
    try:
        results = getattr(module, first.method)(**{**first.kwargs, name: merged})
        if not isinstance(results, (list, tuple)) or len(results) != len(merged):
            got = len(results) if isinstance(results, (list, tuple)) else type(results).__name__
            log.warning("%s returned %s results for %d elements of %r; @serving(batch=...) methods return one "
                        "result per element, so each request runs alone", first.method, got, len(merged), name)
            raise ValueError("batch result of the wrong length")
    except Exception:
        return [_run_alone(module, request) for request in batch]
    replies, start = [], 0
    for request in batch:
        replies.append((request.id, "ok", list(results[start:start + request.items])))
        start += request.items
    return replies


def _run_alone(module: Any, request: Request) -> Reply:
    try:
        return request.id, "ok", getattr(module, request.method)(**request.kwargs)
    except Exception as exc:
        return request.id, "error", exc


def _drain(source: Source, queue: BatchQueue) -> None:
    while (message := source.get(0)) is not None:
        queue.accept(message)


def _wait_for_company(source: Source, queue: BatchQueue, first: Request, timeout_s: float) -> None:
    deadline = first.arrived + timeout_s
    gap = timeout_s / 5
    while queue.items_like(first) < queue.max_batch_size:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        message = source.get(min(gap, remaining))
        if message is None:
            return
        queue.accept(message)
        if isinstance(message, Cancel) and message.id == first.id:
            return  # the oldest left; the next turn starts from the new oldest
