"""Charts of what-if runs, plain matplotlib: a sweep's line or heatmap, a sensitivity tornado.

A sweep over one key draws each KPI's mean against the key with its confidence band; over
two keys on a grid, a heatmap of the mean; otherwise (a Latin hypercube of two keys), a
scatter of the points coloured by the mean. Each chart is saved as PNG and SVG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # matplotlib itself is imported only when a chart is drawn
    from matplotlib.cm import ScalarMappable
    from matplotlib.figure import Figure

__all__ = ["sweep_charts", "tornado_chart"]


def _save(fig: Figure, folder: Path, stem: str) -> list[str]:
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for ext in ("png", "svg"):
        fig.savefig(folder / f"{stem}.{ext}", dpi=120, bbox_inches="tight")
        names.append(f"{folder.name}/{stem}.{ext}")
    plt.close(fig)
    return names


def _numeric(values: pd.Series) -> bool:
    return bool(pd.to_numeric(values, errors="coerce").notna().all())


def sweep_charts(summary: pd.DataFrame, keys: Sequence[str], kpis: Sequence[str], folder: Path) -> list[str]:
    """One chart per KPI (one line per design); return the file names written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files: list[str] = []
    if len(keys) not in (1, 2):
        return files
    for kpi in kpis:
        rows = summary[summary.kpi == kpi]
        if rows.empty:
            continue
        designs = list(dict.fromkeys(rows.scenario))
        if len(keys) == 1:
            x = keys[0]
            fig, ax = plt.subplots(figsize=(7, 4.2))
            for name in designs:
                part = rows[rows.scenario == name]
                if _numeric(part[x]):
                    part = part.assign(**{x: pd.to_numeric(part[x])}).sort_values(x)
                xs = part[x] if _numeric(part[x]) else part[x].astype(str)
                ax.plot(xs, part["mean"], marker="o", label=name)
                ax.fill_between(xs, part.ci_low.astype(float), part.ci_high.astype(float), alpha=0.2)
            ax.set_xlabel(x)
            ax.set_ylabel(kpi)
            ax.set_title(f"{kpi} by {x} (mean, 95% CI)")
            if len(designs) > 1:
                ax.legend()
            ax.grid(alpha=0.3)
            files += _save(fig, folder, f"sweep_{_stem(kpi)}")
            continue
        for name in designs:
            part = rows[rows.scenario == name]
            fig, ax = plt.subplots(figsize=(7, 5))
            x, y = keys
            grid = part.pivot_table(index=y, columns=x, values="mean", aggfunc="mean")
            full = grid.notna().all().all() and len(grid) * len(grid.columns) == len(part)
            image: ScalarMappable
            if full:
                image = ax.imshow(grid.to_numpy(dtype=float), origin="lower", aspect="auto", cmap="viridis")
                ax.set_xticks(range(len(grid.columns)), [str(v) for v in grid.columns])
                ax.set_yticks(range(len(grid.index)), [str(v) for v in grid.index])
                values = grid.to_numpy(dtype=float)
                middle = (np.nanmin(values) + np.nanmax(values)) / 2
                for (i, j), v in np.ndenumerate(values):  # dark text on the bright end of viridis
                    ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=8,
                            color="black" if v > middle else "white")
            else:
                image = ax.scatter(part[x].astype(float), part[y].astype(float), c=part["mean"].astype(float),
                                   cmap="viridis", s=60)
            fig.colorbar(image, ax=ax, label=kpi)
            ax.set_xlabel(x)
            ax.set_ylabel(y)
            title = f"{kpi} (mean)" + (f", {name}" if len(designs) > 1 else "")
            ax.set_title(title)
            suffix = f"_{_stem(name)}" if len(designs) > 1 else ""
            files += _save(fig, folder, f"sweep_{_stem(kpi)}{suffix}")
    return files


def tornado_chart(table: pd.DataFrame, kpi: str, folder: Path, limit: int = 15) -> list[str]:
    """Low and high effects of the top ``limit`` levers on ``kpi``, largest on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = table[table.kpi == kpi].head(limit).iloc[::-1]
    if rows.empty:
        return []
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.5))
    y = np.arange(len(rows))
    for side, color, shift in (("low", "#9ecae1", 0.18), ("high", "#08519c", -0.18)):
        mean = rows[f"{side}_diff_mean"].to_numpy(dtype=float)
        err = np.abs(np.nan_to_num(np.vstack([mean - rows[f"{side}_diff_ci_low"].to_numpy(dtype=float),
                                              rows[f"{side}_diff_ci_high"].to_numpy(dtype=float) - mean])))
        ax.barh(y + shift, np.nan_to_num(mean), 0.36, xerr=err, color=color, label=f"{side} value", capsize=2)
    labels = [f"{r.parameter} ({_g(r.low_value)} / {_g(r.high_value)})" for r in rows.itertuples()]
    ax.set_yticks(y, labels, fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"change in {kpi} vs base (paired mean, 95% CI)")
    ax.set_title(f"What moves {kpi}")
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, folder, f"tornado_{_stem(kpi)}")


def _g(value: float) -> str:
    return "-" if value is None or value != value else f"{value:g}"


def _stem(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)
