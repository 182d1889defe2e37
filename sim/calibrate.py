"""Calibrate the market to a company's own funnel: which market makes this design show these figures?

``orgsim calibrate --data deals.csv --design scenarios/siloed.yaml`` runs in four steps:

1. **Targets.** The export is read and checked (:mod:`sim.crm`) and its figures computed with
   their sampling uncertainty (:func:`sim.targets.figures`).
2. **Search.** Optuna's TPE sampler proposes values of the market parameters (by default
   those of :data:`DEFAULT_PARAMS` that act in the design, over their plausible ranges in
   :data:`sim.assumptions.RANGES`); the first trial is the market as it is. Each trial runs
   the user's design for ``reps`` replications on the same replication seeds (common random
   numbers: trials differ by their parameters, not their luck) over a horizon of the
   design's warmup plus the data's span, exports each run as a CRM would
   (:mod:`sim.crm_export`) and computes the same figures. The distance is
   ``chi2 = sum(z^2)``, ``z = (simulated - target) / sqrt(se_target^2 + se_simulated^2)``.
3. **Band.** Each parameter is also run at :data:`SCAN_POINTS` values across its range with
   the others at the best trial's. The accepted set, an ABC-rejection-style set, is every point
   run whose chi2 is within ``chi2.ppf(0.95, df=number of parameters)`` of the best: the
   points whose fit differs from the best by no more than the targets' own uncertainty
   explains. A parameter's band is the span of the accepted points, widened to where the
   scan's chi2 (linearly interpolated) crosses the threshold; a band over half the
   parameter's range or more is reported as *not pinned down by the data*.
4. **Output.** ``market_calibrated.yaml`` (``extends:`` the market the design extends; every
   fitted key with a comment naming the figure it was fitted to), ``targets.csv``,
   ``fit.csv`` (target vs simulated, with CIs), ``parameters.csv``, ``trials.csv`` and
   ``report.md``, written whole or not at all; the design's files are never touched.

Runs are serial, in this process. Parameters are factors on the design's value (a relative
range) or values (an absolute one), as in ``orgsim robustness``; a path with ``<segment>``
moves every segment together, and a concrete key (``market.segments.smb.acv``) moves only
itself.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from . import crm
from .assumptions import RANGES, expand
from .crm_export import export
from .model import simulate
from .plan import override_text
from .scenario import Problem, ScenarioError, load_scenario
from .schema import Scenario
from .streams import replication_seed
from .targets import MIN_N, describe, entry_stage, figures
from .targets import combine as combine_runs

__all__ = ["DEFAULT_PARAMS", "DEFAULT_TRIALS", "DEFAULT_REPS", "SCAN_POINTS", "FIGURES_OF", "Calibration",
           "calibrate", "market_yaml", "write", "format_fit", "format_parameters", "add_arguments", "main"]

DEFAULT_TRIALS = 30
DEFAULT_REPS = 2
#: Values of each parameter run across its range for the band (the ends included).
SCAN_POINTS = 5
_SAMPLER_KEY = zlib.crc32(b"calibrate.sampler")

#: The parameters fitted when ``--params`` is not given (those that act in the design; churn
#: and expansion only with a customers table), and the figures each is fitted to.
FIGURES_OF: dict[str, tuple[str, ...]] = {
    "market.channels.<channel>.rate_per_week": ("leads_per_week", "opportunities_per_week"),
    "market.segments.<segment>.contact_probability": ("leads_per_week", "opportunities_per_week"),
    "market.segments.<segment>.stage_conversion": ("conversion", "win_rate"),
    "market.segments.<segment>.stage_conversion.<activity>": ("conversion", "win_rate"),
    "market.segments.<segment>.no_decision_share": ("win_rate",),
    "market.segments.<segment>.acv": ("acv_mean", "acv_p50"),
    "market.segments.<segment>.deliberation_scale": ("cycle_p50_days",),
    "market.activities.<activity>.deliberation": ("cycle_p50_days",),
    "market.segments.<segment>.patience": ("conversion", "first_response_p50_hours", "first_response_p90_hours"),
    "market.segments.<segment>.base_churn_annual": ("logo_churn_annual", "nrr_annual"),
    "market.segments.<segment>.expansion_probability": ("expansions_per_customer_year", "nrr_annual"),
    "market.segments.<segment>.expansion_uplift": ("nrr_annual",),
}
DEFAULT_PARAMS: tuple[str, ...] = (
    "market.channels.<channel>.rate_per_week", "market.segments.<segment>.stage_conversion.<activity>",
    "market.segments.<segment>.acv", "market.segments.<segment>.deliberation_scale",
    "market.segments.<segment>.base_churn_annual", "market.segments.<segment>.expansion_probability",
)
_NEEDS_CUSTOMERS = ("market.segments.<segment>.base_churn_annual", "market.segments.<segment>.expansion_probability")


# ---------------------------------------------------------------- parameters


def _template(param: str) -> str | None:
    """The documented path (of :data:`RANGES`) a parameter is, or is a concrete key of."""
    if param in RANGES:
        return param
    for path in RANGES:
        pattern = "".join("[^.]+" if part.startswith("<") else re.escape(part)
                          for part in re.split(r"(<[^>]+>)", path))
        if re.fullmatch(pattern, param):
            return path
    return None


def _bears(p: Param, figure: str) -> bool:
    """Does ``figure`` (``acv_mean.smb``) concern the segment or channel a concrete key names?"""
    named = [k for k, t in zip(p.key.split("."), p.path.split(".")) if t.startswith("<") and not k.startswith("<")]
    return "." not in figure or not named or figure.split(".", 1)[1] in named


@dataclass(frozen=True)
class Param:
    """A parameter to fit: its path, the range's path, and the range (a factor when ``relative``)."""

    key: str
    path: str
    low: float
    high: float
    relative: bool

    def overrides(self, value: float, scn: Scenario) -> dict[str, Any]:
        found = expand(self.path, value, scn)
        return found if self.key == self.path else {k: v for k, v in found.items() if k == self.key}

    def base(self, scn: Scenario) -> float:
        if self.relative:
            return 1.0
        from .assumptions import value_of

        v = value_of(self.path, scn)
        return float(np.clip(v if v is not None else (self.low + self.high) / 2, self.low, self.high))


def _params(scn: Scenario, names: Sequence[str] | None, customers: bool) -> list[Param]:
    if names is None:
        names = [p for p in DEFAULT_PARAMS if customers or p not in _NEEDS_CUSTOMERS]
        explicit = False
    else:
        explicit = True
    problems, out = [], []
    for name in dict.fromkeys(names):
        path = _template(name)
        r = RANGES.get(path) if path else None
        if path is None or r is None or not r.varies:
            import difflib

            close = difflib.get_close_matches(name, [p for p, x in RANGES.items() if x.varies], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(Problem("--params", None, name, f"no plausible range is documented for it{hint}"))
            continue
        p = Param(name, path, r.low, r.high, r.relative)
        if not p.overrides(p.base(scn), scn):
            children = [q for q in RANGES if q.startswith(f"{path}.<") and RANGES[q].varies]
            if explicit and children:
                problems.append(Problem("--params", None, name, f"a table of values: fit its entries, e.g. "
                                                                f"{children[0]}"))
            elif explicit:
                problems.append(Problem("--params", None, name, f"does not act in the design {scn.name!r}"))
            continue
        out.append(p)
    if problems:
        raise ScenarioError(problems)
    if not out:
        raise ScenarioError([Problem("--params", None, "", "no parameter to fit acts in the design")])
    return out


# ---------------------------------------------------------------- the distance


def _chi2(target: pd.DataFrame, simulated: pd.DataFrame) -> tuple[float, pd.DataFrame]:
    """chi2 over the targets, and the joined table (a figure the run lacks counts as 0 +- 0)."""
    sim = simulated.set_index("figure")
    j = target[["figure", "value", "se", "ci_low", "ci_high"]].copy()
    j["sim"] = j["figure"].map(sim["value"]).fillna(0.0)
    j["sim_se"] = j["figure"].map(sim["se"]).fillna(0.0)
    j["sim_ci_low"] = j["figure"].map(sim["ci_low"]).fillna(0.0)
    j["sim_ci_high"] = j["figure"].map(sim["ci_high"]).fillna(0.0)
    j["z"] = (j["sim"] - j["value"]) / np.sqrt(j["se"] ** 2 + j["sim_se"] ** 2)
    return float((j["z"] ** 2).sum()), j


# ---------------------------------------------------------------- results


@dataclass
class Calibration:
    """A calibration's tables (each also a CSV of the results folder).

    ``targets``: the data's figures (``figure, value, se, ci_low, ci_high, n, unit``).
    ``fit``: each target beside the best point's simulated figure, with both CIs and z.
    ``parameters``: each parameter's range, best value, band and whether the data pin it down.
    ``trials``: every point run (search and scan), its chi2 and whether it is accepted.
    """

    design: Scenario
    design_path: Path
    data_path: str
    targets: pd.DataFrame
    fit: pd.DataFrame
    parameters: pd.DataFrame
    trials: pd.DataFrame
    best: dict[str, float]
    overrides: dict[str, Any]
    #: The concrete keys of the design each parameter set.
    keys_of: dict[str, list[str]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def unpinned(self) -> list[str]:
        return list(self.parameters.loc[~self.parameters["pinned"], "parameter"])


def _band(values: np.ndarray, chi: np.ndarray, threshold: float, low: float, high: float) -> tuple[float, float]:
    """Where the scan's chi2 (interpolated between the points run) is within the threshold."""
    order = np.argsort(values)
    x, y = values[order], chi[order]
    inside = y <= threshold
    if not inside.any():
        k = int(np.argmin(y))
        return float(x[k]), float(x[k])
    first, last = int(np.flatnonzero(inside)[0]), int(np.flatnonzero(inside)[-1])

    def cross(a: int, b: int) -> float:
        if y[b] == y[a]:
            return float(x[b])
        return float(x[a] + (threshold - y[a]) * (x[b] - x[a]) / (y[b] - y[a]))

    lo = low if first == 0 else cross(first, first - 1)
    hi = high if last == len(x) - 1 else cross(last, last + 1)
    return lo, hi


def calibrate(design: str | Path, deals: str | Path, customers: str | Path | None = None,
              format: str = "neutral", mapping: str | Path | None = None, params: Sequence[str] | None = None,
              trials: int = DEFAULT_TRIALS, reps: int = DEFAULT_REPS, seed: int | None = None,
              overrides: Sequence[str] = (), as_of: str | None = None,
              progress: Callable[[int, int], None] | None = None,
              stages: str | Path | None = None) -> Calibration:
    """Fit the market parameters so that ``design`` reproduces the figures of the export.

    Returns a :class:`Calibration`; a :class:`ScenarioError` lists every problem of the input
    (the data, the design, the options) before anything runs.
    """
    import optuna
    from scipy import stats

    problems: list[Problem] = []
    if trials < 1:
        problems.append(Problem("--trials", None, "", f"expected at least 1, got {trials}"))
    if reps < 1:
        problems.append(Problem("--reps", None, "", f"expected at least 1, got {reps}"))
    if problems:
        raise ScenarioError(problems)
    design = Path(design)
    scn0 = load_scenario(design, overrides)
    if scn0.abstract:
        raise ScenarioError([Problem(str(design), None, "abstract", "a market to extend, not a design: "
                                                                    "calibrate a design that extends it")])
    sources = [*scn0.market.channels, "referral", "outbound"]
    data = crm.load(deals, customers, format, mapping, list(scn0.market.segments), sources, as_of, stages)
    entry = entry_stage(data)
    target = figures(data)
    if target.empty:
        raise ScenarioError([Problem(str(deals), None, "", f"too few records: no figure has the "
                                                           f"{MIN_N} records it needs")])
    horizon = scn0.simulation.warmup + data.days
    base_sets = [*overrides, f"simulation.horizon={override_text(float(horizon))}"]
    scn = load_scenario(design, base_sets)
    fitted = _params(scn, params, customers is not None)
    root_seed = scn.simulation.seed if seed is None else seed
    seeds = [replication_seed(root_seed, r) for r in range(reps)]
    total = trials + len(fitted) * SCAN_POINTS  # at least; a moved best adds a scan
    runs: list[dict[str, Any]] = []

    def evaluate(point: dict[str, float], phase: str) -> float:
        same = next((r for r in runs if r["point"] == point), None)
        if same is not None:  # a point already run (the scan through the best meets the best)
            return float(same["chi2"])
        sets: dict[str, Any] = {}
        for p in fitted:
            sets.update(p.overrides(point[p.key], scn))
        s = load_scenario(design, [*base_sets, *(f"{k}={override_text(v)}" for k, v in sets.items())])
        sim = combine_runs([figures(export(simulate(s, sd), data.stages, customers is not None), entry)
                            for sd in seeds])
        chi, joined = _chi2(target, sim)
        runs.append({"point": dict(point), "phase": phase, "chi2": chi, "joined": joined, "sets": sets})
        if progress is not None:
            progress(len(runs), total)
        return chi

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler_seed = int(np.random.SeedSequence(root_seed, spawn_key=(_SAMPLER_KEY,)).generate_state(1)[0])
    sampler = optuna.samplers.TPESampler(seed=sampler_seed, n_startup_trials=max(1, min(8, trials // 3)))
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.enqueue_trial({p.key: p.base(scn) for p in fitted})
    study.optimize(lambda t: evaluate({p.key: t.suggest_float(p.key, p.low, p.high) for p in fitted}, "search"),
                   n_trials=trials)
    # Each parameter is scanned through the best point so far; a scan that found a better
    # point moves the best, and the scans made through the old one are run again (once).
    scanned: dict[str, dict[str, float]] = {}
    for _ in range(2):
        for p in fitted:
            best_point = dict(min(runs, key=lambda r: r["chi2"])["point"])
            before = scanned.get(p.key)
            if before is not None and all(before[q.key] == best_point[q.key] for q in fitted if q is not p):
                continue
            scanned[p.key] = best_point
            for v in np.linspace(p.low, p.high, SCAN_POINTS):
                evaluate({**best_point, p.key: float(v)}, f"scan {p.key}")
    best = min(runs, key=lambda r: r["chi2"])
    best_point = dict(best["point"])
    threshold = best["chi2"] + float(stats.chi2.ppf(0.95, df=len(fitted)))

    trial_rows = [{"trial": i, "phase": r["phase"], **r["point"], "chi2": r["chi2"],
                   "accepted": r["chi2"] <= threshold} for i, r in enumerate(runs)]
    table = pd.DataFrame(trial_rows)
    prows = []
    for p in fitted:
        accepted = table.loc[table["accepted"], p.key].to_numpy(dtype=float)
        # The scan through the best point (others at the best's values), and the best itself.
        line = [r for r in runs if r is best or (r["phase"] == f"scan {p.key}" and all(
            r["point"][q.key] == best_point[q.key] for q in fitted if q is not p))]
        lo, hi = _band(np.array([r["point"][p.key] for r in line]), np.array([r["chi2"] for r in line]),
                       threshold, p.low, p.high)
        lo, hi = min(lo, float(accepted.min())), max(hi, float(accepted.max()))
        share = (hi - lo) / (p.high - p.low) if p.high > p.low else 0.0
        prefixes = FIGURES_OF.get(p.path, ())
        named = [f for f in target["figure"] if f.split(".")[0] in prefixes and _bears(p, f)]
        prows.append({"parameter": p.key, "relative": p.relative, "low": p.low, "high": p.high,
                      "base": p.base(scn), "best": best_point[p.key], "band_low": lo, "band_high": hi,
                      "band_share": share, "pinned": bool(share < 0.5), "figures": ",".join(named)})
    parameters = pd.DataFrame(prows)
    joined = best["joined"].rename(columns={"value": "target", "se": "target_se", "ci_low": "target_ci_low",
                                            "ci_high": "target_ci_high", "sim": "simulated",
                                            "sim_se": "simulated_se", "sim_ci_low": "simulated_ci_low",
                                            "sim_ci_high": "simulated_ci_high"})
    joined["unit"] = joined["figure"].map(target.set_index("figure")["unit"])
    meta = {"entry": entry, "days": data.days, "start": str(data.start), "records": len(data.deals),
            "customers": None if data.customers is None else len(data.customers), "reps": reps, "seed": root_seed,
            "trials": trials, "threshold": threshold, "best_chi2": best["chi2"], "figures": len(target),
            "horizon": horizon, "format": format,
            "customers_path": None if customers is None else str(customers)}
    return Calibration(scn0, design, str(deals), target, joined.reset_index(drop=True), parameters, table,
                       best_point, best["sets"], {p.key: list(p.overrides(best_point[p.key], scn)) for p in fitted},
                       meta)


# ---------------------------------------------------------------- market_calibrated.yaml


def _market_file(design: Path) -> Path:
    try:
        doc = yaml.safe_load(design.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        doc = {}
    parent = doc.get("extends") if isinstance(doc, dict) else None
    if not isinstance(parent, str):
        raise ScenarioError([Problem(str(design), None, "extends", "the design extends no market file: "
                                                                   "market_calibrated.yaml would have nothing to extend")])
    return (design.parent / parent).resolve()


def _figure_text(cal: Calibration, names: str) -> str:
    rows = cal.targets.set_index("figure")
    parts = [f"{n} {describe(rows.loc[n])}" for n in names.split(",") if n in rows.index]
    return "; ".join(parts[:3]) + (f" and {len(parts) - 3} more" if len(parts) > 3 else "")


def market_yaml(cal: Calibration, folder: Path) -> str:
    """The text of ``market_calibrated.yaml`` for a results folder ``folder`` (its ``extends:`` is relative to it)."""
    parent = os.path.relpath(_market_file(cal.design_path), folder.resolve())
    lines = [f"# The market calibrated to {cal.data_path} ({cal.meta['records']:,} records over "
             f"{cal.meta['days']:.0f} days) by orgsim calibrate,",
             f"# with the design {cal.design.name} ({cal.design_path}). Each fitted key says the figure it was fitted to;",
             "# the band is the span of parameter values whose fit the data's own uncertainty cannot tell from the best.",
             "# To run a design on it, point the design's extends: at this file.",
             f"extends: {parent}", "name: market_calibrated", "abstract: true", ""]
    tree: dict[str, Any] = {}
    notes: dict[str, str] = {}
    by_key = {row["parameter"]: row for _, row in cal.parameters.iterrows()}
    for param, row in by_key.items():
        value = f"x{row['best']:.3g}" if row["relative"] else f"{row['best']:.4g}"
        band = (f"x{row['band_low']:.3g}-x{row['band_high']:.3g}" if row["relative"]
                else f"{row['band_low']:.4g}-{row['band_high']:.4g}")
        pinned = "" if row["pinned"] else " NOT PINNED DOWN by the data (band over half its range)"
        for key in cal.keys_of.get(param, []):
            # The figures of this key's own segment or channel (and those of no segment).
            parts = key.split(".")
            mine = [f for f in str(row["figures"]).split(",") if f and ("." not in f or f.split(".", 1)[1] in parts)]
            why = _figure_text(cal, ",".join(mine))
            if why:
                tail = f": fitted to {why}"
            elif row["figures"]:
                tail = ": too few records of its own; moved with the others"
            else:
                tail = ": no figure of the data bears on it directly"
            notes[key] = f"{param} {value} (band {band}){pinned}{tail}"
    for key, value in cal.overrides.items():
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def emit(node: dict[str, Any], indent: int, prefix: str) -> None:
        for k, v in node.items():
            path = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict) and path not in cal.overrides:
                lines.append(" " * indent + f"{k}:")
                emit(v, indent + 2, path)
            else:
                flow = yaml.safe_dump(_tidy(v), default_flow_style=True, width=10_000).strip()
                flow = flow.removesuffix("\n...").removesuffix("...").strip()
                note = notes.get(path)
                lines.append(" " * indent + f"{k}: {flow}" + (f"   # {note}" if note else ""))

    emit(tree, 0, "")
    return "\n".join(lines) + "\n"


def _tidy(v: Any) -> Any:
    if isinstance(v, float):
        return float(f"{v:.6g}")
    if isinstance(v, dict):
        return {k: _tidy(x) for k, x in v.items()}
    return v


# ---------------------------------------------------------------- tables and the folder


def format_fit(cal: Calibration) -> str:
    """The fit table: each figure, the data's value and the calibrated market's, with their CIs."""
    rows: list[tuple[str, ...]] = [("figure", "data [95% CI]", "calibrated [95% CI]", "z")]
    for _, r in cal.fit.iterrows():
        t = pd.Series({"value": r["target"], "ci_low": r["target_ci_low"], "ci_high": r["target_ci_high"],
                       "unit": r["unit"]})
        s = pd.Series({"value": r["simulated"], "ci_low": r["simulated_ci_low"], "ci_high": r["simulated_ci_high"],
                       "unit": r["unit"]})
        rows.append((r["figure"], describe(t), describe(s), f"{r['z']:+.1f}"))
    return _table(rows)


def format_parameters(cal: Calibration) -> str:
    """The parameters table: range, best, band, and whether the data pin each down."""
    rows: list[tuple[str, ...]] = [("parameter", "range", "best", "band", "pinned down")]
    for _, r in cal.parameters.iterrows():
        f = (lambda x: f"x{x:.3g}") if r["relative"] else (lambda x: f"{x:.4g}")
        rows.append((r["parameter"], f"{f(r['low'])}-{f(r['high'])}", f(r["best"]),
                     f"{f(r['band_low'])}-{f(r['band_high'])}",
                     "yes" if r["pinned"] else "NO: the data cannot tell (band over half the range)"))
    return _table(rows)


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    out.insert(1, "-" * len(out[0]))
    return "\n".join(out)


def _report(cal: Calibration) -> str:
    m = cal.meta
    return "\n".join([
        f"# Calibration of the market to {cal.data_path}", "",
        f"Design: {cal.design.name} ({cal.design_path}); {m['records']:,} records over {m['days']:.0f} days "
        f"(the export starts at the {m['entry']}); {m['trials']} search trials and {SCAN_POINTS} scan points per "
        f"parameter, {m['reps']} replication(s) each on the same seeds; best chi2 {m['best_chi2']:.1f} over "
        f"{m['figures']} figures, accepted up to {m['threshold']:.1f}.", "",
        "## Target vs simulated", "", "```", format_fit(cal), "```", "",
        "## Parameters", "", "```", format_parameters(cal), "```", "",
        "Not pinned down: " + (", ".join(cal.unpinned) if cal.unpinned else "none") + ".", ""])


def write(cal: Calibration, root: Path, argv: list[str] | None = None) -> Path:
    """Write the results folder under ``root`` (whole or not at all); return it."""
    from .atomic import write_text
    from .output import _write_folder, to_csv

    def fill(tmp: Path) -> dict[str, Any]:
        # The folder ends up directly under root, so any name there gives extends: its path.
        write_text(tmp / "market_calibrated.yaml", market_yaml(cal, root / "calibrate"))
        to_csv(cal.targets, tmp / "targets.csv")
        to_csv(cal.fit, tmp / "fit.csv")
        to_csv(cal.parameters, tmp / "parameters.csv")
        to_csv(cal.trials, tmp / "trials.csv")
        write_text(tmp / "report.md", _report(cal))
        return {"calibration": dict(cal.meta), "data": cal.data_path,
                "design": str(cal.design_path)}

    return _write_folder(root, "calibrate", [cal.design.name], fill, argv, report=False)


# ---------------------------------------------------------------- the command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``orgsim calibrate``."""
    parser.description = ("Fit the market's uncertain parameters so that a design reproduces a CRM export's "
                          "figures (Optuna on common random numbers, then an uncertainty band). Writes "
                          "market_calibrated.yaml, the fit report and its tables; the design is not touched.")
    parser.add_argument("--data", type=Path, required=True, metavar="DEALS.csv", help="the CRM export")
    parser.add_argument("--customers", type=Path, metavar="CUSTOMERS.csv",
                        help="customers table (id, segment, start_at, arr, churned_at, expansions, expansion_arr)")
    parser.add_argument("--format", choices=crm.FORMATS, default="neutral", help="the export's format (default neutral)")
    parser.add_argument("--stages", type=Path, metavar="STAGES.csv",
                        help="the stage times as a long table (id, stage, entered_at), with the neutral format")
    parser.add_argument("--mapping", type=Path, metavar="MAPPING.yaml",
                        help="the CRM's stage (and segment, source, column) names as orgsim's")
    parser.add_argument("--design", type=Path, required=True, metavar="SCENARIO", help="the company's current design")
    parser.add_argument("--params", metavar="KEY[,KEY...]", type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
                        help="market parameters to fit (default: arrival rates, stage conversions, ACV, cycle; "
                             "churn and expansion with --customers)")
    parser.add_argument("--trials", type=int, default=DEFAULT_TRIALS, help=f"search trials (default {DEFAULT_TRIALS})")
    parser.add_argument("--reps", type=int, default=DEFAULT_REPS,
                        help=f"replications per trial (default {DEFAULT_REPS})")
    parser.add_argument("--seed", type=int, help="root seed (default: the design's)")
    parser.add_argument("--as-of", metavar="DATE", help="the export's date (default: the latest date in it)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override a value of the design (repeatable)")
    parser.add_argument("--out", type=Path, default=Path("results"), help="folder for results (default: results/)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    """Run ``orgsim calibrate``; 0 done, 2 bad input (nothing written)."""
    update, bar = None, None
    if not args.quiet:
        from .progress import progress_bar

        bar = progress_bar(0, "run")

        def update(done: int, total: int) -> None:
            assert bar is not None
            bar.total, bar.n = total, done
            bar.refresh()

    try:
        cal = calibrate(args.design, args.data, args.customers, args.format, args.mapping, args.params,
                        args.trials, args.reps, args.seed, args.overrides, args.as_of, update, args.stages)
    finally:
        if bar is not None:
            bar.close()
    folder = write(cal, args.out, sys.argv)
    print(format_fit(cal))
    print()
    print(format_parameters(cal))
    print()
    print(f"results: {folder}")
    print(f"market: {folder / 'market_calibrated.yaml'}")
    return 0
