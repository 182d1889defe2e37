"""Charts from an experiment's tables (never from a simulation): SVG, and PNG when asked.

Each chart's title states its finding, computed from the numbers and worded no stronger than
the paired confidence interval allows (see :mod:`sim.report.findings`); axis labels carry
units; every design keeps its colour in every chart; a footer names the seed, replications
and CI level.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator

from ..kpis import LOST_REASONS, LostReason
from ..locale import Catalogue, catalogue
from ..stats import mean_ci
from . import kpis as K
from .findings import finding, lead
from .folder import ReportData, from_results
from .style import BETTER, INK, MUTED, PALETTE, Chart, chart_style, design_colors, frame, style_axes, tint
from .style import _wrap as wrap

if TYPE_CHECKING:
    from matplotlib.text import Text

    from ..experiment import Results

__all__ = ["PALETTE", "design_colors", "draw_charts", "write_charts", "footer", "forest_chart",
           "funnel_chart", "lost_chart", "retention_chart", "arr_chart", "ltv_cac_chart",
           "people_cost_chart", "roles_chart"]


def footer(data: ReportData, cat: Catalogue) -> str:
    return cat.t("charts.footer", version=data.version, seed=data.seed, reps=data.reps, level=data.level)


def _legend(data: ReportData, cat: Catalogue, names: list[str] | None = None) -> dict[str, str]:
    colors = design_colors(data.names)
    return {cat.design(n): colors[n] for n in (names or data.names)}


def _lead_title(data: ReportData, kpi: str, cat: Catalogue, key: str, ratio: bool = False) -> str:
    found = lead(data, kpi)
    if found is None:
        return cat.t(f"charts.{key}.subtitle", level=data.level)
    values = {"best": cat.design(found.best), "baseline": cat.design(data.baseline),
              "value": K.fmt(kpi, found.value, cat), "base": K.fmt(kpi, found.base, cat), "ratio": ""}
    if ratio and found.base and math.isfinite(found.base):
        values["ratio"] = cat.t("units.ratio", v=f"{found.value / found.base:.1f}")
    return cat.t(f"charts.{key}.title_{found.case}", **values)


#: Above this many designs, the crowded charts draw the baseline and the best FOCUS - 1 only
#: (the tables beside them list every design).
CROWDED, FOCUS = 5, 4


def focus(data: ReportData, kpi: str) -> list[str]:
    """The designs a crowded chart draws: all of them, or the baseline and the best on ``kpi``."""
    if len(data.names) <= CROWDED:
        return list(data.names)
    direction = K.spec(kpi).better or 1
    others = [n for n in data.names[1:] if math.isfinite(data.mean(n, kpi))]
    others.sort(key=lambda n: -data.mean(n, kpi) * direction)
    keep = set(others[:FOCUS - 1])
    return [n for n in data.names if n == data.baseline or n in keep]


def _focus_note(data: ReportData, shown: list[str], kpi: str, cat: Catalogue) -> str:
    if len(shown) == len(data.names):
        return ""
    return " " + cat.t("charts.focus", n=len(shown) - 1, kpi=K.label(kpi, cat), total=len(data.names))


def _end_labels(ax: Any, ends: list[tuple[str, float]], x: float, colors: dict[str, str], cat: Catalogue,
                gap: float, fmt: Callable[[float], str] | None = None, log: bool = False) -> list[Any]:
    """Each line's design (and value) at its right end, spread so that no two labels touch."""
    ys = [math.log10(max(v, 1e-9)) if log else v for _, v in ends]
    spread = _spread(ys, gap)
    labels = []
    for (name, v), y in zip(ends, spread):
        text = cat.design(name) + (f"  {fmt(v)}" if fmt else "")
        labels.append(ax.annotate(text, (x, 10**y if log else y), xytext=(6, 0), textcoords="offset points",
                                  va="center", fontsize=8.5, color=colors[name], fontweight="bold",
                                  annotation_clip=False))
    return labels


def _keep_inside(ax: Any, labels: list[Any]) -> None:
    """Narrow the plot until the end labels fit in the figure: a long design name with its
    value would otherwise run off the right edge. Call once the axis limits are final."""
    if not labels:
        return
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    right = max(t.get_window_extent(renderer).x1 for t in labels)
    limit = fig.bbox.x1 - 0.01 * fig.bbox.width
    if right > limit:
        pos = ax.get_position()
        ax.set_position([pos.x0, pos.y0, pos.width - (right - limit) / fig.bbox.width, pos.height])


def _money_axis(axis: Any, cat: Catalogue) -> None:
    axis.set_major_formatter(FuncFormatter(lambda v, _: K.fmt_money(v, cat, short=True) if v else "0"))


def _month_axis(ax: Any, x_end: float) -> None:
    """Months from 0 to the last month drawn (not the last month the table has rows for: a
    short run has survival rows with no value), ticked every 6 months once there are enough."""
    ax.set_xlim(0, max(x_end, 1.0))
    ax.xaxis.set_major_locator(MultipleLocator(6) if x_end >= 12 else MaxNLocator(integer=True))


def _band(df: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    rows = [(k, *mean_ci(g[y].to_numpy())[:3]) for k, g in df.groupby(x, sort=True)]
    band = pd.DataFrame(rows, columns=[x, "mean", "low", "high"]).dropna(subset=["mean"])
    band["low"] = band["low"].fillna(band["mean"])
    band["high"] = band["high"].fillna(band["mean"])
    return band


def _finish(fig: Any, header: list[Text], stem: str, title: str, section: str) -> Chart:
    return Chart(stem, title, fig, header, section)


def forest_chart(data: ReportData, cat: Catalogue) -> Chart | None:
    """Paired differences against the baseline, one small panel per headline KPI."""
    others = data.names[1:]
    if data.paired is None or not others:
        return None
    kpis = [k for k in K.HEADLINE if any(finding(data, d, k) for d in others)]
    if not kpis:
        return None
    score = {}
    for d in others:
        fs = [f for f in (finding(data, d, k) for k in kpis) if f and K.spec(f.kpi).better]
        score[d] = (sum(f.verdict == "better" for f in fs), sum(f.verdict == "worse" for f in fs), len(fs))
    best = max(others, key=lambda d: (score[d][0] - score[d][1], -others.index(d)))
    b, w, n = score[best]
    base = cat.design(data.baseline)
    if b == 0:
        title = cat.t("charts.forest.title_none", baseline=base)
    else:
        key = "charts.forest.title" if w else "charts.forest.title_no_worse"
        title = cat.t(key, design=cat.design(best), baseline=base, better=b, n=n, worse=w)
    subtitle = cat.t("charts.forest.subtitle", baseline=base, level=data.level)
    ncols = 3
    nrows = math.ceil(len(kpis) / ncols)
    fig, axes, header = frame(title, subtitle, footer(data, cat), cat, _legend(data, cat, others),
                              nrows=nrows, ncols=ncols, bottom=0.1, left=0.03, gap=0.08,
                              gridspec_kw={"hspace": 0.95, "wspace": 0.3})
    colors = design_colors(data.names)
    flat = list(np.atleast_1d(axes).flat)
    for ax, kpi in zip(flat, kpis):
        found = [(j, finding(data, d, kpi)) for j, d in enumerate(others)]
        ends = [v for _, f in found if f for v in (f.low, f.high, f.diff) if math.isfinite(v)] + [0.0]
        lo, hi = min(ends), max(ends)
        pad = (hi - lo) * 0.22 or max(abs(hi), 1e-3)
        lo, hi = lo - pad, hi + pad
        better = K.spec(kpi).better
        if better:
            ax.axvspan(0, hi, color=BETTER, zorder=0) if better > 0 else ax.axvspan(lo, 0, color=BETTER, zorder=0)
        ax.axvline(0, color="#4b5563", linewidth=1)
        for j, f in found:
            if f is None:
                continue
            y = len(others) - 1 - j
            c = colors[others[j]]
            if math.isfinite(f.low) and math.isfinite(f.high):
                ax.hlines(y, f.low, f.high, color=c, linewidth=2.4)
            ax.plot(f.diff, y, "o", markersize=8, color=c, markerfacecolor=c if f.clear else "white",
                    markeredgewidth=2, zorder=3)
        ax.set_xlim(lo, hi)
        ax.set_ylim(-0.7, len(others) - 0.3)
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.grid(False)
        ax.xaxis.set_major_locator(MaxNLocator(3, prune="both"))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _, k=kpi: K.fmt_diff(k, v, cat) if v else "0"))
        arrow = {1: " →", -1: " ←"}.get(better, "")
        hint = cat.t("report.higher_better" if better > 0 else "report.lower_better") if better else ""
        ax.set_title(K.label(kpi, cat), loc="left", fontsize=10, fontweight="bold", color=INK, pad=14)
        ax.text(0, 1.02, f"{hint}{arrow}", transform=ax.transAxes, fontsize=8, color=MUTED, va="bottom")
    for ax in flat[len(kpis):]:
        ax.set_visible(False)
    return _finish(fig, header, "forest", title, "paired")


def _steps(data: ReportData) -> list[str]:
    return list(dict.fromkeys(data.funnel.step))


def funnel_means(data: ReportData) -> pd.DataFrame:
    """Mean buyers per replication reaching each step: steps as rows, designs as columns."""
    means = data.funnel.groupby(["scenario", "step"], sort=False).buyers.mean().unstack(0)
    return means.reindex(index=_steps(data), columns=[n for n in data.names if n in means.columns])


def _spread(values: list[float], gap: float) -> list[float]:
    """Positions near ``values`` at least ``gap`` apart (for end-of-line labels)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = list(values)
    for a, b in pairwise(order):
        out[b] = max(out[b], out[a] + gap)
    return out


def funnel_chart(data: ReportData, cat: Catalogue) -> Chart | None:
    """Buyers reaching each step, per design (mean over replications, log scale)."""
    if data.funnel.empty:
        return None
    means = funnel_means(data)
    title = _lead_title(data, "won", cat, "funnel", ratio=True)
    shown = [n for n in focus(data, "won") if n in means.columns]
    fig, ax, header = frame(title, cat.t("charts.funnel.subtitle") + _focus_note(data, shown, "won", cat),
                            footer(data, cat), cat, _legend(data, cat, shown), bottom=0.14, left=0.09)
    fig.subplots_adjust(right=0.78)
    colors = design_colors(data.names)
    x = np.arange(len(means.index))
    ends = []
    labels: list[Any] = []
    for name in shown:
        values = means[name].to_numpy(float)
        ax.plot(x, values, marker="o", markersize=5.5, linewidth=2.4, color=colors[name], zorder=3)
        ends.append((name, float(values[-1])))
    positive = [v for v in means[shown].to_numpy().ravel() if v > 0]
    if positive:
        ax.set_yscale("log")
        low, high = min(positive) * 0.6, max(positive) * 1.6
        ax.set_ylim(low, high)
        gap = (math.log10(high) - math.log10(low)) * 0.045
        labels = _end_labels(ax, ends, float(x[-1]), colors, cat, gap, lambda v: f"{v:,.0f}", log=True)
    ax.set_xlim(-0.3, len(x) - 0.7)
    ax.set_xticks(x, [wrap(cat.name("steps", s), cat, 11) for s in means.index], fontsize=8.5)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylabel(cat.t("charts.funnel.ylabel"))
    _keep_inside(ax, labels)
    chart = _finish(fig, header, "funnel", title, "funnel")
    chart.designs = shown
    return chart


def lost_means(data: ReportData) -> pd.DataFrame:
    """Mean buyers lost per replication, reasons as rows, designs as columns."""
    rows = {r: [data.mean(n, f"lost.{r}") for n in data.names] for r in LOST_REASONS}
    return pd.DataFrame.from_dict(rows, orient="index", columns=data.names)


def lost_chart(data: ReportData, cat: Catalogue) -> Chart | None:
    """Buyers lost after contact, by reason and design."""
    table = lost_means(data)
    research = LostReason.left_after_research.value
    left = table.loc[research, data.baseline] if research in table.index else 0.0
    shown = table.drop(index=research, errors="ignore").fillna(0.0)
    shown = shown[shown.max(axis=1) > 0]
    if shown.empty:
        return None
    shown = shown.loc[shown.max(axis=1).sort_values().index]
    stacked = shown.stack()
    design, reason = stacked.idxmax()[1], stacked.idxmax()[0]
    title = cat.t("charts.lost.title", reason=cat.name("reasons", reason), design=cat.design(design),
                  value=f"{shown.loc[reason, design]:,.0f}")
    names = focus(data, "conversion_rate")
    subtitle = (cat.t("charts.lost.subtitle", left=f"{left:,.0f}" if math.isfinite(left) else "–")
                + _focus_note(data, names, "conversion_rate", cat))
    fig, ax, header = frame(title, subtitle, footer(data, cat), cat, _legend(data, cat, names), bottom=0.12, left=0.25)
    style_axes(ax, grid_axis="x")
    colors = design_colors(data.names)
    height = 0.8 / len(names)
    y = np.arange(len(shown.index))
    # A value beside each bar only when a bar is tall enough for its label.
    axes_points = fig.get_figheight() * 72 * (fig.subplotpars.top - fig.subplotpars.bottom)
    labelled = axes_points / max(len(shown.index), 1) * height >= 9.0
    for i, name in enumerate(names):
        pos = y + ((len(names) - 1) / 2 - i) * height
        values = shown[name].to_numpy(float)
        ax.barh(pos, values, height * 0.92, color=colors[name])
        for p, v in zip(pos, values):
            if v > 0 and labelled:
                ax.text(v, p, f" {v:,.0f}", va="center", fontsize=7.5, color=MUTED)
    ax.set_yticks(y, [cat.name("reasons", r) for r in shown.index])
    ax.set_xlabel(cat.t("charts.lost.xlabel"))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlim(0, float(shown[names].to_numpy().max()) * 1.12)
    chart = _finish(fig, header, "lost_reasons", title, "funnel")
    chart.designs = names
    return chart


def retention_chart(data: ReportData, cat: Catalogue) -> Chart | None:
    """Share of customers still active by months since signature, with CI bands."""
    if data.survival.empty:
        return None
    title = _lead_title(data, "logo_churn_annual", cat, "retention")
    names = focus(data, "logo_churn_annual")
    fig, ax, header = frame(title, cat.t("charts.retention.subtitle", level=data.level)
                            + _focus_note(data, names, "logo_churn_annual", cat), footer(data, cat), cat,
                            _legend(data, cat, names))
    fig.subplots_adjust(right=0.8)
    colors = design_colors(data.names)
    floor = 100.0
    x_end = 0.0
    ends = []
    labels: list[Any] = []
    for name in names:
        band = _band(data.survival[data.survival.scenario == name].dropna(), "month", "share_active")
        if band.empty:
            continue
        ax.plot(band.month, band["mean"] * 100, color=colors[name], linewidth=2.4,
                marker="o" if len(band) == 1 else None)  # a lone month is a point, not a line
        ax.fill_between(band.month, band.low * 100, band.high * 100, color=colors[name], alpha=0.12, linewidth=0)
        floor = min(floor, float(band.low.min()) * 100)
        ends.append((name, float(band["mean"].iloc[-1]) * 100))
        x_end = max(x_end, float(band.month.max()))
    bottom = max(0.0, math.floor((floor - 3) / 5) * 5)
    if ends:
        labels = _end_labels(ax, ends, x_end, colors, cat, (101 - bottom) * 0.045, lambda v: f"{v:.0f}%")
    ax.set_ylim(bottom, 101)
    _month_axis(ax, x_end)
    _keep_inside(ax, labels)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
    ax.set_xlabel(cat.t("charts.retention.xlabel"))
    ax.set_ylabel(cat.t("charts.retention.ylabel"))
    chart = _finish(fig, header, "retention", title, "retention")
    chart.designs = names
    return chart


def arr_chart(data: ReportData, cat: Catalogue) -> Chart | None:
    """ARR over the run, mean with CI band."""
    if data.arr.empty:
        return None
    title = _lead_title(data, "arr_end", cat, "arr", ratio=True)
    names = focus(data, "arr_end")
    fig, ax, header = frame(title, cat.t("charts.arr.subtitle", level=data.level)
                            + _focus_note(data, names, "arr_end", cat), footer(data, cat), cat,
                            _legend(data, cat, names), left=0.1)
    fig.subplots_adjust(right=0.8)
    colors = design_colors(data.names)
    ends = []
    labels: list[Any] = []
    top = x_end = 0.0
    for name in names:
        band = _band(data.arr[data.arr.scenario == name], "month", "arr")
        if band.empty:
            continue
        ax.plot(band.month, band["mean"], color=colors[name], linewidth=2.4,
                marker="o" if len(band) == 1 else None)
        ax.fill_between(band.month, band.low, band.high, color=colors[name], alpha=0.12, linewidth=0)
        ends.append((name, float(band["mean"].iloc[-1])))
        top = max(top, float(band.high.max()))
        x_end = max(x_end, float(band.month.max()))
    if ends:
        labels = _end_labels(ax, ends, x_end, colors, cat, top * 1.05 * 0.045,
                             lambda v: K.fmt_money(v, cat))
    sim = data.scenarios[data.baseline].get("simulation", {})
    warmup_months = float(sim.get("warmup", 0.0)) / (365.0 / 12)
    if warmup_months > 0:
        ax.axvspan(0, warmup_months, color="#f3f4f6", zorder=0)
        ax.text(warmup_months / 2, 0.97, cat.t("charts.arr.warmup"),
                transform=ax.get_xaxis_transform(), ha="center", va="top", fontsize=8, color=MUTED)
    ax.set_ylim(bottom=0)
    _money_axis(ax.yaxis, cat)
    _month_axis(ax, x_end)
    _keep_inside(ax, labels)
    ax.set_xlabel(cat.t("charts.arr.xlabel"))
    ax.set_ylabel(cat.t("charts.arr.ylabel"))
    chart = _finish(fig, header, "arr", title, "retention")
    chart.designs = names
    return chart


def ltv_cac_chart(data: ReportData, cat: Catalogue) -> Chart | None:
    """LTV against CAC per design, with CIs; the dashed line is LTV = 3 x CAC."""
    title = _lead_title(data, "ltv_to_cac", cat, "ltv_cac")
    fig, ax, header = frame(title, cat.t("charts.ltv_cac.subtitle", level=data.level), footer(data, cat), cat,
                            _legend(data, cat), left=0.1)
    colors = design_colors(data.names)
    top_x = top_y = 0.0
    points: list[tuple[str, float, float]] = []
    for name in data.names:
        ltv, cac = data.stat(name, "ltv"), data.stat(name, "cac")
        if ltv is None or cac is None or not (math.isfinite(ltv["mean"]) and math.isfinite(cac["mean"])):
            continue
        xerr = np.nan_to_num([[cac["mean"] - cac.ci_low], [cac.ci_high - cac["mean"]]])
        yerr = np.nan_to_num([[ltv["mean"] - ltv.ci_low], [ltv.ci_high - ltv["mean"]]])
        ax.errorbar(cac["mean"], ltv["mean"], xerr=xerr, yerr=yerr, fmt="o", color=colors[name],
                    markersize=10, capsize=4, elinewidth=1.8, zorder=3)
        top_x = max(top_x, cac["mean"] + xerr[1][0])
        top_y = max(top_y, ltv["mean"] + yerr[1][0])
        points.append((name, float(cac["mean"]), float(ltv["mean"])))
    if top_x > 0:
        xs = np.linspace(0, top_x * 1.15, 10)
        ax.plot(xs, 3 * xs, linestyle="--", color="#9ca3af", linewidth=1.2)
        ax.text(xs[-1], min(3 * xs[-1], top_y * 1.1), " " + cat.t("charts.ltv_cac.target"), color=MUTED,
                fontsize=9, ha="right", va="bottom")
        ax.set_xlim(0, top_x * 1.15)
        ax.set_ylim(0, top_y * 1.15)
    _money_axis(ax.xaxis, cat)
    _money_axis(ax.yaxis, cat)
    _point_labels(ax, points, colors, cat)
    ax.set_xlabel(cat.t("charts.ltv_cac.xlabel"))
    ax.set_ylabel(cat.t("charts.ltv_cac.ylabel"))
    return _finish(fig, header, "ltv_cac", title, "economics")


def _point_labels(ax: Any, points: list[tuple[str, float, float]], colors: dict[str, str], cat: Catalogue) -> None:
    """Each point's design beside it, where it touches no other label (else the legend says)."""
    renderer = ax.figure.canvas.get_renderer()
    placed: list[Any] = []
    for name, x, y in points:
        for dx, dy, ha in ((8, 6, "left"), (8, -12, "left"), (-8, 6, "right"), (-8, -12, "right")):
            t = ax.annotate(cat.design(name), (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha,
                            fontsize=8.5, color=colors[name], fontweight="bold")
            box = t.get_window_extent(renderer)
            if not any(box.overlaps(b) for b in placed):
                placed.append(box)
                break
            t.remove()


def role_costs(data: ReportData, name: str) -> dict[str, float]:
    """People cost a year by role: as measured (``role_cost.<role>``: the people on the payroll
    over the window, who change with a plan, attrition or a reorganization), else, in a folder
    written before that KPI, headcount x loaded cost from the resolved scenario."""
    roles = data.scenarios.get(name, {}).get("roles", {}) or {}
    out = {}
    for r, v in roles.items():
        measured = data.mean(name, f"role_cost.{r}")
        out[r] = measured if math.isfinite(measured) else float(v.get("headcount", 0)) * float(v.get("loaded_cost_annual", 0.0))
    return out


def _inside_label(ax: Any, x: float, y: float, width: float, texts: list[str], color: str) -> None:
    """The first of ``texts`` that fits inside a bar segment ``width`` wide (none if none fits)."""
    renderer = ax.figure.canvas.get_renderer()
    x0, x1 = ax.transData.transform([(x - width / 2, y), (x + width / 2, y)])[:, 0]
    for text in texts:
        artist = ax.text(x, y, text, ha="center", va="center", fontsize=8, color=color, linespacing=1.1)
        box = artist.get_window_extent(renderer)
        y0, y1 = ax.transData.transform([(x, y - 0.31), (x, y + 0.31)])[:, 1]
        if box.width <= (x1 - x0) * 0.92 and box.height <= abs(y1 - y0) * 0.95:
            return
        artist.remove()


def people_cost_chart(data: ReportData, cat: Catalogue) -> Chart | None:
    """People cost by role and AI usage, a stacked bar per design."""
    costs = {n: role_costs(data, n) for n in data.names}
    ai = {n: data.mean(n, "ai_cost") for n in data.names}
    totals = {n: sum(costs[n].values()) + (ai[n] if math.isfinite(ai[n]) else 0.0) for n in data.names}
    if not any(totals.values()):
        return None
    money = lambda v: K.fmt_money(v, cat)  # noqa: E731
    if len(data.names) == 1:
        title = cat.t("charts.people_cost.title_single", design=cat.design(data.baseline),
                      value=money(totals[data.baseline]))
    else:
        low, high = min(totals.values()), max(totals.values())
        cheapest = min(data.names, key=lambda n: (totals[n], data.names.index(n)))
        if low > 0 and (high - low) / low < 0.02:
            title = cat.t("charts.people_cost.title_even", spread=f"{(high - low) / low * 100:.1f}%",
                          low=money(low), high=money(high))
        else:
            title = cat.t("charts.people_cost.title", cheapest=cat.design(cheapest), value=money(totals[cheapest]),
                          base=money(totals[data.baseline]), baseline=cat.design(data.baseline))
    fig, ax, header = frame(title, cat.t("charts.people_cost.subtitle"), footer(data, cat), cat, None,
                            bottom=0.12, left=0.2)
    style_axes(ax, grid_axis="x")
    colors = design_colors(data.names)
    top = max(totals.values())
    ax.set_xlim(0, top * 1.16)
    for i, name in enumerate(data.names):
        y = len(data.names) - 1 - i
        start = 0.0
        parts = [(cat.role(r), v) for r, v in costs[name].items() if v > 0]
        if math.isfinite(ai[name]) and ai[name] > 0:
            parts.append((cat.t("charts.people_cost.ai_usage"), ai[name]))
        for j, (label, value) in enumerate(parts):
            shade = (0.0, 0.35, 0.15, 0.5, 0.25, 0.6)[j % 6]
            ax.barh(y, value, 0.62, left=start, color=tint(colors[name], shade), edgecolor="white", linewidth=1.5)
            if value > top * 0.04:
                _inside_label(ax, start + value / 2, y, value, [f"{label}\n{money(value)}", money(value)],
                              "white" if shade < 0.3 else INK)
            start += value
        ax.text(start, y, f"  {money(totals[name])}", va="center", fontsize=10.5, fontweight="bold", color=INK)
    ax.set_yticks(range(len(data.names)), [cat.design(n) for n in reversed(data.names)], fontsize=10.5)
    _money_axis(ax.xaxis, cat)
    ax.set_xlabel(cat.t("charts.people_cost.xlabel"))
    return _finish(fig, header, "people_cost", title, "economics")


def roles_of(data: ReportData, names: list[str] | None = None) -> list[str]:
    """Every role of any design (of ``names``), in the order they first appear."""
    roles: dict[str, None] = {}
    for name in names or data.names:
        roles.update(dict.fromkeys((data.scenarios.get(name, {}).get("roles") or {}).keys()))
    return list(roles)


def roles_chart(data: ReportData, cat: Catalogue) -> Chart | None:
    """Utilization and mean queue wait by role and design."""
    names = focus(data, "conversion_rate")
    roles = roles_of(data, names)
    util = {(n, r): data.stat(n, f"utilization.{r}") for n in names for r in roles}
    known = {k: v for k, v in util.items() if v is not None and math.isfinite(v["mean"])}
    if not known:
        return None
    (design, role), row = max(known.items(), key=lambda kv: kv[1]["mean"])
    title = cat.t("charts.roles.title", role=cat.role(role), design=cat.design(design),
                  value=K.fmt("utilization.x", row["mean"], cat))
    fig, axes, header = frame(title, cat.t("charts.roles.subtitle", level=data.level)
                              + _focus_note(data, names, "conversion_rate", cat), footer(data, cat), cat,
                              _legend(data, cat, names), ncols=2, bottom=0.12, left=0.17, sharey=True,
                              gridspec_kw={"wspace": 0.12})
    colors = design_colors(data.names)
    y = np.arange(len(roles))[::-1]
    axes_points = fig.get_figheight() * 72 * (fig.subplotpars.top - fig.subplotpars.bottom)
    for ax, prefix, scale in ((axes[0], "utilization.", 100.0), (axes[1], "queue_wait_mean_hours.", 1.0)):
        style_axes(ax, grid_axis="x")
        top = 0.0
        for yr, role in zip(y, roles):
            rows = [(n, data.stat(n, prefix + role)) for n in names]
            stats = [(n, s) for n, s in rows if s is not None and math.isfinite(s["mean"])]
            height = 0.8 / max(len(stats), 1)
            labelled = axes_points / max(len(roles), 1) * height >= 9.0
            for i, (name, s) in enumerate(stats):
                p = yr + ((len(stats) - 1) / 2 - i) * height
                err = None
                if math.isfinite(s.ci_low) and math.isfinite(s.ci_high):
                    err = [[max(s["mean"] - s.ci_low, 0) * scale], [max(s.ci_high - s["mean"], 0) * scale]]
                ax.barh(p, s["mean"] * scale, height * 0.9, color=colors[name], xerr=err,
                        error_kw={"ecolor": INK, "elinewidth": 1, "capsize": 2})
                end = (s.ci_high if math.isfinite(s.ci_high) else s["mean"]) * scale
                text = f"{s['mean'] * scale:.0f}%" if scale == 100.0 else K.fmt(prefix + role, s["mean"], cat)
                if labelled:
                    ax.annotate(text, (end, p), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8,
                                color=MUTED)
                top = max(top, end)
        ax.set_xlim(0, top * 1.18 if top > 0 else 1)
    axes[0].set_yticks(y, [cat.role(r) for r in roles])
    axes[0].xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
    axes[0].set_xlabel(cat.t("charts.roles.util_xlabel"))
    axes[1].set_xlabel(cat.t("charts.roles.wait_xlabel"))
    axes[1].tick_params(axis="y", length=0)
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(4, prune="upper"))
    axes[0].xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
    chart = _finish(fig, header, "roles", title, "economics")
    chart.designs = names
    return chart


def builders(data: ReportData) -> tuple[Callable[[ReportData, Catalogue], Chart | None], ...]:
    """The functions that draw every chart a folder's tables may support, in the report's order
    (each returns None where its table is missing)."""
    from .explore import sweep_chart, tornado_chart
    from .over_time import over_time_chart

    if data.summary.empty:  # a sweep folder
        return (sweep_chart,)
    return (forest_chart, funnel_chart, lost_chart, retention_chart, arr_chart, over_time_chart, ltv_cac_chart,
            people_cost_chart, roles_chart, sweep_chart, tornado_chart)


#: The charts that take longest to draw and encode (0.25-0.45 s each on a two-core machine, the
#: others 0.1-0.2 s): a report queues them first (sim.report.html).
COSTLIEST = frozenset({forest_chart, roles_chart, lost_chart})


def drawn_by(build: Callable[[ReportData, Catalogue], Chart | None], data: ReportData,
             cat: Catalogue) -> Callable[[], Chart | None]:
    """``build``'s chart of ``data``, drawn in the charts' style when called (a job for
    :func:`~sim.report.files.write_chart_files`)."""
    def draw() -> Chart | None:
        with chart_style(cat):
            return build(data, cat)
    return draw


def draw_charts(data: ReportData, cat: Catalogue) -> list[Chart]:
    """Every chart the folder's tables support, in the report's order."""
    with chart_style(cat):
        charts = [build(data, cat) for build in builders(data)]
    return [c for c in charts if c is not None]


def close_charts(charts: list[Chart]) -> None:
    """Free the charts' drawings (their figures belong to no pyplot manager, so nothing else holds them)."""
    for chart in charts:
        chart.fig.clear()


def save_charts(charts: list[Chart], folder: Path, cat: Catalogue, png: bool = False) -> list[str]:
    """Write each chart as SVG (and PNG if ``png``) into ``folder``; return the file names."""
    from .files import write_chart_files

    write_chart_files(charts, folder, cat, png=png)
    return [f"{chart.stem}.{ext}" for chart in charts for ext in (("png", "svg") if png else ("svg",))]


def write_charts(results: Results, folder: Path, png: bool = False) -> list[str]:
    """Draw every chart of an experiment into ``folder`` as SVG and (if ``png``) PNG; return
    the file names."""
    cat = catalogue("en")
    charts = draw_charts(from_results(results), cat)
    try:
        return save_charts(charts, folder, cat, png)
    finally:
        close_charts(charts)
