"""The HTTP worker's side of one served module: numbering requests, handing them on, completing them.

Every request is sent at once to where the model runs (`ModelProcess` or `ModelThread`), with the
key that says which other requests it may be merged with; the batching itself happens there
(`batching.serve`), at the moment the model is free. Replies come back by request id. A request
whose HTTP client stopped waiting (time limit) is cancelled there too, so it is dropped if its
turn has not come.
"""
from __future__ import annotations

import asyncio
import functools
import hashlib
import itertools
import json
import logging
from typing import Any, Callable, Protocol

from ..signatures import Signature
from .batching import Reply, Request

log = logging.getLogger("hubcore.server")

Deliver = Callable[[list[Reply]], None]  # replies of the model, completing their requests
Lost = Callable[[list[int], Exception], None]  # the model process died running these request ids


class Model(Protocol):
    """Where a module runs: a child process or a thread of the worker."""

    module: Any  # what the worker reads signatures, name and version from

    def attach(self, deliver: Deliver, lost: Lost) -> None: ...
    def send(self, request: Request) -> None:
        """Hand request on; raise at once (InputError for the client's data) if it cannot be."""
    def cancel(self, request_id: int) -> None: ...
    def close(self, busy: bool) -> None: ...


class ModuleRunner:
    def __init__(self, label: str, model: Model, *, batching: bool, max_batch_size: int):
        self.label = label
        self.model = model
        self.batching = batching
        self.max_batch_size = max_batch_size
        self._waiting: dict[int, tuple[Request, asyncio.Future]] = {}
        self._ids = itertools.count(1)
        model.attach(self.deliver, self.model_lost)

    @property
    def module(self) -> Any:
        return self.model.module

    def submit(self, signature: Signature, kwargs: dict) -> asyncio.Future:
        """Send one request on; the future gets its result (or exception).

        Cancelling the future (a timed-out request) drops the request if it has not started yet.
        Raises, with nothing left waiting, if the request cannot be handed on (see `Model.send`).
        """
        key, items = self._batch_key(signature, kwargs)
        request = Request(next(self._ids), signature.name, kwargs, signature.batch_input if key else None, key, items)
        future = asyncio.get_running_loop().create_future()
        self._waiting[request.id] = (request, future)
        try:
            self.model.send(request)
        except BaseException:
            del self._waiting[request.id]
            raise
        future.add_done_callback(functools.partial(self._forget, request.id))
        return future

    def deliver(self, replies: list[Reply]) -> None:
        for request_id, status, value in replies:
            entry = self._waiting.pop(request_id, None)
            if entry is None or entry[1].done():
                continue
            if status == "ok":
                entry[1].set_result(value)
            else:
                entry[1].set_exception(value)

    def model_lost(self, running: list[int], error: Exception) -> None:
        """The model's process ended during a call on `running`: what it held is answered or sent again.

        A request that ran alone gets the error. Requests merged in one call are sent again one by one,
        since nothing says which of them brought the process down; the queued ones are sent again as
        they were. The model starts again for them (or on the next request).
        """
        if len(running) == 1:
            entry = self._waiting.pop(running[0], None)
            if entry is not None and not entry[1].done():
                entry[1].set_exception(error)
        in_call = set(running)
        again = [(request.alone() if request.id in in_call else request)
                 for request, future in self._waiting.values() if not future.done()]
        if again:
            log.info("%s: sending %d request(s) to a new model process", self.label, len(again))
        for request in again:
            self.model.send(request)

    def close(self) -> None:
        self.model.close(busy=bool(self._waiting))
        for _, future in list(self._waiting.values()):
            future.cancel()
        self._waiting.clear()

    def _forget(self, request_id: int, future: asyncio.Future) -> None:
        if future.cancelled() and self._waiting.pop(request_id, None) is not None:
            self.model.cancel(request_id)

    def _batch_key(self, signature: Signature, kwargs: dict) -> tuple[Any, int]:
        name = signature.batch_input
        if not (self.batching and name):
            return None, 0
        batch = kwargs.get(name)
        if not isinstance(batch, list) or not batch or len(batch) > self.max_batch_size:
            return None, 0  # empty lists keep the module's own answer; oversized ones run alone
        values = [kwargs.get(f.name, f.default) for f in signature.inputs if f.name != name]
        if all(type(v) in _SCALARS for v in values):  # the usual case, without encoding anything
            return (signature.name, tuple((type(v).__name__, v) for v in values)), len(batch)  # 1, 1.0, True differ
        others = {f.name: kwargs.get(f.name, f.default) for f in signature.inputs if f.name != name}
        try:
            text = json.dumps(others, sort_keys=True, default=_key_part)
        except (TypeError, ValueError):
            return None, 0
        return (signature.name, text), len(batch)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _key_part(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "sha1:" + hashlib.sha1(value).hexdigest()
    raise TypeError(type(value).__name__)
