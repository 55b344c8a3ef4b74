"""HTTP downloads with timeouts, a minimum rate, retries with exponential backoff, Range resume
and progress reports.

The body is read from the socket as it arrives (read1) and written at once, and the file is
fsync'd when an attempt ends, so every byte received before a connection drops is resumed from.
`requests` is imported inside the functions so that `import hubcore.artifacts` stays cheap.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import IO, Any, Iterator

from .. import settings
from ..errors import ArtifactNotAvailable, IntegrityError
from .progress import progress

BACKOFF_SECONDS = 0.5  # first pause between attempts; doubles each failure
BACKOFF_MAX_SECONDS = 30.0
CHUNK_BYTES = 64 * 1024  # the most one read returns; a read returns what has arrived, never waits to fill it
INDEX_PAGE_MAX_BYTES = 64 << 20  # PyPI's largest simple pages are a few MiB

NETWORK_ADVICE = ("Check the network connection; or set HUB_MIRROR to a mirror that serves the file "
                  "(HUB_INDEX_URL for pypi: sources); or fetch the file another way and install it with "
                  "`hub download MODULE --artifact NAME --from FILE`.")


def redact(url: str) -> str:
    """url without a password (index URLs may carry credentials), for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _advice(last_error: str) -> str:
    if "SSLError" in last_error or "CERTIFICATE" in last_error:
        return ("A TLS certificate could not be verified: behind an intercepting proxy, point "
                "REQUESTS_CA_BUNDLE at its CA certificate. " + NETWORK_ADVICE)
    return NETWORK_ADVICE


def _fatal_request_errors() -> tuple[type, ...]:
    import requests

    return (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema, requests.exceptions.InvalidHeader)


class _Retry(Exception):
    """One attempt failed in a way worth retrying."""


class _Stalled(_Retry):
    """The download ran below the minimum rate for a window."""


def _session() -> Any:
    import requests

    from .. import __version__

    session = requests.Session()
    session.headers["User-Agent"] = f"hubcore/{__version__}"
    return session


def _backoff(failures: int) -> None:
    time.sleep(min(BACKOFF_SECONDS * 2 ** max(failures - 1, 0), BACKOFF_MAX_SECONDS))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def download_file(url: str, dest: Path, *, expected_size: int | None, what: str) -> None:
    """Stream url into dest, resuming from the bytes already in dest (Range), retrying on failures.

    Verification is the caller's job: this only guarantees that the server's bytes were written,
    and never more than expected_size + 1 of them. An attempt that adds bytes resets the failure
    count, so a flaky link still finishes; but HUB_DOWNLOAD_RETRIES windows in a row below
    HUB_DOWNLOAD_MIN_RATE end it, whether the bytes trickle on one connection or on many.
    """
    import requests

    attempts = max(1, settings.download_retries())
    rate = _RateWindow(settings.download_min_rate(), settings.download_rate_window())
    failures, best, last = 0, _size(dest), ""
    with _session() as session:
        while True:
            try:
                _attempt(session, url, dest, expected_size, what, rate)
                return
            except _Retry as exc:
                last = str(exc)
            except _fatal_request_errors() as exc:
                raise ArtifactNotAvailable(f"cannot download {what}: {redact(url)} is not a usable URL "
                                           f"({type(exc).__name__}: {exc}); fix the artifact's source or "
                                           f"HUB_MIRROR") from None
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}: {exc}"
            now = _size(dest)
            failures = 0 if now > best else failures + 1
            best = max(best, now)
            if rate.slow_windows >= attempts:
                raise ArtifactNotAvailable(
                    f"could not download {what} from {redact(url)}: {rate.slow_windows} windows of "
                    f"HUB_DOWNLOAD_RATE_WINDOW={rate.window:g} s in a row ran below HUB_DOWNLOAD_MIN_RATE="
                    f"{rate.min_rate:g} bytes/s (last: {last}). {_advice(last)}") from None
            if failures >= attempts:
                raise ArtifactNotAvailable(
                    f"could not download {what} from {redact(url)} after {attempts} attempts without progress "
                    f"(last error: {last}). {_advice(last)}") from None
            _backoff(failures)


def _attempt(session: Any, url: str, dest: Path, expected_size: int | None, what: str, rate: "_RateWindow") -> None:
    have = _size(dest)
    if expected_size is not None and have > expected_size:
        dest.write_bytes(b"")
        have = 0
    if expected_size is not None and 0 < have == expected_size:
        return
    # identity: the sha256 is of the bytes as stored, never of a transfer-decoded variant.
    headers = {"Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    timeout = settings.download_timeout()
    with session.get(url, headers=headers, stream=True, timeout=(timeout, timeout)) as resp:
        status = resp.status_code
        if status == 416 and have:
            total = _total_from_content_range(resp.headers.get("Content-Range", ""))
            if total == have:
                return
            dest.write_bytes(b"")
            raise _Retry(f"server refused the range {have}- (HTTP 416)")
        if status in (408, 425, 429) or status >= 500:
            raise _Retry(f"HTTP {status} {resp.reason}")
        if status >= 400:
            raise ArtifactNotAvailable(f"could not download {what}: {redact(url)} answered HTTP {status} "
                                       f"{resp.reason}. {NETWORK_ADVICE}")
        if status == 206:
            start = _start_from_content_range(resp.headers.get("Content-Range", ""))
            if start != have:
                dest.write_bytes(b"")
                raise _Retry(f"server resumed at byte {start}, not {have}")
            mode = "ab"
        else:  # 200 (the server ignored Range): start over
            mode, have = "wb", 0
        length = resp.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else expected_size
        if expected_size is not None and total is not None and total > expected_size:
            dest.unlink(missing_ok=True)
            raise IntegrityError(_too_long(what, url, expected_size, f"announces {total} bytes"))
        # One byte past the declared size is enough to know the body is wrong; the rest is never stored.
        limit = None if expected_size is None else expected_size + 1 - have
        with open(dest, mode) as out, progress(total, have, what) as bar:
            got = _receive(resp.raw, out, limit, bar, rate)
        if limit is not None and got >= limit:
            dest.unlink(missing_ok=True)
            raise IntegrityError(_too_long(what, url, expected_size, f"sent more; stopped reading at "
                                                                     f"{expected_size + 1}"))
        if total is not None and have + got < total:
            raise _Retry(f"connection closed after {have + got} of {total} bytes")


def _too_long(what: str, url: str, expected_size: int, how: str) -> str:
    return (f"{what}: {redact(url)} {how}, more than the {expected_size} bytes the manifest declares; the file was "
            f"discarded. The source serves a different file (a wrong HUB_MIRROR or index, or a changed upload).")


def _receive(raw: Any, out: IO[bytes], limit: int | None, bar: Any, rate: "_RateWindow") -> int:
    """Copy the body into out as it arrives, up to limit bytes; the count copied. out is fsync'd."""
    got = 0
    try:
        for chunk in _arriving(raw, limit, rate, decode=False):
            out.write(chunk)
            got += len(chunk)
            bar.update(len(chunk))
    finally:
        out.flush()
        os.fsync(out.fileno())
    return got


def _arriving(raw: Any, limit: int | None, rate: "_RateWindow", *, decode: bool) -> Iterator[bytes]:
    """The body as it arrives (read1: what one read brings, never waiting to fill a buffer), up to limit
    bytes. A broken connection is a _Retry; the rate is checked once the consumer has kept a chunk."""
    from urllib3.exceptions import HTTPError

    got = 0
    while limit is None or got < limit:
        want = CHUNK_BYTES if limit is None else min(CHUNK_BYTES, limit - got)
        try:
            chunk = raw.read1(want, decode_content=decode)
        except (HTTPError, OSError) as exc:
            raise _Retry(f"{type(exc).__name__}: {exc}") from None
        if not chunk:
            return
        got += len(chunk)
        yield chunk
        rate.add(len(chunk))


class _RateWindow:
    """Counts the windows in a row, of `window` seconds each, that brought fewer than min_rate bytes a
    second, over all the attempts of one download; a slow window also ends the attempt it ends in.

    The read timeout only catches a silent server; this catches one that trickles a byte at a time,
    and one that sends a little on each of many connections.
    """

    def __init__(self, min_rate: float, window: float) -> None:
        self.min_rate, self.window = min_rate, window
        self.started = time.monotonic()
        self.bytes = 0
        self.slow_windows = 0

    def add(self, n: int) -> None:
        self.bytes += n
        now = time.monotonic()
        elapsed = now - self.started
        if self.min_rate <= 0 or elapsed < self.window:
            return
        received = self.bytes
        self.started, self.bytes = now, 0
        if received >= self.min_rate * elapsed:
            self.slow_windows = 0
            return
        self.slow_windows += 1
        raise _Stalled(f"{received} bytes in {elapsed:.1f} s")


def _start_from_content_range(value: str) -> int | None:
    # "bytes START-END/TOTAL"
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _total_from_content_range(value: str) -> int | None:
    try:
        return int(value.rsplit("/", 1)[1])
    except (IndexError, ValueError):
        return None


def get_text(url: str, *, headers: dict[str, str], what: str) -> tuple[str, str, str]:
    """GET a small document (an index page) with retries; return (text, content type, final URL).

    At most INDEX_PAGE_MAX_BYTES are read, under the same minimum rate as downloads.
    """
    import requests

    attempts = max(1, settings.download_retries())
    timeout = settings.download_timeout()
    last = ""
    with _session() as session:
        for failure in range(1, attempts + 1):
            try:
                with session.get(url, headers=headers, timeout=(timeout, timeout), stream=True) as resp:
                    if resp.status_code in (408, 425, 429) or resp.status_code >= 500:
                        last = f"HTTP {resp.status_code} {resp.reason}"
                    elif resp.status_code >= 400:
                        raise ArtifactNotAvailable(f"could not read {what}: {redact(url)} answered HTTP "
                                                   f"{resp.status_code} {resp.reason}. {NETWORK_ADVICE}")
                    else:
                        body = _small_body(resp, what, url)
                        return (body.decode(resp.encoding or "utf-8", "replace"),
                                resp.headers.get("Content-Type", ""), resp.url)
            except _fatal_request_errors() as exc:
                raise ArtifactNotAvailable(f"cannot read {what}: {redact(url)} is not a usable URL "
                                           f"({type(exc).__name__}: {exc}); fix HUB_INDEX_URL / "
                                           f"PIP_INDEX_URL") from None
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}: {exc}"
            except _Retry as exc:
                last = str(exc)
            if failure < attempts:
                _backoff(failure)
    raise ArtifactNotAvailable(f"could not read {what} from {redact(url)} after {attempts} attempts "
                               f"(last error: {last}). {_advice(last)}")


def _small_body(resp: Any, what: str, url: str) -> bytes:
    rate = _RateWindow(settings.download_min_rate(), settings.download_rate_window())
    body = b"".join(_arriving(resp.raw, INDEX_PAGE_MAX_BYTES + 1, rate, decode=True))
    if len(body) > INDEX_PAGE_MAX_BYTES:
        raise ArtifactNotAvailable(f"could not read {what}: {redact(url)} sent more than {INDEX_PAGE_MAX_BYTES} "
                                   f"bytes, too much for an index page; point HUB_INDEX_URL at a package index")
    return body
