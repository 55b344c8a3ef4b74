"""What crosses the pipe between the HTTP worker and a model process, and how it is read.

Length-prefixed pickles of plain values only, read back by a restricted unpickler
(`FrameUnpickler`): strings, numbers, bytes, lists, dicts and the exception classes of Python and
hubcore.errors, never a reference to other code. Only hubcore's two processes write to the pipe,
but the child runs a module's code, so the worker takes nothing from it that could name a
callable. The child turns numpy values into lists (`plain`) and other errors into their nearest
hubcore or Python error (`portable`) before sending.
"""
from __future__ import annotations

import builtins
import io
import os
import pickle
import select
import struct
import time
from typing import Any, BinaryIO

from ..errors import InputError
from .batching import Cancel, Reply, Request

HEADER = struct.Struct("!Q")


class FrameUnpickler(pickle.Unpickler):
    """Plain values, bytearray, and exception classes of Python and hubcore.errors; nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        from .. import errors

        found = getattr(builtins, name, None) if module == "builtins" else \
            getattr(errors, name, None) if module == "hubcore.errors" else None
        if found is bytearray or (isinstance(found, type) and issubclass(found, BaseException)):
            return found
        raise pickle.UnpicklingError(f"{module}.{name} may not cross the model process pipe: serving methods "
                                     f"take and return JSON-like values")


def loads(data: bytes) -> Any:
    return FrameUnpickler(io.BytesIO(data)).load()


def frame(message: Any) -> bytes:
    """message as it crosses the pipe: its pickle's length, then the pickle."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def request_frame(request: Request) -> bytes:
    """The frame carrying request to the child; InputError when the client's arguments cannot be pickled.

    A request is only values decoded from the client's JSON, so the one way it fails to pickle is
    nesting deeper than the pickler's recursion allows: the client's data, a 4xx. Anything else
    (a PicklingError, a TypeError) is raised as it is, for the server to answer 500 and log.
    """
    try:
        return frame(("call", *request.fields()))
    except RecursionError:
        raise InputError(f"the arguments of {request.method} are nested too deeply to be passed to the model "
                         f"(the limit is a few hundred levels of lists and objects); send flatter data") from None


def write_frame(stream: BinaryIO, message: Any) -> None:
    stream.write(frame(message))
    stream.flush()


class PipeSource:
    """The child's end of the pipe: frames read as they come, without waiting where asked not to.

    Reads the raw file descriptor into its own buffer (a buffered reader would hide frames from
    select), so the batching loop can take everything that has arrived without blocking.
    """

    def __init__(self, fd: int):
        self._fd = fd
        self._buffer = bytearray()

    def get(self, timeout: float | None) -> Request | Cancel | None:
        message = self.read(timeout)
        if message is None:
            return None
        if message[0] == "cancel":
            return Cancel(message[1])
        return Request(*message[1:])

    def read(self, timeout: float | None) -> Any:
        """The next message; None if none came within timeout (0: do not wait); EOFError at the end."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if len(self._buffer) >= HEADER.size:
                end = HEADER.size + HEADER.unpack_from(self._buffer)[0]
                if len(self._buffer) >= end:
                    message = loads(bytes(self._buffer[HEADER.size:end]))
                    del self._buffer[:end]
                    return message
            if deadline is not None:
                left = deadline - time.monotonic()
                if not select.select([self._fd], [], [], max(0.0, left))[0]:
                    return None
            chunk = os.read(self._fd, 1 << 20)
            if not chunk:
                raise EOFError
            self._buffer += chunk


def portable(exc: BaseException) -> BaseException:
    """exc, or its nearest ancestor among hubcore's and Python's errors, that the worker may unpickle.

    A module's own InputError subclass stays an InputError (a 422), anything else of its own
    becomes a RuntimeError naming the original type.
    """
    nearest = next(k for k in type(exc).__mro__ if k.__module__ in ("builtins", "hubcore.errors"))
    if nearest is type(exc):
        candidate = exc
    elif nearest.__module__ == "hubcore.errors":
        candidate = nearest(str(exc))
    else:
        candidate = RuntimeError(f"{type(exc).__name__}: {exc}")
    try:
        loads(pickle.dumps(candidate))
        return candidate
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


_PLAIN_LEAVES = frozenset({str, int, float, bool, type(None), bytes, bytearray})


def plain(value: Any) -> Any:
    """value with numpy arrays and scalars as lists and numbers; TypeError names anything else.

    Checking here, where the value is walked anyway, means a frame never holds what the worker's
    restricted reader would refuse.
    """
    kind = type(value)
    if kind in _PLAIN_LEAVES:
        return value
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, str):  # subclasses: str enums and the like
        return str.__str__(value)
    for base in (int, float, bytes):
        if isinstance(value, base):
            return base(value)
    raise TypeError(f"a {kind.__module__}.{kind.__qualname__} value")


def sendable(reply: Reply) -> Reply:
    request_id, status, value = reply
    if status != "ok":
        return request_id, status, portable(value)
    try:
        return request_id, status, plain(value)
    except TypeError as exc:
        return request_id, "error", RuntimeError(f"the method returned {exc}, which cannot be sent back to the "
                                                 f"server; serving methods return JSON-able values")
    except RecursionError:
        return request_id, "error", _too_deep()


def reply_message(replies: list[Reply], batch: list[Request]) -> tuple:
    """One turn of the child: the replies of the call that ended, the method and ids of the one starting."""
    return [sendable(r) for r in replies], batch[0].method if batch else None, [r.id for r in batch]


def reply_frame(replies: list[Reply], batch: list[Request]) -> bytes:
    """reply_message as a frame; a reply too deep to pickle becomes an error for its request alone."""
    message = reply_message(replies, batch)
    try:
        return frame(message)
    except RecursionError:
        fitting = []
        for reply in message[0]:
            try:
                pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
                fitting.append(reply)
            except RecursionError:
                fitting.append((reply[0], "error", _too_deep()))
        return frame((fitting, *message[1:]))


def _too_deep() -> RuntimeError:
    return RuntimeError("the method returned a value nested too deeply to be sent back to the server")
