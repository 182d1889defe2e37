"""Handing freed memory back to the operating system while a replication's tables are built.

The ledger and the event log hold a large run in thousands of small typed pieces; building a
table frees them column by column. The C allocator keeps small freed blocks for reuse instead
of returning them, so without a nudge the process would hold the pieces and the finished table
at once: its peak grew by the whole table (measured: 73 MB at 300,000 buyers). glibc's
``malloc_trim`` returns the free pages; elsewhere (macOS, musl) nothing is done.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

__all__ = ["release"]

#: Below this many bytes freed, trimming is not worth its cost (about a millisecond).
WORTH_TRIMMING = 2**20


def _find_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (ImportError, OSError, AttributeError):  # no ctypes, or not glibc (musl has no malloc_trim)
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    found: Callable[[int], int] = trim
    return found


_TRIM = _find_trim()


def release(freed: int) -> None:
    """``freed`` bytes of small blocks were just freed: return free pages to the system when it
    is worth it, so the next large array does not add to the peak."""
    if _TRIM is not None and freed >= WORTH_TRIMMING:
        _TRIM(0)
