"""What reading one weight file may cost: memory and steps in proportion to the file's size.

A weight file is untrusted input. Its structure can claim far more than it holds (a shape of 2^40
elements in a 300-byte file, a shared sub-structure reused until it is exponentially large), so
every reader here charges what it is about to allocate or walk to a Budget sized from the file,
and reads the file through a BoundedFile that refuses to read past its end. Going over either is a
clear error naming the file, raised before the memory is taken or the time is spent.
"""
from __future__ import annotations

import math
import os
import pickle
import struct
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from ..errors import HubError

# A file's arrays may take this many times its size (bfloat16 is widened to float32, a storage
# may back a tensor and its transposed view), plus a fixed allowance for small files.
MEMORY_PER_FILE_BYTE = 4
MEMORY_ALLOWANCE = 16 << 20
# Steps: every pickle opcode, every element a stand-in copies, every node walked when converting.
WORK_PER_FILE_BYTE = 8
WORK_ALLOWANCE = 1 << 20
# The Python objects a pickle builds (dicts, strings, memo entries; see safe_pickle's cost table)
# may take this much: a state dict of 20,000 tiny arrays measures about 9x its size, a hostile
# file of empty sets would reach 224x.
OBJECTS_PER_FILE_BYTE = 24
OBJECTS_ALLOWANCE = 16 << 20
MAX_DEPTH = 64  # state dicts nest a handful of levels; checkpoints a few more
MAX_RANK = 32  # numpy allows 64 dimensions; real weights have at most ~8

# Exceptions a parser of a damaged file raises from the standard library or numpy: turned into the
# reader's own error, naming the file.
READ_ERRORS = (pickle.UnpicklingError, struct.error, EOFError, ValueError, TypeError, AttributeError, IndexError,
               KeyError, OverflowError)


class Budget:
    """Memory (bytes) and work (steps) a file of `size` bytes may cost to read; raises `error` past either."""

    def __init__(self, path: str | Path, size: int, error: type[HubError]) -> None:
        self.path = Path(path)
        self.size = size
        self.error = error
        self.memory_limit = MEMORY_PER_FILE_BYTE * size + MEMORY_ALLOWANCE
        self.work_limit = WORK_PER_FILE_BYTE * size + WORK_ALLOWANCE
        self.objects_limit = OBJECTS_PER_FILE_BYTE * size + OBJECTS_ALLOWANCE
        self.memory = 0
        self.objects = 0
        self.work = 0

    @classmethod
    def for_file(cls, path: str | Path, error: type[HubError]) -> "Budget":
        return cls(path, os.path.getsize(path), error)

    def spend_memory(self, nbytes: int, what: str) -> None:
        self.memory += nbytes
        if self.memory > self.memory_limit:
            raise self.error(
                f"{self.path}: {what} would take reading it past {self.memory_limit} bytes of memory, more "
                f"than a file of {self.size} bytes can need ({MEMORY_PER_FILE_BYTE}x its size + "
                f"{MEMORY_ALLOWANCE >> 20} MiB); it claims data it does not contain (corrupt or hostile file)")

    def spend_objects(self, nbytes: int) -> None:
        self.objects += nbytes
        if self.objects > self.objects_limit:
            raise self.error(
                f"{self.path}: the objects its pickle builds would take past {self.objects_limit} bytes of memory, "
                f"more than a file of {self.size} bytes can need ({OBJECTS_PER_FILE_BYTE}x its size + "
                f"{OBJECTS_ALLOWANCE >> 20} MiB); corrupt or hostile file")

    def spend_work(self, steps: int = 1) -> None:
        self.work += steps
        if self.work > self.work_limit:
            raise self.error(
                f"{self.path}: reading it takes more than {self.work_limit} steps, more than a file of "
                f"{self.size} bytes can need ({WORK_PER_FILE_BYTE} per byte + {WORK_ALLOWANCE}); its structure "
                f"reuses shared parts over and over (corrupt or hostile file)")

    def fail(self, what: str) -> HubError:
        return self.error(f"{self.path}: {what}")


class BoundedFile:
    """A binary file opened for reading that refuses any read reaching past its end, before allocating it."""

    def __init__(self, f: BinaryIO, size: int, budget: Budget) -> None:
        self._f = f
        self._size = size
        self._budget = budget
        self.pos = 0

    @property
    def left(self) -> int:
        return self._size - self.pos

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.left
        if n > self.left:
            raise self._budget.fail(f"a field at byte {self.pos} claims {n} bytes but only {self.left} remain; "
                                    f"the file is truncated or corrupt")
        data = self._f.read(n)
        self.pos += len(data)
        return data

    def readline(self) -> bytes:
        data = self._f.readline(self.left)
        self.pos += len(data)
        if not data.endswith(b"\n"):  # a pickle's text fields end in a newline: this one is cut short
            raise self._budget.fail(f"a text field runs to the end of the file at byte {self.pos}; the file is "
                                    f"truncated")
        return data

    def read_exact(self, n: int, what: str) -> bytes:
        if n < 0 or n > self.left:
            raise self._budget.fail(f"{what} at byte {self.pos} claims {n} bytes but only {self.left} remain; "
                                    f"the file is truncated or corrupt")
        data = self.read(n)
        if len(data) != n:
            raise self._budget.fail(f"truncated file: wanted {n} bytes of {what}, got {len(data)}")
        return data


def describe(value: Any) -> str:
    """A short, bounded description of a value from a hostile file (repr of a crafted structure can take forever)."""
    if isinstance(value, (str, bytes)):
        return repr(value[:60]) + ("..." if len(value) > 60 else "")
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return str(value) if value.bit_length() <= 64 else f"a {value.bit_length()}-bit integer"
    if isinstance(value, float):
        return repr(value)
    return f"a {type(value).__name__}"


def shape_numel(shape: Any, fail: Any) -> tuple[tuple[int, ...], int]:
    """(shape as a tuple of ints, element count) of a shape read from a file; `fail(message)` builds the error."""
    if not isinstance(shape, (tuple, list)):
        raise fail(f"an array shape is {describe(shape)}, not a tuple of sizes")
    if len(shape) > MAX_RANK:
        raise fail(f"an array claims {len(shape)} dimensions (at most {MAX_RANK} are accepted)")
    if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 1 << 63 for d in shape):
        raise fail(f"an array shape holds {', '.join(describe(d) for d in shape)}: not all sizes are integers "
                   f"from 0 to 2**63")
    return tuple(shape), math.prod(shape)  # Python ints: numpy's int64 product wraps around


@contextmanager
def naming(path: str | Path, error: type[HubError], what: str) -> Iterator[None]:
    """Errors raised while reading `path` name it; a standard-library error becomes `error` saying the file is damaged."""
    try:
        yield
    except HubError as exc:
        if str(path) in str(exc):
            raise
        raise type(exc)(f"{path}: {exc}") from None
    except READ_ERRORS as exc:
        detail = "a name or index it refers to is missing" if isinstance(exc, KeyError) else f"{exc}"[:300]
        raise error(f"{path} is not a readable {what}: {type(exc).__name__}: {detail}; the file is damaged "
                    f"or not what its name says") from None
