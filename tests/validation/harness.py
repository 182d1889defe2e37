"""Run replications of a validation scenario and read queue statistics off the event log.

The event log (``SimResult.events``) has one row per event: ``time`` (days), ``buyer``,
``event``, ``role``, ``activity``, ``value``. A role queue is seen through three events:
``queue`` (joins the queue), ``start`` (work begins; ``value`` = wait in days) and
``renege`` (leaves unserved; ``value`` = wait before leaving, days).

Replications run in worker processes (one per core, at most ``reps``); set
``ORGSIM_VALIDATION_JOBS=1`` to run them in the test process. Their seeds derive from the
scenario's ``simulation.seed``; set ``ORGSIM_VALIDATION_SEED`` to rerun every check on fresh
random numbers (the checks use simultaneous confidence intervals, so a correct engine must
pass them for any seed, bar the nominal 1% per test module).
"""

from __future__ import annotations

import itertools
import os
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim import Scenario, SimResult

__all__ = [
    "SHIPPED",
    "VALIDATION",
    "LittleTerms",
    "little_terms",
    "load",
    "replicate",
    "replicate_each",
    "replication_seeds",
    "time_average_waiting",
    "utilization",
    "visits",
    "waits_started_in",
]

ROOT = Path(__file__).resolve().parents[2]
#: The validation scenarios (this folder's twin under scenarios/).
VALIDATION = ROOT / "scenarios" / "validation"
#: The shipped designs under scenarios/ (``market.yaml`` is abstract: a market, not a design).
SHIPPED = sorted(p for p in (ROOT / "scenarios").glob("*.yaml") if p.name != "market.yaml")

Statistic = Callable[[SimResult], dict[str, float]]


def load(name: str, overrides: Sequence[str] = ()) -> Scenario:
    """Load ``scenarios/validation/<name>`` with ``key.path=value`` overrides."""
    return sim.load_scenario(VALIDATION / name, list(overrides))


def replication_seeds(root: int, reps: int, key: str = "") -> list[int]:
    """``reps`` independent 63-bit seeds derived from ``root`` and ``key``.

    ``ORGSIM_VALIDATION_SEED``, when set, replaces ``root``. Each check passes its own
    ``key`` (its case name), so different checks do not share random numbers: their
    verdicts are independent evidence.
    """
    root = int(os.environ.get("ORGSIM_VALIDATION_SEED", root))
    seq = np.random.SeedSequence(root, spawn_key=(zlib.crc32(key.encode("utf-8")),))
    return [int(s >> np.uint64(1)) for s in seq.generate_state(reps, dtype=np.uint64)]


def _one(scn: Scenario, seed: int, statistic: Statistic) -> dict[str, float]:
    return {"seed": seed, **statistic(sim.simulate(scn, seed))}


def replicate(scn: Scenario, statistic: Statistic, reps: int | None = None, key: str = "") -> pd.DataFrame:
    """Simulate ``reps`` independent replications and apply ``statistic`` to each.

    Parameters
    ----------
    scn
        The scenario (its ``simulation.reps`` and ``simulation.seed`` are the defaults).
    statistic
        A picklable function (module level, or a ``functools.partial`` of one) mapping a
        replication's result to named numbers.
    reps
        Number of replications.
    key
        Names the check, to derive its own seeds (see :func:`replication_seeds`).

    Returns
    -------
    pandas.DataFrame
        One row per replication: ``seed`` and the statistic's columns, in seed order.
    """
    return replicate_each([scn], statistic, reps, [key])[0]


def replicate_each(scenarios: Sequence[Scenario], statistic: Statistic, reps: int | None = None,
                   keys: Sequence[str] | None = None) -> list[pd.DataFrame]:
    """:func:`replicate` for several scenarios at once, sharing the worker processes."""
    keys = list(keys) if keys is not None else [""] * len(scenarios)
    counts = [scn.simulation.reps if reps is None else reps for scn in scenarios]
    scns: list[Scenario] = []
    seeds: list[int] = []
    for scn, key, n in zip(scenarios, keys, counts, strict=True):
        scns += [scn] * n
        seeds += replication_seeds(scn.simulation.seed, n, key or scn.name)
    jobs = int(os.environ.get("ORGSIM_VALIDATION_JOBS", os.cpu_count() or 1))
    jobs = max(1, min(jobs, len(seeds)))
    if jobs == 1:
        rows = [_one(scn, seed, statistic) for scn, seed in zip(scns, seeds)]
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            rows = list(pool.map(_one, scns, seeds, [statistic] * len(seeds)))
    bounds = itertools.accumulate(counts, initial=0)
    return [pd.DataFrame(rows[a:b]) for a, b in itertools.pairwise(bounds)]


# ------------------------------------------------------------------------------ event log


def visits(events: pd.DataFrame, role: str) -> pd.DataFrame:
    """Every visit to ``role``'s queue: each ``queue`` event paired with the ``start`` or
    ``renege`` that ends it, in order of joining.

    A buyer is one sequential process, so at one role its events alternate
    queue, (start | renege), queue, ... in time order; this is asserted, as is that the
    pair names the same activity.

    Returns
    -------
    pandas.DataFrame
        ``buyer``, ``activity``, ``queued_at``, ``left_at`` (time of the matching ``start``
        or ``renege``; NaN while still waiting at the end of the run), ``outcome``
        ("start", "renege", or "" while waiting) and ``wait`` (that event's ``value``: the
        wait the engine reports).
    """
    ev = events[(events.role == role) & events.event.isin(["queue", "start", "renege"])]
    # The log is sorted by time (stably); sorting by buyer stably keeps each buyer's order.
    ev = ev.sort_values("buyer", kind="stable")
    kind = ev.event.astype(str).to_numpy()
    buyer = ev.buyer.to_numpy()
    pos = ev.groupby("buyer", sort=False).cumcount().to_numpy()
    is_queue = kind == "queue"
    bad = is_queue != (pos % 2 == 0)
    assert not bad.any(), (
        f"role {role}: queue/start/renege events do not alternate per buyer, first at buyer "
        f"{buyer[bad][0]}:\n{ev[ev.buyer == buyer[bad][0]]}"
    )
    q = np.flatnonzero(is_queue)
    nxt = q + 1
    has = nxt < len(ev)
    has[has] = buyer[nxt[has]] == buyer[q[has]]
    time = ev.time.to_numpy()
    value = ev.value.to_numpy()
    activity = ev.activity.astype(str).to_numpy()
    left_at = np.full(len(q), np.nan)
    wait = np.full(len(q), np.nan)
    outcome = np.full(len(q), "", dtype=object)
    left_at[has] = time[nxt[has]]
    wait[has] = value[nxt[has]]
    outcome[has] = kind[nxt[has]]
    mismatch = has & (activity[np.where(has, nxt, q)] != activity[q])
    assert not mismatch.any(), f"role {role}: a queue event is ended by another activity's event"
    return pd.DataFrame({
        "buyer": buyer[q], "activity": activity[q], "queued_at": time[q], "left_at": left_at,
        "outcome": outcome, "wait": wait,
    }).sort_values("queued_at", kind="stable", ignore_index=True)


def waits_started_in(events: pd.DataFrame, role: str, t0: float, t1: float) -> np.ndarray:
    """Reported waits (days) of the work ``role`` started in [t0, t1).

    In a FIFO queue, starts in a window are a contiguous run of arrivals, so their mean
    estimates the steady-state wait without the censoring that selecting by arrival
    would bring at the end of the run. In another order, the buyers left waiting at either
    edge of the window differ in the same way in steady state, so the estimate is still
    consistent.
    """
    st = events[(events.event == "start") & (events.role == role)
                & (events.time >= t0) & (events.time < t1)]
    return st.value.to_numpy(dtype=float)


def utilization(res: SimResult, role: str) -> float:
    """Occupied time of ``role`` inside the window / (headcount x working time in the window).

    The formula of the KPI ``utilization.<role>`` (:data:`sim.KPI_DOCS`), computed without
    :func:`sim.measure`: each job (a buyer's start and end at the role) counts the share of
    its occupied time that lies inside the window. Exact for 24/7 roles, where occupied time
    is wall time.
    """
    window = res.scenario.simulation
    ev = res.events[res.events.role == role]
    starts = ev[ev.event == "start"].sort_values(["buyer", "time"], kind="stable")
    ends = ev[ev.event == "end"].sort_values(["buyer", "time"], kind="stable")
    start, end = starts.time.to_numpy(), ends.time.to_numpy()
    assert (starts.buyer.to_numpy() == ends.buyer.to_numpy()).all()
    overlap = (np.minimum(end, window.horizon) - np.maximum(start, window.warmup)).clip(min=0)
    length = end - start
    inside = np.where(length > 0, ends.value.to_numpy() * overlap / np.where(length > 0, length, 1), 0.0)
    row = res.roles.set_index("role").loc[role]
    return float(inside.sum()) / (row.headcount * row.working_time_window)


def time_average_waiting(events: pd.DataFrame, role: str, t0: float, t1: float) -> float:
    """Time-average number of buyers in ``role``'s queue over [t0, t1).

    Computed from the counting process alone: N(t) = #queue - #start - #renege events at
    or before t (every event since time 0), integrated as a step function over the window.
    """
    ev = events[(events.role == role) & events.event.isin(["queue", "start", "renege"])]
    t = ev.time.to_numpy(dtype=float)
    step = np.where(ev.event.astype(str).to_numpy() == "queue", 1.0, -1.0)
    order = np.argsort(t, kind="stable")
    t, step = t[order], step[order]
    level = np.cumsum(step)
    assert level.size == 0 or level.min() >= 0, f"role {role}: more buyers left the queue than joined it"
    # N is level[k] on [t[k], t[k+1]) and 0 before the first event; events outside the
    # window are clipped to its edges, so their segments have no width.
    knots = np.concatenate([[t0], np.clip(t, t0, t1), [t1]])
    levels = np.concatenate([[0.0], level])
    return float((levels * np.diff(knots)).sum() / (t1 - t0))


@dataclass(frozen=True)
class LittleTerms:
    """The terms of Little's law L = lambda W for one role queue over a window [t0, t1).

    ``L`` is the time-average number waiting (counting process), ``lam`` the rate of joins in
    the window, ``W`` the mean reported wait of the buyers who joined in the window (those
    still waiting at the end of the run count with their wait so far). On any sample path,
    ``L = lam * W + (B0 - B1) / T`` [KW2013]_, where ``B0`` is the waiting time spent inside
    the window by buyers who joined before it and ``B1`` the waiting time after ``t1`` of
    buyers who joined inside it (both from event times, not from reported waits).
    """

    L: float
    lam: float
    W: float
    B0: float
    B1: float
    T: float
    joins: int
    censored: int

    @property
    def boundary(self) -> float:
        """(B0 - B1) / T, the finite-window correction to lambda W."""
        return (self.B0 - self.B1) / self.T


def little_terms(events: pd.DataFrame, role: str, t0: float, t1: float, horizon: float) -> LittleTerms:
    """Both sides of Little's law for ``role``'s queue over [t0, t1) (see :class:`LittleTerms`)."""
    v = visits(events, role)
    T = t1 - t0
    left = v.left_at.fillna(horizon).to_numpy()
    queued = v.queued_at.to_numpy()
    before = queued < t0
    inside = (queued >= t0) & (queued < t1)
    b0 = float((np.clip(left[before], t0, t1) - t0).sum())
    b1 = float(np.clip(left[inside] - t1, 0.0, None).sum())
    wait = v.wait.to_numpy().copy()
    waiting = np.isnan(wait)
    wait[waiting] = horizon - queued[waiting]
    w_in = wait[inside]
    return LittleTerms(
        L=time_average_waiting(events, role, t0, t1),
        lam=inside.sum() / T,
        W=float(w_in.mean()) if len(w_in) else 0.0,
        B0=b0,
        B1=b1,
        T=T,
        joins=int(inside.sum()),
        censored=int((waiting & inside).sum()),
    )

