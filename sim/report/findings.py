"""What the numbers support, in words: paired differences judged by their confidence interval.

A difference is *clear* only when its interval excludes zero and it is *material*: at least the
KPI's materiality threshold (the registry's, :func:`sim.kpis.threshold`, e.g. 1% of a cost or
0.1 pp of conversion; a results folder's manifest may set its own under ``materiality``). A
difference whose interval excludes zero but that is smaller than the threshold is
``immaterial``: never called better or worse. Nothing here claims more than an interval shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

from ..kpis import threshold
from ..locale import Catalogue
from . import kpis as K
from .folder import ReportData

__all__ = ["Finding", "finding", "findings", "sentence", "overview", "summary_sentences", "Lead", "lead", "window_text",
           "fmt_threshold", "balanced"]


@dataclass(frozen=True)
class Finding:
    """One KPI of one design against the baseline.

    ``verdict``: ``better`` / ``worse`` (clear and material, direction known), ``up`` /
    ``down`` (clear and material, no better side), ``immaterial`` (the interval excludes zero
    but the difference is below ``threshold``), ``unclear`` (interval includes zero), ``same``
    (identical in every replication), ``no_ci`` (too few replications for an interval).
    """

    design: str
    kpi: str
    base: float
    value: float
    diff: float
    low: float
    high: float
    verdict: str
    threshold: float = 0.0

    @property
    def clear(self) -> bool:
        """Clear and material: the interval excludes zero and the difference matters."""
        return self.verdict in ("better", "worse", "up", "down")

    @property
    def significant(self) -> bool:
        """The interval excludes zero (material or not)."""
        return self.clear or self.verdict == "immaterial"


def _judge(kpi: str, diff: float, low: float, high: float, threshold: float = 0.0) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "no_ci"
    if diff == 0 and low == 0 and high == 0:
        return "same"
    if low <= 0 <= high:
        return "unclear"
    if abs(diff) < threshold:
        return "immaterial"
    better = K.spec(kpi).better
    if better == 0:
        return "up" if diff > 0 else "down"
    return "better" if diff * better > 0 else "worse"


def finding(data: ReportData, design: str, kpi: str) -> Finding | None:
    """The finding for one design and KPI, or None if the KPI was not measured for both."""
    d = data.diff(design, kpi)
    base, value = data.mean(data.baseline, kpi), data.mean(design, kpi)
    if d is None or not (math.isfinite(base) and math.isfinite(value)) or not math.isfinite(d.diff_mean):
        return None
    low, high = float(d.diff_ci_low), float(d.diff_ci_high)
    limit = threshold(kpi, base, data.materiality)
    return Finding(design, kpi, base, value, float(d.diff_mean), low, high,
                   _judge(kpi, float(d.diff_mean), low, high, limit), limit)


def window_text(data: ReportData, cat: Catalogue) -> str:
    """The measured window in words: 2.5 years, or 300 days."""
    days = data.window_days
    return cat.t("units.years", v=f"{days / 365:.1f}") if days >= 365 else cat.t("units.days", v=f"{days:.0f}")


def findings(data: ReportData, design: str, kpis: tuple[str, ...] = K.HEADLINE) -> list[Finding]:
    return [f for f in (finding(data, design, k) for k in kpis) if f is not None]


def sentence(f: Finding, data: ReportData, cat: Catalogue) -> str:
    """One plain sentence with the numbers and the interval."""
    values = {
        "design": cat.design(f.design), "baseline": cat.design(data.baseline), "kpi": K.label(f.kpi, cat),
        "base": K.fmt(f.kpi, f.base, cat), "value": K.fmt(f.kpi, f.value, cat),
        "diff": K.fmt_diff(f.kpi, f.diff, cat),
        "ci": (cat.t("units.fixed") if f.low == f.high == f.diff
               else K.fmt_ci(f.kpi, f.low, f.high, data.level, cat, diff=True)),
    }
    if f.verdict in ("unclear", "same", "no_ci", "immaterial"):
        return cat.t(f"summary.{f.verdict}", threshold=fmt_threshold(f.kpi, f.threshold, cat), **values)
    return cat.t("summary.clear_up" if f.diff > 0 else "summary.clear_down", **values)


def overview(design: str, found: list[Finding], data: ReportData, cat: Catalogue) -> str:
    """How many headline KPIs are clearly better, clearly worse, or unclear."""
    judged = [f for f in found if K.spec(f.kpi).better != 0]
    return cat.t(
        "summary.overview", baseline=cat.design(data.baseline), design=cat.design(design), n=len(judged),
        better=sum(f.verdict == "better" for f in judged), worse=sum(f.verdict == "worse" for f in judged),
        unclear=sum(f.verdict in ("unclear", "no_ci", "same", "immaterial") for f in judged),
    )


def balanced(found: list[Finding], limit: int | None = None) -> list[Finding]:
    """The clear and material findings, better and worse side by side: every material worse
    finding is kept (``limit`` trims only the better ones, never below one); the order
    alternates better and worse so that neither side reads as an afterthought."""
    better = [f for f in found if f.verdict == "better"]
    worse = [f for f in found if f.verdict == "worse"]
    other = [f for f in found if f.clear and f.verdict not in ("better", "worse")]
    if limit is not None:
        keep = max(limit - len(worse), min(1, len(better)))
        better, other = better[:keep], other[:max(0, limit - len(worse) - len(better))]
    out: list[Finding] = []
    for i in range(max(len(better), len(worse))):
        out += better[i:i + 1] + worse[i:i + 1]
    return out + other


def fmt_threshold(kpi: str, limit: float, cat: Catalogue) -> str:
    """A materiality threshold as a difference without sign (0.1 pp, $53.5K, 5.0 h)."""
    return K.fmt_diff(kpi, limit, cat).lstrip("+")


def summary_sentences(data: ReportData, name: str, cat: Catalogue) -> list[str]:
    """For a run of one design: each headline KPI with its interval."""
    out = []
    for kpi in K.HEADLINE:
        row = data.stat(name, kpi)
        if row is None:
            continue
        if not math.isfinite(row["mean"]):  # say why, when the registry knows (too few renewals)
            na = K.fmt_or_na(kpi, row["mean"], partial(data.mean, name), cat)
            if na != "–":
                out.append(cat.t("summary.single_kpi_no_ci", kpi=K.label(kpi, cat), value=na))
            continue
        ci = K.fmt_ci(kpi, row.ci_low, row.ci_high, data.level, cat)
        key = "summary.single_kpi" if ci else "summary.single_kpi_no_ci"
        out.append(cat.t(key, kpi=K.label(kpi, cat), value=K.fmt(kpi, row["mean"], cat), ci=ci))
    return out


@dataclass(frozen=True)
class Lead:
    """The design with the best mean of a KPI, and whether it is clearly ahead of the baseline.

    ``case``: ``single`` (one design), ``baseline`` (the baseline leads), ``clear`` or
    ``unclear`` (another design leads; its paired interval against the baseline decides).
    """

    best: str
    value: float
    base: float
    case: str


def lead(data: ReportData, kpi: str) -> Lead | None:
    """Who leads on ``kpi`` (in its better direction) and how surely."""
    direction = K.spec(kpi).better or 1
    means = {n: data.mean(n, kpi) for n in data.names}
    means = {n: v for n, v in means.items() if math.isfinite(v)}
    if not means:
        return None
    best = max(means, key=lambda n: (means[n] * direction, -data.names.index(n)))
    base = means.get(data.baseline, float("nan"))
    if len(data.names) == 1:
        return Lead(best, means[best], base, "single")
    if best == data.baseline or means[best] == base:
        return Lead(data.baseline, base, base, "baseline")
    f = finding(data, best, kpi)
    clear = f is not None and f.clear
    return Lead(best, means[best], base, "clear" if clear else "unclear")
