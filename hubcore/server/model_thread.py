"""One served module on a thread of the HTTP worker (`--isolation thread`), running the batching loop.

The module is constructed on that thread and only ever called there: models are rarely safe to
call from two threads, and paddle keeps some state (the device) per thread. A daemon thread, not
an executor: executor threads are joined at interpreter exit, so a model call stuck after the
graceful timeout would keep a stopped server from exiting.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import Any, Callable

from .batching import Cancel, Reply, Request, serve
from .runner import Deliver, Lost
from .signals import restore_after_paddle

log = logging.getLogger("hubcore.server")

_END = object()


class QueueSource:
    def __init__(self, messages: queue.SimpleQueue):
        self._messages = messages

    def get(self, timeout: float | None) -> Request | Cancel | None:
        try:
            message = self._messages.get(block=timeout != 0, timeout=timeout or None)
        except queue.Empty:
            return None
        if message is _END:
            raise EOFError
        return message


class ModelThread:
    def __init__(self, label: str, factory: Callable[[], Any], *, max_batch_size: int, batch_timeout_s: float):
        self.label = label
        self.module: Any = None
        self._factory = factory
        self._options = {"max_batch_size": max_batch_size, "batch_timeout_s": batch_timeout_s}
        self._messages: queue.SimpleQueue = queue.SimpleQueue()
        self._deliver: Deliver = lambda replies: None

    def attach(self, deliver: Deliver, lost: Lost) -> None:
        self._deliver = deliver  # a thread cannot die on its own, so `lost` is never needed

    async def start(self) -> Any:
        """Construct the module on its thread; return it, or raise what construction raised."""
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        threading.Thread(target=self._main, args=(loop, ready), name=f"hub-{self.label}", daemon=True).start()
        self.module = await ready
        return self.module

    def send(self, request: Request) -> None:
        self._messages.put(request)

    def cancel(self, request_id: int) -> None:
        self._messages.put(Cancel(request_id))

    def close(self, busy: bool) -> None:
        self._messages.put(_END)

    def _main(self, loop: asyncio.AbstractEventLoop, ready: asyncio.Future) -> None:
        try:
            module = self._factory()
        except BaseException as exc:  # delivered to start(), never lost in the thread
            loop.call_soon_threadsafe(_settle, ready, None, exc)
            return
        loop.call_soon_threadsafe(_settle, ready, module, None)

        def send(replies: list[Reply], batch: list[Request]) -> None:
            if replies:
                loop.call_soon_threadsafe(self._on_replies, replies)

        try:
            serve(module, QueueSource(self._messages), send, **self._options)
        except Exception:
            log.exception("the thread running %s stopped", self.label)

    def _on_replies(self, replies: list[Reply]) -> None:
        restore_after_paddle()  # a module may import paddle on its first call
        self._deliver(replies)


def _settle(future: asyncio.Future, value: Any, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(value)
