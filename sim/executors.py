"""Where replications run: local worker processes, or a Dask cluster.

Both are used through the standard :class:`concurrent.futures.Executor` interface
(``submit`` and futures), so :mod:`sim.experiment` does not know which one it is talking to.
Numbers never depend on the executor: each replication is a pure function of its scenario
and seed, and results are assembled by key, not in the order they come back.

``open_executor`` is a context manager. Leaving it normally waits for the workers; leaving
it by an exception (a Ctrl-C, a SIGTERM turned into ``KeyboardInterrupt``, a failed
replication) stops them at once, mid-replication, so an interrupt is prompt.

A local worker also stops when its parent is gone, even killed with SIGKILL (which no
handler sees): Linux is asked to signal it then (``PR_SET_PDEATHSIG``), and a watchdog
thread checks ``os.getppid()`` every second everywhere else.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["EXECUTORS", "ExecutorError", "Pool", "open_executor", "default_jobs"]

#: The executors ``--executor`` accepts.
EXECUTORS = ("local", "dask")


class ExecutorError(RuntimeError):
    """An executor could not be started (Dask not installed, scheduler unreachable...)."""


def default_jobs() -> int:
    """Worker processes when ``--jobs`` is not given: every core."""
    return os.cpu_count() or 1


@dataclass
class Pool:
    """A running executor and how many tasks it can work on at once."""

    executor: Executor
    slots: int
    description: str


def _worker_init(parent: int | None = None) -> None:
    # The parent handles Ctrl-C and SIGTERM and stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if parent is not None:
        _follow(parent)


#: prctl(2) option: the signal this process gets when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1


def _follow(parent: int) -> None:
    """End this worker when ``parent`` is no longer its parent (killed, even by SIGKILL)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # no prctl: the watchdog still runs
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before we asked
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="orgsim-parent-watchdog", daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


@contextmanager
def open_executor(kind: str = "local", jobs: int | None = None,
                  scheduler: str | None = None) -> Iterator[Pool]:
    """Start an executor; stop it on the way out (at once if leaving by an exception).

    Parameters
    ----------
    kind
        ``"local"``: worker processes on this machine (:class:`ProcessPoolExecutor`).
        ``"dask"``: a Dask cluster, ``pip install "orgsim[dask]"``.
    jobs
        Local worker processes, or the workers of a local Dask cluster (default: every core).
        With a Dask ``scheduler``, the default is the cluster's own number of threads.
    scheduler
        Address of an existing Dask scheduler (``tcp://host:8786``); without one, ``dask``
        starts a local cluster of ``jobs`` single-threaded worker processes.
    """
    if kind == "local":
        if scheduler is not None:
            raise ExecutorError("--scheduler needs --executor dask")
        with _local(jobs or default_jobs()) as pool:
            yield pool
    elif kind == "dask":
        with _dask(jobs, scheduler) as pool:
            yield pool
    else:
        raise ExecutorError(f"unknown executor {kind!r}; expected one of {', '.join(EXECUTORS)}")


@contextmanager
def _local(jobs: int) -> Iterator[Pool]:
    executor = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init, initargs=(os.getpid(),))
    _start_frozen(executor)
    try:
        yield Pool(executor, jobs, f"{jobs} local worker processes")
    except BaseException:
        # Stop the workers mid-replication: an interrupt must not wait for them to finish.
        # Only this pool's processes: a notebook's other children are none of our business.
        for proc in list((getattr(executor, "_processes", None) or {}).values()):
            proc.terminate()
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown(wait=True)


def _start_frozen(executor: ProcessPoolExecutor) -> None:
    """Start the workers with the parent's objects frozen out of their garbage collector.

    A forked worker shares the parent's memory until it writes to a page, and its collector
    writes to every object it scans: the first replications of each worker ran ~40% slower
    while it copied the parent's heap. Objects frozen before the fork are never scanned (the
    remedy :func:`gc.freeze` documents); the parent unfreezes its own once they have started.
    Where workers are not forked (spawn, forkserver) this changes nothing.
    """
    gc.freeze()
    try:
        executor.submit(int).result()  # a no-op task: every worker is started by now (fork starts them all)
    finally:
        gc.unfreeze()


@contextmanager
def _dask(jobs: int | None, scheduler: str | None) -> Iterator[Pool]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ExecutorError('the Dask executor needs Dask: pip install "orgsim[dask]"') from None
    cluster: Any = None
    try:
        if scheduler is None:
            n = jobs or default_jobs()
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
            # Ctrl-C reaches the whole process group: our own workers leave it to us.
            client.run(_worker_init)
            where = f"a local Dask cluster of {n} workers"
        else:
            client = Client(scheduler, timeout="10s")
            where = f"the Dask cluster at {scheduler}"
    except (OSError, TimeoutError, RuntimeError, ValueError, TypeError) as exc:  # ValueError: a bad address
        if cluster is not None:
            cluster.close()
        target = scheduler or "a local cluster"
        raise ExecutorError(f"cannot start the Dask executor on {target}: {exc}") from None
    except BaseException:  # interrupted while starting: do not leave workers behind
        if cluster is not None:
            cluster.close()
        raise
    executor = client.get_executor(pure=False)
    slots = jobs or max(1, sum(client.nthreads().values()))
    try:
        yield Pool(executor, slots, where)
    except BaseException:
        executor.shutdown(wait=False)  # cancels what is queued or running
        _close(client, cluster)
        raise
    executor.shutdown(wait=True)
    _close(client, cluster)


def _close(client: Any, cluster: Any) -> None:
    client.close()
    if cluster is not None:
        cluster.close()
