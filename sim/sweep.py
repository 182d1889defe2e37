"""Parameter sweeps: a grid or a Latin hypercube of points, each run with the same seeds.

``--vary key.path=v1,v2,v3`` lists values (read as ``--set`` reads them); ``--vary
key.path=start:stop:step`` is a range, STOP included. A grid runs every combination; ``--lhs
N`` draws N Latin-hypercube points over the ranges from the root seed. Each point is run
through :mod:`sim.plan` (validated like ``--set``, same replication seeds at every point,
streamed to a checkpoint, resumable).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .experiment import Progress
from .plan import (
    Plan,
    ScenarioLike,
    check_points,
    integer_keys,
    override_text,
    plan_points,
    round_half_up,
    run_plan,
    tidy,
)
from .scenario import Problem, ScenarioError
from .schema import Scenario
from .stats import mean_ci
from .streams import replication_seed

__all__ = ["Vary", "parse_vary", "as_vary", "grid_points", "lhs_points", "SweepResults", "plan_sweep", "sweep", "sweep_results",
           "summarize_points"]

#: Spawn key of the Latin hypercube's generator: its own stream of the root seed.
_LHS_KEY = zlib.crc32(b"sweep.lhs")


# ---------------------------------------------------------------- --vary


@dataclass(frozen=True)
class Vary:
    """One ``--vary``: a key and either a list of values or a numeric range."""

    key: str
    values: tuple[Any, ...] = ()
    start: float | None = None
    stop: float | None = None
    step: float | None = None

    @property
    def is_range(self) -> bool:
        return self.start is not None


def _number(text: str, where: str) -> float:
    try:
        value: float = yaml.safe_load(text)  # an int stays an int: 3 is shown as 3, not 3.0
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            value = float(text)
    except (ValueError, yaml.YAMLError, RecursionError):
        raise ScenarioError([Problem("--vary", None, where, f"expected a number, got {text[:40]!r}")]) from None
    if not math.isfinite(value):
        raise ScenarioError([Problem("--vary", None, where, f"expected a finite number, got {text!r}")])
    return value


def parse_vary(text: str) -> Vary:
    """``key=v1,v2,v3`` (values as ``--set`` reads them) or ``key=start:stop[:step]``."""
    key, sep, spec = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not p for p in key.split(".")):
        raise ScenarioError([Problem("--vary", None, text, "expected KEY.PATH=V1,V2,... or KEY.PATH=START:STOP:STEP")])
    spec = spec.strip()
    if ":" in spec and "," not in spec:
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise ScenarioError([Problem("--vary", None, key, f"expected START:STOP or START:STOP:STEP, got {spec!r}")])
        start, stop = _number(parts[0], key), _number(parts[1], key)
        step = _number(parts[2], key) if len(parts) == 3 else None
        if stop < start:
            raise ScenarioError([Problem("--vary", None, key, f"expected START <= STOP, got {spec!r}")])
        if step is not None and step <= 0:
            raise ScenarioError([Problem("--vary", None, key, f"expected a positive STEP, got {spec!r}")])
        return Vary(key, start=start, stop=stop, step=step)
    items = [s.strip() for s in spec.split(",")]
    if not spec or any(not s for s in items):
        raise ScenarioError([Problem("--vary", None, key, f"expected comma-separated values, got {spec!r}")])
    values = []
    for item in items:
        try:
            values.append(yaml.safe_load(item))
        except yaml.YAMLError:
            values.append(item)
    return Vary(key, values=tuple(values))


def as_vary(vary: Sequence[str | Vary] | Mapping[str, Any]) -> list[Vary]:
    """``--vary`` strings, :class:`Vary` objects, or a mapping ``{key: [values] | "a:b:c"}``."""
    if isinstance(vary, Mapping):
        out = []
        for key, spec in vary.items():
            if isinstance(spec, str):
                out.append(parse_vary(f"{key}={spec}"))
            elif isinstance(spec, range):
                out.append(Vary(key, values=tuple(spec)))
            else:
                out.append(Vary(key, values=tuple(spec)))
        return _unique(out)
    return _unique([v if isinstance(v, Vary) else parse_vary(v) for v in vary])


def _unique(varies: list[Vary]) -> list[Vary]:
    keys = [v.key for v in varies]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ScenarioError([Problem("--vary", None, k, "varied twice") for k in dupes])
    if not varies:
        raise ScenarioError([Problem("--vary", None, "", "expected at least one --vary KEY.PATH=VALUES")])
    return varies


# ---------------------------------------------------------------- point sets


def _range_length(v: Vary) -> float:
    """How many values a range has (counted, not built: a tiny step gives billions)."""
    if v.step is None:
        raise ScenarioError([Problem("--vary", None, v.key,
                                     "a grid needs a step (START:STOP:STEP); START:STOP ranges are for --lhs")])
    assert v.start is not None and v.stop is not None
    steps = (v.stop - v.start) / v.step
    return math.floor(steps + 1e-9) + 1.0 if math.isfinite(steps) else math.inf


def grid_size(varies: Sequence[Vary]) -> float:
    """The number of points of the full grid, without building it."""
    return math.prod(float(len(v.values)) if not v.is_range else _range_length(v) for v in varies)


def _range_values(v: Vary, integer: bool) -> list[Any]:
    n = int(_range_length(v))
    assert v.start is not None and v.step is not None
    values = [tidy(v.start + i * v.step) for i in range(n)]
    if integer or all(float(x).is_integer() for x in (v.start, v.step)):
        values = [round_half_up(x) for x in values]
    return list(dict.fromkeys(values))


def grid_points(varies: Sequence[Vary], integer_keys: AbstractSet[str] = frozenset()) -> list[dict[str, Any]]:
    """Every combination of the values, the first key varying slowest."""
    axes = [list(v.values) if not v.is_range else _range_values(v, v.key in integer_keys) for v in varies]
    return [dict(zip([v.key for v in varies], combo)) for combo in product(*axes)]


def lhs_points(varies: Sequence[Vary], n: int, seed: int,
               integer_keys: AbstractSet[str] = frozenset()) -> list[dict[str, Any]]:
    """``n`` Latin-hypercube points over the ranges, from the root seed's own stream.

    Integer keys are rounded; a range with a step is snapped to its grid; other values are
    kept to 6 significant digits.
    """
    from scipy.stats import qmc

    lists = [v.key for v in varies if not v.is_range]
    if lists:
        raise ScenarioError([Problem("--vary", None, k, "with --lhs, give a range START:STOP") for k in lists])
    if n < 1:
        raise ScenarioError([Problem("--lhs", None, "", f"expected at least 1 point, got {n}")])
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_LHS_KEY,)))
    try:
        sampler = qmc.LatinHypercube(d=len(varies), rng=rng)
    except TypeError:  # scipy < 1.15 calls it seed
        sampler = qmc.LatinHypercube(d=len(varies), seed=rng)
    unit = sampler.random(n)
    points = []
    for row in unit:
        point: dict[str, Any] = {}
        for v, u in zip(varies, row):
            assert v.start is not None and v.stop is not None
            x = v.start + float(u) * (v.stop - v.start)
            if v.step is not None:
                x = min(v.start + round((x - v.start) / v.step) * v.step, v.stop)
            point[v.key] = round_half_up(x) if v.key in integer_keys else tidy(x, 6)
        points.append(point)
    return points


# ---------------------------------------------------------------- sweeps


@dataclass
class SweepResults:
    """A sweep's tables: ``runs`` (sweep.csv) and ``summary`` (sweep_summary.csv)."""

    scenarios: list[Scenario]
    keys: list[str]
    runs: pd.DataFrame
    summary: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    events: Path | None = None

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]


def summarize_points(runs: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Per design, point and KPI: mean, t confidence interval and n over the replications."""
    ids = ["point", "scenario", *keys, "replication", "seed"]
    kpis = [c for c in runs.columns if c not in ids]
    rows = []
    for (point, scenario), group in runs.groupby(["point", "scenario"], sort=False):
        first = group.iloc[0]
        for kpi in kpis:
            mean, low, high, n = mean_ci(group[kpi].to_numpy(dtype=float))
            rows.append((scenario, point, *(first[k] for k in keys), kpi, mean, low, high, n))
    return pd.DataFrame(rows, columns=["scenario", "point", *keys, "kpi", "mean", "ci_low", "ci_high", "n"])


def plan_sweep(scenarios: ScenarioLike | Sequence[ScenarioLike], vary: Sequence[str | Vary] | Mapping[str, Any],
               lhs: int | None = None, reps: int | None = None, seed: int | None = None,
               overrides: Sequence[str] = (), events: bool = False, large: bool = False) -> Plan:
    """The points of a sweep (a grid, or ``lhs`` Latin-hypercube points) on each design.

    A plan too large to run is refused before its points are built, unless ``large``.
    """
    designs = [scenarios] if isinstance(scenarios, (Scenario, str, Path)) else list(scenarios)
    varies = as_vary(vary)

    def points(base: Scenario) -> list[dict[str, Any]]:
        ints = integer_keys(base, [v.key for v in varies])
        check_points("sweep", grid_size(varies) if lhs is None else lhs, base, len(designs), reps, large)
        if lhs is None:
            return grid_points(varies, ints)
        root = base.simulation.seed if seed is None else seed
        return lhs_points(varies, lhs, root, ints)

    plan = plan_points("sweep", designs, points, reps, seed, overrides, events, large=large)
    plan.info = {"design": "lhs" if lhs else "grid", "lhs": lhs,
                 "vary": [v.key + "=" + (",".join(override_text(x) for x in v.values) if not v.is_range else
                          ":".join(override_text(x) for x in (v.start, v.stop, v.step) if x is not None))
                          for v in varies]}
    return plan


def sweep(scenarios: ScenarioLike | Sequence[ScenarioLike], vary: Sequence[str | Vary] | Mapping[str, Any],
          lhs: int | None = None, reps: int | None = None, seed: int | None = None, jobs: int | None = None,
          overrides: Sequence[str] = (), progress: Progress | None = None, executor: str = "local",
          scheduler: str | None = None, checkpoint: str | Path | None = None, events: bool = False,
          large: bool = False) -> SweepResults:
    """Run a design (or several) at every point of a grid or a Latin hypercube.

    Parameters
    ----------
    scenarios
        A scenario file or :class:`Scenario`, or several (each swept over the same points).
    vary
        ``["roles.inside_sales.headcount=4,6,8", "data_integration=0:1:0.25"]``, or a mapping
        ``{"roles.inside_sales.headcount": [4, 6, 8]}``. Ranges are ``START:STOP:STEP``
        (STOP included); with ``lhs``, ``START:STOP``.
    lhs
        Draw this many Latin-hypercube points over the ranges instead of a full grid.
    checkpoint
        A folder to stream finished replications to; running again with the same folder
        resumes. Needed with ``events=True`` (the per-replication event logs go there).
    large
        Run even a sweep estimated beyond the size limits (``--yes-large``).
    """
    plan = plan_sweep(scenarios, vary, lhs, reps, seed, overrides, events, large)
    runs, facts = run_plan(plan, checkpoint, jobs, executor, scheduler, progress)
    return sweep_results(plan, runs, {"jobs": jobs, "executor": executor, **facts})


def sweep_results(plan: Plan, runs: pd.DataFrame, facts: dict[str, Any]) -> SweepResults:
    """A finished plan's tables; ``facts`` (jobs, executor, timings...) go to ``meta``."""
    meta = {**plan.describe(), "points": len(plan.points),
            "replication_seeds": [replication_seed(plan.seed, r) for r in range(plan.reps)], **facts}
    checkpoint = facts.get("checkpoint")
    events = Path(checkpoint) / "events" if plan.events and checkpoint else None
    return SweepResults(plan.bases, plan.keys, runs, summarize_points(runs, plan.keys), meta, events)
