"""Giving memory freed by a file's ingestion back to the operating system.

glibc keeps freed blocks in its arenas (one per thread that allocated, and ingestion parses in worker
threads), so the process would stay at its peak after a large file. malloc_trim returns the free pages.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


def release_free_memory() -> None:
    """Return free heap pages to the system where the C library can (glibc); elsewhere, nothing to do."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
