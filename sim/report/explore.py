"""Charts of what-if runs: a sweep (line with band, or heatmap) and sensitivity (tornado).

They appear when the folder holds ``sweep_summary.csv`` or ``sensitivity.csv`` (columns in
:mod:`sim.report.folder`); without those files they draw nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from ..kpis import Unit
from ..locale import Catalogue
from . import kpis as K
from .folder import SWEEP_ID_COLUMNS, ReportData
from .params import param_label
from .style import INK, MUTED, Chart, design_colors, frame, style_axes, tint

__all__ = ["sweep_keys", "sweep_kpis", "sweep_chart", "tornado_chart", "sensitivity_kpi"]


def sweep_keys(sweep: pd.DataFrame) -> list[str]:
    """The varied keys of a sweep (every column that is not an id or a statistic)."""
    return [c for c in sweep.columns if c not in SWEEP_ID_COLUMNS]


def sweep_kpis(sweep: pd.DataFrame, limit: int = 4) -> list[str]:
    """The headline KPIs the sweep measured (else its first KPIs), at most ``limit``."""
    present = list(dict.fromkeys(sweep.kpi))
    chosen = [k for k in K.HEADLINE if k in present] or present
    return chosen[:limit]


def _from_footer(data: ReportData, cat: Catalogue) -> str:
    return cat.t("charts.footer", version=data.version, seed=data.seed, reps=data.reps, level=data.level)


def sweep_chart(data: ReportData, cat: Catalogue) -> Chart | None:
    """One varied key: a line with its band per KPI; two: a heatmap per KPI; more: none."""
    sweep = data.sweep
    if sweep is None or sweep.empty:
        return None
    keys = sweep_keys(sweep)
    kpis = sweep_kpis(sweep, 4 if len(keys) == 1 else 2)
    if len(keys) not in (1, 2) or not kpis:
        return None
    colors = design_colors(data.names)
    designs = list(dict.fromkeys(sweep.scenario)) if "scenario" in sweep.columns else [data.baseline]
    if len(keys) == 1:
        title = cat.t("charts.sweep.title", kpi=K.label(kpis[0], cat), param=param_label(keys[0], cat))
    else:
        title = cat.t("charts.sweep.title_heatmap", kpi=K.label(kpis[0], cat), param_x=param_label(keys[0], cat),
                      param_y=param_label(keys[1], cat))
    legend = {cat.design(d): colors.get(d, "#0072B2") for d in designs} if len(keys) == 1 else None
    ncols = min(len(kpis), 2)
    nrows = math.ceil(len(kpis) / ncols)
    fig, axes, header = frame(title, cat.t("charts.sweep.subtitle", level=data.level), _from_footer(data, cat),
                              cat, legend, nrows=nrows, ncols=ncols, bottom=0.12, left=0.09,
                              gridspec_kw={"hspace": 0.6, "wspace": 0.25})
    flat = list(np.atleast_1d(axes).flat)
    for ax, kpi in zip(flat, kpis):
        rows = sweep[sweep.kpi == kpi]
        scale = 100.0 if K.spec(kpi).unit == Unit.SHARE else 1.0
        if len(keys) == 1:
            for d in designs:
                part = rows[rows.scenario == d] if "scenario" in rows.columns else rows
                part = part.sort_values(keys[0])
                c = colors.get(d, "#0072B2")
                ax.plot(part[keys[0]], part["mean"] * scale, marker="o", color=c, linewidth=2.2)
                ax.fill_between(part[keys[0]], part.ci_low * scale, part.ci_high * scale, color=c, alpha=0.16)
            ax.set_xlabel(param_label(keys[0], cat), fontsize=9)
        else:
            grid = rows.pivot_table(index=keys[1], columns=keys[0], values="mean", aggfunc="mean")
            image = ax.imshow(grid.to_numpy() * scale, cmap="cividis", aspect="auto", origin="lower")
            ax.set_xticks(range(len(grid.columns)), [f"{v:g}" for v in grid.columns])
            ax.set_yticks(range(len(grid.index)), [f"{v:g}" for v in grid.index])
            for (i, j), v in np.ndenumerate(grid.to_numpy()):
                ax.text(j, i, K.fmt(kpi, v, cat), ha="center", va="center", fontsize=7.5,
                        color="white" if (v - np.nanmin(grid.to_numpy())) < np.nanmax(grid.to_numpy()) - v else INK)
            ax.set_xlabel(param_label(keys[0], cat), fontsize=9)
            ax.set_ylabel(param_label(keys[1], cat), fontsize=9)
            ax.grid(False)
            fig.colorbar(image, ax=ax, shrink=0.8)
        ax.set_title(K.label(kpi, cat), loc="left", fontsize=10, fontweight="bold", color=INK)
        if K.spec(kpi).unit == Unit.MONEY and len(keys) == 1:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: K.fmt_money(v, cat) if v else "0"))
        elif scale == 100.0 and len(keys) == 1:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
    for ax in flat[len(kpis):]:
        ax.set_visible(False)
    return Chart("sweep", title, fig, header, "sweep")


def sensitivity_kpi(sens: pd.DataFrame) -> str:
    """The KPI a sensitivity run ranks levers by (its first)."""
    return str(sens.kpi.iloc[0])


def tornado_chart(data: ReportData, cat: Catalogue) -> Chart | None:
    """Paired change in the KPI at each parameter's low and high value, largest on top."""
    sens = data.sensitivity
    if sens is None or sens.empty:
        return None
    kpi = sensitivity_kpi(sens)
    rows = sens[sens.kpi == kpi].copy()
    rows["span"] = rows[["low_diff_mean", "high_diff_mean"]].abs().max(axis=1)
    rows = rows.sort_values("span", ascending=True).tail(12)
    top = rows.iloc[-1]
    label = K.label(kpi, cat)
    title = cat.t("charts.tornado.title", param=param_label(str(top.parameter), cat), kpi=label,
                  low=K.fmt_diff(kpi, top.low_diff_mean, cat), high=K.fmt_diff(kpi, top.high_diff_mean, cat))
    color = design_colors(data.names)[data.baseline]
    legend = {cat.t("charts.tornado.low"): tint(color, 0.55), cat.t("charts.tornado.high"): color}
    fig, ax, header = frame(title, cat.t("charts.tornado.subtitle", kpi=label, level=data.level),
                            _from_footer(data, cat), cat, legend, bottom=0.12, left=0.3)
    style_axes(ax, grid_axis="x")
    y = np.arange(len(rows))
    for side, c in (("low", tint(color, 0.55)), ("high", color)):
        mean = rows[f"{side}_diff_mean"].to_numpy(float)
        err = np.nan_to_num([mean - rows[f"{side}_diff_ci_low"].to_numpy(float),
                             rows[f"{side}_diff_ci_high"].to_numpy(float) - mean])
        ax.barh(y, mean, 0.6, color=c, xerr=np.abs(err), error_kw={"ecolor": INK, "elinewidth": 1, "capsize": 2})
    ax.axvline(0, color="#4b5563", linewidth=1)
    labels = [f"{param_label(str(r.parameter), cat)}\n({r.low_value:g} / {r.high_value:g})" for r in rows.itertuples()]
    ax.set_yticks(y, labels, fontsize=9)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: K.fmt_diff(kpi, v, cat) if v else "0"))
    ax.set_xlabel(cat.t("charts.tornado.xlabel", kpi=label), color=MUTED)
    return Chart("tornado", title, fig, header, "sensitivity")
