"""Experiments: scenarios x replications, seeds, executors; tidy tables out.

Replication ``r`` of every scenario uses the same seed, derived from the root seed, so
all designs in a replication meet the same market (common random numbers). Results are
assembled in (scenario, replication) order, whatever order the workers finish in, so the
numbers never depend on ``jobs`` or on the executor (:mod:`sim.executors`).

:func:`execute` is the one loop that runs replications, for ``run``, ``compare``, sweeps
and sensitivity analyses alike: in this process, in local worker processes, or on Dask.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import interrupt
from .executors import default_jobs, open_executor
from .market import expected_buyers, expected_outbound
from .metrics import SURVIVAL_MONTHS, Measured, measure
from .model import simulate
from .schema import Scenario
from .stats import paired_differences, summarize
from .streams import replication_seed

__all__ = ["Results", "ReplicationError", "TooBigError", "Interrupted", "Task", "Outcome", "run_experiment",
           "check_size", "estimate", "too_large", "execute", "replicate"]

Progress = Callable[[int, int], None]

#: Rough cost of one buyer, measured on the default market (see benchmarks/).
SECONDS_PER_BUYER = 6e-5
BYTES_PER_BUYER = 1000
#: A customer's check-ins and renewals in a year: about ten events of ~40 bytes.
BYTES_PER_CUSTOMER_YEAR = 400
#: Fixed cost of a replication (start-up, measuring), and what its results take in memory.
SECONDS_PER_REPLICATION = 0.05
BYTES_PER_RESULT = 10_000
#: Without ``large=True`` (``--yes-large``), work estimated beyond any of these is refused
#: before it starts: a typo (``--reps 100000``, a tiny ``--vary`` step) must not run for days.
MAX_REPLICATIONS = 100_000
MAX_CPU_HOURS = 12.0
MAX_RESULT_BYTES = 2**30
#: Renewals and check-ins a replication may make (each a few simulated events).
MAX_CUSTOMER_EVENTS = 5e7
SECONDS_PER_EVENT = 1e-5


class ReplicationError(RuntimeError):
    """A replication failed; the message says how to reproduce it."""

    def __init__(self, scenario: str, replication: int, seed: int, detail: str, point: str | None = None):
        self.scenario, self.replication, self.seed, self.detail = scenario, replication, seed, detail
        self.point = point
        at = f" at point {point}" if point else ""
        super().__init__(
            f"replication {replication} of scenario {scenario!r}{at} failed (seed {seed}): {detail}"
        )

    def __reduce__(self) -> tuple[type, tuple[str, int, int, str, str | None]]:
        return (ReplicationError, (self.scenario, self.replication, self.seed, self.detail, self.point))


class TooBigError(ValueError):
    """A valid scenario that would need more time or memory than is sensible."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped an experiment after ``done`` of ``total`` replications."""

    def __init__(self, done: int, total: int, checkpoint: str | None = None):
        self.done, self.total, self.checkpoint = done, total, checkpoint
        super().__init__(f"interrupted after {done} of {total} replications")


@dataclass(frozen=True)
class Task:
    """One replication to run. ``key`` says where its result goes; ``point`` names it in errors."""

    key: tuple[Any, ...]
    scenario: Scenario
    replication: int
    seed: int
    point: str | None = None


@dataclass
class Outcome:
    """What a worker sends back: the KPIs and curves, and the event log when asked for."""

    measured: Measured
    events: pd.DataFrame | None = None


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
    #: Every replication month by month (``scenario, replication`` and sim.timeline.monthly's columns).
    timeline: pd.DataFrame | None = None

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]


def estimate(scenarios: Sequence[Scenario], reps: int) -> tuple[int, float, float]:
    """Replications, CPU-hours and bytes of results for ``reps`` of every scenario."""
    per_rep = sum((expected_buyers(s) + expected_outbound(s)) * SECONDS_PER_BUYER + SECONDS_PER_REPLICATION
                  for s in scenarios)
    count = len(scenarios) * reps
    return count, per_rep * reps / 3600, float(count) * BYTES_PER_RESULT


def too_large(what: str, count: int, hours: float, nbytes: float) -> str | None:
    """Why work of this size is refused without ``--yes-large`` (None: it is not)."""
    if count <= MAX_REPLICATIONS and hours <= MAX_CPU_HOURS and nbytes <= MAX_RESULT_BYTES:
        return None
    return (f"{what} would run {count:,} replications: about {hours:,.1f} CPU-hours and "
            f"{nbytes / 2**30:,.1f} GiB of results (limits without --yes-large: {MAX_REPLICATIONS:,} "
            f"replications, {MAX_CPU_HOURS:g} CPU-hours, {MAX_RESULT_BYTES / 2**30:g} GiB); "
            f"make it smaller, or add --yes-large to run it anyway")


def _customer_events_per_year(scn: Scenario) -> float:
    m = scn.market
    term = min((seg.contract_term for seg in m.segments.values()), default=365.0)
    kinds = {m.activities[a].kind for a in m.journey.retention if a in m.activities}
    return 365.0 / term + (365.0 / m.journey.checkin_interval if "checkin" in kinds else 0.0)


def check_size(scenarios: Sequence[Scenario], reps: int, large: bool = False, what: str = "this run") -> None:
    """Refuse runs that would take hours or exhaust memory, with an estimate of both.

    Each replication must fit in a worker (``simulation.max_buyers``,
    ``max_customer_years``); the whole run must fit the limits above unless ``large``.
    """
    if not large:
        problem = too_large(what, *estimate(scenarios, reps))
        if problem:
            raise TooBigError(problem)
    for scn in scenarios:
        n = expected_buyers(scn) + expected_outbound(scn)
        if n > scn.simulation.max_buyers:
            hours = n * reps * len(scenarios) * SECONDS_PER_BUYER / 3600
            gib = n * BYTES_PER_BUYER / 2**30
            raise TooBigError(
                f"scenario {scn.name!r} would create ~{n:,.0f} buyers per replication "
                f"(about {hours:,.1f} CPU-hours for {reps} replications and {gib:,.1f} GiB per "
                f"worker); raise simulation.max_buyers (e.g. --set simulation.max_buyers={int(n * 1.1)}) "
                f"to run it anyway"
            )
        years = scn.simulation.horizon / 365.0
        # If every buyer became a customer and stayed: an upper bound on customer-years.
        customer_years = n * years / 2.0
        if customer_years > scn.simulation.max_customer_years:
            hours = customer_years * reps * len(scenarios) * SECONDS_PER_BUYER / 3600
            gib = (n * BYTES_PER_BUYER + customer_years * BYTES_PER_CUSTOMER_YEAR) / 2**30
            raise TooBigError(
                f"scenario {scn.name!r} could simulate up to ~{customer_years:,.0f} customer-years per "
                f"replication ({years:,.0f} years of ~{n / years:,.0f} buyers a year; up to ~{hours:,.1f} "
                f"CPU-hours for {reps} replications and ~{gib:,.1f} GiB per worker); shorten simulation.horizon, or raise "
                f"simulation.max_customer_years (e.g. --set simulation.max_customer_years={int(customer_years * 1.1)}) "
                f"to run it anyway"
            )
        # Renewals and check-ins repeat every term or interval: a tiny one multiplies the events.
        per_year = _customer_events_per_year(scn)
        events = customer_years * per_year
        if customer_years > 0 and events > MAX_CUSTOMER_EVENTS and not large:
            hours = events * reps * len(scenarios) * SECONDS_PER_EVENT / 3600
            raise TooBigError(
                f"scenario {scn.name!r} could make ~{events:,.0f} renewals and check-ins per replication "
                f"(~{per_year:,.0f} a customer a year: a very short contract_term or checkin_interval; up to "
                f"~{hours:,.1f} CPU-hours for {reps} replications); lengthen them, or add --yes-large to run it anyway"
            )


def replicate(scn: Scenario, replication: int, seed: int, point: str | None = None,
              events: bool = False) -> Outcome:
    """Run and measure one replication (in a worker); a failure names what reproduces it."""
    try:
        res = simulate(scn, seed)
        log = None
        if events:
            log = res.events.assign(scenario=scn.name, replication=replication, seed=seed)
        return Outcome(measure(res), log)
    except Exception as exc:  # reported with what reproduces it
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        raise ReplicationError(scn.name, replication, seed, detail, point) from exc


def execute(tasks: Sequence[Task], on_result: Callable[[Task, Outcome], None], *,
            jobs: int | None = None, executor: str = "local", scheduler: str | None = None,
            events: bool = False, progress: Progress | None = None, done_before: int = 0) -> None:
    """Run every task and hand each outcome to ``on_result`` as it arrives, in this process.

    At most a few tasks per worker are in flight, so memory does not grow with the number
    of tasks. ``on_result`` is called in completion order: callers key results by
    ``task.key``, never by arrival. ``done_before`` counts replications finished earlier
    (a resumed sweep) in ``progress(done, total)`` and in :class:`Interrupted`.

    Raises
    ------
    ReplicationError
        The first replication that failed; the others are stopped.
    Interrupted
        On Ctrl-C (or SIGTERM, which the CLI turns into ``KeyboardInterrupt``).
    """
    total = done_before + len(tasks)
    done = done_before

    def finished(task: Task, outcome: Outcome) -> None:
        nonlocal done
        on_result(task, outcome)
        done += 1
        if progress:
            progress(done, total)

    try:
        if not tasks:
            return
        if progress and done_before:
            progress(done, total)
        # Never more workers than tasks (--jobs 1000 for 30 replications starts 30).
        if scheduler is None:
            jobs = min(jobs or default_jobs(), len(tasks))
            if executor == "local" and jobs <= 1:
                for t in tasks:
                    finished(t, replicate(t.scenario, t.replication, t.seed, t.point, events))
                    interrupt.check()
                return
        with open_executor(executor, jobs, scheduler) as pool:
            _drain(pool.executor, iter(tasks), 2 * pool.slots, events, finished)
    except KeyboardInterrupt:
        raise Interrupted(done, total) from None


def _drain(executor: Any, tasks: Iterator[Task], window: int, events: bool,
           finished: Callable[[Task, Outcome], None]) -> None:
    inflight: dict[Future[Outcome], Task] = {}

    def fill() -> None:
        while len(inflight) < window:
            t = next(tasks, None)
            if t is None:
                return
            inflight[executor.submit(replicate, t.scenario, t.replication, t.seed, t.point, events)] = t

    fill()
    while inflight:
        done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
        for fut in done:
            task = inflight.pop(fut)
            try:
                outcome = fut.result()  # re-raises a ReplicationError
            except ReplicationError:
                raise
            except Exception as exc:  # the worker itself died, or could not load orgsim
                detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                raise ReplicationError(task.scenario.name, task.replication, task.seed,
                                       f"the worker failed: {detail}", task.point) from exc
            finished(task, outcome)
        interrupt.check()
        fill()


def run_experiment(
    scenarios: Sequence[Scenario],
    reps: int | None = None,
    seed: int | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    large: bool = False,
    replications: Sequence[int] | None = None,
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
    executor, scheduler
        ``"local"`` processes, or ``"dask"`` (a local cluster, or the one at ``scheduler``);
        see :func:`sim.executors.open_executor`. The numbers are the same on every executor.
    large
        Run even when the estimate exceeds the limits of :func:`check_size` (``--yes-large``).
    replications
        Which replications to run (default: ``range(reps)``): replication ``r`` is the same
        whichever others run with it, so a run of ``[2, 3]`` adds to an earlier run of
        ``[0, 1]`` exactly what a run of four would have (the live page, :mod:`sim.app`).
    """
    first = scenarios[0].simulation
    seed = first.seed if seed is None else seed
    if replications is None:
        reps = first.reps if reps is None else reps
        replications = range(reps)
    else:
        replications = sorted(set(replications))
        if not replications or replications[0] < 0:
            raise ValueError("replications: expected one or more indices >= 0")
        reps = len(replications)
    if jobs is None and executor == "local":
        jobs = default_jobs()
    check_size(scenarios, reps, large)
    tasks = [Task((i, r), scenarios[i], r, replication_seed(seed, r)) for i in range(len(scenarios))
             for r in replications]
    started = time.perf_counter()
    outcomes: dict[tuple[Any, ...], Measured] = {}

    def keep(task: Task, outcome: Outcome) -> None:
        outcomes[task.key] = outcome.measured

    execute(tasks, keep, jobs=jobs, executor=executor, scheduler=scheduler, progress=progress)
    elapsed = time.perf_counter() - started
    results = _assemble(list(scenarios), tasks, outcomes)
    results.meta = {"seed": seed, "reps": reps, "jobs": jobs, "executor": executor,
                    "simulate_seconds": round(elapsed, 3),
                    "replication_seeds": [replication_seed(seed, r) for r in replications]}
    return results


def _assemble(scenarios: list[Scenario], tasks: list[Task],
              outcomes: dict[tuple[Any, ...], Measured]) -> Results:
    rows, funnel, survival, arr, months = [], [], [], [], []
    for t in tasks:
        i, r, s = t.key[0], t.replication, t.seed
        m = outcomes[t.key]
        name = scenarios[i].name
        rows.append({"scenario": name, "replication": r, "seed": s, **m.kpis})
        funnel += [(name, r, step, n) for step, n in m.funnel.items()]
        survival += [(name, r, int(mo), v) for mo, v in zip(SURVIVAL_MONTHS, m.survival)]
        arr += [(name, r, mo + 1, v) for mo, v in enumerate(m.arr_by_month)]
        if m.timeline is not None:
            months.append(m.timeline.assign(scenario=name, replication=r))
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
        timeline=_timeline(months),
    )


def _timeline(months: list[pd.DataFrame]) -> pd.DataFrame | None:
    """The replications' monthly tables as one, ``scenario`` and ``replication`` first."""
    if not months:
        return None
    table = pd.concat(months, ignore_index=True)
    return table[["scenario", "replication", *[c for c in table.columns if c not in ("scenario", "replication")]]]
