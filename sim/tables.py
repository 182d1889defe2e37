"""Terminal tables: KPIs by design, sweep points and sensitivity rankings as aligned text.

Numbers are rounded for reading (shares in %, money in $K/$M); the CSV files keep every
digit. Units come from the KPI registry (:mod:`sim.kpis`). A KPI that is NaN because its
denominator is below the registry's minimum prints as ``n/a (only 7 renewals)``; other NaN
(a KPI with no data) prints as ``-``. A KPI defined in only some replications shows
``(n=6)``: its mean and interval are over those.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import kpis as registry
from .kpis import Unit
from .locale import catalogue

__all__ = ["HEADLINE_KPIS", "SWEEP_KPIS", "format_sensitivity", "format_sweep", "format_table"]

#: KPIs printed in the terminal table (every KPI is in the CSV files).
HEADLINE_KPIS = registry.TERMINAL
#: KPIs a sweep prints and charts unless ``--kpi`` says which.
SWEEP_KPIS = ("conversion_rate", "first_response_p50_hours", "ltv_to_cac", "cac")


def _unit(kpi: str) -> Unit | None:
    k = registry.get(kpi)
    return None if k is None else k.unit


def _fmt(kpi: str, x: float) -> str:
    if x != x:  # NaN
        return "-"
    unit = _unit(kpi)
    if unit == Unit.SHARE:
        return f"{x * 100:.1f}%"
    if unit == Unit.MONEY:
        return f"${x / 1e6:.2f}M" if abs(x) >= 1e6 else f"${x / 1e3:.1f}K"
    if unit == Unit.COUNT:  # a mean of counts prints as a whole number
        return f"{x:,.0f}"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.2f}"


def format_table(summary: Any, names: list[str], kpis: Sequence[str] = HEADLINE_KPIS) -> str:
    """KPIs as rows, designs as columns: ``mean [ci_low, ci_high]``."""
    s = summary.set_index(["scenario", "kpi"])
    reps = summary.groupby("scenario").n.max().to_dict() if len(summary) else {}
    header = ["KPI (mean [95% CI])", *names]
    rows = [header]
    for kpi in kpis:
        row = [kpi]
        for name in names:
            if (name, kpi) not in s.index:
                row.append("-")
                continue
            r = s.loc[(name, kpi)]

            def mean_of(other: str, name: str = name) -> float:
                return float(s.loc[(name, other), "mean"]) if (name, other) in s.index else float("nan")

            row.append(_cell(kpi, r["mean"], r.ci_low, r.ci_high, mean_of, int(r.n), reps.get(name, 0)))
        rows.append(row)
    return _columns(rows, 1)


def _cell(kpi: str, mean: float, low: float, high: float, mean_of: Any = None, n: int = 0,
          reps: int = 0) -> str:
    if mean != mean and mean_of is not None:
        na = registry.na_text(kpi, mean_of, catalogue("en"))
        if na is not None:
            return na
    ci = "" if low != low else f" [{_fmt(kpi, low)}, {_fmt(kpi, high)}]"
    partial = f" (n={n})" if mean == mean and 0 < n < reps else ""
    return _fmt(kpi, mean) + ci + partial


def _columns(rows: list[list[str]], right_from: int) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < right_from else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def format_sweep(summary: Any, keys: Sequence[str], kpis: Sequence[str]) -> str:
    """One row per design and point: the varied values, then ``mean [ci_low, ci_high]`` per KPI."""
    several = summary.scenario.nunique() > 1
    ids = (["scenario"] if several else []) + ["point", *keys]
    rows = [[*ids, *[f"{k} (mean [95% CI])" for k in kpis]]]
    s = summary.set_index(["scenario", "point", "kpi"])
    for (name, point), part in summary.groupby(["scenario", "point"], sort=False):
        first = part.iloc[0]
        row = ([str(name)] if several else []) + [str(point)] + [_value(first[k]) for k in keys]
        for kpi in kpis:
            if (name, point, kpi) not in s.index:
                row.append("-")
                continue
            r = s.loc[(name, point, kpi)]
            row.append(_cell(kpi, r["mean"], r.ci_low, r.ci_high))
        rows.append(row)
    return _columns(rows, len(ids))


def _value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def format_sensitivity(table: Any, kpi: str, name: str, reps: int, delta: float) -> str:
    """Levers ranked by effect on ``kpi``: base, low / high values, and their paired effects."""
    rows_ = table[table.kpi == kpi]
    base = rows_.base_mean.iloc[0] if len(rows_) else float("nan")
    head = (f"{kpi} of {name!r} at base: {_fmt(kpi, base)} ({reps} replications); "
            f"each lever moved by +-{delta * 100:g}%, the others at base; effect = paired change vs base")
    rows = [["rank", "parameter", "base", "low / high", "effect of low [95% CI]", "effect of high [95% CI]"]]
    for r in rows_.itertuples():
        effects = []
        for side in ("low", "high"):
            mean = getattr(r, f"{side}_diff_mean")
            if mean != mean and getattr(r, f"{side}_value") != getattr(r, f"{side}_value"):
                effects.append("not run")
                continue
            low, high = getattr(r, f"{side}_diff_ci_low"), getattr(r, f"{side}_diff_ci_high")
            effects.append(_signed(kpi, mean) + ("" if low != low else f" [{_signed(kpi, low)}, {_signed(kpi, high)}]"))
        rows.append([str(r.rank), r.parameter, _value(r.base_value),
                     f"{_maybe(r.low_value)} / {_maybe(r.high_value)}", *effects])
    return head + "\n\n" + _columns(rows, 4)


def _maybe(v: Any) -> str:
    return "-" if v is None or v != v else _value(v)


def _signed(kpi: str, x: float) -> str:
    """A change in a KPI, precise enough for small effects: percentages in points (pp)."""
    if x != x:
        return "-"
    if x == 0:
        return "0"
    sign = "+" if x > 0 else "-"
    unit = _unit(kpi)
    if unit == Unit.SHARE:
        return f"{sign}{abs(x) * 100:.2f} pp"
    if unit == Unit.MONEY:
        return sign + (_fmt(kpi, abs(x)) if abs(x) >= 1e3 else f"${abs(x):,.0f}")
    return sign + (f"{abs(x):,.0f}" if abs(x) >= 100 else f"{abs(x):.3g}")
