"""Experiments: scenarios x replications, seeds, executors; tidy tables out.

Replication ``r`` of every scenario uses the same seed, derived from the root seed, so
all designs in a replication meet the same market (common random numbers). Results are
assembled in (scenario, replication) order, whatever order the workers finish in, so the
numbers never depend on ``jobs``.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .market import expected_buyers
from .metrics import SURVIVAL_MONTHS, Measured, measure
from .model import simulate
from .schema import Scenario
from .stats import paired_differences, summarize
from .streams import replication_seed

__all__ = ["Results", "ReplicationError", "TooBigError", "run_experiment", "check_size"]

Progress = Callable[[int, int], None]

#: Rough cost of one buyer, measured on the default market (see benchmarks/).
SECONDS_PER_BUYER = 6e-5
BYTES_PER_BUYER = 1000


class ReplicationError(RuntimeError):
    """A replication failed; the message says how to reproduce it."""

    def __init__(self, scenario: str, replication: int, seed: int, detail: str):
        self.scenario, self.replication, self.seed, self.detail = scenario, replication, seed, detail
        super().__init__(
            f"replication {replication} of scenario {scenario!r} failed (seed {seed}): {detail}"
        )


    def __reduce__(self) -> tuple[type, tuple[str, int, int, str]]:
        return (ReplicationError, (self.scenario, self.replication, self.seed, self.detail))


class TooBigError(ValueError):
    """A valid scenario that would need more time or memory than is sensible."""


@dataclass
class Results:
    """Everything an experiment produced, as tidy DataFrames."""

    scenarios: list[Scenario]
    replications: pd.DataFrame
    summary: pd.DataFrame
    paired: pd.DataFrame | None
    funnel: pd.DataFrame
    survival: pd.DataFrame
    arr: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]


def check_size(scenarios: Sequence[Scenario], reps: int) -> None:
    """Refuse runs that would take hours or exhaust memory, with an estimate of both."""
    for scn in scenarios:
        n = expected_buyers(scn)
        if n > scn.simulation.max_buyers:
            hours = n * reps * len(scenarios) * SECONDS_PER_BUYER / 3600
            gib = n * BYTES_PER_BUYER / 2**30
            raise TooBigError(
                f"scenario {scn.name!r} would create ~{n:,.0f} buyers per replication "
                f"(about {hours:,.1f} CPU-hours for {reps} replications and {gib:,.1f} GiB per "
                f"worker); raise simulation.max_buyers (e.g. --set simulation.max_buyers={int(n * 1.1)}) "
                f"to run it anyway"
            )


def _one(scn: Scenario, replication: int, seed: int) -> Measured:
    try:
        return measure(simulate(scn, seed))
    except Exception as exc:  # reported with what reproduces it
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        raise ReplicationError(scn.name, replication, seed, detail) from exc


def run_experiment(
    scenarios: Sequence[Scenario],
    reps: int | None = None,
    seed: int | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> Results:
    """Run every scenario for ``reps`` replications and summarize.

    Parameters
    ----------
    scenarios
        The designs; the first is the baseline for paired differences.
    reps, seed
        Default to the first scenario's ``simulation.reps`` and ``simulation.seed``.
    jobs
        Worker processes (default: all cores); 1 runs in this process.
    progress
        Called as ``progress(done, total)`` after each replication.
    """
    first = scenarios[0].simulation
    reps = first.reps if reps is None else reps
    seed = first.seed if seed is None else seed
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    check_size(scenarios, reps)
    tasks = [(i, r, replication_seed(seed, r)) for i in range(len(scenarios)) for r in range(reps)]
    started = time.perf_counter()
    outcomes: dict[tuple[int, int], Measured] = {}
    if jobs <= 1 or len(tasks) == 1:
        for i, r, s in tasks:
            outcomes[(i, r)] = _one(scenarios[i], r, s)
            if progress:
                progress(len(outcomes), len(tasks))
    else:
        _run_pool(scenarios, tasks, min(jobs, len(tasks)), outcomes, progress)
    elapsed = time.perf_counter() - started
    results = _assemble(list(scenarios), tasks, outcomes)
    results.meta = {"seed": seed, "reps": reps, "jobs": jobs, "simulate_seconds": round(elapsed, 3),
                    "replication_seeds": [replication_seed(seed, r) for r in range(reps)]}
    return results


def _worker_init() -> None:
    # The parent handles Ctrl-C and SIGTERM and stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run_pool(scenarios: Sequence[Scenario], tasks: list[tuple[int, int, int]], jobs: int,
              outcomes: dict[tuple[int, int], Measured], progress: Progress | None) -> None:
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init)
    try:
        futures: dict[Future, tuple[int, int]] = {
            pool.submit(_one, scenarios[i], r, s): (i, r) for i, r, s in tasks
        }
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for fut in done:
                outcomes[futures[fut]] = fut.result()  # re-raises a ReplicationError
                if progress:
                    progress(len(outcomes), len(tasks))
    except BaseException:
        # Stop the workers mid-replication: an interrupt must not wait for them to finish.
        for proc in multiprocessing.active_children():
            proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _assemble(scenarios: list[Scenario], tasks: list[tuple[int, int, int]],
              outcomes: dict[tuple[int, int], Measured]) -> Results:
    rows, funnel, survival, arr = [], [], [], []
    for i, r, s in tasks:
        m = outcomes[(i, r)]
        name = scenarios[i].name
        rows.append({"scenario": name, "replication": r, "seed": s, **m.kpis})
        funnel += [(name, r, step, n) for step, n in m.funnel.items()]
        survival += [(name, r, int(mo), v) for mo, v in zip(SURVIVAL_MONTHS, m.survival)]
        arr += [(name, r, mo + 1, v) for mo, v in enumerate(m.arr_by_month)]
    reps = pd.DataFrame(rows)
    names = [s.name for s in scenarios]
    return Results(
        scenarios=scenarios,
        replications=reps,
        summary=summarize(reps),
        paired=paired_differences(reps, names[0]) if len(names) > 1 else None,
        funnel=pd.DataFrame(funnel, columns=["scenario", "replication", "step", "buyers"]),
        survival=pd.DataFrame(survival, columns=["scenario", "replication", "month", "share_active"]),
        arr=pd.DataFrame(arr, columns=["scenario", "replication", "month", "arr"]).astype({"arr": np.float64}),
    )
