"""The organization month by month, and when a design pays back against the baseline.

One replication's run, cut into months of 365/12 days from the start (the last one shorter
when the horizon is not a whole number of months): ARR at each month's end; the new,
churned and expansion ARR signed in it; revenue (ARR accrued over the month's days) and its
gross margin (each customer's segment's); the cost accrued in it from the people on the
payroll and the AI roles' fixed costs and task fees, and the marketing programme; the
contribution (margin minus cost) and its running total; and each role's people on the
payroll and effective capacity (people at their ramp-up productivity), averaged over the
month. The formulas are those of the window KPIs (:mod:`sim.metrics`), month by month: over
the measurement window the months add up to ``total_cost`` and end at ``arr_end``.

Designs meet the same market in replication ``r`` (common random numbers), so a month's
difference is taken replication by replication (:func:`paired_timeline`). The **payback
month** (:func:`payback`) is the first month from which the cumulative paired contribution
of a design against the baseline stays positive to the end of the horizon. It is a
property of two designs, not of one replication of one design, so it is not a KPI of the
registry (:mod:`sim.kpis`): it has its own table, ``payback.csv``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pandas as pd

from .costs import open_days, reorg_cost
from .model import SimResult
from .schema import Scenario
from .stats import CI_LEVEL, mean_ci
from .units import MONTH

__all__ = ["MONTH", "MONEY", "monthly", "paired_timeline", "payback_month", "payback", "payback_text",
           "changes_over_time"]

_YEAR = 365.0
#: The timeline's money columns, in their order (all in dollars per month, ARR at the month's end).
MONEY = ("arr", "new_arr", "churned_arr", "expansion_arr", "revenue", "gross_margin", "people_cost", "ai_cost",
         "marketing_cost", "reorg_cost", "cost", "contribution", "cumulative_contribution")
_INSTALLED = "installed"  # the source of a customer of the installed base (sim.customer)


def changes_over_time(scenarios: Sequence[Scenario]) -> bool:
    """Does some design's capacity change during a run (a headcount plan or attrition)?"""
    return any(r.capacity_changes for s in scenarios for r in s.roles.values())


def _edges(horizon: float) -> np.ndarray:
    """Month boundaries from 0 to the horizon (the last month shorter when it is not whole)."""
    n = max(1, math.ceil(horizon / MONTH - 1e-9))
    return np.asarray(np.minimum(np.arange(n + 1) * MONTH, horizon), dtype=float)


def _area(times: np.ndarray, level: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Integral over each month of a step function (0 before ``times[0]``, ``level[i]`` from ``times[i]``)."""
    if not len(times):
        return np.zeros(len(edges) - 1)
    # Integral from 0 to each edge: the whole steps before it, plus the step it falls in.
    widths = np.diff(times)
    whole = np.concatenate([[0.0], np.cumsum(level[:-1] * widths)])
    i = np.searchsorted(times, edges, side="right") - 1
    at = np.where(i >= 0, whole[np.clip(i, 0, None)] + level[np.clip(i, 0, None)] * (edges - times[np.clip(i, 0, None)]),
                  0.0)
    return np.diff(at)


def _overlap(start: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Days of each interval [start, end) inside each month: shape (intervals, months)."""
    lo = np.maximum(start[:, None], edges[None, :-1])
    hi = np.minimum(end[:, None], edges[None, 1:])
    return np.asarray(np.clip(hi - lo, 0.0, None), dtype=float)


def _ramped_days(joined: np.ndarray, left: np.ndarray, ramp: np.ndarray, start: np.ndarray,
                 edges: np.ndarray) -> np.ndarray:
    """Productivity-weighted days of each person in each month (linear ramp, as sim.staffing)."""
    full = _overlap(joined, left, edges)
    ramps = np.isfinite(ramp)
    if not ramps.any():
        return full
    r, s, j = ramp[ramps], start[ramps], joined[ramps]
    # Within the ramp [j, j + r) productivity is s + (1 - s) u / r at u days in; after it, 1.
    lo = np.clip(edges[None, :-1] - j[:, None], 0.0, r[:, None])
    hi = np.clip(np.minimum(edges[None, 1:], left[ramps, None]) - j[:, None], 0.0, r[:, None])
    hi = np.maximum(hi, lo)
    ramp_days = hi - lo
    weighted = s[:, None] * ramp_days + (1.0 - s[:, None]) * (hi ** 2 - lo ** 2) / (2.0 * r[:, None])
    out = full.copy()
    out[ramps] = full[ramps] - ramp_days + weighted
    return np.asarray(out, dtype=float)


def monthly(res: SimResult) -> pd.DataFrame:
    """One replication month by month: ``month`` (1, 2, ...), ``start``, ``days``, the
    :data:`MONEY` columns, and ``heads.<role>`` and ``capacity.<role>`` for every role."""
    scn, ev, b = res.scenario, res.events, res.buyers
    edges = _edges(scn.simulation.horizon)
    days = np.diff(edges)
    out: dict[str, np.ndarray] = {"month": np.arange(1, len(edges)), "start": edges[:-1], "days": days}
    month_of = np.searchsorted(edges, ev.time.to_numpy(), side="right") - 1
    n = len(days)

    def per_month(mask: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
        idx = month_of[mask]
        keep = (idx >= 0) & (idx < n)
        w = None if values is None else values[mask][keep]
        return np.bincount(idx[keep], weights=w, minlength=n)[:n].astype(float)

    # Event names compared as integer codes: one pass over the log's strings, not one per name.
    codes, names = pd.factorize(ev.event)
    code_of = {str(name): i for i, name in enumerate(names)}

    def kind_is(*wanted: str) -> np.ndarray:
        return np.isin(codes, [code_of.get(w, -2) for w in wanted])

    value = ev.value.to_numpy(dtype=float)
    buyer = ev.buyer.to_numpy()
    sign = np.select([kind_is("won", "installed", "expanded"), kind_is("churned")], [1.0, -1.0], 0.0)
    moves = np.flatnonzero(sign != 0)
    times = ev.time.to_numpy()[moves]
    order = np.argsort(times, kind="stable")
    moves, times = moves[order], times[order]
    delta = value[moves] * sign[moves]
    level = np.cumsum(delta)
    i = np.searchsorted(times, edges[1:], side="right") - 1
    out["arr"] = np.where(i >= 0, level[np.clip(i, 0, None)], 0.0) if len(level) else np.zeros(n)
    # Only the buyers whose ARR moves are looked up (the log has many more rows).
    by_id = b.set_index("id")
    won = kind_is("won")
    won[won] = (by_id.source.reindex(buyer[won]) != _INSTALLED).to_numpy()  # an installed contract is not new
    out["new_arr"] = per_month(won, value)
    out["churned_arr"] = per_month(kind_is("churned"), value)
    out["expansion_arr"] = per_month(kind_is("expanded"), value)
    out["revenue"] = _area(times, level, edges) / _YEAR
    margins = pd.Series({s: seg.gross_margin for s, seg in scn.market.segments.items()}, dtype=float)
    gm = margins.reindex(by_id.segment.reindex(buyer[moves]).to_numpy()).to_numpy(dtype=float)
    out["gross_margin"] = _area(times, np.cumsum(delta * gm), edges) / _YEAR
    people = ai = np.zeros(n)
    ends = np.flatnonzero(kind_is("end"))
    end_role = ev.role.to_numpy()[ends].astype(str)
    staff = res.staff
    for name, role in scn.roles.items():
        mine = staff[staff.role == name] if staff is not None else None
        if role.capacity_changes and mine is not None and len(mine):
            joined, left = mine.joined.to_numpy(float), mine.left.to_numpy(float)
            heads_days = _overlap(joined, left, edges).sum(axis=0)
            effective = _ramped_days(joined, left, mine.ramp_time.to_numpy(float), mine.ramp_start.to_numpy(float),
                                     edges).sum(axis=0)
        else:
            heads_days = effective = role.headcount * days
        out[f"heads.{name}"] = heads_days / days
        out[f"capacity.{name}"] = effective / days
        # Cost from day one of each person on the payroll; the AI roles' fixed costs by the day; fees by the task.
        people = people + role.loaded_cost_annual * heads_days / _YEAR
        open_ = np.array([open_days(role, a, z) for a, z in pairwise(edges)])
        ai = ai + (role.platform_cost_annual + role.operations_cost_annual) * open_ / _YEAR
        if role.cost_per_task:
            tasks = np.zeros(len(codes), dtype=bool)
            tasks[ends[end_role == name]] = True
            ai = ai + role.cost_per_task * per_month(tasks)
    out["people_cost"] = people
    out["ai_cost"] = ai
    out["marketing_cost"] = scn.market.marketing_program_cost_annual * days / _YEAR
    out["reorg_cost"] = np.array([reorg_cost(scn, a, z) for a, z in pairwise(edges)])
    out["cost"] = out["people_cost"] + out["ai_cost"] + out["marketing_cost"] + out["reorg_cost"]
    out["contribution"] = out["gross_margin"] - out["cost"]
    out["cumulative_contribution"] = np.cumsum(out["contribution"])
    fixed = ["month", "start", "days", *MONEY]
    return pd.DataFrame({c: out[c] for c in fixed + [c for c in out if c not in fixed]})


def paired_timeline(timeline: pd.DataFrame, baseline: str, quantities: Sequence[str] = MONEY,
                    level: float = CI_LEVEL) -> pd.DataFrame:
    """Per design, month and quantity: the mean of (design - baseline) over the shared
    replications, with its t interval (``scenario, baseline, month, quantity, diff_mean,
    diff_ci_low, diff_ci_high, n``)."""
    columns = ["scenario", "baseline", "month", "quantity", "diff_mean", "diff_ci_low", "diff_ci_high", "n"]
    base = timeline[timeline.scenario == baseline].set_index(["replication", "month"])
    rows = []
    for scenario, group in timeline.groupby("scenario", sort=False):
        if scenario == baseline:
            continue
        other = group.set_index(["replication", "month"])
        shared = other.index.intersection(base.index)
        for q in quantities:
            diff = (other.loc[shared, q] - base.loc[shared, q]).unstack("replication")
            for month, values in diff.iterrows():
                mean, low, high, k = mean_ci(values.to_numpy(float), level)
                rows.append((scenario, baseline, int(month), q, mean, low, high, k))
    return pd.DataFrame(rows, columns=columns)


def payback_month(months: Sequence[int] | np.ndarray, cumulative: Sequence[float] | np.ndarray) -> int | None:
    """The first month from which ``cumulative`` stays positive to the end; None: never."""
    c = np.asarray(cumulative, dtype=float)
    m = np.asarray(months)
    if not len(c) or not c[-1] > 0:
        return None
    bad = np.flatnonzero(~(c > 0))
    return int(m[0]) if not len(bad) else int(m[bad[-1] + 1])


def payback(timeline: pd.DataFrame, baseline: str, level: float = CI_LEVEL) -> pd.DataFrame:
    """When each design's cumulative contribution overtakes the baseline's, for good.

    ``payback_month`` is that of the mean paired cumulative contribution; ``ci_low`` and
    ``ci_high`` are the first months from which the upper and the lower bound of its
    pointwise interval stay positive (empty: not within the horizon); ``reps_paid_back`` counts
    the replications whose own paired series pays back, ``median_rep_month`` their median
    month (a replication that never pays back counts as later than the horizon). ``payback``
    says it in words, "never within the horizon" included.
    """
    paired = paired_timeline(timeline, baseline, ["cumulative_contribution"], level)
    base = timeline[timeline.scenario == baseline].set_index(["replication", "month"]).cumulative_contribution
    horizon = int(timeline.month.max()) if len(timeline) else 0
    rows = []
    for scenario, group in paired.groupby("scenario", sort=False):
        group = group.sort_values("month")
        months = group.month.to_numpy()
        point = payback_month(months, group.diff_mean.to_numpy())
        low = payback_month(months, group.diff_ci_high.fillna(group.diff_mean).to_numpy())
        high = payback_month(months, group.diff_ci_low.fillna(group.diff_mean).to_numpy())
        mine = timeline[timeline.scenario == scenario].set_index(["replication", "month"]).cumulative_contribution
        diff = (mine - base.reindex(mine.index)).unstack("month").dropna()
        per_rep = [payback_month(diff.columns.to_numpy(), row) for row in diff.to_numpy()]
        paid = [m for m in per_rep if m is not None]
        ranked = sorted(m if m is not None else math.inf for m in per_rep)
        median = ranked[(len(ranked) - 1) // 2] if len(ranked) % 2 else (ranked[len(ranked) // 2 - 1]
                                                                          + ranked[len(ranked) // 2]) / 2
        rows.append({"scenario": scenario, "baseline": baseline,
                     "payback_month": point, "ci_low": low, "ci_high": high,
                     "reps_paid_back": len(paid), "n": len(per_rep),
                     "median_rep_month": median if math.isfinite(median) else None,
                     "horizon_months": horizon,
                     "cumulative_diff_end": float(group.diff_mean.iloc[-1]),
                     "payback": payback_text(point, low, high, horizon)})
    columns = ["scenario", "baseline", "payback_month", "ci_low", "ci_high", "reps_paid_back", "n",
               "median_rep_month", "horizon_months", "cumulative_diff_end", "payback"]
    table = pd.DataFrame(rows, columns=columns)
    for c in ("payback_month", "ci_low", "ci_high"):
        table[c] = table[c].astype("Int64")
    return table


def payback_text(point: int | None, low: int | None, high: int | None, horizon: int,
                 level: float = CI_LEVEL) -> str:
    """``month 9 (95% CI 7 to 12)``, or ``never within the horizon (24 months)``."""
    ci = f"{level * 100:.0f}% CI"
    end = "beyond the horizon" if high is None else str(high)
    if point is None:
        where = "" if low is None else f"; {ci} from month {low} to {end}"
        return f"never within the horizon ({horizon} months{where})"
    start = str(low) if low is not None else str(point)
    return f"month {point} ({ci} {start} to {end})"
