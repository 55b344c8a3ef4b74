"""Running one module's calls: on its own thread, merging concurrent batchable requests.

Every call to a module goes through a queue served by one task, and runs on the module's single
thread: models are rarely safe to call from two threads at once, and two concurrent calls would
only fight over the same cores. While a call runs, new requests wait in the queue; the next turn
takes the oldest request and, if its signature has a `batch_input`, every queued request with the
same method and the same other arguments, up to `max_batch_size` items. Their batch lists are
concatenated, the method is called once, and the results are split back by each request's length.
A request waits at most `batch_timeout_s` (counted from its arrival) for others to join it, and
less when requests stop arriving. The server's default is 0: a call starts as soon as the model is
free, and whatever queued during the previous call is merged. Under load that keeps the model busy
while the event loop answers and reads requests; waiting for company instead lines every client
up behind one call, and the model and the loop take turns idling.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable

from ..signatures import Signature
from .signals import restore_after_paddle

log = logging.getLogger("hubcore.server")


@dataclass
class _Job:
    signature: Signature
    kwargs: dict
    key: Any  # requests with equal keys may be merged; None: runs alone
    items: int  # length of the batch input (0 when not batchable)
    future: asyncio.Future
    arrived: float = field(default_factory=time.monotonic)


class BadBatchResult(Exception):
    """A batchable method returned something other than one result per input element."""


class ModuleRunner:
    """Calls one module instance's methods, one call at a time, batching where the signature allows."""

    def __init__(self, label: str, *, batching: bool, max_batch_size: int, batch_timeout_s: float,
                 call_timeout_s: float | None = None):
        self.label = label
        self.module: Any = None
        self.process: Any = None  # a ModelProcess when the module runs in a child; then self.module describes it
        self.call_timeout_s = call_timeout_s  # a child still running a call after this is stopped
        self.batching = batching
        self.max_batch_size = max_batch_size
        self.batch_timeout_s = batch_timeout_s
        self._thread = ModuleThread(f"hub-{label}")
        self._pending: list[_Job] = []
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    async def run_on_thread(self, fn: Callable[[], Any]) -> Any:
        """Run fn on the module's thread (loading uses this, so the model lives where it runs)."""
        return await asyncio.wrap_future(self._thread.submit(fn))

    def submit(self, signature: Signature, kwargs: dict) -> asyncio.Future:
        """Queue one request; the future gets its result (or exception) once its turn has run.

        Cancelling the future (a timed-out request) drops the request if it has not started yet.
        """
        key, items = self._batch_key(signature, kwargs)
        job = _Job(signature, kwargs, key, items, asyncio.get_running_loop().create_future())
        self._pending.append(job)
        if self._task is None or self._task.done():
            self._wakeup = asyncio.Event()
            self._task = asyncio.create_task(self._serve(), name=f"hub-batcher-{self.label}")
        self._wakeup.set()
        return job.future

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for job in self._pending:
            if not job.future.done():
                job.future.cancel()
        if self.process is not None:
            self.process.close()
        self._thread.close()

    async def _call(self, method: str, kwargs: dict) -> Any:
        if self.process is not None:
            return await self.process.call(method, kwargs, self.call_timeout_s)
        return await self.run_on_thread(lambda: getattr(self.module, method)(**kwargs))

    # -- internals ----------------------------------------------------------------------------------
    def _batch_key(self, signature: Signature, kwargs: dict) -> tuple[Any, int]:
        name = signature.batch_input
        if not (self.batching and name):
            return None, 0
        batch = kwargs.get(name)
        if not isinstance(batch, list) or not batch or len(batch) > self.max_batch_size:
            return None, 0  # empty lists keep the module's own answer; oversized ones run alone
        others = {f.name: kwargs.get(f.name, f.default) for f in signature.inputs if f.name != name}
        try:
            text = json.dumps(others, sort_keys=True, default=_key_part)
        except (TypeError, ValueError):
            return None, 0
        return (signature.name, text), len(batch)

    async def _serve(self) -> None:
        while True:
            self._pending = [j for j in self._pending if not j.future.done()]  # timed out while queued
            if not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            first = self._pending[0]
            if first.key is not None:
                await self._wait_for_company(first)
            batch = self._take(first)
            try:
                await self._execute(batch)
                restore_after_paddle()  # a module may import paddle on its first call
            except Exception:  # never let the queue die: fail this batch, keep serving
                log.exception("internal error running %s", self.label)
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(RuntimeError("internal error in the batching queue"))

    async def _wait_for_company(self, first: _Job) -> None:
        # Close the batch when it is full, when the first request has waited batch_timeout_s, or when
        # requests stop arriving (none for a fifth of the timeout): with few clients, all of whom are
        # already queued, waiting out the whole timeout would only add latency.
        deadline = first.arrived + self.batch_timeout_s
        gap = self.batch_timeout_s / 5
        while self._items_like(first) < self.max_batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), min(gap, remaining))
            except asyncio.TimeoutError:
                return

    def _items_like(self, first: _Job) -> int:
        return sum(j.items for j in self._pending if j.key == first.key and not j.future.done())

    def _take(self, first: _Job) -> list[_Job]:
        batch, total = [first], first.items
        if first.key is not None:
            for job in self._pending[1:]:
                if job.key == first.key and not job.future.done() and total + job.items <= self.max_batch_size:
                    batch.append(job)
                    total += job.items
        taken = {id(j) for j in batch}
        self._pending = [j for j in self._pending if id(j) not in taken]
        return batch

    async def _execute(self, batch: list[_Job]) -> None:
        if len(batch) == 1:
            await self._run_alone(batch[0])
            return
        first = batch[0]
        name = first.signature.batch_input
        merged = [item for job in batch for item in job.kwargs[name]]
        kwargs = {**first.kwargs, name: merged}
        started = time.perf_counter()
        try:
            results = _checked_batch(await self._call(first.signature.name, kwargs), len(merged), first.signature)
        except Exception:
            # One bad request must not fail the others: rerun each alone so errors land where they belong.
            for job in batch:
                await self._run_alone(job)
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s.%s: %d items from %d requests in one call, %.1f ms (waited %.1f ms)", self.label,
                      first.signature.name, len(merged), len(batch), (time.perf_counter() - started) * 1000,
                      (time.monotonic() - first.arrived) * 1000)
        start = 0
        for job in batch:
            if not job.future.done():
                job.future.set_result(results[start:start + job.items])
            start += job.items

    async def _run_alone(self, job: _Job) -> None:
        if job.future.done():
            return
        try:
            result = await self._call(job.signature.name, job.kwargs)
        except Exception as exc:
            if not job.future.done():
                job.future.set_exception(exc)
            return
        if not job.future.done():
            job.future.set_result(result)


class ModuleThread:
    """One daemon thread running submitted calls in order.

    Not a ThreadPoolExecutor: its threads are joined at interpreter exit, so a model call stuck
    after the graceful timeout would keep a stopped server from ever exiting.
    """

    def __init__(self, name: str):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._work, name=name, daemon=True).start()

    def submit(self, fn: Callable[[], Any]) -> Future:
        future: Future = Future()
        self._queue.put((fn, future))
        return future

    def close(self) -> None:
        self._queue.put(None)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            fn, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # delivered to the awaiting request, never lost in the thread
                future.set_exception(exc)


def _checked_batch(results: Any, expected: int, signature: Signature) -> list:
    if not isinstance(results, (list, tuple)) or len(results) != expected:
        got = len(results) if isinstance(results, (list, tuple)) else type(results).__name__
        raise BadBatchResult(f"{signature.name} returned {got} results for {expected} elements of "
                             f"{signature.batch_input!r}; @serving(batch=...) methods return one result per element")
    return list(results)


def _key_part(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "sha1:" + hashlib.sha1(value).hexdigest()
    raise TypeError(type(value).__name__)
