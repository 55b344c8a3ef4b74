"""A small module for the serving tests (copied into a module folder by serving_helpers).

It covers each kind of route the server must derive: a batchable text method that records the
batch sizes it was called with, a batchable numeric method (v2 INT64/FP64/BOOL tensors), an image
method, a method that always raises, a slow one, one that kills its own process, one echoing an object, one
that keeps memory, and one reporting what the worker saw.
"""
from __future__ import annotations

import io
import math
import os
import signal
import sys
import time

import hubcore
from hubcore.errors import InputError


class ServingTestModule(hubcore.Module):
    def __init__(self, device: str | None = None, max_sleep_s: float = 3.0, load_delay_s: float = 0.0):
        self.device = device
        self.max_sleep_s = max_sleep_s
        self.batch_sizes: list[int] = []
        self.held: list[bytes] = []
        time.sleep(load_delay_s)  # a slow load: a test can kill the process while it starts

    @hubcore.serving(batch="texts", default=True)
    def tag(self, texts: list[str], prefix: str = "") -> list[dict]:
        """Tag each text with its upper-cased form.

        Args:
            texts: the texts, one result per text
            prefix: put before each tag
        """
        self.batch_sizes.append(len(texts))
        return [{"text": t, "tag": prefix + t.upper(), "length": len(t)} for t in texts]

    @hubcore.serving(batch="values")
    def scale(self, values: list[float], factor: int = 2, negate: bool = False) -> list[float]:
        """Multiply numbers.

        Args:
            values: the numbers
            factor: the multiplier
            negate: flip the sign too
        """
        self.batch_sizes.append(len(values))
        sign = -1 if negate else 1
        try:
            out = [float(sign * v * factor) for v in values]
        except OverflowError:
            out = [math.inf]
        if not all(math.isfinite(x) for x in out):
            raise InputError("values * factor overflows a double; send smaller numbers")
        return out

    @hubcore.serving(batch="images")
    def image_size(self, images: list[hubcore.Image]) -> list[dict]:
        """Width and height of each image.

        Args:
            images: encoded image files (PNG, JPEG, ...)
        """
        from PIL import Image, UnidentifiedImageError

        out = []
        for i, data in enumerate(images):
            try:
                with Image.open(io.BytesIO(data)) as img:
                    img.load()
                    out.append({"width": img.width, "height": img.height})
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
                raise InputError(f"images[{i}]: not a decodable image ({type(exc).__name__}); send PNG or JPEG "
                                 f"bytes in base64") from None
        return out

    @hubcore.serving
    def fail(self, message: str = "boom") -> dict:
        """Always raise (the server must answer 500 and keep serving).

        Args:
            message: the error message
        """
        raise RuntimeError(message)

    @hubcore.serving
    def slow(self, seconds: float = 0.5) -> dict:
        """Sleep, then answer.

        Args:
            seconds: how long to sleep, at most max_sleep_s
        """
        if not 0 <= seconds <= self.max_sleep_s:
            raise InputError(f"seconds must be between 0 and {self.max_sleep_s}, got {seconds}")
        time.sleep(seconds)
        return {"slept": seconds}

    @hubcore.serving
    def file_size(self, path: hubcore.FilePath) -> int:
        """Size of a file on this machine (refused over HTTP: the server's disk is not the caller's).

        Args:
            path: the file
        """
        return os.path.getsize(path)

    @hubcore.serving
    def crash(self) -> dict:
        """Kill the process running the module, as a crash in a native kernel would.

        The server must answer 500, start the module again and keep serving.
        """
        os.kill(os.getpid(), signal.SIGKILL)
        return {}

    @hubcore.serving
    def echo(self, data: dict) -> dict:
        """Answer the object it was sent.

        Args:
            data: any JSON object
        """
        return data

    @hubcore.serving
    def hold(self, mb: int = 1) -> dict:
        """Allocate mb MiB and keep it, as a model that grew on a huge request keeps its memory.

        Args:
            mb: how much, at most 512
        """
        if not 0 <= mb <= 512:
            raise InputError(f"mb must be between 0 and 512, got {mb}")
        self.held.append(b"\x01" * (mb << 20))  # written, so resident
        return {"pid": os.getpid(), "held_mb": sum(len(b) for b in self.held) >> 20}

    @hubcore.serving
    def stats(self) -> dict:
        """What this worker has seen: batch sizes, its pid, its device."""
        paddle = sys.modules.get("paddle")
        return {"batch_sizes": list(self.batch_sizes), "pid": os.getpid(), "device": self.device,
                "paddle_device": paddle.device.get_device() if paddle else None}
