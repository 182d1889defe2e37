"""Charts into files: SVG (for the page) and, when asked, PNG (for slides), on two cores
where safe.

Drawing and encoding are most of a report's time after its imports (eight charts of a
compare: drawing 0.6 s, SVG encoding 0.8-1.6 s, kpis.xlsx 0.3-0.45 s, on a slow hour of a
two-core machine). A forked child and this process share the charts, each drawing and
encoding the next one as it becomes free, this process doing the report's other work
(kpis.xlsx, the page's text and tables) first: the child inherits the folder's data and the
imports, so it needs nothing sent; it tells this process what it drew (name, title,
section) through a pipe, and each file is the same bytes either way (SVG ids are salted,
metadata carries no date). Charts drawn earlier (:func:`~sim.report.charts.write_charts`,
for the Python API) can be handed over as figures: the child then only encodes.

Forking is done only where it is safe and pays: Linux, more than one usable core, and no
other Python thread in this process (one holding a lock at the fork would leave the child
stuck; the live page and Dask keep threads, so they do everything in one process). The
threads numpy's BLAS starts are not counted: OpenBLAS re-initialises itself in a forked
child, and the child does no linear algebra. Anything that goes wrong with the child (no
fork, a failure, no way to wait for it, a message cut short) leaves its work to this
process, which does it again itself.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .style import Chart, save_chart

if TYPE_CHECKING:
    from ..locale import Catalogue

__all__ = ["can_fork", "write_chart_files", "Written"]


@dataclass(frozen=True)
class Written:
    """A chart written to its files: what the page needs of it (its figure may be in another process)."""

    stem: str
    title: str
    section: str
    svg: str


#: A chart to write: drawn already, or the function that draws it (None: the data have none).
ChartJob = Chart | Callable[[], Chart | None]


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


def _do(job: ChartJob, folder: Path, cat: Catalogue, png: bool) -> Written | None:
    chart = job() if callable(job) else job
    if chart is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    try:
        svg = _write(chart, folder, cat, png)
    finally:
        if callable(job):  # drawn here: nobody else holds the figure
            chart.fig.clear()
    return Written(chart.stem, chart.title, chart.section, svg)


def _take(queue: int) -> int | None:
    """The next job's index from ``queue`` (a non-blocking pipe of one byte per job, which both
    processes read: a read of one byte is atomic, so each job goes to exactly one of them);
    None once it is empty."""
    try:
        got = os.read(queue, 1)
    except BlockingIOError:
        return None
    return got[0] if got else None


def _work_through(queue: int, jobs: Sequence[ChartJob], folder: Path, cat: Catalogue, png: bool,
                  done: dict[int, Written | None]) -> None:
    while (i := _take(queue)) is not None:
        done[i] = _do(jobs[i], folder, cat, png)


def _child_work(queue: int, jobs: Sequence[ChartJob], folder: Path, cat: Catalogue, png: bool, out: int) -> None:
    """The child's share: jobs from ``queue`` until it is empty; each chart's name, title and
    section (the SVG text is in its file) go to ``out``, a pipe, once all are written."""
    done: dict[int, Written | None] = {}
    _work_through(queue, jobs, folder, cat, png, done)
    sent = [(i, None if w is None else (w.stem, w.title, w.section)) for i, w in done.items()]
    with os.fdopen(out, "wb") as pipe:
        pickle.dump(sent, pipe)


def _receive(read: int) -> list[tuple[int, tuple[str, str, str] | None]] | None:
    """What the child sent, or None if its message is missing or cut short."""
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    try:
        got = pickle.loads(data)
    except (pickle.UnpicklingError, EOFError):  # empty or cut short: the child did not finish
        return None
    return got if isinstance(got, list) else None


def _queue(order: Sequence[int]) -> int:
    """A pipe holding the job indices in ``order``, one byte each, its reading end non-blocking."""
    read, write = os.pipe()
    os.write(write, bytes(order))  # fewer than 256, far below a pipe's capacity
    os.close(write)
    os.set_blocking(read, False)
    return read


def write_chart_files(charts: Sequence[ChartJob], folder: Path, cat: Catalogue, parallel: bool | None = None,
                      png: bool = False, also: Callable[[], object] | None = None,
                      order: Sequence[int] | None = None) -> list[Written]:
    """Write each chart as ``<stem>.svg`` (and ``<stem>.png`` if ``png``, see
    :func:`~sim.report.style.save_chart`) into ``folder``; return what was written, in the
    charts' order (a job that draws nothing is left out).

    ``charts``: drawn charts, or functions that draw one (the figure of a chart drawn here is
    freed once it is written). ``also``: other work for this process, done first, while the
    child starts on the charts (kpis.xlsx: in this process, so that a child stopped half way
    never leaves a file half written). ``parallel``: share the charts with a forked child, each
    process taking the next chart as it becomes free, so that neither waits for the other for
    long whatever the charts cost (None: where :func:`can_fork`). A child that cannot be made,
    fails, cannot be waited for or sends a message cut short leaves its charts to this process.
    ``order``: the charts' indices in the order they are taken (default: as given), so that
    the costliest can go first; what is returned keeps the charts' order.
    """
    fork = (can_fork() if parallel is None else parallel) and len(charts) > 1
    if len(charts) > 255:
        raise ValueError(f"{len(charts)} charts: at most 255 at a time")
    order = list(range(len(charts)) if order is None else order)
    if sorted(order) != list(range(len(charts))):
        raise ValueError(f"order {order} is not a permutation of the {len(charts)} charts' indices")
    done: dict[int, Written | None] = {}
    if not fork:
        if also is not None:
            also()
        for i in order:
            done[i] = _do(charts[i], folder, cat, png)
        return [w for i in range(len(charts)) if (w := done[i]) is not None]
    queue = _queue(order)
    read, write = os.pipe()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)

    def work() -> None:
        os.close(read)
        _child_work(queue, charts, folder, cat, png, write)

    pid = _fork(work, mask)
    os.close(write)
    sent = None
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a signal held back over the fork arrives here
        if also is not None:
            also()
        _work_through(queue, charts, folder, cat, png, done)
        if pid is not None:
            fd, read = read, -1  # _receive closes it, whatever happens
            sent = _receive(fd)
    except BaseException:
        if pid is not None:
            _reap(pid, stop=True)
        raise
    finally:
        os.close(queue)
        if read >= 0:
            os.close(read)
    if pid is not None and _reap(pid) and sent is not None:
        for i, meta in sent:
            done[i] = None if meta is None else Written(*meta, (folder / f"{meta[0]}.svg").read_text(encoding="utf-8"))
    for i, job in enumerate(charts):  # what the child did not finish (if anything)
        if i not in done:
            done[i] = _do(job, folder, cat, png)
    return [w for i in range(len(charts)) if (w := done[i]) is not None]
