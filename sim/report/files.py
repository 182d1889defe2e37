"""Drawn charts into files: SVG (for the page) and, when asked, PNG (for slides), on two
cores where safe.

Encoding is much of a report's time (eight charts of a compare: SVG 0.8-0.95 s of about
3 s; PNG, when asked for, 1.4 s more). The figures are drawn before this runs, so a forked
child can encode every other chart while this process encodes the rest: the child inherits
the figures and only saves them, and each file is the same bytes either way (SVG ids are
salted, metadata carries no date). Forking is done only where it is safe and pays: Linux,
more than one usable core, and no other Python thread in this process (one holding a lock at
the fork would leave the child stuck; the live page and Dask keep threads, so they encode in
one process). The threads numpy's BLAS starts are not counted: OpenBLAS re-initialises
itself in a forked child, and the child does no linear algebra. Anything that goes wrong
with the child (no fork, a failure, no way to wait for it) leaves its charts to this process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .style import Chart, save_chart

if TYPE_CHECKING:
    from ..locale import Catalogue

__all__ = ["can_fork", "write_chart_files"]


def can_fork() -> bool:
    """Whether a forked child may encode charts beside this process."""
    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return False
    return len(os.sched_getaffinity(0)) > 1


#: What this process or the child does for one chart (a name of its own for the tests to wrap).
_write = save_chart


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _fork(work: Callable[[], object], mask: set[int | signal.Signals]) -> int | None:
    """Run ``work`` in a forked child; its exit status says whether it finished. None if no
    child could be made. The caller holds Ctrl-C and SIGTERM back over the fork (``mask``:
    the signal mask before that): the child dies of them (default handlers) instead of
    running the parent's handlers and cleanup, and the parent takes them only once it can
    stop the child.
    """
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns of any other OS thread (numpy's BLAS): see the module's docstring.
            warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
            pid = os.fork()
    except OSError:  # no process to be had (EAGAIN, ENOMEM): this process writes every chart
        return None
    if pid == 0:  # the child: never return into the parent's code, never run its exit handlers
        code = 1
        try:
            for sig in _SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            work()
            code = 0
        finally:
            os._exit(code)
    return pid


def _reap(pid: int, stop: bool = False) -> bool:
    """Wait for child ``pid`` (killed first if ``stop``); True if it finished its work."""
    if stop:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored): its files cannot be trusted
        return False
    except BaseException:
        if not stop:
            _reap(pid, stop=True)
        raise
    return os.waitstatus_to_exitcode(status) == 0


def write_chart_files(charts: list[Chart], folder: Path, cat: Catalogue,
                      parallel: bool | None = None, png: bool = False) -> dict[str, str]:
    """Write each chart as ``<stem>.svg`` (and ``<stem>.png`` if ``png``, see
    :func:`~sim.report.style.save_chart`) into ``folder``; return each chart's SVG text by
    stem, in the charts' order.

    ``parallel``: encode every other chart in a forked child (None: where :func:`can_fork`).
    A child that cannot be made, fails or cannot be waited for leaves its charts to this
    process, which encodes them itself.
    """
    folder.mkdir(parents=True, exist_ok=True)
    fork = can_fork() if parallel is None else parallel
    theirs = charts[1::2] if fork and len(charts) > 1 else []
    pid, mask = None, set[int | signal.Signals]()
    if theirs:
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        pid = _fork(lambda: [_write(c, folder, cat, png) for c in theirs], mask)
    texts: dict[str, str] = {}
    try:
        if theirs:  # a signal held back over the fork arrives here, where the child can be stopped
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if pid is None:
            theirs = []
        for chart in charts[0::2] if theirs else charts:
            texts[chart.stem] = _write(chart, folder, cat, png)
    except BaseException:
        if pid is not None:
            _reap(pid, stop=True)
        raise
    if pid is not None:
        finished = _reap(pid)
        for chart in theirs:
            texts[chart.stem] = ((folder / f"{chart.stem}.svg").read_text(encoding="utf-8") if finished
                                 else _write(chart, folder, cat, png))
    return {chart.stem: texts[chart.stem] for chart in charts}
