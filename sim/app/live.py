"""Replications as they finish, for the live page: a view, a cache and a runner.

No simulation logic here: a :class:`View` resolves its designs with
:func:`sim.scenario.load_scenario` (``extends:`` and ``--set`` overrides, the CLI's loader and
messages), the :class:`Runner` calls :func:`sim.compare` one replication index at a time
(``replications=[r]``, with its progress callback), and :func:`assemble` puts the finished
replications together with :func:`sim.stats.summarize` and :func:`sim.stats.paired_differences`.
Replication ``r`` of a design has the seed it has in ``orgsim compare --reps N``, so the page's
numbers after ``n`` replications are the numbers of ``orgsim compare --reps n``.

Each finished replication is kept in a :class:`Cache` keyed by the resolved scenario (its
canonical JSON, less its name and description, which do not change a number), the root seed
and the replication index: a lever moved back, or a design shared by two views, is not run
again. A new view cancels the runner's previous one at the end of the replication in flight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..experiment import Results
from ..plan import check_designs
from ..report.folder import scenario_hash
from ..scenario import load_scenario
from ..schema import Scenario
from ..stats import paired_differences, summarize
from ..streams import replication_seed
from .levers import is_shared

__all__ = ["View", "Cache", "Runner", "Job", "assemble", "scenario_key", "WHATIF_SUFFIX"]

#: The edited design's name when it has changes (it may be the baseline's file).
WHATIF_SUFFIX = "_whatif"
_TABLES = ("replications", "funnel", "survival", "arr")


def scenario_key(scn: Scenario) -> str:
    """The cache key of a resolved scenario: what it simulates, not what it is called."""
    return scenario_hash(scn.model_dump(mode="json", exclude={"extends", "name", "description"}))


@dataclass(frozen=True)
class View:
    """What the page shows: a baseline, the design being edited (with ``sets``), others as they are.

    ``sets`` are ``--set`` strings; those under ``market.`` and ``simulation.`` are the common
    market and apply to every design, the others to the edited design only.
    """

    baseline: Path
    design: Path
    others: tuple[Path, ...] = ()
    sets: tuple[str, ...] = ()
    reps: int = 10

    @property
    def shared_sets(self) -> list[str]:
        return [s for s in self.sets if is_shared(s.partition("=")[0].strip())]

    @property
    def own_sets(self) -> list[str]:
        return [s for s in self.sets if not is_shared(s.partition("=")[0].strip())]

    def scenarios(self) -> list[Scenario]:
        """The designs of the view, baseline first, resolved and validated (ScenarioError)."""
        shared = self.shared_sets
        base = load_scenario(self.baseline, shared)
        edited = load_scenario(self.design, [*shared, *self.own_sets])
        if self.own_sets or self.design.resolve() == self.baseline.resolve():
            edited = edited.model_copy(update={"name": edited.name + WHATIF_SUFFIX})
        out = [base, edited]
        for path in self.others:
            if path.resolve() in (self.baseline.resolve(), self.design.resolve()):
                continue
            out.append(load_scenario(path, shared))
        check_designs("app", out)
        return out


class Cache:
    """Finished replications: (scenario key, root seed, replication) -> its rows of each table."""

    def __init__(self, limit: int = 20_000):
        self._data: dict[tuple[str, int, int], dict[str, pd.DataFrame]] = {}
        self._lock = threading.Lock()
        self.limit = limit
        self.hits = 0
        self.misses = 0

    def get(self, key: str, seed: int, rep: int) -> dict[str, pd.DataFrame] | None:
        with self._lock:
            return self._data.get((key, seed, rep))

    def has(self, key: str, seed: int, rep: int) -> bool:
        with self._lock:
            return (key, seed, rep) in self._data

    def put(self, key: str, seed: int, rep: int, tables: dict[str, pd.DataFrame]) -> None:
        with self._lock:
            if len(self._data) >= self.limit:  # the oldest first: dicts keep insertion order
                self._data.pop(next(iter(self._data)))
            self._data[(key, seed, rep)] = tables

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)


def _store(results: Results, cache: Cache, seed: int, rep: int) -> None:
    for scn in results.scenarios:
        tables = {}
        for name in _TABLES:
            df: pd.DataFrame = getattr(results, name)
            tables[name] = df[(df.scenario == scn.name) & (df.replication == rep)].reset_index(drop=True)
        cache.put(scenario_key(scn), seed, rep, tables)


def assemble(scenarios: list[Scenario], cache: Cache, seed: int, reps: int,
             meta: dict[str, Any] | None = None) -> Results | None:
    """The results of the first ``reps`` replications of every design, from the cache, as
    :func:`sim.compare` would return them; None while any of them is missing."""
    keys = [scenario_key(s) for s in scenarios]
    parts: dict[str, list[pd.DataFrame]] = {t: [] for t in _TABLES}
    for scn, key in zip(scenarios, keys):
        for r in range(reps):
            tables = cache.get(key, seed, r)
            if tables is None:
                return None
            for t in _TABLES:
                parts[t].append(tables[t].assign(scenario=scn.name))
    if reps < 1:
        return None
    frames = {t: pd.concat(parts[t], ignore_index=True) for t in _TABLES}
    names = [s.name for s in scenarios]
    rows = frames["replications"]
    return Results(
        scenarios=list(scenarios), replications=rows, summary=summarize(rows),
        paired=paired_differences(rows, names[0]) if len(names) > 1 else None,
        funnel=frames["funnel"], survival=frames["survival"], arr=frames["arr"],
        meta={"seed": seed, "reps": reps, "jobs": None, "executor": "local",
              "replication_seeds": [replication_seed(seed, r) for r in range(reps)], **(meta or {})},
    )


@dataclass
class Job:
    """One view being computed: how far it got, and how to stop it."""

    scenarios: list[Scenario]
    seed: int
    reps: int
    started: float = field(default_factory=time.perf_counter)
    done: int = 0  # replications finished for every design (0..done-1)
    cached: int = 0  # of which were in the cache when the view started
    running: bool = True
    error: str = ""
    step: tuple[int, int] = (0, 0)  # progress inside the replication in flight
    #: Seconds from the start to the first answer (2 replications) and to the target.
    first_answer: float | None = None
    finished: float | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    version: int = 0

    def cancel(self) -> None:
        self.cancelled.set()


class Runner:
    """Runs the latest view in a background thread, a replication index (or a few) at a time.

    ``jobs``: worker processes (default: every core). Each batch is one replication of every
    design not in the cache, or, when that is fewer runs than cores, the next few replications
    of those designs. One batch runs at a time across all the runners of the process (a lock):
    two open pages share the cores instead of fighting for them. A cancelled view stops at the
    end of its batch in flight (whose replications are kept in the cache).
    """

    _lock = threading.Lock()

    def __init__(self, cache: Cache, jobs: int | None = None,
                 on_update: Callable[[Job], None] | None = None):
        self.cache = cache
        self.jobs = jobs
        self.on_update = on_update
        self.job: Job | None = None

    def start(self, scenarios: Sequence[Scenario], reps: int, seed: int | None = None) -> Job:
        """Cancel the running view and start this one; what the cache holds counts at once."""
        if self.job is not None:
            self.job.cancel()
        job = Job(list(scenarios), scenarios[0].simulation.seed if seed is None else seed, reps)
        job.done = job.cached = self._cached(job)
        self.job = job
        if job.done >= reps:
            self._finish(job)
        else:
            threading.Thread(target=self._run, args=(job,), name="orgsim-app-runner", daemon=True).start()
        return job

    def _cached(self, job: Job) -> int:
        keys = [scenario_key(s) for s in job.scenarios]
        r = 0
        while r < job.reps and all(self.cache.has(k, job.seed, r) for k in keys):
            r += 1
        return r

    def _finish(self, job: Job) -> None:
        job.running = False
        if job.finished is None:
            job.finished = time.perf_counter() - job.started
        if job.first_answer is None and job.done >= min(2, job.reps):
            job.first_answer = job.finished
        job.version += 1
        if self.on_update:
            self.on_update(job)

    def _missing(self, job: Job, r: int) -> list[Scenario]:
        # Each distinct scenario once (an unchanged what-if is its baseline's file).
        unique = {scenario_key(s): s for s in reversed(job.scenarios)}
        return [s for k, s in unique.items() if not self.cache.has(k, job.seed, r)]

    def _run(self, job: Job) -> None:
        from .. import api

        cores = self.jobs or _cores()
        try:
            r = job.done
            while r < job.reps and not job.cancelled.is_set():
                missing = self._missing(job, r)
                batch = [r]
                # Fewer designs to run than cores: run the next replications of the same designs
                # beside them (a what-if whose baseline is cached would otherwise use one core).
                while missing and len(missing) * (len(batch) + 1) <= cores and r + len(batch) < job.reps:
                    following = self._missing(job, r + len(batch))
                    if [scenario_key(s) for s in following] != [scenario_key(s) for s in missing]:
                        break
                    batch.append(r + len(batch))
                if missing:
                    def progress(done: int, total: int) -> None:
                        job.step = (done, total)
                        job.version += 1

                    with Runner._lock:
                        if job.cancelled.is_set():
                            break
                        jobs = min(len(missing) * len(batch), cores)
                        res = api.compare(missing, seed=job.seed, jobs=jobs, progress=progress, replications=batch)
                    for i in batch:
                        _store(res, self.cache, job.seed, i)
                r = batch[-1] + 1
                job.done = r
                job.step = (0, 0)
                if job.first_answer is None and job.done >= min(2, job.reps):
                    job.first_answer = time.perf_counter() - job.started
                job.version += 1
                if self.on_update:
                    self.on_update(job)
        except Exception as exc:  # a failed replication or a refused size: said on the page
            job.error = str(exc)
        finally:
            self._finish(job)


def _cores() -> int:
    import os

    return os.cpu_count() or 1
