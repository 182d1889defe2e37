"""The "Over time" chart: each design's cumulative contribution month by month, and when a
design's overtakes the baseline's for good (its payback month, from ``payback.csv``).

Drawn only from a folder with ``timeline.csv``: one written where some design's capacity
changes over time (:mod:`sim.timeline`).
"""

from __future__ import annotations

import pandas as pd

from ..locale import Catalogue
from ..units import MONTH
from .charts import _band, _legend, _money_axis, _month_axis, footer
from .folder import ReportData
from .style import MUTED, Chart, design_colors, frame

__all__ = ["over_time_chart"]


def _month(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(float(str(value)))


def _title(data: ReportData, cat: Catalogue) -> str:
    """The finding: the first design that pays back, and when; else that none does."""
    table = data.payback if data.payback is not None else pd.DataFrame(columns=["scenario", "payback_month"])
    baseline = cat.design(data.baseline)
    for row in table.itertuples():
        point = _month(row.payback_month)
        if point is not None:
            low, high = _month(row.ci_low), _month(row.ci_high)
            return cat.t("charts.over_time.title_pays", design=cat.design(str(row.scenario)), baseline=baseline,
                         month=point, level=data.level, low=point if low is None else low,
                         high=cat.t("charts.over_time.beyond") if high is None else high)
    return cat.t("charts.over_time.title_never", baseline=baseline, months=int(data.timeline.month.max())
                 if data.timeline is not None and len(data.timeline) else 0)


def _paired(tl: pd.DataFrame, name: str, baseline: str) -> pd.DataFrame:
    """``replication, month, diff``: the design's cumulative contribution minus the baseline's."""
    key = ["replication", "month"]
    base = tl[tl.scenario == baseline].set_index(key).cumulative_contribution
    mine = tl[tl.scenario == name].set_index(key).cumulative_contribution
    diff = (mine - base.reindex(mine.index)).dropna()
    return diff.rename("diff").reset_index()


def _switches(data: ReportData) -> list[float]:
    """The months (on the chart's axis) at which a design's reorganization takes over."""
    out = set()
    for name in data.names:
        change = (data.scenarios.get(name) or {}).get("transition") or {}
        if isinstance(change.get("at"), (int, float)):
            out.add(round(float(change["at"]) / MONTH, 2))
    return sorted(out)


def over_time_chart(data: ReportData, cat: Catalogue) -> Chart | None:
    """Left: every design's cumulative contribution (gross margin minus cost), mean with its
    band. Right: each design's minus the baseline's, replication by replication, with its band
    (the dip, then the recovery); a dashed line at each design's payback month."""
    tl = data.timeline
    if tl is None or tl.empty or len(data.names) < 2:
        return None
    title = _title(data, cat)
    fig, (left, right), header = frame(title, cat.t("charts.over_time.subtitle", level=data.level,
                                                    baseline=cat.design(data.baseline)),
                                       footer(data, cat), cat, _legend(data, cat), ncols=2, left=0.1,
                                       gridspec_kw={"wspace": 0.3})
    colors = design_colors(data.names)
    x_end = 0.0
    for name in data.names:
        band = _band(tl[tl.scenario == name], "month", "cumulative_contribution")
        if band.empty:
            continue
        left.plot(band.month, band["mean"], color=colors[name], linewidth=2.4)
        left.fill_between(band.month, band.low, band.high, color=colors[name], alpha=0.12, linewidth=0)
        x_end = max(x_end, float(band.month.max()))
        if name == data.baseline:
            continue
        diff = _band(_paired(tl, name, data.baseline), "month", "diff")
        right.plot(diff.month, diff["mean"], color=colors[name], linewidth=2.4)
        right.fill_between(diff.month, diff.low, diff.high, color=colors[name], alpha=0.15, linewidth=0)
    for row in (data.payback.itertuples() if data.payback is not None else []):
        point = _month(row.payback_month)
        name = str(row.scenario)
        if point is None or name not in colors:
            continue
        for ax in (left, right):
            ax.axvline(point, color=colors[name], linestyle="--", linewidth=1.2)
        right.text(point, 0.97, " " + cat.t("charts.over_time.payback", month=point), color=colors[name],
                   transform=right.get_xaxis_transform(), ha="left", va="top", fontsize=9)
    for month in _switches(data):
        for ax in (left, right):
            ax.axvline(month, color=MUTED, linestyle=":", linewidth=1.4)
        right.text(month, 0.03, " " + cat.t("charts.over_time.switch", month=f"{month:g}"), color=MUTED,
                   transform=right.get_xaxis_transform(), ha="left", va="bottom", fontsize=9)
    for ax, label in ((left, cat.t("charts.over_time.ylabel")),
                      (right, cat.t("charts.over_time.ylabel_diff", baseline=cat.design(data.baseline)))):
        ax.axhline(0, color=MUTED, linewidth=0.8)
        _money_axis(ax.yaxis, cat)
        _month_axis(ax, x_end)
        ax.set_xlabel(cat.t("charts.over_time.xlabel"))
        ax.set_ylabel(label)
    chart = Chart("over_time", title, fig, header, "retention")
    chart.designs = list(data.names)
    return chart
