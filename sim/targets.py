"""The figures a funnel shows, each with its sampling uncertainty.

One function, :func:`figures`, reads a :class:`~sim.crm.CrmData` (a company's export, or a
simulated run exported the same way by :mod:`sim.crm_export`), so the calibration compares
like with like: whatever a figure's definition leaves out (deals still open at the export,
the records' window) it leaves out of both sides.

The figures (a row each, skipped when fewer than :data:`MIN_N` records bear on it):

- ``leads_per_week.<source>``: records created a week by source (``opportunities_per_week``
  when the export starts at the opportunity, as Salesforce and HubSpot ones do); Poisson.
- ``segment_share.<segment>``: the records' segment mix; binomial.
- ``first_response_p50_hours``, ``first_response_p90_hours``: the median and 90th percentile
  of the hours to the first response; order-statistic CIs.
- ``conversion.<stage>``: of the records that reached the step before and are decided (went
  on, or closed), the share that entered the stage; binomial.
- ``win_rate``: won of the opportunities closed (won or lost); binomial.
- ``cycle_p50_days.<segment>``: median days from creation to signature of the won; order statistics.
- ``acv_mean.<segment>``, ``acv_p50.<segment>``: mean (normal CI) and median (order
  statistics) amount of the won: the level and the shape of the deal sizes.
- with a customers table: ``logo_churn_annual`` (churned per customer-year) and
  ``expansions_per_customer_year``, Poisson over the exposure in the window; with its
  ``expansion_arr`` column, ``nrr_annual``: one plus the ARR added by expansions less the
  ARR of the customers lost, per ARR-year of the book in the window (a ratio estimator).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from .crm import CrmData

__all__ = ["figures", "entry_stage", "restrict", "combine", "MIN_N", "FIGURE_COLUMNS", "describe"]

#: Fewer records than this bearing on a figure, and it is not estimated.
MIN_N = 10
_Z = 1.959963984540054
FIGURE_COLUMNS = ("figure", "value", "se", "ci_low", "ci_high", "n", "unit")


def entry_stage(data: CrmData) -> str:
    """``lead`` when the export holds leads that never became opportunities, else the first stage."""
    d = data.deals
    return "lead" if (d["stage"] == "lead").any() else data.stages[0]


def restrict(data: CrmData, entry: str) -> CrmData:
    """The records as an export starting at ``entry`` would hold them (created when they entered it)."""
    if entry == "lead":
        return data
    d = data.deals
    when = d[f"entered.{entry}"]
    kept = d[when.notna()].copy()
    kept["created"] = when[when.notna()]
    kept["first_response"] = math.nan
    return CrmData(kept.reset_index(drop=True), data.customers, data.start, data.days, data.stages, data.source)


def _row(name: str, value: float, se: float, n: int, unit: str, low: float | None = None,
         high: float | None = None, bounds: tuple[float, float] = (0.0, math.inf)) -> dict[str, object]:
    lo = value - _Z * se if low is None else low
    hi = value + _Z * se if high is None else high
    return {"figure": name, "value": value, "se": se, "ci_low": max(bounds[0], lo), "ci_high": min(bounds[1], hi),
            "n": n, "unit": unit}


def _share(name: str, hits: int, n: int) -> dict[str, object]:
    p = hits / n
    # Never a zero standard error: a share of 0 or 1 in n records is known to about 1/n.
    se = math.sqrt(max(p * (1 - p), 1.0 / n) / n)
    return _row(name, p, se, n, "share", bounds=(0.0, 1.0))


def _quantile(name: str, x: np.ndarray, unit: str, q: float = 0.5) -> dict[str, object]:
    """The ``q`` quantile, with the distribution-free CI of the order statistics around it."""
    x = np.sort(x)
    n = len(x)
    half = _Z * math.sqrt(n * q * (1 - q))
    lo = x[max(0, math.floor(n * q - half))]
    hi = x[min(n - 1, math.ceil(n * q + half))]
    return _row(name, float(np.quantile(x, q)), max((hi - lo) / (2 * _Z), 1e-9), n, unit, float(lo), float(hi))


def figures(data: CrmData, entry: str | None = None, min_n: int = MIN_N) -> pd.DataFrame:
    """Every figure the data can estimate: ``figure, value, se, ci_low, ci_high, n, unit``."""
    entry = entry_stage(data) if entry is None else entry
    data = restrict(data, entry)
    d = data.deals
    weeks = data.days / 7.0
    rows: list[dict[str, object]] = []
    volume = "leads_per_week" if entry == "lead" else "opportunities_per_week"
    for source, n in d["source"].value_counts().sort_index().items():
        if n >= min_n:
            rows.append(_row(f"{volume}.{source}", n / weeks, math.sqrt(n) / weeks, int(n), "per week"))
    total = len(d)
    if total >= min_n:
        for seg, n in d["segment"].value_counts().sort_index().items():
            rows.append(_share(f"segment_share.{seg}", int(n), total))
    answered = d["first_response"].to_numpy(dtype=float) - d["created"].to_numpy(dtype=float)
    answered = answered[np.isfinite(answered)] * 24.0
    if len(answered) >= min_n:
        rows.append(_quantile("first_response_p50_hours", answered, "hours"))
        rows.append(_quantile("first_response_p90_hours", answered, "hours", 0.9))
    closed = d["outcome"].isin(["won", "lost"]).to_numpy()
    steps = (["lead"] if entry == "lead" else []) + list(data.stages[data.stages.index(entry) if entry != "lead"
                                                                      else 0:])
    for before, stage in itertools.pairwise(steps):
        reached = np.ones(len(d), bool) if before == "lead" else d[f"entered.{before}"].notna().to_numpy()
        went_on = d[f"entered.{stage}"].notna().to_numpy()
        decided = reached & (went_on | closed)
        n = int(decided.sum())
        if n >= min_n:
            rows.append(_share(f"conversion.{stage}", int((decided & went_on).sum()), n))
    opp = d[d[f"entered.{data.stages[0]}"].notna() & closed]
    if len(opp) >= min_n:
        rows.append(_share("win_rate", int((opp["outcome"] == "won").sum()), len(opp)))
    won = d[d["outcome"] == "won"]
    for seg, g in won.groupby("segment", sort=True):
        cycle = (g["closed"] - g["created"]).to_numpy(dtype=float)
        if len(cycle) >= min_n:
            rows.append(_quantile(f"cycle_p50_days.{seg}", cycle, "days"))
        amount = g["amount"].to_numpy(dtype=float)
        amount = amount[np.isfinite(amount)]
        if len(amount) >= min_n:
            rows.append(_row(f"acv_mean.{seg}", float(amount.mean()), float(amount.std(ddof=1) / math.sqrt(len(amount))),
                             len(amount), "$"))
            rows.append(_quantile(f"acv_p50.{seg}", amount, "$"))
    c = data.customers
    if c is not None and len(c) >= min_n:
        begin = np.clip(c["start"].to_numpy(dtype=float), 0.0, data.days)
        end = np.fmin(np.nan_to_num(c["churned"].to_numpy(dtype=float), nan=data.days), data.days)
        years = float(np.clip(end - begin, 0.0, None).sum()) / 365.0
        churned = int(np.isfinite(c["churned"].to_numpy(dtype=float)).sum())
        grown = float(c["expansions"].sum())
        if years > 0:
            rows.append(_row("logo_churn_annual", churned / years, math.sqrt(max(churned, 1)) / years, len(c),
                             "per customer-year"))
            rows.append(_row("expansions_per_customer_year", grown / years, math.sqrt(max(grown, 1)) / years,
                             len(c), "per customer-year"))
        added = c["expansion_arr"].to_numpy(dtype=float)
        if np.isfinite(added).any():
            # ARR-weighted over the window: what the book added less what it lost, per ARR-year
            # (a ratio estimator, with its delta-method standard error).
            added = np.nan_to_num(added)
            arr = np.nan_to_num(c["arr"].to_numpy(dtype=float))
            lost = np.where(np.isfinite(c["churned"].to_numpy(dtype=float)) & (c["churned"].to_numpy() <= data.days),
                            arr + added, 0.0)
            exposure = arr * np.clip(end - begin, 0.0, None) / 365.0
            net = added - lost
            if exposure.sum() > 0:
                ratio = float(net.sum() / exposure.sum())
                se = float(np.sqrt(((net - ratio * exposure) ** 2).sum()) / exposure.sum())
                rows.append(_row("nrr_annual", 1.0 + ratio, max(se, 1e-9), len(c), "share", bounds=(0.0, math.inf)))
    return pd.DataFrame(rows, columns=list(FIGURE_COLUMNS))


def combine(runs: list[pd.DataFrame]) -> pd.DataFrame:
    """The mean of several runs' figures, each with the standard error of that mean.

    A figure missing from a run (too few records there) is averaged over the runs that have it.
    """
    if not runs:
        return pd.DataFrame(columns=list(FIGURE_COLUMNS))
    allrows = pd.concat(runs, ignore_index=True)
    g = allrows.groupby("figure", sort=False)
    k = g.size()
    value = g["value"].mean()
    se = np.sqrt(g["se"].apply(lambda s: float((s**2).mean())) / k)
    out = pd.DataFrame({"figure": value.index, "value": value.to_numpy(), "se": se.to_numpy(),
                        "n": g["n"].sum().to_numpy(), "unit": g["unit"].first().to_numpy()})
    out["ci_low"] = out["value"] - _Z * out["se"]
    out["ci_high"] = out["value"] + _Z * out["se"]
    return out[list(FIGURE_COLUMNS)]


def describe(row: pd.Series) -> str:
    """``1.2K [1.1K, 1.3K]`` style text of a figure row, in its unit."""
    unit = row["unit"]

    def fmt(x: float) -> str:
        if unit == "share":
            return f"{x:.1%}"
        if unit == "$":
            return f"${x / 1000:,.1f}K"
        return f"{x:,.2f}"

    return f"{fmt(row['value'])} [{fmt(row['ci_low'])}, {fmt(row['ci_high'])}]"
