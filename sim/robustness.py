"""Robustness of a comparison: what a conclusion rests on, and where it flips.

``orgsim robustness DESIGN... --baseline NAME`` varies the uncertain parameters over their
plausible ranges (:data:`sim.assumptions.RANGES`; by default
:data:`sim.assumptions.DEFAULT_ROBUSTNESS`, those that act in one of the designs) and
measures, at every point, each headline's **paired difference** design - baseline: every
design runs every point with the same replication seeds (common random numbers), so the
difference is read replication by replication, with its t interval.

Stages, each a :class:`sim.plan.Plan` run by :func:`sim.plan.run_plan` (progress, ``--jobs``,
Dask, interrupts and ``--resume`` as every other command; the stages live in one checkpoint
folder):

1. **the space**: the shipped values (point 0) and a design of experiments over the ranges
   (SALib: Morris trajectories by default, Saltelli's scheme for Sobol, or one at a time).
   Global sensitivity of each paired difference comes from SALib's estimators (Morris
   mu*/sigma, Sobol S1/ST); *robust* means the paired difference keeps its shipped sign at
   every point; the *share better* is the share of points where the design is better.
2. **the ends**: for the parameters that matter most (by mu*, per design and headline), the
   two ends of the range with every other parameter at its shipped value.
3. **switching values**: where the paired difference changes sign along such a line, it is
   bisected (``steps`` rounds); the switching value is where the mean crosses zero
   (linear between the last bracket), and its interval is where the paired difference's CI
   contains zero (the same interpolation on the CI's bounds).

Scenario discovery ("in which markets does the design win?") is a depth-2 decision tree
(scikit-learn) over the sampled points, read as at most four rules. A shallow tree rather
than PRIM: it partitions the whole space (every point falls under one rule, so the rules
add up to the share better), it is deterministic, and scikit-learn is well kept, whereas the
maintained PRIM implementations come inside a much larger workbench. scikit-learn is an
optional extra (``pip install orgsim[robustness]``); without it the rules are left out, and
said.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import kpis as K
from .assumptions import DEFAULT_ROBUSTNESS, RANGES, acts_in, check_params, expand, value_of
from .experiment import Interrupted, Progress
from .plan import Plan, ScenarioLike, _loaders, check_designs, override_text, run_plan
from .scenario import Problem, ScenarioError
from .schema import Scenario
from .stats import mean_ci, paired_differences, summarize

__all__ = ["HEADLINES", "DEFAULTS", "RobustnessResults", "robustness", "plan_space", "ROBUSTNESS_COLUMNS",
           "SWITCHING_COLUMNS", "INDEX_COLUMNS", "rules_available"]

#: The paired differences every robustness run measures (``kpis`` adds to them).
HEADLINES = ("conversion_rate", "logo_churn_annual", "nrr", "ltv_to_cac", "cac", "total_cost")
#: Defaults: 4 Morris trajectories, 2 replications, a 2-year horizon, 2 bisection rounds, the 2
#: most influential parameters per headline bisected. Measured on 2 cores for the three main
#: designs (21 parameters, 89 points: 534 replications, then 120 at the ranges' ends and two
#: rounds of 42 in bisection): 4:23 to 5:21 wall, 504 to 618 CPU seconds on quiet machines
#: (2026-12-02, two sessions, benchmarks/RESULTS.md); 15 minutes on a busier, slower one.
DEFAULTS: dict[str, Any] = {"samples": 4, "reps": 2, "horizon": "2y", "levels": 4, "steps": 2, "top": 2}
METHODS = ("morris", "sobol", "oat")

ROBUSTNESS_COLUMNS = ("design", "baseline", "kpi", "base_diff_mean", "base_diff_ci_low", "base_diff_ci_high",
                      "robust", "share_better", "min_diff", "max_diff", "points", "leans_on", "flips")
SWITCHING_COLUMNS = ("design", "baseline", "kpi", "parameter", "base_value", "low", "high", "switching_value",
                     "ci_low", "ci_high", "better_when")
INDEX_COLUMNS = ("design", "kpi", "parameter", "mu_star", "mu_star_conf", "sigma", "S1", "ST", "rank")


def rules_available() -> bool:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------- the plan


def _design_point(scn: Scenario, values: dict[str, float]) -> list[str]:
    extra: dict[str, Any] = {}
    for path, value in values.items():
        extra.update(expand(path, value, scn))
    return [f"{k}={override_text(v)}" for k, v in extra.items()]


def _build(kind: str, loaders: list[Any], bases: list[Scenario], points: list[dict[str, float]], reps: int,
           seed: int, info: dict[str, Any]) -> Plan:
    grid: list[list[Scenario]] = []
    problems: list[Problem] = []
    for point in points:
        row = []
        for load, base in zip(loaders, bases):
            try:
                row.append(load(_design_point(base, point)))
            except ScenarioError as exc:
                where = ", ".join(f"{k}={v:g}" for k, v in point.items())
                problems += [Problem("--params", None, p.path, f"{p.message} (at {where})") for p in exc.problems]
        grid.append(row)
    if problems:
        raise ScenarioError(list(dict.fromkeys(problems)))
    plan = Plan(kind, bases, points, grid, reps, seed, info=info)
    plan.key_columns = False
    return plan


def _base_value(path: str, bases: list[Scenario]) -> float:
    for b in bases:
        if acts_in(path, b):
            v = value_of(path, b)
            if v is not None:
                return v
    return 1.0 if RANGES[path].relative else RANGES[path].low


def _problem(params: Sequence[str]) -> dict[str, Any]:
    """SALib's description of the space: each parameter between its plausible low and high."""
    return {"num_vars": len(params), "names": list(params),
            "bounds": [[RANGES[p].low, RANGES[p].high] for p in params]}


def _per_difference(diffs: pd.DataFrame, names: list[str], baseline: str,
                    kpis: list[str]) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """Each design's paired difference against the baseline, per KPI, at the sampled points
    (point 0, the design as written, left out), in point order."""
    for name in names:
        if name == baseline:
            continue
        for kpi in kpis:
            part = diffs[(diffs.design == name) & (diffs.kpi == kpi) & (diffs.point > 0)].sort_values("point")
            yield name, kpi, part


def plan_space(params: Sequence[str], method: str, samples: int, seed: int, levels: int) -> np.ndarray:
    """The sampled points of the space (rows), in the order of ``params``, from SALib."""
    problem = _problem(params)
    if method == "morris":
        from SALib.sample import morris as morris_sample

        return np.asarray(morris_sample.sample(problem, N=samples, num_levels=levels, seed=seed % (2 ** 32)))
    if method == "sobol":
        from SALib.sample import sobol as sobol_sample

        return np.asarray(sobol_sample.sample(problem, N=samples, calc_second_order=False, seed=seed % (2 ** 32)))
    rows = []
    for i, p in enumerate(params):
        for end in (RANGES[p].low, RANGES[p].high):
            row = [math.nan] * len(params)
            row[i] = end
            rows.append(row)
    return np.asarray(rows)


# ---------------------------------------------------------------- results


@dataclass
class RobustnessResults:
    """``table`` (robustness.csv), ``switching`` (switching.csv), ``indices`` (indices.csv),
    ``points`` (every point's paired differences), ``rules`` and ``runs``."""

    scenarios: list[Scenario]
    baseline: str
    params: list[str]
    kpis: list[str]
    table: pd.DataFrame
    switching: pd.DataFrame
    indices: pd.DataFrame
    points: pd.DataFrame
    rules: pd.DataFrame
    runs: pd.DataFrame
    summary: pd.DataFrame
    paired: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]


def _diffs(runs: pd.DataFrame, baseline: str, names: list[str], kpis: list[str]) -> pd.DataFrame:
    """Point x design x KPI: the paired difference design - baseline, with its CI."""
    rows = []
    for p, part in runs.groupby("point", sort=True):
        base = part[part.scenario == baseline].set_index("replication")
        for name in names:
            if name == baseline:
                continue
            mine = part[part.scenario == name].set_index("replication")
            shared = mine.index.intersection(base.index)
            for kpi in kpis:
                d = mine.loc[shared, kpi].to_numpy(dtype=float) - base.loc[shared, kpi].to_numpy(dtype=float)
                d = d[np.isfinite(d)]
                m, lo, hi, n = mean_ci(d) if len(d) else (math.nan, math.nan, math.nan, 0)
                rows.append({"point": int(p), "design": name, "kpi": kpi, "mean": m, "ci_low": lo, "ci_high": hi,
                             "n": n})
    return pd.DataFrame(rows)


def _better(kpi: str) -> int:
    spec = K.get(kpi)
    return spec.better if spec is not None and spec.better else 1


def _sign(x: float) -> int:
    return 0 if not math.isfinite(x) or x == 0 else (1 if x > 0 else -1)


# ---------------------------------------------------------------- running


def robustness(designs: Sequence[ScenarioLike], baseline: str | None = None, params: Sequence[str] | None = None,
               reps: int | None = None, samples: int | None = None, method: str = "morris",
               kpis: Sequence[str] = (), seed: int | None = None, jobs: int | None = None,
               overrides: Sequence[str] = (), progress: Progress | None = None, executor: str = "local",
               scheduler: str | None = None, checkpoint: str | Path | None = None, large: bool = False,
               steps: int | None = None, top: int | None = None, switching: bool = True,
               notes: list[str] | None = None) -> RobustnessResults:
    """How far each design's paired difference against ``baseline`` holds over the plausible
    ranges of ``params`` (default: every default assumption that acts in one of the designs).

    ``samples`` is the number of Morris trajectories (or Sobol base samples: a power of 2);
    ``reps`` replications per point and design (default 2); the horizon is at most 2 years
    unless an override sets ``simulation.horizon``. ``steps`` bisection rounds per switching value.
    With ``checkpoint``, every finished replication is kept there, and running again resumes.
    """
    if method not in METHODS:
        raise ScenarioError([Problem("--method", None, "", f"expected one of {', '.join(METHODS)}, got {method!r}")])
    samples = DEFAULTS["samples"] if samples is None else samples
    if samples < 1 or (method == "sobol" and samples & (samples - 1)):
        raise ScenarioError([Problem("--samples", None, "", f"expected {'a power of 2' if method == 'sobol' else 'at least 1'}"
                                                            f", got {samples}")])
    steps = DEFAULTS["steps"] if steps is None else steps
    top = DEFAULTS["top"] if top is None else top
    reps = DEFAULTS["reps"] if reps is None else reps
    notes = [] if notes is None else notes
    overrides = list(overrides)
    if len(designs) < 2:
        raise ScenarioError([Problem("robustness", None, "", "expected at least two designs: the baseline and one "
                                                             "to compare with it")])
    if not any(o.split("=")[0].strip() == "simulation.horizon" for o in overrides):
        from .api import as_scenario
        from .units import parse_duration

        longest = max(as_scenario(d, overrides if not isinstance(d, Scenario) else ()).simulation.horizon
                      for d in designs)
        if longest > parse_duration(DEFAULTS["horizon"]):  # never longer than the designs' own
            overrides.insert(0, f"simulation.horizon={DEFAULTS['horizon']}")
    root = Path(checkpoint) if checkpoint is not None else None
    with tempfile.TemporaryDirectory(prefix="orgsim-robustness-") as tmp, _loaders(designs, overrides) as loaders:
        folder = root if root is not None else Path(tmp)
        bases = [load([]) for load in loaders]
        check_designs("robustness", bases)
        names = [b.name for b in bases]
        if baseline is None:
            baseline = names[0]
            notes.append(f"baseline: {baseline} (first file); --baseline NAME to choose")
        if baseline not in names:
            raise ScenarioError([Problem("--baseline", None, "", f"no design named {baseline!r}; expected one of "
                                                                 f"{', '.join(names)}")])
        from .sensitivity import check_kpis

        kpis = list(dict.fromkeys([*HEADLINES, *check_kpis(bases[0], list(kpis) or ["conversion_rate"])]))
        if params:
            chosen = check_params(params)
            idle = [p for p in chosen if not any(acts_in(p, b) for b in bases)]
            if idle:
                raise ScenarioError([Problem("--params", None, p, "does not act in any of these designs")
                                     for p in idle])
        else:
            chosen = [p for p in DEFAULT_ROBUSTNESS if any(acts_in(p, b) for b in bases)]
        seed = bases[0].simulation.seed if seed is None else seed
        info = {"method": method, "samples": samples, "params": chosen, "baseline": baseline, "overrides": overrides}
        X = plan_space(chosen, method, samples, seed, DEFAULTS["levels"])
        space = [{p: float(v) for p, v in zip(chosen, row) if math.isfinite(v)} for row in X]
        plan1 = _build("robustness", loaders, bases, [{}, *space], reps, seed, info)
        from .experiment import check_size

        check_size([s for row in plan1.scenarios for s in row], reps, large, "this robustness analysis")
        runs1 = _stage(plan1, folder, jobs, executor, scheduler, progress, root)
        diffs = _diffs(runs1, baseline, names, kpis)
        indices = _indices(diffs, X, chosen, method, names, baseline, kpis, notes)
        # ------------------------------------------------------------ the ends and switching values
        cands = _candidates(indices, diffs, X, chosen, method, top)
        switch_rows: list[dict[str, Any]] = []
        if switching and cands:
            ends = [{p: RANGES[p].low} for p in cands] + [{p: RANGES[p].high} for p in cands]
            plan2 = _build("robustness-ends", loaders, bases, ends, reps, seed, {**info, "stage": "ends"})
            runs2 = _stage(plan2, folder / "ends", jobs, executor, scheduler, progress, root)
            switch_rows = _switching(loaders, bases, folder, baseline, names, kpis, cands, ends, runs2,
                                     diffs[diffs.point == 0], reps, seed, info, steps, jobs, executor, scheduler,
                                     progress, root)
    base_diff = diffs[diffs.point == 0]
    table = _table(diffs, base_diff, indices, switch_rows, names, baseline, kpis, chosen, len(space))
    rules = _rules(diffs, X, chosen, names, baseline, kpis, notes)
    points = _points_table(diffs, space, chosen)
    base_runs = runs1[runs1.point == 0].drop(columns=["point"])
    meta = {**info, "reps": reps, "seed": seed, "kpis": kpis, "points": len(space) + 1, "notes": notes,
            "jobs": jobs, "executor": executor, "rules": "decision tree (scikit-learn, depth 2)"
            if rules_available() else "not available (pip install orgsim[robustness])"}
    switching_df = pd.DataFrame(switch_rows, columns=list(SWITCHING_COLUMNS))
    return RobustnessResults(bases, baseline, chosen, kpis, table, switching_df, indices, points, rules, runs1,
                             summarize(base_runs), paired_differences(base_runs, baseline), meta)


def _stage(plan: Plan, folder: Path, jobs: int | None, executor: str, scheduler: str | None,
           progress: Progress | None, root: Path | None) -> pd.DataFrame:
    try:
        runs, _ = run_plan(plan, folder, jobs, executor, scheduler, progress)
    except Interrupted as exc:
        raise Interrupted(exc.done, exc.total, str(root) if root is not None else None) from None
    return runs


def _indices(diffs: pd.DataFrame, X: np.ndarray, params: list[str], method: str, names: list[str], baseline: str,
             kpis: list[str], notes: list[str]) -> pd.DataFrame:
    """SALib's indices of each paired difference, per design and KPI, ranked by mu* (or ST)."""
    problem = _problem(params)
    rows = []
    for name, kpi, part in _per_difference(diffs, names, baseline, kpis):
        Y = part["mean"].to_numpy(dtype=float)
        base = diffs[(diffs.design == name) & (diffs.kpi == kpi) & (diffs.point == 0)]["mean"]
        if len(Y) != len(X) or not np.isfinite(Y).all():
            notes.append(f"{name} - {baseline}, {kpi}: not defined at every point (too few events); "
                         "no sensitivity indices")
            continue
        found: dict[str, np.ndarray] = {}
        if method == "morris":
            from SALib.analyze import morris as morris_analyze

            res = morris_analyze.analyze(problem, X, Y, num_levels=DEFAULTS["levels"], seed=1)
            found = {"mu_star": res["mu_star"], "mu_star_conf": res["mu_star_conf"], "sigma": res["sigma"]}
        elif method == "sobol":
            from SALib.analyze import sobol as sobol_analyze

            res = sobol_analyze.analyze(problem, Y, calc_second_order=False, seed=1)
            found = {"S1": res["S1"], "ST": res["ST"]}
        else:
            b = float(base.iloc[0]) if len(base) else math.nan
            effect = []
            for i in range(len(params)):
                lo, hi = Y[2 * i], Y[2 * i + 1]
                effect.append(max(abs(lo - b), abs(hi - b)))
            found = {"mu_star": np.asarray(effect)}
        order = found.get("mu_star", found.get("ST"))
        assert order is not None
        ranked = sorted(range(len(params)), key=lambda i: (-float(np.nan_to_num(order[i], nan=-1.0)), params[i]))
        for rank, i in enumerate(ranked, 1):
            rows.append({"design": name, "kpi": kpi, "parameter": params[i], "rank": rank,
                         **{c: float(found[c][i]) if c in found else math.nan
                            for c in ("mu_star", "mu_star_conf", "sigma", "S1", "ST")}})
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS))


def _candidates(indices: pd.DataFrame, diffs: pd.DataFrame, X: np.ndarray, params: list[str], method: str,
                top: int) -> list[str]:
    """The parameters whose ends are run: the ``top`` most influential per design and KPI."""
    if method == "oat" or indices.empty:
        return list(params) if method == "oat" else []
    picked = indices[indices["rank"] <= top].parameter.tolist()
    return [p for p in params if p in set(picked)]


def _crossings(pts: list[tuple[float, float, float, float]], col: int) -> list[float]:
    """Where column ``col`` (1 mean, 2 CI low, 3 CI high) crosses zero, linear between points."""
    out = []
    for a, b in pairwise(pts):
        if math.isfinite(a[col]) and math.isfinite(b[col]) and _sign(a[col]) * _sign(b[col]) < 0:
            out.append(a[0] + (b[0] - a[0]) * (0 - a[col]) / (b[col] - a[col]))
    return out


def _line(values: list[tuple[float, float, float, float]]) -> tuple[float, float, float] | None:
    """``(value, mean, ci_low, ci_high)`` points along one parameter -> ``(switch, ci_low, ci_high)``.

    The switch is where the mean first crosses zero; its interval runs between the nearest
    values, on either side, where the paired difference's CI stops containing zero (the
    crossings of its bounds), or to the end of the line if it never does."""
    pts = sorted(v for v in values if math.isfinite(v[1]))
    means = _crossings(pts, 1)
    if not means:
        return None
    switch = means[0]
    bounds = _crossings(pts, 2) + _crossings(pts, 3)
    lo = max((c for c in bounds if c <= switch), default=pts[0][0])
    hi = min((c for c in bounds if c >= switch), default=pts[-1][0])
    return switch, lo, hi


def _switching(loaders: list[Any], bases: list[Scenario], folder: Path, baseline: str, names: list[str],
               kpis: list[str], cands: list[str], ends: list[dict[str, float]], runs2: pd.DataFrame,
               base_rows: pd.DataFrame, reps: int,
               seed: int, info: dict[str, Any], steps: int, jobs: int | None, executor: str, scheduler: str | None,
               progress: Progress | None, root: Path | None) -> list[dict[str, Any]]:
    """Bisect the paired difference along each candidate's line where its sign changes."""
    # line[(design, kpi, param)] = [(value, mean, lo, hi), ...]
    lines: dict[tuple[str, str, str], list[tuple[float, float, float, float]]] = {}
    d2 = _diffs(runs2, baseline, names, kpis)

    def add(d: pd.DataFrame, point_values: dict[int, tuple[str, float]]) -> None:
        for r in d.itertuples():
            if r.point in point_values:
                p, v = point_values[r.point]
                lines.setdefault((str(r.design), str(r.kpi), p), []).append((v, r.mean, r.ci_low, r.ci_high))

    for p in cands:
        b = _base_value(p, bases)
        for r in base_rows.itertuples():
            lines.setdefault((str(r.design), str(r.kpi), p), []).append((b, r.mean, r.ci_low, r.ci_high))
    add(d2, {i: next(iter(pt.items())) for i, pt in enumerate(ends)})
    for step in range(steps):
        mids: list[dict[str, float]] = []
        for (_d, _k, p), vals in lines.items():
            pts = sorted(v for v in vals if math.isfinite(v[1]))
            for a, c in pairwise(pts):
                if _sign(a[1]) and _sign(c[1]) and _sign(a[1]) != _sign(c[1]):
                    mid = {p: (a[0] + c[0]) / 2}
                    if mid not in mids:
                        mids.append(mid)
                    break
        if not mids:
            break
        plan = _build("robustness-bisect", loaders, bases, mids, reps, seed, {**info, "stage": f"bisect{step}"})
        runs = _stage(plan, folder / f"bisect{step}", jobs, executor, scheduler, progress, root)
        add(_diffs(runs, baseline, names, kpis), {i: next(iter(m.items())) for i, m in enumerate(mids)})
    rows = []
    for (d, k, p), vals in sorted(lines.items()):
        found = _line(vals)
        if found is None:
            continue
        switch, lo, hi = found
        pts = sorted(v for v in vals if math.isfinite(v[1]))
        low_side = pts[0][1] * _better(k) > 0
        rows.append({"design": d, "baseline": baseline, "kpi": k, "parameter": p, "base_value": _base_value(p, bases),
                     "low": RANGES[p].low, "high": RANGES[p].high, "switching_value": switch, "ci_low": lo,
                     "ci_high": hi, "better_when": "below" if low_side else "above"})
    return rows


def _table(diffs: pd.DataFrame, base_diff: pd.DataFrame, indices: pd.DataFrame, switch_rows: list[dict[str, Any]],
           names: list[str], baseline: str, kpis: list[str], params: list[str], n_space: int) -> pd.DataFrame:
    rows = []
    for name in names:
        if name == baseline:
            continue
        for kpi in kpis:
            b = base_diff[(base_diff.design == name) & (base_diff.kpi == kpi)]
            m = float(b["mean"].iloc[0]) if len(b) else math.nan
            space = diffs[(diffs.design == name) & (diffs.kpi == kpi) & (diffs.point > 0)]["mean"].to_numpy(dtype=float)
            good = space[np.isfinite(space)]
            better = _better(kpi)
            share = float(np.mean(good * better > 0)) if len(good) else math.nan
            sign = _sign(m)
            robust = bool(sign != 0 and len(good) == len(space) and all(_sign(x) == sign for x in good))
            idx = indices[(indices.design == name) & (indices.kpi == kpi)]
            leans = str(idx.sort_values("rank").parameter.iloc[0]) if len(idx) else ""
            flips = [r["parameter"] for r in switch_rows if r["design"] == name and r["kpi"] == kpi]
            rows.append({"design": name, "baseline": baseline, "kpi": kpi, "base_diff_mean": m,
                         "base_diff_ci_low": float(b["ci_low"].iloc[0]) if len(b) else math.nan,
                         "base_diff_ci_high": float(b["ci_high"].iloc[0]) if len(b) else math.nan,
                         "robust": robust and not flips, "share_better": share,
                         "min_diff": float(good.min()) if len(good) else math.nan,
                         "max_diff": float(good.max()) if len(good) else math.nan, "points": n_space,
                         "leans_on": leans, "flips": ";".join(flips)})
    return pd.DataFrame(rows, columns=list(ROBUSTNESS_COLUMNS))


def _points_table(diffs: pd.DataFrame, space: list[dict[str, float]], params: list[str]) -> pd.DataFrame:
    values = pd.DataFrame([{"point": 0, **dict.fromkeys(params, math.nan)}]
                          + [{"point": i + 1, **pt} for i, pt in enumerate(space)])
    return diffs.merge(values, on="point", how="left")


def _rules(diffs: pd.DataFrame, X: np.ndarray, params: list[str], names: list[str], baseline: str,
           kpis: list[str], notes: list[str]) -> pd.DataFrame:
    """Where each design is better: the leaves of a depth-2 decision tree over the sampled points."""
    cols = ["design", "kpi", "rule", "better", "points", "share_better"]
    if not rules_available():
        notes.append("scenario discovery left out: install scikit-learn (pip install orgsim[robustness])")
        return pd.DataFrame(columns=cols)
    from sklearn.tree import DecisionTreeClassifier

    Xf = np.nan_to_num(X, nan=0.0)
    rows = []
    for name, kpi, part in _per_difference(diffs, names, baseline, kpis):
        y = part["mean"].to_numpy(dtype=float) * _better(kpi) > 0
        if len(y) != len(Xf) or y.all() or not y.any():
            continue
        tree = DecisionTreeClassifier(max_depth=2, min_samples_leaf=max(2, len(y) // 10), random_state=0)
        tree.fit(Xf, y)
        leaves = _leaves_of(tree.tree_, params, 0, [])
        ids = tree.apply(Xf)
        for conds, leaf in leaves:
            inside = ids == leaf
            share = float(y[inside].mean()) if inside.any() else math.nan
            rows.append({"design": name, "kpi": kpi, "rule": " and ".join(conds) or "everywhere",
                         "better": share >= 0.5, "points": int(inside.sum()), "share_better": share})
    return pd.DataFrame(rows, columns=cols)


def _leaves_of(t: Any, params: list[str], node: int, conds: list[str]) -> list[tuple[list[str], int]]:
    """The leaves of a fitted scikit-learn tree, each with the conditions that lead to it."""
    if t.children_left[node] == -1:
        return [(conds, node)]
    p, thr = params[t.feature[node]], t.threshold[node]
    return (_leaves_of(t, params, t.children_left[node], [*conds, f"{p} <= {thr:.4g}"])
            + _leaves_of(t, params, t.children_right[node], [*conds, f"{p} > {thr:.4g}"]))
