"""Goal seek: the best organization under constraints, with the probability that it is the best.

``orgsim optimize SCENARIO --maximize KPI --vary KEY=LOW:HIGH[:STEP] --constraint 'total_cost<=5.35M'``
runs in two stages:

1. **Search** (Optuna's TPE sampler). Each trial is a point of the levers (a whole number
   where the scenario's value is one: headcount, teams; a real number otherwise), loaded and
   validated like ``--set``, and run for ``reps`` replications with the same replication
   seeds as every other trial (common random numbers). A constraint on any KPI is judged on
   the trial's mean; an infeasible trial is kept in the history (``feasible`` false) and never
   chosen. With two objectives the search returns the Pareto front of the feasible trials.
   The study lives in SQLite (``study.db``) in the checkpoint folder beside every finished
   replication (``runs.jsonl``), so ``--resume DIR`` continues it. The sampler of trial ``n``
   is seeded from the root seed and ``n``, so the same seed gives the same trials, and a
   resumed search proposes exactly what an uninterrupted one would have.
2. **Selection** (one objective). The best few distinct feasible configurations of the
   search, and the starting organization (when it meets the constraints), enter procedure
   KN (:mod:`sim.selection`) on *new* replications (indices ``reps``, ``reps + 1``...: the
   same seeds for every candidate), which adds replications until one is left: the best with
   probability at least ``confidence`` when it leads the others by at least ``delta``.

``delta`` defaults to half a percentage point for a share KPI (NRR, conversion) and to 1% of
the starting organization's value for any other KPI.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .atomic import write_text
from .experiment import Interrupted, Outcome, Progress, Task, execute
from .plan import ScenarioLike, _locked, integer_keys, override_text, plan_points, point_label, tidy, value_at
from .scenario import Problem, ScenarioError
from .schema import Scenario
from .selection import Selection, kn_select
from .stats import mean_ci
from .streams import replication_seed
from .sweep import parse_vary

__all__ = ["Lever", "Objective", "Constraint", "OptimizeResults", "parse_constraint", "parse_amount",
           "prepare", "optimize", "default_delta", "DEFAULT_TRIALS", "DEFAULT_REPS", "DEFAULT_CANDIDATES",
           "summary_line", "best_yaml"]

DEFAULT_TRIALS = 30
DEFAULT_REPS = 5
DEFAULT_CANDIDATES = 4
_SAMPLER_KEY = zlib.crc32(b"optimize.sampler")
_CONFIG_FILE = "optimize.json"
_RUNS_FILE = "runs.jsonl"
STUDY_FILE = "study.db"


# ---------------------------------------------------------------- input


@dataclass(frozen=True)
class Lever:
    """A key to vary between ``low`` and ``high`` (both included), on a grid when ``step``."""

    key: str
    low: float
    high: float
    step: float | None
    integer: bool


@dataclass(frozen=True)
class Objective:
    kpi: str
    maximize: bool

    @property
    def direction(self) -> str:
        return "maximize" if self.maximize else "minimize"


@dataclass(frozen=True)
class Constraint:
    """``kpi <= limit`` or ``kpi >= limit``, on the mean over a trial's replications."""

    kpi: str
    op: str
    limit: float
    text: str

    def violation(self, mean: float) -> float:
        """How far the mean is past the limit (<= 0: met); NaN counts as far past it."""
        if not math.isfinite(mean):
            return 1e300
        return mean - self.limit if self.op == "<=" else self.limit - mean


_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "%": 0.01, "pp": 0.01}
_AMOUNT = re.compile(r"^\s*([-+]?)\s*\$?\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(k|m|b|%|pp)?\s*$", re.IGNORECASE)


def parse_amount(text: str, where: str, source: str) -> float:
    """A number as a KPI's unit reads it: ``5.35M``, ``$200K``, ``2.5%`` (0.025), ``0.5pp`` (0.005)."""
    m = _AMOUNT.match(str(text))
    if not m:
        raise ScenarioError([Problem(source, None, where, f"expected a number such as 5.35M, 200K, 2% or 0.5pp, "
                                                          f"got {str(text)[:40]!r}")])
    value = float(m.group(2)) * _SUFFIX.get((m.group(3) or "").lower(), 1.0)
    return -value if m.group(1) == "-" else value


def parse_constraint(text: str) -> Constraint:
    """``kpi<=value`` or ``kpi>=value`` (``<`` and ``>`` read the same)."""
    m = re.match(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=|<|>)\s*(.+?)\s*$", text)
    if not m:
        raise ScenarioError([Problem("--constraint", None, text[:60],
                                     "expected KPI<=VALUE or KPI>=VALUE, e.g. total_cost<=5.35M")])
    op = "<=" if m.group(2).startswith("<") else ">="
    return Constraint(m.group(1), op, parse_amount(m.group(3), m.group(1), "--constraint"), text.strip())


def _levers(base: Scenario, vary: Sequence[str]) -> list[Lever]:
    varies = [parse_vary(v) for v in vary]
    if not varies:
        raise ScenarioError([Problem("--vary", None, "", "expected at least one --vary KEY=LOW:HIGH[:STEP]")])
    keys = [v.key for v in varies]
    problems = [Problem("--vary", None, k, "varied twice") for k in sorted({k for k in keys if keys.count(k) > 1})]
    problems += [Problem("--vary", None, v.key, "optimize needs a range LOW:HIGH[:STEP]") for v in varies
                 if not v.is_range]
    if problems:
        raise ScenarioError(problems)
    ints = integer_keys(base, keys)
    doc = base.model_dump(mode="json")
    out = []
    for v in varies:
        assert v.start is not None and v.stop is not None
        current = value_at(doc, v.key)
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            raise ScenarioError([Problem("--vary", None, v.key, "not a numeric key of the scenario" if current is None
                                         else f"not a number in the scenario ({override_text(current)[:40]})")])
        integer = v.key in ints
        low, high = (math.ceil(v.start), math.floor(v.stop)) if integer else (v.start, v.stop)
        if high < low:
            raise ScenarioError([Problem("--vary", None, v.key, f"no whole number between {v.start} and {v.stop}")])
        step = v.step
        if integer:
            step = max(1, round(step)) if step is not None else 1
            high = low + (high - low) // int(step) * int(step)
        elif step is not None:
            high = tidy(low + math.floor((high - low) / step + 1e-9) * step)
        out.append(Lever(v.key, low, high, step, integer))
    return out


def default_delta(kpi: str, start_mean: float) -> float:
    """Half a percentage point for a share; 1% of the starting value for anything else."""
    from . import kpis as K

    spec = K.get(kpi)
    if spec is not None and spec.unit.name == "SHARE":
        return 0.005
    scale = abs(start_mean) if math.isfinite(start_mean) and start_mean != 0 else 1.0
    return 0.01 * scale


@dataclass
class Setup:
    """Everything an optimization depends on, checked before anything runs."""

    source: ScenarioLike
    base: Scenario
    levers: list[Lever]
    objectives: list[Objective]
    constraints: list[Constraint]
    reps: int
    seed: int
    candidates: int
    delta: float | None
    confidence: float
    overrides: list[str]
    load: Callable[[dict[str, Any]], Scenario]

    def describe(self) -> dict[str, Any]:
        return {"kind": "optimize", "scenario": self.base.name, "seed": self.seed, "reps": self.reps,
                "levers": [lv.__dict__ for lv in self.levers],
                "objectives": [{"kpi": o.kpi, "direction": o.direction} for o in self.objectives],
                "constraints": [c.text for c in self.constraints], "candidates": self.candidates,
                "delta": self.delta, "confidence": self.confidence, "overrides": self.overrides}

    def digest(self) -> str:
        doc = {**self.describe(), "base": self.base.model_dump(mode="json", exclude={"extends"})}
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()

    def checkpoint_name(self) -> str:
        return f".optimize-{self.digest()[:12]}.partial"


def prepare(scenario: ScenarioLike, maximize: Sequence[str] = (), minimize: Sequence[str] = (),
            vary: Sequence[str] = (), constraints: Sequence[str] = (), reps: int | None = None,
            seed: int | None = None, candidates: int = DEFAULT_CANDIDATES, delta: float | str | None = None,
            confidence: float = 0.95, overrides: Sequence[str] = (), large: bool = False) -> Setup:
    """Check every input (a :class:`ScenarioError` lists the problems); nothing is run."""
    from .sensitivity import check_kpis

    reps = DEFAULT_REPS if reps is None else reps
    plan = plan_points("optimize", [scenario], lambda base: [{}], reps, seed, overrides, large=large)
    base = plan.bases[0]
    problems: list[Problem] = []
    objectives = [Objective(k, True) for k in maximize] + [Objective(k, False) for k in minimize]
    if not objectives:
        problems.append(Problem("--maximize", None, "", "expected an objective: --maximize KPI or --minimize KPI"))
    if len(objectives) > 2:
        problems.append(Problem("--maximize", None, "", f"at most two objectives, got {len(objectives)}"))
    named = [o.kpi for o in objectives]
    problems += [Problem("--maximize", None, k, "given twice") for k in sorted({k for k in named if named.count(k) > 1})]
    parsed: list[Constraint] = []
    for text in constraints:
        try:
            parsed.append(parse_constraint(text))
        except ScenarioError as exc:
            problems += exc.problems
    try:
        check_kpis(base, named, "--maximize")
    except ScenarioError as exc:
        problems += exc.problems
    try:
        check_kpis(base, [c.kpi for c in parsed], "--constraint")
    except ScenarioError as exc:
        problems += exc.problems
    if reps < 2:
        problems.append(Problem("--reps", None, "", f"optimize needs at least 2 replications per trial, got {reps}"))
    if not 0.5 <= confidence < 1:
        problems.append(Problem("--confidence", None, "", f"expected a probability in [0.5, 1), got {confidence}"))
    if candidates < 1:
        problems.append(Problem("--candidates", None, "", f"expected at least 1, got {candidates}"))
    value: float | None = None
    if delta is not None:
        try:
            value = parse_amount(str(delta), "", "--delta") if isinstance(delta, str) else float(delta)
            if not (value > 0 and math.isfinite(value)):
                problems.append(Problem("--delta", None, "", f"expected a positive number, got {delta}"))
        except ScenarioError as exc:
            problems += exc.problems
    try:
        levers = _levers(base, vary)
    except ScenarioError as exc:
        problems += exc.problems
        levers = []
    if problems:
        raise ScenarioError(problems)

    def load(point: dict[str, Any]) -> Scenario:
        p = plan_points("optimize", [scenario], lambda _: [point], reps, seed, overrides, large=large)
        return p.scenarios[0][0]

    # The ends of every range must load (a headcount of 0 for a working role does not).
    for corner in ({lv.key: _number(lv, lv.low) for lv in levers}, {lv.key: _number(lv, lv.high) for lv in levers}):
        load(corner)
    return Setup(scenario, base, levers, objectives, parsed, reps, plan.seed, candidates, value, confidence,
                 list(overrides), load)


def _number(lever: Lever, x: float) -> Any:
    return int(x) if lever.integer else tidy(float(x))


# ---------------------------------------------------------------- the store of replications


def _key(point: dict[str, Any]) -> str:
    return json.dumps(point, sort_keys=True)


class _Store:
    """Every finished replication, keyed by (point, replication), streamed to runs.jsonl."""

    def __init__(self, folder: Path, setup: Setup, jobs: int | None, executor: str, scheduler: str | None,
                 progress: Progress | None):
        self.path = folder / _RUNS_FILE
        self.setup, self.jobs, self.executor, self.scheduler, self.progress = setup, jobs, executor, scheduler, progress
        self.kpis: dict[tuple[str, int], dict[str, float]] = {}
        self.ran = 0
        good = 0
        if self.path.is_file():
            with self.path.open("rb") as f:
                for line in f:
                    if not line.endswith(b"\n"):
                        break
                    try:
                        r = json.loads(line)
                        self.kpis[(r["point"], int(r["replication"]))] = r["kpis"]
                    except (ValueError, KeyError, TypeError):
                        raise ScenarioError([Problem(str(self.path), None, "", "not a replication orgsim wrote: "
                                                     f"the checkpoint is damaged; delete {folder} to start again")]
                                            ) from None
                    good += len(line)
            os.truncate(self.path, good)
        self.resumed = len(self.kpis)

    def ensure(self, items: Sequence[tuple[dict[str, Any], Scenario]], reps: range) -> None:
        """Run the replications ``reps`` of each point that are not stored yet."""
        tasks = [Task((_key(p), r), scn, r, replication_seed(self.setup.seed, r), point_label(p))
                 for p, scn in items for r in reps if (_key(p), r) not in self.kpis]
        if not tasks:
            return
        with self.path.open("a", encoding="utf-8") as out:

            def record(task: Task, outcome: Outcome) -> None:
                point, r = task.key
                kpis = {k: float(v) for k, v in outcome.measured.kpis.items()}
                out.write(json.dumps({"point": point, "replication": r, "seed": task.seed, "kpis": kpis}) + "\n")
                out.flush()
                self.kpis[(point, r)] = kpis
                self.ran += 1

            execute(tasks, record, jobs=self.jobs, executor=self.executor, scheduler=self.scheduler)

    def values(self, point: dict[str, Any], kpi: str, reps: range) -> np.ndarray:
        key = _key(point)
        return np.array([self.kpis[(key, r)].get(kpi, math.nan) for r in reps], dtype=float)

    def means(self, point: dict[str, Any], kpis: Sequence[str], reps: range) -> dict[str, float]:
        out = {}
        for k in kpis:
            v = self.values(point, k, reps)
            v = v[np.isfinite(v)]
            out[k] = float(v.mean()) if len(v) else math.nan
        return out


# ---------------------------------------------------------------- results


@dataclass
class OptimizeResults:
    """An optimization's tables (each also a CSV of the results folder).

    ``trials``: one row per search trial (levers, objective and constraint means, feasible).
    ``candidates``: the systems of the selection stage (or the Pareto front, with two
    objectives), with their observations and whether chosen. ``comparisons``: paired
    differences of each candidate against the best and against the starting organization.
    """

    setup: Setup
    trials: pd.DataFrame
    candidates: pd.DataFrame
    comparisons: pd.DataFrame
    best: dict[str, Any] | None
    pcs: float | None
    delta: float | None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def scenario(self) -> Scenario:
        return self.setup.base

    @property
    def pareto(self) -> pd.DataFrame:
        return self.candidates if len(self.setup.objectives) == 2 else self.candidates.iloc[0:0]


def _sampler(seed: int, n: int) -> Any:
    import optuna

    s = int(np.random.SeedSequence(seed, spawn_key=(_SAMPLER_KEY, n)).generate_state(1)[0])
    return optuna.samplers.TPESampler(seed=s, n_startup_trials=8)


def _finished(study: Any) -> list[Any]:
    """The trials that count: complete, or failed because their point was invalid (not interrupted)."""
    from optuna.trial import TrialState

    return [t for t in study.get_trials(deepcopy=False)
            if t.state == TrialState.COMPLETE or (t.state == TrialState.FAIL and "invalid" in t.user_attrs)]


def _suggest(trial: Any, lv: Lever) -> Any:
    if lv.integer:
        return trial.suggest_int(lv.key, int(lv.low), int(lv.high), step=int(lv.step or 1))
    return tidy(trial.suggest_float(lv.key, float(lv.low), float(lv.high), step=lv.step), 6)


def _kpis_measured(setup: Setup) -> list[str]:
    return list(dict.fromkeys([o.kpi for o in setup.objectives] + [c.kpi for c in setup.constraints]
                              + ["total_cost"]))


def optimize(scenario: ScenarioLike, maximize: Sequence[str] = (), minimize: Sequence[str] = (),
             vary: Sequence[str] = (), constraints: Sequence[str] = (), trials: int = DEFAULT_TRIALS,
             reps: int | None = None, seed: int | None = None, candidates: int = DEFAULT_CANDIDATES,
             delta: float | str | None = None, confidence: float = 0.95, jobs: int | None = None,
             overrides: Sequence[str] = (), checkpoint: str | Path | None = None, executor: str = "local",
             scheduler: str | None = None, on_trial: Callable[[int, int, str], None] | None = None,
             large: bool = False) -> OptimizeResults:
    """Search the levers for the best configuration, then select it with a guarantee.

    Parameters
    ----------
    scenario
        The starting organization (a file or a :class:`Scenario`).
    maximize, minimize
        One or two KPIs in all (two: the Pareto front, no selection stage).
    vary
        ``["roles.inside_sales.headcount=3:9", "market.activities.qualify.threshold=0.2:0.6:0.05"]``.
    constraints
        ``["total_cost<=5.35M", "nrr>=95%"]`` on the KPIs' means.
    trials, reps
        Search trials, and replications per trial (every trial the same seeds; default 5).
    candidates
        Distinct configurations taken from the search into the selection stage.
    delta, confidence
        The indifference zone (KPI units; default: :func:`default_delta`) and the probability
        of correct selection to guarantee.
    checkpoint
        The folder for the study (study.db) and the replications (runs.jsonl); a folder already
        holding this optimization is resumed. Without one, a temporary folder is used.
    on_trial
        Called as ``on_trial(done, total, best_so_far_text)`` after each trial (and stage).
    """
    setup = prepare(scenario, maximize, minimize, vary, constraints, reps, seed, candidates, delta, confidence,
                    overrides, large)
    if trials < 1:
        raise ScenarioError([Problem("--trials", None, "", f"expected at least 1, got {trials}")])
    if checkpoint is None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="orgsim-optimize-") as tmp:
            try:
                res = run(setup, Path(tmp), trials, jobs, executor, scheduler, on_trial)
            except Interrupted as exc:
                raise Interrupted(exc.done, exc.total) from None
            res.meta["checkpoint"] = None
            return res
    return run(setup, Path(checkpoint), trials, jobs, executor, scheduler, on_trial)


def open_checkpoint(setup: Setup, folder: Path) -> None:
    """Create the folder for ``setup``, or check that it holds this same optimization."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / _CONFIG_FILE
    if config.is_file():
        try:
            stored = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ScenarioError([Problem(str(config), None, "", f"cannot be read: delete {folder} to start again")]
                                ) from None
        if not isinstance(stored, dict) or stored.get("digest") != setup.digest():
            mine = json.loads(json.dumps(setup.describe(), default=str))
            differs = [k for k in mine if not isinstance(stored, dict) or stored.get(k) != mine[k]]
            raise ScenarioError([Problem("--resume", None, "", f"{folder} is a checkpoint of another optimization "
                                         f"(it differs in: {', '.join(differs) or 'the resolved scenario'})")])
    else:
        write_text(config, json.dumps({"digest": setup.digest(), **setup.describe()}, indent=2, default=str))


def run(setup: Setup, folder: Path, trials: int, jobs: int | None = None, executor: str = "local",
        scheduler: str | None = None, on_trial: Callable[[int, int, str], None] | None = None) -> OptimizeResults:
    """Run (or resume) the optimization ``setup`` in ``folder``."""
    open_checkpoint(setup, folder)
    with _locked(folder):
        store = _Store(folder, setup, jobs, executor, scheduler, None)
        try:
            return _run(setup, folder, store, trials, on_trial)
        except KeyboardInterrupt:
            total = trials * setup.reps
            raise Interrupted(min(len(store.kpis), total), total, str(folder)) from None


def _run(setup: Setup, folder: Path, store: _Store, trials: int,
         on_trial: Callable[[int, int, str], None] | None) -> OptimizeResults:
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.perf_counter()
    search = range(setup.reps)
    kpis = _kpis_measured(setup)
    start_point: dict[str, Any] = {}
    store.ensure([(start_point, setup.base)], search)
    start_means = store.means(start_point, kpis, search)

    storage = optuna.storages.RDBStorage(f"sqlite:///{(folder / STUDY_FILE).resolve()}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study = optuna.create_study(storage=storage, study_name="orgsim-optimize", load_if_exists=True,
                                        directions=[optuna.study.StudyDirection.MAXIMIZE if o.maximize
                                                    else optuna.study.StudyDirection.MINIMIZE
                                                    for o in setup.objectives],
                                        sampler=_sampler(setup.seed, 0))
            for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
                study.tell(t.number, state=TrialState.FAIL)  # interrupted: proposed again, the same
            while (n := len(_finished(study))) < trials:
                study.sampler = _sampler(setup.seed, n)
                trial = study.ask()
                point = {lv.key: _suggest(trial, lv) for lv in setup.levers}
                try:
                    scn = setup.load(point)
                except ScenarioError as exc:
                    trial.set_user_attr("invalid", exc.problems[0].message[:200])
                    study.tell(trial, state=TrialState.FAIL)
                    continue
                store.ensure([(point, scn)], search)
                means = store.means(point, kpis, search)
                trial.set_user_attr("kpis", means)
                trial.set_user_attr("point", point)
                for c in setup.constraints:
                    trial.set_constraint(c.text, float(c.violation(means[c.kpi])))
                values = [means[o.kpi] for o in setup.objectives]
                if not all(math.isfinite(v) for v in values):
                    trial.set_user_attr("invalid", "the objective is undefined at this point")
                    study.tell(trial, state=TrialState.FAIL)
                    continue
                study.tell(trial, values)
                if on_trial is not None:
                    on_trial(n + 1, trials, _best_so_far(setup, _finished(study)))
            table = _trials_table(setup, _finished(study)[:trials])
    finally:
        storage.engine.dispose()
    search_seconds = time.perf_counter() - started
    two = len(setup.objectives) == 2
    res = _pareto(setup, store, table, start_means) if two else _select(setup, store, table, start_means, on_trial)
    res.meta.update({"trials": trials, "search_seconds": round(search_seconds, 3),
                     "total_seconds": round(time.perf_counter() - started, 3), "replications_run": store.ran,
                     "resumed_replications": store.resumed, "checkpoint": str(folder),
                     "replication_seeds": [replication_seed(setup.seed, r) for r in range(setup.reps)],
                     **setup.describe()})
    return res


def _best_so_far(setup: Setup, done: list[Any]) -> str:
    rows = [t for t in done if t.values is not None and _feasible(t)]
    if not rows or len(setup.objectives) != 1:
        return f"{len(rows)} feasible"
    o = setup.objectives[0]
    best = (max if o.maximize else min)(rows, key=lambda t: t.values[0])
    return f"best {o.kpi} {_show(o.kpi, best.values[0])} at {point_label(best.user_attrs.get('point', {}))}"


def _feasible(t: Any) -> bool:
    return all(v <= 0 for v in t.constraints.values()) if getattr(t, "constraints", None) else True


def _trials_table(setup: Setup, done: list[Any]) -> pd.DataFrame:
    kpis = _kpis_measured(setup)
    rows = []
    for i, t in enumerate(done):
        point = t.user_attrs.get("point") or {lv.key: t.params.get(lv.key) for lv in setup.levers}
        means = t.user_attrs.get("kpis", {})
        invalid = t.user_attrs.get("invalid")
        rows.append({"trial": i, **{lv.key: point.get(lv.key) for lv in setup.levers},
                     **{k: means.get(k, math.nan) for k in kpis},
                     "feasible": bool(invalid is None and _feasible(t)),
                     "note": invalid or "; ".join(c.text for c in setup.constraints
                                                  if c.violation(means.get(c.kpi, math.nan)) > 0)})
    return pd.DataFrame(rows, columns=["trial", *[lv.key for lv in setup.levers], *kpis, "feasible", "note"])


def _distinct(setup: Setup, table: pd.DataFrame) -> pd.DataFrame:
    keys = [lv.key for lv in setup.levers]
    return table[table.feasible].drop_duplicates(subset=keys, keep="first")


def _point(setup: Setup, row: Any) -> dict[str, Any]:
    return {lv.key: (int(row[lv.key]) if lv.integer else float(row[lv.key])) for lv in setup.levers}


def _paired(store: _Store, a: dict[str, Any], b: dict[str, Any], kpi: str, reps: range) -> tuple[float, ...]:
    d = store.values(a, kpi, reps) - store.values(b, kpi, reps)
    mean, low, high, n = mean_ci(d)
    return mean, low, high, n


def _select(setup: Setup, store: _Store, table: pd.DataFrame, start_means: dict[str, float],
            on_trial: Callable[[int, int, str], None] | None) -> OptimizeResults:
    o = setup.objectives[0]
    pool = _distinct(setup, table).sort_values(o.kpi, ascending=not o.maximize, kind="stable")
    systems: list[dict[str, Any]] = [_point(setup, r) for _, r in pool.head(setup.candidates).iterrows()]
    labels = [f"trial {int(r.trial)}" for _, r in pool.head(setup.candidates).iterrows()]
    start: dict[str, Any] = {}
    start_ok = all(c.violation(start_means[c.kpi]) <= 0 for c in setup.constraints)
    if start_ok:
        systems.append(start)
        labels.append("start")
    delta = setup.delta if setup.delta is not None else default_delta(o.kpi, start_means[o.kpi])
    if not systems:
        return OptimizeResults(setup, table, pd.DataFrame(), pd.DataFrame(), None, None, delta,
                               {"note": "no trial met the constraints"})
    scenarios = {_key(p): (setup.load(p) if p else setup.base) for p in systems}
    offset = setup.reps  # the selection stage draws new replications: its data did not choose the candidates

    def draw(which: Sequence[int], a: int, b: int) -> np.ndarray:
        reps = range(offset + a, offset + b)
        store.ensure([(systems[i], scenarios[_key(systems[i])]) for i in which], reps)
        if on_trial is not None:
            on_trial(-1, -1, f"selection: {len(which)} candidates, replication {offset + b}")
        return np.vstack([store.values(systems[i], o.kpi, reps) for i in which])

    n0 = max(setup.reps, 5)
    sel: Selection = kn_select(draw, len(systems), delta, setup.confidence, n0=n0, maximize=o.maximize,
                               batch=max(1, store.jobs or os.cpu_count() or 1))
    best = systems[sel.best]
    used = sel.observations
    # The starting organization is compared on as many replications as the best has.
    reps_best = range(offset, offset + used[sel.best])
    store.ensure([(start, setup.base), (best, scenarios[_key(best)])], reps_best)
    kpis = _kpis_measured(setup)
    rows, comps = [], []
    for i, p in enumerate(systems):
        reps_i = range(offset, offset + used[i])
        mean, low, high, n = mean_ci(store.values(p, o.kpi, reps_i))
        rows.append({"candidate": i, "source": labels[i], **{lv.key: _lever_value(setup, p, lv) for lv in setup.levers},
                     "kpi": o.kpi, "mean": mean, "ci_low": low, "ci_high": high, "n": n,
                     "eliminated_at": sel.eliminated_at[i], "chosen": i == sel.best})
        for against, ref in (("best", best), ("start", start)):
            if against == "best" and i == sel.best:
                continue
            common = range(offset, offset + min(used[i], used[sel.best]))
            for k in kpis:
                d = _paired(store, p, ref, k, common)
                comps.append({"candidate": i, "source": labels[i], "against": against, "kpi": k,
                              "diff_mean": d[0], "diff_ci_low": d[1], "diff_ci_high": d[2], "n": d[3]})
    return OptimizeResults(setup, table, pd.DataFrame(rows), pd.DataFrame(comps), best, sel.pcs, delta,
                           {"selection_replications": sel.total, "n0": n0, "start_feasible": start_ok,
                            "chosen": labels[sel.best]})


def _lever_value(setup: Setup, point: dict[str, Any], lv: Lever) -> Any:
    return point[lv.key] if lv.key in point else value_at(setup.base.model_dump(mode="json"), lv.key)


def _pareto(setup: Setup, store: _Store, table: pd.DataFrame, start_means: dict[str, float]) -> OptimizeResults:
    a, b = setup.objectives
    pool = _distinct(setup, table)
    sa = np.where(a.maximize, 1.0, -1.0) * pool[a.kpi].to_numpy(dtype=float)
    sb = np.where(b.maximize, 1.0, -1.0) * pool[b.kpi].to_numpy(dtype=float)
    front = [i for i in range(len(pool)) if not any(
        (sa[j] >= sa[i] and sb[j] >= sb[i] and (sa[j] > sa[i] or sb[j] > sb[i])) for j in range(len(pool)))]
    rows, comps = [], []
    search = range(setup.reps)
    for rank, i in enumerate(sorted(front, key=lambda i: -sa[i])):
        r = pool.iloc[i]
        p = _point(setup, r)
        rows.append({"candidate": rank, "source": f"trial {int(r.trial)}", **p,
                     a.kpi: float(r[a.kpi]), b.kpi: float(r[b.kpi]), "chosen": False})
        for k in _kpis_measured(setup):
            d = _paired(store, p, {}, k, search)
            comps.append({"candidate": rank, "source": f"trial {int(r.trial)}", "against": "start", "kpi": k,
                          "diff_mean": d[0], "diff_ci_low": d[1], "diff_ci_high": d[2], "n": d[3]})
    return OptimizeResults(setup, table, pd.DataFrame(rows), pd.DataFrame(comps), None, None, None,
                           {"pareto_points": len(rows)})


# ---------------------------------------------------------------- words


def _show(kpi: str, x: float, signed: bool = False) -> str:
    from . import kpis as K

    if not math.isfinite(x):
        return "n/a"
    spec = K.get(kpi)
    unit = spec.unit.name if spec is not None else ""
    sign = "+" if signed else ""
    if unit == "SHARE":
        return f"{x * 100:{sign}.1f} pp" if signed else f"{x * 100:.1f}%"
    if unit == "MONEY":
        s = "-" if x < 0 else ("+" if signed else "")
        ax = abs(x)
        return f"{s}${ax / 1e6:,.2f}M" if ax >= 1e6 else f"{s}${ax / 1e3:,.1f}K"
    return f"{x:{sign},.3g}"


def _bound(kpi: str, x: float) -> str:
    from . import kpis as K

    spec = K.get(kpi)
    if spec is not None and spec.unit.name == "SHARE":
        return f"{x * 100:.1f}"
    return _show(kpi, x, signed=True)


def summary_line(res: OptimizeResults) -> str:
    """``Best mix under $5.35M: roles.x.headcount=6, ...; NRR +2.1 pp [1.2, 3.0] vs today``."""
    setup = res.setup
    o = setup.objectives[0]
    money = [c for c in setup.constraints if c.op == "<=" and "cost" in c.kpi]
    head = f"Best mix under {_show(money[0].kpi, money[0].limit)}" if money else "Best mix"
    if len(setup.objectives) == 2:
        return f"Pareto front of {o.kpi} and {setup.objectives[1].kpi}: {len(res.candidates)} configurations"
    if res.best is None:
        return f"{head}: none (no trial met the constraints)"
    changes = point_label(res.best) if res.best else "the starting organization as it is"
    c = res.comparisons
    row = c[(c.against == "start") & (c.kpi == o.kpi) & c.candidate.isin(
        res.candidates.loc[res.candidates.chosen, "candidate"])] if len(c) else c
    vs = ""
    if len(row):
        r = row.iloc[0]
        vs = (f"; {o.kpi} {_show(o.kpi, r.diff_mean, signed=True)} [{_bound(o.kpi, r.diff_ci_low)}, "
              f"{_bound(o.kpi, r.diff_ci_high)}]")
        chosen = c[(c.against == "start") & (c.candidate == r.candidate)].set_index("kpi")
        for m in money:  # what the budget buys: the chosen mix's cost against today's
            if m.kpi in chosen.index and m.kpi != o.kpi and math.isfinite(float(chosen.loc[m.kpi].diff_mean)):
                vs += f", {m.kpi} {_show(m.kpi, float(chosen.loc[m.kpi].diff_mean), signed=True)}"
        vs += " vs today"
    pcs = f" (P(correct selection) >= {res.pcs:.0%} within {_zone(o.kpi, res.delta or 0)})" \
        if res.pcs is not None and math.isfinite(res.pcs) else ""
    return f"{head}: {changes}{vs}{pcs}"


def _zone(kpi: str, delta: float) -> str:
    """The indifference zone as a difference: ``0.5 pp`` for a share, ``$50.0K`` for money."""
    return _show(kpi, delta, signed=True).lstrip("+")


def near_ties(res: OptimizeResults) -> list[str]:
    """Candidates as good as the chosen one within the indifference zone (the paired 95% CI of
    the difference lies inside +-delta) and cheaper on a cost KPI, with what they save: a
    cheaper equal is worth a look (with no cost KPI measured, every such equal is named)."""
    o = res.setup.objectives[0]
    c, cand = res.comparisons, res.candidates
    if len(res.setup.objectives) != 1 or not len(c) or not len(cand) or not res.delta:
        return []
    lines = []
    for r in cand[~cand.chosen].to_dict("records"):
        mine = c[(c.candidate == r["candidate"]) & (c.against == "best")].set_index("kpi")
        if o.kpi not in mine.index:
            continue
        d = mine.loc[o.kpi]
        if not (-res.delta <= d.diff_ci_low and d.diff_ci_high <= res.delta):
            continue
        point = {lv.key: r[lv.key] for lv in res.setup.levers}
        costs = {k: float(mine.loc[k].diff_mean) for k in mine.index
                 if k != o.kpi and "cost" in k and math.isfinite(float(mine.loc[k].diff_mean))}
        if costs and not any(v < 0 for v in costs.values()):
            continue  # as good and no cheaper: nothing to prefer it for
        lines.append(f"Within {_zone(o.kpi, res.delta)} of the chosen (paired 95% CI "
                     f"[{_bound(o.kpi, d.diff_ci_low)}, {_bound(o.kpi, d.diff_ci_high)}]): {r['source']} "
                     f"({point_label(point)})"
                     + "".join(f", {k} {_show(k, v, signed=True)}" for k, v in costs.items()))
    return lines


def best_yaml(res: OptimizeResults, extends: str | None) -> str | None:
    """The chosen configuration as a scenario holding only the changed keys (and ``--set`` ones)."""
    if res.best is None:
        return None
    setup = res.setup
    doc = setup.base.model_dump(mode="json", exclude={"extends"})
    changes: dict[str, Any] = {}
    for text in setup.overrides:
        key = text.split("=", 1)[0].strip()
        changes[key] = value_at(doc, key)
    changes.update(res.best)
    if extends is None:  # an in-memory scenario: the whole of it, with the changes
        tree: dict[str, Any] = doc
    else:
        tree = {"extends": extends}
    tree["name"] = f"{setup.base.name}-best"
    for key, value in changes.items():
        node = tree
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    head = (f"# Chosen by orgsim optimize: {summary_line(res)}\n"
            f"# Only the changed keys; the rest comes from the scenario it extends.\n" if extends else "")
    return head + yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)


# ---------------------------------------------------------------- the results folder


def report_section(res: OptimizeResults) -> str:
    """The report's section on the optimization, as Markdown (report.md of the folder)."""
    setup = res.setup
    objectives = ", ".join(f"{o.direction} {o.kpi}" for o in setup.objectives)
    feasible = int(res.trials.feasible.sum()) if len(res.trials) else 0
    lines = [f"## Goal seek: {setup.base.name}", "", f"**{summary_line(res)}**", "",
             f"- Objective: {objectives}; constraints: {', '.join(c.text for c in setup.constraints) or 'none'}.",
             "- Levers: " + "; ".join(f"{lv.key} {_number(lv, lv.low)}..{_number(lv, lv.high)}"
                                       + (f" step {lv.step}" if lv.step else "") for lv in setup.levers) + ".",
             f"- Search: {len(res.trials)} trials (Optuna TPE, seed {setup.seed}), {setup.reps} replications each, "
             f"the same seeds for every trial; {feasible} feasible, {len(res.trials) - feasible} not.",
             ]
    if res.pcs is not None:
        o = setup.objectives[0]
        lines.append(f"- Selection: procedure KN (Kim & Nelson 2001) over {len(res.candidates)} candidates on new "
                     f"replications (common random numbers), {res.meta.get('selection_replications')} replications "
                     f"in all; probability of correct selection >= {res.pcs:.0%} when the best leads by at least "
                     f"{_zone(o.kpi, res.delta or 0)} (the indifference zone).")
        lines += [f"- {t}." for t in near_ties(res)]
    lines += ["", "| candidate | source | " + " | ".join(lv.key for lv in setup.levers) + " | mean | n | chosen |",
              "|---|---|" + "---|" * len(setup.levers) + "---|---|---|"]
    kpi = setup.objectives[0].kpi
    for r in res.candidates.to_dict("records"):
        mean = r.get("mean", r.get(kpi, math.nan))
        lines.append(f"| {r['candidate']} | {r['source']} | " + " | ".join(str(r[lv.key]) for lv in setup.levers)
                     + f" | {_show(kpi, mean)} | {r.get('n', setup.reps)} | {'yes' if r['chosen'] else ''} |")
    lines += ["", "Files: best.yaml (the chosen configuration, extending the input), trials.csv, candidates.csv, "
                  "comparisons.csv (paired differences against the best and the starting organization), "
                  "study.db (the Optuna study), charts/.", ""]
    return "\n".join(lines)


def optimize_charts(res: OptimizeResults, folder: Path) -> list[str]:
    """The search history (each trial's objective and the best feasible so far) and, with two
    objectives, the Pareto front."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    t = res.trials
    if not len(t):
        return files
    o = res.setup.objectives[0]
    fig, ax = plt.subplots(figsize=(7, 4))
    ok = t[t.feasible]
    ax.scatter(ok.trial, ok[o.kpi], s=18, label="feasible trial")
    bad = t[~t.feasible]
    ax.scatter(bad.trial, bad[o.kpi], s=18, marker="x", color="grey", label="infeasible")
    if len(ok):
        best = ok[o.kpi].cummax() if o.maximize else ok[o.kpi].cummin()
        ax.step(ok.trial, best, where="post", color="black", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(o.kpi)
    ax.set_title(f"Search history: {o.direction} {o.kpi}")
    ax.legend(fontsize=8)
    for ext in ("png", "svg"):
        fig.savefig(folder / f"history.{ext}", bbox_inches="tight")
        files.append(f"history.{ext}")
    plt.close(fig)
    if len(res.setup.objectives) == 2 and len(res.candidates):
        b = res.setup.objectives[1]
        fig, ax = plt.subplots(figsize=(6, 4.5))
        ax.scatter(ok[o.kpi], ok[b.kpi], s=16, color="lightgrey", label="feasible trial")
        front = res.candidates.sort_values(o.kpi)
        ax.plot(front[o.kpi], front[b.kpi], "o-", color="C1", label="Pareto front")
        ax.set_xlabel(o.kpi)
        ax.set_ylabel(b.kpi)
        ax.legend(fontsize=8)
        for ext in ("png", "svg"):
            fig.savefig(folder / f"pareto.{ext}", bbox_inches="tight")
            files.append(f"pareto.{ext}")
        plt.close(fig)
    return files


def write_optimize(res: OptimizeResults, root: Path, argv: list[str] | None = None, charts: bool = True) -> Path:
    """The folder: best.yaml, trials.csv, candidates.csv, comparisons.csv, study.db, report.md, charts."""
    import shutil

    from .output import _write_folder, to_csv
    from .scenario import resolved_yaml

    def fill(tmp: Path) -> dict[str, Any]:
        write_text(tmp / "scenario.yaml", resolved_yaml([res.setup.base]))
        source = res.setup.source
        extends = None if isinstance(source, Scenario) else os.path.relpath(Path(source).resolve(), tmp.resolve())
        text = best_yaml(res, extends)
        if text is not None:
            write_text(tmp / "best.yaml", text)
        to_csv(res.trials, tmp / "trials.csv")
        to_csv(res.candidates, tmp / ("pareto.csv" if len(res.setup.objectives) == 2 else "candidates.csv"))
        to_csv(res.comparisons, tmp / "comparisons.csv")
        study = res.meta.get("checkpoint")
        if study and (Path(study) / STUDY_FILE).is_file():
            shutil.copyfile(Path(study) / STUDY_FILE, tmp / STUDY_FILE)
        write_text(tmp / "report.md", report_section(res))
        chart_files = optimize_charts(res, tmp / "charts") if charts else []
        return {**res.meta, "summary": summary_line(res), "pcs": res.pcs, "delta": res.delta, "best": res.best,
                "charts": chart_files}

    return _write_folder(root, "optimize", [res.setup.base.name], fill, argv, report=False, charts=charts)
