"""One served module in its own process, called over a pipe by the HTTP worker.

Why a process: a paddle predictor holds the GIL while it runs, so a model on a thread of the HTTP
worker stops the event loop from reading, parsing and answering requests for the whole call. With
the model in a child process the two overlap on separate cores: the worker batches and answers
while the child computes. It also keeps the server alive when a model crashes the interpreter
(a segfault in a native kernel): the child dies, the request gets a 500, the next call starts a
new child.

What crosses the pipe, and how it is read, is in pipe.py. The child's stdin and a private
duplicate of its stdout carry the frames; its fd 1 is pointed at stderr so a module that prints
cannot corrupt them.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import logging.config
import os
import signal
import sys
import time
from dataclasses import asdict
from typing import Any

from ..errors import HubError
from .batching import Reply, Request, serve
from .config import ModuleSpec
from .logs import logging_config
from .memory import above_ceiling
from .pipe import HEADER, PipeSource, frame, loads, portable, reply_frame, request_frame, write_frame
from .runner import Deliver, Lost

log = logging.getLogger("hubcore.server")

# The exit status of a child that ends itself after a call left it above the memory ceiling.
RETIRED = 85


class ModelProcessDied(HubError):
    """The child running a module exited (crashed or was killed) before answering."""


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

    @functools.cached_property
    def default_signature(self) -> Any:  # looked up on every request to /predict/<module>
        from ..signatures import default_signature

        return default_signature(self.signatures, self.name)


class ModelProcess:
    """Parent side: starts the child (and again after it dies), sends it requests, hands back replies.

    Used from the event loop. Requests are written to the pipe as they arrive; the child batches
    them (`batching.serve`) and answers each turn with one frame: the replies of the call that
    ended and the ids of the call that starts. The loop itself reads the pipe, so no thread sits
    between a reply and the response it completes.
    """

    def __init__(self, spec: ModuleSpec, device: str | None, *, max_batch_size: int, batch_timeout_s: float,
                 call_timeout_s: float | None = None, max_rss_mb: int | None = None):
        self.spec = spec
        self.device = device
        self.module: ModuleDescription | None = None
        self.call_timeout_s = call_timeout_s  # a child still running a call after this is stopped
        self.max_rss_mb = max_rss_mb  # a child above this after a call hands its queue to a new one
        self._options = {"max_batch_size": max_batch_size, "batch_timeout_s": batch_timeout_s,
                         "max_rss_mb": max_rss_mb}
        self._live: asyncio.subprocess.Process | None = None  # the child, once it is ready
        self._unsent: list[Request] = []  # requests that came while no child was ready
        self._restarting: asyncio.Task | None = None
        self._running: tuple[str | None, list[int]] = (None, [])  # the method and request ids of the child's call
        self._turn = 0  # counts the child's calls, so the watchdog knows whether the one it timed still runs
        self._call_started = 0.0  # loop time
        self._watchdog: asyncio.TimerHandle | None = None
        self._outbox: list[bytes] = []  # frames for the child, written together once per loop iteration
        self._outbox_for: asyncio.subprocess.Process | None = None
        self._stopped_stuck = False
        self._closing = False
        self._deliver: Deliver = lambda replies: None
        self._lost: Lost = lambda running, error: None

    def attach(self, deliver: Deliver, lost: Lost) -> None:
        self._deliver, self._lost = deliver, lost

    async def start(self) -> ModuleDescription:
        """Describe the module from its class, start the child; raise with the child's error if it fails."""
        from .service import module_class

        self.module = ModuleDescription(module_class(self.spec))
        await self._spawn()
        return self.module

    def send(self, request: Request) -> None:
        """Write request to the child (or keep it for the next one).

        Raises at once, never later, if the request cannot be pickled: InputError when its
        arguments nest too deeply (the client's data), the pickling error otherwise.
        """
        data = request_frame(request)
        if self._live is not None:
            self._write(data)
            return
        self._unsent.append(request)
        if not self._closing and (self._restarting is None or self._restarting.done()):
            self._restarting = asyncio.create_task(self._restart())

    def cancel(self, request_id: int) -> None:
        if self._live is not None:
            self._write(frame(("cancel", request_id)))
        else:
            self._unsent = [r for r in self._unsent if r.id != request_id]

    def _write(self, data: bytes) -> None:
        # One write (a system call) per loop iteration for all the frames the iteration produced,
        # not one per request: under load the worker reads many requests per iteration.
        if self._outbox_for is not self._live:
            self._outbox.clear()  # frames for a child that died since: its death handling sends them again
        if not self._outbox:
            self._outbox_for = self._live
            asyncio.get_running_loop().call_soon(self._flush)
        self._outbox.append(data)

    def _flush(self) -> None:
        data, self._outbox = b"".join(self._outbox), []
        process, self._outbox_for = self._outbox_for, None
        # A child that has just died can close its pipe before the reader has seen the end of its
        # replies, and a child that died since the frames were queued is not the one they were
        # for. What is not written is not lost: the reader's death handling (`lost`) has the
        # runner send every request still waiting to the next child. The frames were built
        # before, so nothing but the write itself is excused here.
        if process is None or process is not self._live:
            return
        try:
            if not process.stdin.is_closing():
                process.stdin.write(data)
        except (RuntimeError, ConnectionError):
            pass

    def close(self, busy: bool) -> None:
        """Let the child go: it exits when it reads end of file, or now if it still holds requests.

        Requests still held here belong to clients the server stopped waiting for (shutdown comes
        after the graceful timeout), so nothing is lost by ending them.
        """
        if self._outbox:
            self._flush()
        self._closing = True
        if self._restarting is not None:
            self._restarting.cancel()
        process, self._live = self._live, None
        if process is None or process.returncode is not None:
            return
        if busy:
            process.kill()
        else:
            process.stdin.close()

    async def _spawn(self) -> None:
        started = time.monotonic()
        # A session of its own: Ctrl-C in the server's terminal reaches the worker, whose graceful
        # shutdown then closes the pipe; the child must not die mid-request from the same signal.
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hubcore.server.model_process",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, start_new_session=True)
        try:
            process.stdin.write(frame({"spec": asdict(self.spec), "device": self.device, **self._options,
                                       "log_level": logging.getLevelName(log.getEffectiveLevel())}))
            status, detail = await _receive(process)
        except (asyncio.IncompleteReadError, ConnectionError):
            code = await _reap(process)
            raise ModelProcessDied(f"the process loading {self.spec.label!r} ended ({_describe_exit(code)}) before "
                                   f"it was ready; see the log above") from None
        if status != "ready":
            await _reap(process)
            raise detail
        self._live, self._stopped_stuck = process, False
        asyncio.create_task(self._read_replies(process), name=f"hub-replies-{self.spec.label}")
        log.debug("model process %d for %s ready in %.1f s", process.pid, self.spec.label, time.monotonic() - started)

    async def _restart(self) -> None:
        # A new child that dies while it loads (killed, out of memory) is started once more before
        # the requests waiting for it fail: one death says little about the next start. An error
        # raised by the module's constructor fails them at once: it would only be raised again.
        for attempt in (1, 2):
            try:
                await self._spawn()
                break
            except ModelProcessDied as exc:
                if attempt == 1:
                    log.warning("%s; starting it once more for the %d request(s) waiting", exc, len(self._unsent))
                    continue
                self._fail_unsent(exc)
                return
            except Exception as exc:
                self._fail_unsent(exc)
                return
        unsent, self._unsent = self._unsent, []
        for request in unsent:
            self.send(request)

    def _fail_unsent(self, exc: Exception) -> None:
        unsent, self._unsent = self._unsent, []
        log.error("could not start %s again: %s", self.spec.label, exc)
        error = exc if isinstance(exc, HubError) else ModelProcessDied(f"{type(exc).__name__}: {exc}")
        self._deliver([(r.id, "error", error) for r in unsent])

    async def _read_replies(self, process: asyncio.subprocess.Process) -> None:
        try:
            while True:
                replies, method, started = await _receive(process)
                if replies:
                    self._deliver(replies)
                self._watch(method, started)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:  # a frame the restricted reader refused: nothing more from this child is trusted
            log.exception("unreadable reply from the process running %s; stopping it", self.spec.label)
            process.kill()
        code = await _reap(process)
        method, running = self._running
        self._watch(None, [])
        if self._live is process:
            self._live = None
        if self._closing:
            return
        label = self.spec.label
        if code == RETIRED:
            log.info("the process running %r passed the memory ceiling (max_model_rss_mb=%s) after a call; a new "
                     "one takes the requests queued to it", label, self.max_rss_mb)
            self._lost([], ModelProcessDied("retired"))  # nothing was running: every waiting request is sent again
            if self._restarting is None or self._restarting.done():
                self._restarting = asyncio.create_task(self._restart())
            return
        if self._stopped_stuck:
            message = (f"{label!r} was still running {method} after {self.call_timeout_s:g} s, longer than any "
                       f"request waits (timeout_s); its process was stopped and a new one starts on the next request")
        else:
            doing = f"while running {method}" if running else "between calls"
            message = (f"the process running {label!r} died ({_describe_exit(code)}) {doing}; a new one starts on "
                       f"the next request")
        log.error("%s", message)  # logged here too: the requests of the call may have timed out already
        self._lost(running, ModelProcessDied(message))

    def _watch(self, method: str | None, started: list[int]) -> None:
        """Remember the child's current call; stop the child if it runs past the request time limit.

        Every request in a call arrived before the call started, so once it has run that long all of
        them have had their 504, and stopping the child loses no answer while freeing the queue.
        """
        self._running = (method, started)
        self._turn += 1
        if started and self.call_timeout_s:
            loop = asyncio.get_running_loop()
            self._call_started = loop.time()
            if self._watchdog is None:  # one timer at a time, not one per call: calls come thousands a second
                self._watchdog = loop.call_later(self.call_timeout_s, self._check_stuck, self._turn)

    def _check_stuck(self, turn: int) -> None:
        self._watchdog = None
        if not self._running[1]:
            return
        if turn != self._turn:  # that call ended; time the one running now
            self._watchdog = asyncio.get_running_loop().call_at(
                self._call_started + self.call_timeout_s, self._check_stuck, self._turn)
            return
        if self._live is not None:
            self._stopped_stuck = True
            self._live.kill()


async def _receive(process: asyncio.subprocess.Process) -> Any:
    header = await process.stdout.readexactly(HEADER.size)
    return loads(await process.stdout.readexactly(HEADER.unpack(header)[0]))


async def _reap(process: asyncio.subprocess.Process) -> int | None:
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


def child_main() -> int:
    source = PipeSource(sys.stdin.fileno())
    frames_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    from .service import construct

    try:
        setup = source.read(None)
    except EOFError:  # the server went away before sending the module to load
        return 0
    logging.config.dictConfig(logging_config(setup["log_level"]))  # the worker's log, on the same stderr
    try:
        module = construct(ModuleSpec(**setup["spec"]), setup["device"])
    except Exception as exc:
        write_frame(frames_out, ("error", portable(exc)))
        return 1
    write_frame(frames_out, ("ready", os.getpid()))

    ceiling = setup["max_rss_mb"]

    def send(replies: list[Reply], batch: list[Request]) -> None:
        rss_mb = above_ceiling(ceiling) if replies and ceiling else None
        # Retiring, the batch just taken is not reported as started: the server sends it, and
        # every request still queued here, to the next child.
        frames_out.write(reply_frame(replies, [] if rss_mb else batch))
        frames_out.flush()
        if rss_mb:
            log.warning("%s: %d MB resident after a call, above max_model_rss_mb=%d; this process ends and a new "
                        "one takes its queue", setup["spec"]["name"] or "module", rss_mb, ceiling)
            os._exit(RETIRED)

    serve(module, source, send, max_batch_size=setup["max_batch_size"], batch_timeout_s=setup["batch_timeout_s"])
    return 0


if __name__ == "__main__":
    sys.exit(child_main())
