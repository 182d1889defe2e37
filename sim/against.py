"""``orgsim check DESIGN --against deals.csv``: a design's funnel beside the company's own.

Where ``orgsim check`` sets a design's figures beside published ranges, this sets them beside
the figures of a CRM export (:mod:`sim.crm`, :mod:`sim.targets`): the design runs for its
warmup plus the span of the data, each replication is exported as a CRM would hold it
(:mod:`sim.crm_export`), and every figure the data can estimate is shown with both 95% CIs,
the standardized difference ``z`` and a verdict (``same`` when ``|z| < 1.96``, else
``above`` or ``below``: the model's figure is higher or lower than the data's).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import crm
from .crm_export import export
from .model import simulate
from .plan import override_text
from .scenario import load_scenario
from .streams import replication_seed
from .targets import combine, describe, entry_stage, figures

__all__ = ["against", "format_against", "main"]

_Z = 1.959963984540054


def against(design: str | Path, deals: str | Path, customers: str | Path | None = None, format: str = "neutral",
            mapping: str | Path | None = None, reps: int = 5, seed: int | None = None,
            overrides: Sequence[str] = (), as_of: str | None = None,
            stages: str | Path | None = None) -> pd.DataFrame:
    """Each figure of the data beside the design's: ``figure, unit, data, data_ci_low, data_ci_high,
    model, model_ci_low, model_ci_high, z, verdict``."""
    scn = load_scenario(design, overrides)
    data = crm.load(deals, customers, format, mapping, list(scn.market.segments),
                    [*scn.market.channels, "referral", "outbound"], as_of, stages)
    horizon = scn.simulation.warmup + data.days
    scn = load_scenario(design, [*overrides, f"simulation.horizon={override_text(float(horizon))}"])
    root = scn.simulation.seed if seed is None else seed
    entry = entry_stage(data)
    target = figures(data, entry)
    model = combine([figures(export(simulate(scn, replication_seed(root, r)), data.stages, customers is not None),
                             entry) for r in range(reps)]).set_index("figure")
    out = pd.DataFrame({"figure": target["figure"], "unit": target["unit"], "data": target["value"],
                        "data_ci_low": target["ci_low"], "data_ci_high": target["ci_high"]})
    out["model"] = out["figure"].map(model["value"])
    out["model_ci_low"] = out["figure"].map(model["ci_low"])
    out["model_ci_high"] = out["figure"].map(model["ci_high"])
    se = np.sqrt(target["se"].to_numpy() ** 2 + out["figure"].map(model["se"]).to_numpy(dtype=float) ** 2)
    out["z"] = (out["model"] - out["data"]).to_numpy(dtype=float) / se
    out["verdict"] = np.where(out["model"].isna(), "n/a",
                              np.where(out["z"].abs() < _Z, "same", np.where(out["z"] > 0, "above", "below")))
    return out.reset_index(drop=True)


def format_against(table: pd.DataFrame, title: str) -> str:
    """The comparison as a text table, with a one-line summary."""
    rows = [("figure", "your data [95% CI]", "model [95% CI]", "z", "verdict")]
    for _, r in table.iterrows():
        data = describe(pd.Series({"value": r["data"], "ci_low": r["data_ci_low"], "ci_high": r["data_ci_high"],
                                   "unit": r["unit"]}))
        model = "-" if pd.isna(r["model"]) else describe(pd.Series(
            {"value": r["model"], "ci_low": r["model_ci_low"], "ci_high": r["model_ci_high"], "unit": r["unit"]}))
        z = "-" if pd.isna(r["z"]) else f"{r['z']:+.1f}"
        rows.append((str(r["figure"]), data, model, z, str(r["verdict"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-" * max(len(x) for x in lines))
    counts = table["verdict"].value_counts()
    summary = ", ".join(f"{counts[v]} {v}" for v in ("same", "above", "below", "n/a") if v in counts)
    return "\n".join([title, "", *lines, "", f"{summary}. same: |z| < 1.96, z = (model - data) / the combined "
                      "standard error; above / below: the model's figure is higher / lower than yours."])


def main(args: argparse.Namespace) -> int:
    """``orgsim check DESIGN --against DEALS.csv``: 0 done (1 with --strict and a figure differing)."""
    table = against(args.scenario, args.against, args.customers, args.format, args.mapping, args.reps, args.seed,
                    args.overrides, args.as_of, args.stages)
    print(format_against(table, f"{Path(args.scenario).stem} beside {args.against} ({args.reps} replications)"))
    return 1 if args.strict and table["verdict"].isin(["above", "below"]).any() else 0
