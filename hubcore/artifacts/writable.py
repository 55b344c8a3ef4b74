"""One clear error for every failed write into the cache, naming HUB_HOME and what to do about it."""
from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from typing import Iterator

from ..errors import CacheNotWritable
from ..settings import hub_home

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_REFUSED = {errno.EACCES, errno.EPERM, errno.EROFS}


def _in_cache(filename: object) -> bool:
    if filename is None:  # write() and fsync() name no file; their file is the one being written
        return True
    root = os.path.realpath(hub_home())
    real = os.path.realpath(os.fsdecode(filename))  # type: ignore[arg-type]
    return real == root or real.startswith(root + os.sep)


def not_writable(exc: OSError, what: str) -> CacheNotWritable:
    """The error for exc, an OSError met while writing what into the cache."""
    root = hub_home()
    where = exc.filename or root
    if exc.errno in _FULL:
        todo = (f"free space there (`hub cache clear [MODULE]`; `hub cache verify --remove` deletes leftovers of "
                f"interrupted runs) or set HUB_HOME to a folder on a disk with room")
    else:
        todo = (f"make it writable for this user, or set HUB_HOME to a writable folder. A read-only cache still "
                f"serves what it holds: fill it with `hub download MODULE` as a user who can write it")
    return CacheNotWritable(f"cannot write to the artifact cache ({what}): {where}: {exc.strerror or exc}. "
                            f"The cache is HUB_HOME={root}; {todo}")


def is_cache_write_failure(exc: OSError) -> bool:
    return exc.errno in _FULL | _REFUSED and _in_cache(exc.filename)


@contextmanager
def writing_cache(what: str) -> Iterator[None]:
    """Turn an OSError that says the cache refused a write into CacheNotWritable; others pass unchanged."""
    try:
        yield
    except OSError as exc:
        if is_cache_write_failure(exc):
            raise not_writable(exc, what) from None
        raise
