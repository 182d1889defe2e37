"""Confidence intervals across replications, and paired differences between designs.

Replications are independent, so a KPI's mean gets a Student-t interval, kept inside what
the KPI can be (the registry's ``interval`` of each KPI, :data:`sim.kpis.INTERVALS`): a share
takes the t interval on the logit scale, back-transformed, so it stays inside 0-100%; a KPI that
cannot be negative (a count, a wait, money) has its interval truncated at 0. Designs in the
same replication share their market (common random numbers), so the difference between two
designs is taken replication by replication and its mean gets a t interval too: the shared
noise cancels, which makes the paired interval much narrower than two separate ones.

**Undefined replications.** A KPI can be NaN in a replication: no data, or a denominator
below the registry's minimum (:mod:`sim.kpis`, e.g. fewer than 20 renewals due). Its summary
uses the replications where it is defined, and ``n`` says how many; a paired difference uses
the replications where it is defined for both designs, ``n`` again saying how many. With no
such replication the mean is NaN (the tables then say why); with one there is no interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import stdtrit

from .kpis import get as _kpi

__all__ = ["mean_ci", "summarize", "paired_differences", "CI_LEVEL", "interval_of"]

CI_LEVEL = 0.95
_ID = ("scenario", "replication", "seed")


def _t_half(x: np.ndarray, level: float) -> float:
    # Student-t's quantile from scipy.special (what scipy.stats.t.ppf calls, to the bit),
    # without loading scipy.stats: 0.3 s of every command's start.
    return float(stdtrit(len(x) - 1, 0.5 + level / 2) * x.std(ddof=1) / np.sqrt(len(x)))


def mean_ci(values: np.ndarray, level: float = CI_LEVEL, method: str = "t") -> tuple[float, float, float, int]:
    """Mean and confidence interval of the finite values; (mean, low, high, n).

    ``method``: ``t`` (Student-t), ``t0`` (Student-t truncated at 0: the quantity cannot be
    negative), ``t01`` (a share: Student-t truncated to [0, 1]) or ``logit`` (a share: Student-t
    on the logit scale, back-transformed; ``t01`` when a replication is exactly 0 or 1, whose
    logit is infinite); the interval always holds the mean.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return (np.nan, np.nan, np.nan, 0)
    mean = float(x.mean())
    if n == 1:
        return (mean, np.nan, np.nan, 1)
    if method == "logit" and np.all((x > 0) & (x < 1)):
        z = np.log(x / (1 - x))
        half = _t_half(z, level)
        centre = float(z.mean())
        low, high = (float(1 / (1 + np.exp(-(centre + s * half)))) for s in (-1, 1))
        return (mean, max(0.0, min(low, mean)), min(1.0, max(high, mean)), n)
    half = _t_half(x, level)
    low, high = mean - half, mean + half
    if method in ("t0", "t01", "logit") and mean >= 0:
        low = max(low, 0.0)
    if method in ("t01", "logit") and mean <= 1:
        high = min(high, 1.0)
    return (mean, low, high, n)


def interval_of(kpi: str) -> str:
    """The interval method of a KPI's mean (the registry's; ``t`` for a column it does not know)."""
    k = _kpi(kpi)
    return "t" if k is None else k.interval_method


def _kpi_columns(reps: pd.DataFrame) -> list[str]:
    return [c for c in reps.columns if c not in _ID]


def summarize(reps: pd.DataFrame, level: float = CI_LEVEL) -> pd.DataFrame:
    """Tidy table ``scenario, kpi, mean, ci_low, ci_high, n`` from per-replication KPIs."""
    rows = []
    for scenario, group in reps.groupby("scenario", sort=False):
        for kpi in _kpi_columns(reps):
            mean, low, high, n = mean_ci(group[kpi].to_numpy(), level, interval_of(kpi))
            rows.append((scenario, kpi, mean, low, high, n))
    return pd.DataFrame(rows, columns=["scenario", "kpi", "mean", "ci_low", "ci_high", "n"])


def paired_differences(reps: pd.DataFrame, baseline: str, level: float = CI_LEVEL) -> pd.DataFrame:
    """Per KPI, mean of (scenario - baseline) over the shared replications where both are
    defined, with its t interval and that number of replications ``n``."""
    columns = ["scenario", "baseline", "kpi", "diff_mean", "diff_ci_low", "diff_ci_high", "n"]
    base = reps[reps.scenario == baseline].set_index("replication")
    rows = []
    for scenario, group in reps.groupby("scenario", sort=False):
        if scenario == baseline:
            continue
        other = group.set_index("replication")
        shared = other.index.intersection(base.index)
        for kpi in _kpi_columns(reps):
            diff = other.loc[shared, kpi].to_numpy(float) - base.loc[shared, kpi].to_numpy(float)
            mean, low, high, n = mean_ci(diff, level)
            rows.append((scenario, baseline, kpi, mean, low, high, n))
    return pd.DataFrame(rows, columns=columns)
