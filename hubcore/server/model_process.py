"""One served module in its own process, called over a pipe by the HTTP worker.

Why a process: a paddle predictor holds the GIL while it runs, so a model on a thread of the HTTP
worker stops the event loop from reading, parsing and answering requests for the whole call. With
the model in a child process the two overlap on separate cores: the worker batches and answers
while the child computes. It also keeps the server alive when a model crashes the interpreter
(a segfault in a native kernel): the child dies, the request gets a 500, the next call starts a
new child.

The pipe carries length-prefixed pickles of plain values only, read back by a restricted
unpickler (`FrameUnpickler`): strings, numbers, bytes, lists, dicts and the exception classes of
Python and hubcore.errors, never a reference to other code. Only this package's two processes
write to the pipe, but the child runs a module's code, so the worker takes nothing from it that
could name a callable. The child turns numpy values into lists and other errors into their
nearest hubcore or Python error before sending. Its stdin and a private duplicate of its stdout
carry the frames; its fd 1 is pointed at stderr so a module that prints cannot corrupt them.
"""
from __future__ import annotations

import asyncio
import builtins
import io
import logging
import os
import pickle
import signal
import struct
import sys
import time
from dataclasses import asdict
from typing import Any, BinaryIO

from ..errors import HubError
from .config import ModuleSpec

log = logging.getLogger("hubcore.server")

_HEADER = struct.Struct("!Q")


class ModelProcessDied(HubError):
    """The child running a module exited (crashed or was killed) before answering."""


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
    return _HEADER.pack(len(data)) + data


def write_frame(stream: BinaryIO, message: Any) -> None:
    stream.write(frame(message))
    stream.flush()


def read_frame(stream: BinaryIO) -> Any:
    """The next message, or raise EOFError when the other side has gone."""
    header = _read_exactly(stream, _HEADER.size)
    return loads(_read_exactly(stream, _HEADER.unpack(header)[0]))


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class ModuleDescription:
    """What the HTTP worker needs of a module it does not construct: name, version, signatures.

    All of it comes from the class and its manifest, so the worker never loads the weights.
    """

    def __init__(self, cls: type):
        self._manifest = cls.manifest()
        self.signatures = cls.serving_signatures()

    @property
    def name(self) -> str:
        return self._manifest.name

    @property
    def version(self) -> str:
        return self._manifest.known_version

    @property
    def default_signature(self) -> Any:
        from ..signatures import default_signature

        return default_signature(self.signatures, self.name)


class ModelProcess:
    """Parent side: starts the child on first use (and again after it dies), calls its methods.

    Used from the event loop, one call at a time (the module's runner serialises them): the loop
    itself waits on the pipe, so no thread sits between a reply and the response it completes.
    """

    def __init__(self, spec: ModuleSpec, device: str | None):
        self.spec = spec
        self.device = device
        self._process: asyncio.subprocess.Process | None = None
        self._busy = False

    async def start(self) -> None:
        """Start the child and wait until it has constructed the module; raise with its error if not."""
        started = time.monotonic()
        # A session of its own: Ctrl-C in the server's terminal reaches the worker, whose graceful
        # shutdown then closes the pipe; the child must not die mid-request from the same signal.
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hubcore.server.model_process",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, start_new_session=True)
        try:
            await self._send({"spec": asdict(self.spec), "device": self.device})
            status, detail = await self._receive()
        except (asyncio.IncompleteReadError, ConnectionError):
            code = await self._reap()
            raise ModelProcessDied(f"the process loading {self.spec.label!r} ended ({_describe_exit(code)}) before "
                                   f"it was ready; see the log above") from None
        if status != "ready":
            await self._reap()
            raise detail
        log.debug("model process %d for %s ready in %.1f s", self._process.pid, self.spec.label,
                  time.monotonic() - started)

    async def call(self, method: str, kwargs: dict, timeout_s: float | None = None) -> Any:
        """method(**kwargs) in the child. After timeout_s the child is stopped and ModelProcessDied raised.

        The server passes its request time limit: every request in a call arrived before the call
        started, so once the call has run that long all of them have had their 504, and stopping
        the child loses no answer while freeing the queue behind a call that may never return.
        """
        if self._process is None or self._process.returncode is not None:
            await self.start()
        self._busy = True
        try:
            await self._send((method, kwargs))
            status, value = await asyncio.wait_for(self._receive(), timeout_s)
        except (asyncio.IncompleteReadError, ConnectionError):
            code = await self._reap()
            raise self._died(f"the process running {self.spec.label!r} died ({_describe_exit(code)}) while "
                             f"running {method}; a new one starts on the next request") from None
        except asyncio.TimeoutError:
            self._process.kill()
            await self._reap()
            raise self._died(f"{self.spec.label!r} was still running {method} after {timeout_s:g} s, longer than "
                             f"any request waits (timeout_s); its process was stopped and a new one starts on the "
                             f"next request") from None
        finally:
            self._busy = False
        if status == "error":
            raise value
        return value

    def _died(self, message: str) -> ModelProcessDied:
        log.error("%s", message)  # logged here too: the requests of the call may have timed out already
        return ModelProcessDied(message)

    def close(self) -> None:
        """Let the child go: it exits when it reads end of file, or now if it is still running a call.

        A call still running here belongs to a request the server stopped waiting for (shutdown
        comes after the graceful timeout), so nothing is lost by ending it.
        """
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        if self._busy:
            process.kill()
        else:
            process.stdin.close()

    async def _send(self, message: Any) -> None:
        self._process.stdin.write(frame(message))
        await self._process.stdin.drain()

    async def _receive(self) -> Any:
        header = await self._process.stdout.readexactly(_HEADER.size)
        return loads(await self._process.stdout.readexactly(_HEADER.unpack(header)[0]))

    async def _reap(self) -> int | None:
        process, self._process = self._process, None
        if process is None:
            return None
        try:
            return await asyncio.wait_for(process.wait(), 5)
        except asyncio.TimeoutError:
            process.kill()
            return await process.wait()


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _portable(exc: BaseException) -> BaseException:
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


def _plain(value: Any) -> Any:
    """numpy arrays and scalars as lists and numbers (the server's JSON encoder would do the same)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    return value


def child_main() -> int:
    frames_in = sys.stdin.buffer
    frames_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    from .service import construct

    try:
        request = read_frame(frames_in)
    except EOFError:  # the server went away before sending the module to load
        return 0
    try:
        module = construct(ModuleSpec(**request["spec"]), request["device"])
    except Exception as exc:
        write_frame(frames_out, ("error", _portable(exc)))
        return 1
    write_frame(frames_out, ("ready", os.getpid()))
    while True:
        try:
            method, kwargs = read_frame(frames_in)
        except EOFError:
            return 0
        try:
            reply = ("ok", _plain(getattr(module, method)(**kwargs)))
        except Exception as exc:
            reply = ("error", _portable(exc))
        try:
            write_frame(frames_out, reply)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            write_frame(frames_out, ("error", RuntimeError(f"{method} returned a value that cannot be sent back "
                                                           f"to the server ({exc}); serving methods return "
                                                           f"JSON-able values")))


if __name__ == "__main__":
    sys.exit(child_main())
