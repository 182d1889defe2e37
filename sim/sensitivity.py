"""One-at-a-time sensitivity: which lever moves a KPI most?

Each lever (a numeric scenario key) is moved to a low and a high value around its base,
``base x (1 - delta)`` and ``base x (1 + delta)``, one at a time, every other key at its
base. Whole-number keys (headcount) are rounded, and moved by at least one; values are
clipped to the schema's bounds, and each perturbed scenario is validated like ``--set``
(a side that does not validate, e.g. a working role's headcount at 0, is left out and said).

Every variant runs with the base's replication seeds (common random numbers), so the
effect of a lever is the paired difference ``variant - base`` replication by replication,
with its t interval: the market's noise cancels. Levers are ranked by the larger of their
two absolute effects.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

import numpy as np
import pandas as pd
from pydantic import BaseModel

from .experiment import Progress
from .metrics import KPI_DOCS, LOST_REASONS
from .plan import (
    Plan,
    ScenarioLike,
    integer_keys,
    override_text,
    plan_points,
    round_half_up,
    run_plan,
    tidy,
    value_at,
)
from .scenario import Problem, ScenarioError
from .schema import Scenario
from .stats import mean_ci, summarize
from .streams import replication_seed

__all__ = ["Lever", "SensitivityResults", "default_levers", "perturb", "parse_delta", "known_kpis",
           "check_kpis", "plan_sensitivity", "sensitivity", "sensitivity_results", "effects", "SENSITIVITY_COLUMNS"]

#: Columns of sensitivity.csv (see :mod:`sim.report.folder`), after ``rank``.
SENSITIVITY_COLUMNS = ("parameter", "kpi", "base_value", "low_value", "high_value", "base_mean",
                       "low_diff_mean", "low_diff_ci_low", "low_diff_ci_high",
                       "high_diff_mean", "high_diff_ci_low", "high_diff_ci_high", "n")


# ---------------------------------------------------------------- KPIs


def known_kpis(scn: Scenario) -> list[str]:
    """Every KPI name a replication of ``scn`` reports (``<role>`` and ``<reason>`` filled in)."""
    out: list[str] = []
    for name in KPI_DOCS:
        if "<reason>" in name:
            out += [name.replace("<reason>", r) for r in LOST_REASONS]
        elif "<role>" in name:
            out += [name.replace("<role>", r) for r in scn.roles]
        else:
            out.append(name)
    return out


def check_kpis(scn: Scenario, kpis: Sequence[str], source: str = "--kpi") -> list[str]:
    """The KPIs, or a :class:`ScenarioError` naming the unknown ones with a suggestion."""
    known = known_kpis(scn)
    # KPIs keyed by a name this module does not know how to list (neither a role nor a reason).
    open_prefixes = [k.split("<")[0] for k in KPI_DOCS if "<" in k and not ("<role>" in k or "<reason>" in k)]
    problems = []
    for kpi in kpis:
        if kpi in known or any(kpi.startswith(p) for p in open_prefixes):
            continue
        close = difflib.get_close_matches(kpi, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(Problem(source, None, kpi, f"unknown KPI{hint}"))
    if not kpis:
        problems.append(Problem(source, None, "", "expected at least one KPI"))
    if problems:
        raise ScenarioError(problems)
    return list(kpis)


# ---------------------------------------------------------------- levers


#: Role keys that act only in a role whose capacity changes (sim.staffing).
_STAFFING_ONLY = ("ramp_start", "ramp_time", "time_to_hire")


def default_levers(scn: Scenario) -> list[str]:
    """Every numeric organization parameter of the resolved scenario that is not zero, and
    the model's effects.

    Roles' numbers (headcount, costs, productive share, judgement noise, teams, pickup
    delays...), ``data_integration``, the thresholds of gate activities, and every non-zero
    ``market.effects`` parameter (the assumptions the conclusions rest on).
    """
    doc = scn.model_dump(mode="json")
    keys: list[str] = []
    for role, spec in scn.roles.items():
        leaves = _numeric_leaves(doc["roles"][role], f"roles.{role}")
        # How new hires ramp and how soon a leaver is replaced act only where people join and leave.
        keys += [k for k in leaves if spec.capacity_changes or k.rsplit(".", 1)[1] not in _STAFFING_ONLY]
    keys += _numeric_leaves({"data_integration": doc.get("data_integration")}, "")
    for name, act in scn.market.activities.items():
        if act.kind == "gate":
            keys += _numeric_leaves({"threshold": act.threshold}, f"market.activities.{name}")
    keys += _numeric_leaves(doc["market"]["effects"], "market.effects")
    return keys


def _numeric_leaves(doc: Any, prefix: str) -> list[str]:
    out: list[str] = []
    for key, value in doc.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out += _numeric_leaves(value, path)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and value != 0 and math.isfinite(value):
            out.append(path)
    return out


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        found += _models_in(arg)
    return found


def _pick(models: list[type[BaseModel]], doc: Any) -> type[BaseModel] | None:
    if len(models) == 1:
        return models[0]
    tag = doc.get("dist") if isinstance(doc, dict) else None
    for m in models:
        f = m.model_fields.get("dist")
        if f is not None and tag in get_args(f.annotation):
            return m
    return None


def schema_bounds(scn: Scenario, key: str) -> tuple[float | None, bool, float | None, bool]:
    """``(lower, lower_is_strict, upper, upper_is_strict)`` of a key in the schema; None: no bound."""
    model: type[BaseModel] | None = Scenario
    doc: Any = scn.model_dump(mode="json")
    parts = key.split(".")
    i = 0
    while model is not None and i < len(parts):
        f = model.model_fields.get(parts[i])
        if f is None:
            break
        doc = doc.get(parts[i]) if isinstance(doc, dict) else None
        i += 1
        if i == len(parts):
            lo = hi = None
            lo_strict = hi_strict = False
            for m in f.metadata:
                if getattr(m, "ge", None) is not None:
                    lo = m.ge
                if getattr(m, "gt", None) is not None:
                    lo, lo_strict = m.gt, True
                if getattr(m, "le", None) is not None:
                    hi = m.le
                if getattr(m, "lt", None) is not None:
                    hi, hi_strict = m.lt, True
            return lo, lo_strict, hi, hi_strict
        annotation = f.annotation
        mapping = next((a for a in (annotation, *get_args(annotation)) if get_origin(a) is dict), None)
        if mapping is not None:
            doc = doc.get(parts[i]) if isinstance(doc, dict) else None
            i += 1
            annotation = get_args(mapping)[1]
        model = _pick(_models_in(annotation), doc)
    return None, False, None, False


@dataclass(frozen=True)
class Lever:
    """A parameter and the values it takes: base, low and high (None: that side is not run)."""

    key: str
    base: float
    low: float | None
    high: float | None


def parse_delta(text: str | float) -> float:
    """``"20%"`` or ``0.2`` -> 0.2."""
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        raw = text.strip()
        try:
            value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
        except ValueError:
            raise ScenarioError([Problem("--delta", None, "", f"expected a share such as 20% or 0.2, got {text!r}")]) from None
    if not 0 < value < 10:
        raise ScenarioError([Problem("--delta", None, "", f"expected a share between 0% and 1000%, got {text!r}")])
    return value


def perturb(scn: Scenario, key: str, delta: float) -> Lever:
    """The low and high values of ``key``: +-delta of its base, rounded and clipped to the schema."""
    base = value_at(scn.model_dump(mode="json"), key)
    if isinstance(base, bool) or not isinstance(base, (int, float)):
        shown = "missing" if base is None else f"{base!r}"
        raise ScenarioError([Problem("--params", None, key, f"not a numeric parameter of {scn.name!r} ({shown})")])
    a, b = sorted((base * (1 - delta), base * (1 + delta)))
    low: float
    high: float
    if key in integer_keys(scn, [key]):
        low, high = round_half_up(a), round_half_up(b)
        low = base - 1 if low == base else low
        high = base + 1 if high == base else high
    else:
        low, high = tidy(a), tidy(b)
    lo, lo_strict, hi, hi_strict = schema_bounds(scn, key)
    sides: list[float | None] = [low, high]
    for i, v in enumerate(sides):
        if v is None:
            continue
        if lo is not None and (v < lo or (lo_strict and v <= lo)):
            v = None if lo_strict else lo
        if v is not None and hi is not None and (v > hi or (hi_strict and v >= hi)):
            v = None if hi_strict else hi
        sides[i] = None if v == base else v
    return Lever(key, base, sides[0], sides[1])


# ---------------------------------------------------------------- running


@dataclass
class SensitivityResults:
    """``table`` is sensitivity.csv: levers ranked by effect on the first KPI, with paired CIs."""

    scenario: Scenario
    kpis: list[str]
    levers: list[Lever]
    table: pd.DataFrame
    runs: pd.DataFrame
    base_summary: pd.DataFrame
    skipped: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [self.scenario.name]


def plan_sensitivity(scenario: ScenarioLike, params: Sequence[str] | None = None, delta: float | str = 0.2,
                     reps: int | None = None, seed: int | None = None, overrides: Sequence[str] = (),
                     kpis: Sequence[str] = (), skipped: list[str] | None = None,
                     large: bool = False, vs: ScenarioLike | None = None) -> tuple[Plan, list[Lever]]:
    """The base point and, for each lever, its low and high points (one key changed each).

    With ``vs`` (a baseline design), both designs run every point, and by default only the
    levers both designs have are moved (the market's effects, shared keys).
    """
    share = parse_delta(delta)
    shared: dict[str, Any] | None = None
    if vs is not None:
        from .api import as_scenario

        shared = as_scenario(vs, overrides if not isinstance(vs, Scenario) else ()).model_dump(mode="json")
    levers: list[Lever] = []
    invalid: list[tuple[dict[str, Any], list[Problem]]] = []

    def points(base: Scenario) -> list[dict[str, Any]]:
        if kpis:
            check_kpis(base, kpis)
        keys = list(dict.fromkeys(params)) if params else default_levers(base)
        if shared is not None and not params:
            keys = [k for k in keys if value_at(shared, k) is not None]
        if not keys:
            raise ScenarioError([Problem("--params", None, "", f"{base.name!r} has no non-zero numeric parameter")])
        levers.extend(perturb(base, k, share) for k in keys)
        return [{}] + [{lv.key: v} for lv in levers for v in (lv.low, lv.high) if v is not None]

    designs = [scenario] if vs is None else [scenario, vs]
    plan = plan_points("sensitivity", designs, points, reps, seed, overrides, source="--params", skipped=invalid,
                       large=large)
    dropped = {(k, v) for point, _ in invalid for k, v in point.items()}
    levers = [Lever(lv.key, lv.base, None if (lv.key, lv.low) in dropped else lv.low,
                    None if (lv.key, lv.high) in dropped else lv.high) for lv in levers]
    notes = [f"{point_text(p)} left out: {'; '.join(pr.message for pr in probs)}" for p, probs in invalid]
    notes += [f"{lv.key} left out: its base value {lv.base:g} cannot move by +-{share * 100:g}% "
              "(zero, or at the schema's bounds)" for lv in levers if lv.low is None and lv.high is None]
    levers = [lv for lv in levers if lv.low is not None or lv.high is not None]
    if not levers:
        raise ScenarioError([Problem("--params", None, "", "no lever can move: " + "; ".join(notes))])
    if skipped is not None:
        skipped += notes
    plan.key_columns = False
    plan.info = {"delta": share, "levers": [lv.key for lv in levers]}
    if vs is not None:
        plan.info["vs"] = plan.names[1]
    return plan, levers


def point_text(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={override_text(v)}" for k, v in point.items())


def sensitivity(scenario: ScenarioLike, kpi: str | Sequence[str], params: Sequence[str] | None = None,
                delta: float | str = 0.2, reps: int | None = None, seed: int | None = None,
                jobs: int | None = None, overrides: Sequence[str] = (), progress: Progress | None = None,
                executor: str = "local", scheduler: str | None = None,
                checkpoint: str | Path | None = None, large: bool = False,
                vs: ScenarioLike | None = None) -> SensitivityResults:
    """Rank levers by their effect on ``kpi`` (one KPI, or several: the first ranks).

    With ``vs`` (a baseline design), levers are ranked by their effect on the paired
    difference ``scenario - vs`` instead of on one design's KPI.

    Parameters
    ----------
    params
        Dotted keys to move (default: :func:`default_levers`).
    delta
        The move, as a share of the base value: ``0.2`` or ``"20%"``.
    checkpoint
        A folder to stream finished replications to; running again with it resumes.
    large
        Run even an analysis estimated beyond the size limits (``--yes-large``).
    """
    kpis = [kpi] if isinstance(kpi, str) else list(kpi)
    skipped: list[str] = []
    plan, levers = plan_sensitivity(scenario, params, delta, reps, seed, overrides, kpis, skipped, large, vs)
    runs, facts = run_plan(plan, checkpoint, jobs, executor, scheduler, progress)
    return sensitivity_results(plan, levers, kpis, runs, {"jobs": jobs, "executor": executor, **facts}, skipped)


def sensitivity_results(plan: Plan, levers: list[Lever], kpis: list[str], runs: pd.DataFrame,
                        facts: dict[str, Any], skipped: list[str]) -> SensitivityResults:
    """A finished plan's tables; ``facts`` (jobs, executor, timings...) go to ``meta``."""
    runs = _label_runs(runs, plan)
    if plan.info.get("vs"):
        runs = _paired_runs(runs, plan.names[0], str(plan.info["vs"]), kpis)
    table = effects(runs, levers, kpis)
    base_reps = runs[runs.point == 0].drop(columns=["point", "parameter", "side", "value"])
    meta = {**plan.describe(), "points": len(plan.points), "kpis": kpis,
            "replication_seeds": [replication_seed(plan.seed, r) for r in range(plan.reps)],
            "skipped": skipped, **facts}
    return SensitivityResults(plan.bases[0], kpis, levers, table, runs, summarize(base_reps), skipped, meta)


def _paired_runs(runs: pd.DataFrame, design: str, baseline: str, kpis: Sequence[str]) -> pd.DataFrame:
    """The design's runs with each KPI replaced by the paired difference design - baseline."""
    mine = runs[runs.scenario == design].set_index(["point", "replication"])
    base = runs[runs.scenario == baseline].set_index(["point", "replication"])
    out = mine.copy()
    for kpi in kpis:
        out[kpi] = mine[kpi].astype(float) - base[kpi].reindex(mine.index).astype(float)
    return out.reset_index()[runs.columns]


def _label_runs(runs: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """Name each run's variant: parameter, side (base, low, high) and value."""
    labels = []
    for point in plan.points:
        if not point:
            labels.append(("", "base", np.nan))
            continue
        (key, value), = point.items()
        base = value_at(plan.bases[0].model_dump(mode="json"), key)
        labels.append((key, "low" if value < base else "high", value))
    lab = pd.DataFrame(labels, columns=["parameter", "side", "value"])
    out = runs.join(lab, on="point")
    first = ["point", "parameter", "side", "value", "scenario", "replication", "seed"]
    return out[first + [c for c in out.columns if c not in first]]


def effects(runs: pd.DataFrame, levers: Sequence[Lever], kpis: Sequence[str]) -> pd.DataFrame:
    """Paired effect of each lever's low and high value on each KPI, ranked per KPI."""
    base = runs[runs.side == "base"].set_index("replication")
    tables = []
    for kpi in kpis:
        rows = []
        base_mean = mean_ci(base[kpi].to_numpy(dtype=float))[0]
        for lv in levers:
            row: dict[str, Any] = {"parameter": lv.key, "kpi": kpi, "base_value": lv.base,
                                   "low_value": lv.low, "high_value": lv.high, "base_mean": base_mean}
            ns = []
            for side in ("low", "high"):
                part = runs[(runs.parameter == lv.key) & (runs.side == side)].set_index("replication")
                shared = part.index.intersection(base.index)
                diff = part.loc[shared, kpi].to_numpy(dtype=float) - base.loc[shared, kpi].to_numpy(dtype=float)
                mean, low, high, n = mean_ci(diff) if len(diff) else (np.nan, np.nan, np.nan, 0)
                row |= {f"{side}_diff_mean": mean, f"{side}_diff_ci_low": low, f"{side}_diff_ci_high": high}
                ns.append(n)
            row["n"] = max(ns)
            rows.append(row)
        table = pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))
        effect = table[["low_diff_mean", "high_diff_mean"]].abs().max(axis=1)
        # Ties (and levers with no effect) keep a stable, explicit order: by name.
        order = sorted(range(len(table)), key=lambda i: (-effect.iloc[i] if effect.iloc[i] == effect.iloc[i]
                                                         else math.inf, table.parameter.iloc[i]))
        table = table.iloc[order].reset_index(drop=True)
        table.insert(0, "rank", range(1, len(table) + 1))
        tables.append(table)
    return pd.concat(tables, ignore_index=True)
