"""A robustness run's folder, charts and words: what each conclusion rests on.

The folder holds ``robustness.csv`` (per design and headline: robust or not, share of the
space where the design is better, the assumption it leans on most), ``switching.csv``
(parameters that flip it, with the switching value and its interval), ``indices.csv``
(SALib's indices), ``rules.csv`` (where the design wins), ``robustness_points.csv`` (every
point's paired differences), the runs, and the base point's ``summary.csv`` and
``paired.csv`` so that the usual report shows the comparison itself beside the section
"What this conclusion rests on".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import kpis as K
from .robustness import RobustnessResults

__all__ = ["write_robustness", "rests_on_lines", "robustness_charts"]


def _fmt(kpi: str, x: float) -> str:
    spec = K.get(kpi)
    if not math.isfinite(x):
        return "n/a"
    if spec is not None and spec.unit.name == "SHARE":
        return f"{x * 100:+.2f} pp"
    if spec is not None and spec.unit.name == "MONEY":
        return f"{x / 1e3:+,.1f}K" if abs(x) < 1e6 else f"{x / 1e6:+,.2f}M"
    return f"{x:+.3g}"


def _value(x: float) -> str:
    return f"{x:.3g}"


def rests_on_lines(table: pd.DataFrame, switching: pd.DataFrame, rules: pd.DataFrame | None = None,
                   kpis: Sequence[str] | None = None) -> list[str]:
    """One line per design and headline, in words (the report translates the same facts)."""
    out = []
    for r in table.itertuples():
        if kpis is not None and r.kpi not in kpis:
            continue
        head = f"{r.design} - {r.baseline}, {r.kpi}: {_fmt(str(r.kpi), r.base_diff_mean)}"
        if not math.isfinite(r.base_diff_mean) or r.base_diff_mean == 0:
            out.append(f"{head}; no difference to rest on")
            continue
        share = f"better at {r.share_better * 100:.0f}% of {r.points} points" if math.isfinite(r.share_better) else ""
        lean = f"leans most on {r.leans_on}" if isinstance(r.leans_on, str) and r.leans_on else ""
        verdict = "robust: the sign holds over every plausible range" if r.robust else "not robust"
        flips = switching[(switching.design == r.design) & (switching.kpi == r.kpi)]
        parts = [verdict, share, lean]
        for f in flips.itertuples():
            # better_when "below": the design is better than the baseline below the switching value.
            parts.append(f"better only while {f.parameter} {'<' if f.better_when == 'below' else '>'} "
                         f"{_value(f.switching_value)} [{_value(f.ci_low)}, {_value(f.ci_high)}] "
                         f"(range {_value(f.low)}-{_value(f.high)})")
        out.append(f"{head}; " + "; ".join(p for p in parts if p))
    return out


def robustness_charts(res: RobustnessResults, folder: Path) -> list[str]:
    """A tornado of the paired difference (each parameter at the ends of its range) and the
    share-better map over the two most influential parameters, per design, for the first KPI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    kpi = res.kpis[0]
    pts = res.points
    for name in res.names:
        if name == res.baseline:
            continue
        idx = res.indices[(res.indices.design == name) & (res.indices.kpi == kpi)].sort_values("rank")
        mine = pts[(pts.design == name) & (pts.kpi == kpi)]
        base = mine[mine.point == 0]["mean"]
        b = float(base.iloc[0]) if len(base) else math.nan
        # Tornado: the spread of the paired difference over each parameter's sampled values.
        fig, ax = plt.subplots(figsize=(7, 0.4 * max(3, len(idx)) + 1.2))
        labels = []
        for i, p in enumerate(reversed(idx.parameter.tolist())):
            col = mine[p] if p in mine else pd.Series(dtype=float)
            have = mine[col.notna()] if len(col) else mine.iloc[0:0]
            if have.empty:
                continue
            lo_v, hi_v = have[p].min(), have[p].max()
            at_lo = have[have[p] == lo_v]["mean"].mean()
            at_hi = have[have[p] == hi_v]["mean"].mean()
            ax.barh(i, at_lo - b, left=b, color="#1f77b4", alpha=0.8)
            ax.barh(i, at_hi - b, left=b, color="#d62728", alpha=0.8)
            labels.append((i, p.split(".")[-1]))
        ax.axvline(0, color="black", lw=0.8)
        if math.isfinite(b):
            ax.axvline(b, color="grey", lw=0.8, ls="--")
        ax.set_yticks([i for i, _ in labels], [t for _, t in labels])
        ax.set_xlabel(f"paired difference {name} - {res.baseline}: {kpi} (blue: low end, red: high end)")
        ax.set_title(f"What '{name} vs {res.baseline}' on {kpi} rests on")
        fig.tight_layout()
        for ext in ("png", "svg"):
            fig.savefig(folder / f"tornado-{name}-{kpi}.{ext}")
            files.append(f"tornado-{name}-{kpi}.{ext}")
        plt.close(fig)
        top = [p for p in idx.parameter.tolist() if p in mine and mine[p].notna().any()][:2]
        if len(top) == 2:
            space = mine[mine.point > 0]
            good = space["mean"] * (K.get(kpi).better if K.get(kpi) else 1) > 0  # type: ignore[union-attr]
            fig, ax = plt.subplots(figsize=(6, 5))
            ax.scatter(space[top[0]][good], space[top[1]][good], c="#2ca02c", label=f"{name} better", s=40)
            ax.scatter(space[top[0]][~good], space[top[1]][~good], c="#d62728", marker="x",
                       label=f"{res.baseline} better", s=40)
            ax.set_xlabel(top[0])
            ax.set_ylabel(top[1])
            ax.set_title(f"Where {name} beats {res.baseline} on {kpi}")
            ax.legend()
            fig.tight_layout()
            for ext in ("png", "svg"):
                fig.savefig(folder / f"share_better-{name}-{kpi}.{ext}")
                files.append(f"share_better-{name}-{kpi}.{ext}")
            plt.close(fig)
    return files


def write_robustness(res: RobustnessResults, root: Path, argv: list[str] | None = None, charts: bool = True) -> Path:
    """A robustness folder under ``root`` (written whole or not at all, as every results folder)."""
    from .atomic import write_text
    from .output import _write_folder, to_csv
    from .scenario import resolved_yaml

    def fill(tmp: Path) -> dict[str, Any]:
        write_text(tmp / "scenario.yaml", resolved_yaml(res.scenarios))
        to_csv(res.table, tmp / "robustness.csv")
        to_csv(res.switching, tmp / "switching.csv")
        to_csv(res.indices, tmp / "indices.csv")
        to_csv(res.rules, tmp / "rules.csv")
        to_csv(res.points, tmp / "robustness_points.csv")
        to_csv(res.runs, tmp / "robustness_runs.csv")
        to_csv(res.summary, tmp / "summary.csv")
        to_csv(res.paired, tmp / "paired.csv")
        files = robustness_charts(res, tmp / "charts") if charts else []
        return {**res.meta, "charts": files, "rests_on": rests_on_lines(res.table, res.switching)}

    return _write_folder(root, "robustness", res.names, fill, argv, charts=charts)
