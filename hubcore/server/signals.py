"""Keep graceful shutdown working once paddle is imported.

Importing paddle installs C-level handlers for SIGTERM (and crash signals) that print a "FatalError"
and abort the process, which would kill requests in flight instead of letting uvicorn finish them.
After paddle appears, the Python-level handlers (uvicorn's) are installed again for SIGTERM and
SIGINT; paddle's crash handlers for SIGSEGV and friends stay, they help debugging.
"""
from __future__ import annotations

import signal
import sys
import threading

_restored = False


def restore_after_paddle() -> None:
    """Re-install Python's SIGTERM/SIGINT handlers if paddle has been imported since the last check."""
    global _restored
    if _restored or "paddle" not in sys.modules or threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        handler = signal.getsignal(sig)
        if handler is not None:
            signal.signal(sig, handler)
    _restored = True
