"""Charts from an experiment's tables (never from a simulation): PNG and SVG.

One colour per design, the same in every chart, from the Okabe-Ito colourblind-safe
palette; every chart carries a footer with the seed, replications and CI level.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..stats import CI_LEVEL, mean_ci  # noqa: E402

if TYPE_CHECKING:
    from ..experiment import Results

__all__ = ["PALETTE", "design_colors", "funnel_chart", "retention_chart", "ltv_cac_chart",
           "arr_chart", "write_charts"]

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


def design_colors(names: list[str]) -> dict[str, str]:
    """A fixed colour per design, by its position in the comparison."""
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


def _figure(title: str, footer: str) -> tuple[plt.Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(9, 5.2), dpi=150)
    ax.set_title(title, loc="left", fontsize=13, fontweight="bold")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    fig.text(0.01, 0.01, footer, fontsize=7.5, color="#666666")
    return fig, ax


def _band(df: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    rows = [(k, *mean_ci(g[y].to_numpy())[:3]) for k, g in df.groupby(x, sort=True)]
    return pd.DataFrame(rows, columns=[x, "mean", "low", "high"])


def funnel_chart(funnel: pd.DataFrame, names: list[str], footer: str) -> plt.Figure:
    """Buyers reaching each step, per design (mean over replications)."""
    steps = list(dict.fromkeys(funnel.step))
    means = funnel.groupby(["scenario", "step"], sort=False).buyers.mean()
    colors = design_colors(names)
    fig, ax = _figure("Where buyers drop out of the funnel", footer)
    width = 0.8 / len(names)
    x = np.arange(len(steps))
    for i, name in enumerate(names):
        values = [means.get((name, s), 0.0) for s in steps]
        ax.bar(x + (i - (len(names) - 1) / 2) * width, values, width, label=name, color=colors[name])
    ax.set_xticks(x, [s.replace("_", " ") for s in steps], rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("buyers reaching the step (log scale, per run)")
    ax.legend(frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def retention_chart(survival: pd.DataFrame, names: list[str], footer: str) -> plt.Figure:
    """Share of customers still active by months since signature, with CI bands."""
    colors = design_colors(names)
    fig, ax = _figure("Customer retention after signature", footer)
    for name in names:
        band = _band(survival[survival.scenario == name].dropna(), "month", "share_active")
        ax.plot(band.month, band["mean"] * 100, color=colors[name], label=name, linewidth=2)
        ax.fill_between(band.month, band.low * 100, band.high * 100, color=colors[name], alpha=0.18)
    ax.set_xlabel("months since signature")
    ax.set_ylabel("customers still active (%)")
    ax.legend(frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def arr_chart(arr: pd.DataFrame, names: list[str], footer: str) -> plt.Figure:
    """ARR over the run, mean with CI band."""
    colors = design_colors(names)
    fig, ax = _figure("ARR over time", footer)
    for name in names:
        band = _band(arr[arr.scenario == name], "month", "arr")
        ax.plot(band.month, band["mean"] / 1e6, color=colors[name], label=name, linewidth=2)
        ax.fill_between(band.month, band.low / 1e6, band.high / 1e6, color=colors[name], alpha=0.18)
    ax.set_xlabel("month of the run")
    ax.set_ylabel("ARR ($ million)")
    ax.legend(frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def ltv_cac_chart(summary: pd.DataFrame, names: list[str], footer: str) -> plt.Figure:
    """LTV against CAC per design, with CIs; the dashed line is LTV = 3 x CAC."""
    colors = design_colors(names)
    fig, ax = _figure("Customer lifetime value against acquisition cost", footer)
    s = summary.set_index(["scenario", "kpi"])
    top = 0.0
    for name in names:
        ltv, cac = s.loc[(name, "ltv")], s.loc[(name, "cac")]
        if not (np.isfinite(ltv["mean"]) and np.isfinite(cac["mean"])):
            continue
        xerr = [[cac["mean"] - cac.ci_low], [cac.ci_high - cac["mean"]]]
        yerr = [[ltv["mean"] - ltv.ci_low], [ltv.ci_high - ltv["mean"]]]
        ax.errorbar(cac["mean"] / 1e3, ltv["mean"] / 1e3, xerr=np.nan_to_num(xerr) / 1e3,
                    yerr=np.nan_to_num(yerr) / 1e3, fmt="o", color=colors[name], label=name,
                    markersize=9, capsize=4)
        top = max(top, cac.ci_high if np.isfinite(cac.ci_high) else cac["mean"])
    if top > 0:
        xs = np.linspace(0, top * 1.2 / 1e3, 10)
        ax.plot(xs, 3 * xs, linestyle="--", color="#888888", linewidth=1, label="LTV = 3 x CAC")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("CAC ($ thousand per new customer)")
    ax.set_ylabel("LTV ($ thousand)")
    ax.legend(frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def write_charts(results: "Results", folder: Path) -> list[str]:
    """Draw every chart of an experiment into ``folder`` as PNG and SVG; return file names."""
    meta = results.meta
    names = results.names
    footer = (f"orgsim - seed {meta['seed']}, {meta['reps']} replications, "
              f"{int(CI_LEVEL * 100)}% confidence bands, common random numbers")
    charts = {
        "funnel": funnel_chart(results.funnel, names, footer),
        "retention": retention_chart(results.survival, names, footer),
        "ltv_cac": ltv_cac_chart(results.summary, names, footer),
        "arr": arr_chart(results.arr, names, footer),
    }
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, fig in charts.items():
        for ext in ("png", "svg"):
            fig.savefig(folder / f"{stem}.{ext}", dpi=150)
            written.append(f"{stem}.{ext}")
        plt.close(fig)
    return written
