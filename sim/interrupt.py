"""A Ctrl-C that cannot be lost.

Python runs a signal handler between two steps of whatever code is executing, and that can be
a finalizer (a generator closed or an object freed by the garbage collector, thousands of
them at the end of a replication). An exception raised there is only reported ("Exception
ignored in ...") and the program goes on. So the command line's handler also notes the
request here, and the replication loop (:func:`sim.experiment.execute`) checks it between
replications: an interrupt stops the run at the latest when the next replication finishes.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check", "clear", "request"]

_requested = False  # set by a signal handler: process-wide by nature


def request(signum: int, frame: Any) -> None:
    """Signal handler: note the interrupt, then raise it where the program is."""
    global _requested
    _requested = True
    raise KeyboardInterrupt


def check() -> None:
    """Raise ``KeyboardInterrupt`` if an interrupt was requested (and perhaps swallowed)."""
    if _requested:
        raise KeyboardInterrupt


def clear() -> None:
    """Forget an earlier request (a new command starts)."""
    global _requested
    _requested = False
