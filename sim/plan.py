"""What a sweep or a sensitivity analysis runs, and running it with a checkpoint.

A :class:`Plan` is designs x points x replications. A *point* is a set of values for dotted
scenario keys (the same paths as ``--set``); every point is loaded through
:func:`sim.scenario.load_scenario` with those values as overrides, so bounds and
cross-checks apply exactly as they do to ``--set``. Replication ``r`` of every point uses the
same seed (common random numbers).

:func:`run_plan` streams each finished replication to a checkpoint folder (one JSON line of
KPIs, and an event log when asked), so memory stays flat however many runs there are, and
an interrupted run can be resumed. The final table is always assembled from that file,
sorted by (point, scenario, replication), so a resumed run gives exactly the numbers of an
uninterrupted one, on any executor.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .atomic import write_text, write_with
from .experiment import Interrupted, Outcome, Progress, Task, TooBigError, check_size, estimate, execute, too_large
from .scenario import Problem, ScenarioError, load_scenario
from .schema import Scenario
from .streams import replication_seed

__all__ = ["Plan", "plan_points", "run_plan", "value_at", "integer_keys", "override_text", "point_label",
           "round_half_up", "tidy", "CHECKPOINT_FILE", "ScenarioLike", "check_points", "MAX_POINTS"]

#: The checkpoint's stream of finished replications, one JSON object a line.
CHECKPOINT_FILE = "runs.jsonl"
_PLAN_FILE = "plan.json"

ScenarioLike = Scenario | str | Path


# ---------------------------------------------------------------- values


def value_at(doc: Any, key: str) -> Any:
    """The value at a dotted path of a resolved scenario (``model_dump``), or None."""
    for part in key.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def tidy(x: float, digits: int = 12) -> float:
    """Drop floating-point dust (``0.30000000000000004`` -> ``0.3``)."""
    return float(f"{x:.{digits}g}")


def round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def override_text(value: Any) -> str:
    """A value as ``--set`` text that reads back as the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:  # YAML 1.1 needs a dot: 1.0e-05
            mantissa, exp = text.split("e")
            text = f"{mantissa}.0e{exp if exp[0] in '+-' else '+' + exp}"
        return text
    if isinstance(value, (int, str)):
        return str(value)
    return json.dumps(value)


def point_label(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={override_text(v)}" for k, v in point.items()) or "base"


# ---------------------------------------------------------------- plans

#: Points a plan may have without ``large`` (each is loaded and validated before anything
#: runs), and the most it may ever have (they are all held in memory).
MAX_POINTS = 10_000
MAX_POINTS_EVER = 1_000_000
#: Loading and validating one design at one point.
SECONDS_PER_LOAD = 0.01


def check_points(kind: str, n: float, base: Scenario, designs: int, reps: int | None, large: bool = False) -> None:
    """Refuse a plan of ``n`` points before building them, with an estimate of the work.

    ``n`` may be astronomically large (a tiny ``--vary`` step): it is only counted here.
    """
    reps = base.simulation.reps if reps is None else reps
    count, hours, nbytes = estimate([base] * designs, reps)
    hours = n * (hours + designs * SECONDS_PER_LOAD / 3600)
    what = f"this {kind} of {n:,.0f} points x {designs} design{'s' if designs > 1 else ''} x {reps} replications"
    if n > MAX_POINTS_EVER:
        raise TooBigError(f"{what} is too large to run (about {hours:,.0f} CPU-hours; at most "
                          f"{MAX_POINTS_EVER:,} points): use a larger --vary step, fewer values, or --lhs")
    problem = too_large(what, int(n * count), hours, n * nbytes)
    if not large and (problem or n > MAX_POINTS):
        raise TooBigError(problem or f"{what} has more than {MAX_POINTS:,} points (about {hours:,.1f} CPU-hours); "
                                     f"use a larger --vary step, or add --yes-large to run it anyway")



@dataclass
class Plan:
    """What a sweep (or a sensitivity analysis) will run: designs x points x replications."""

    kind: str
    bases: list[Scenario]
    points: list[dict[str, Any]]
    scenarios: list[list[Scenario]]  # [point][design]
    reps: int
    seed: int
    events: bool = False
    info: dict[str, Any] = field(default_factory=dict)
    #: Put one column per varied key in the runs table (a sweep's points set every key).
    key_columns: bool = True

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.bases]

    @property
    def keys(self) -> list[str]:
        return list(dict.fromkeys(k for p in self.points for k in p))

    @property
    def total(self) -> int:
        return len(self.points) * len(self.bases) * self.reps

    def tasks(self) -> list[Task]:
        """Every replication, in (point, scenario, replication) order."""
        seeds = [replication_seed(self.seed, r) for r in range(self.reps)]
        return [Task((p, d, r), scn, r, seeds[r], f"{p} ({point_label(self.points[p])})")
                for p, row in enumerate(self.scenarios) for d, scn in enumerate(row) for r in range(self.reps)]

    def describe(self) -> dict[str, Any]:
        """The plan as plain data (stored with a checkpoint, compared on resume)."""
        return {"kind": self.kind, "scenarios": self.names, "seed": self.seed, "reps": self.reps,
                "events": self.events, "keys": self.keys, "points": self.points, **self.info}

    def digest(self) -> str:
        """A hash of everything the numbers depend on: the resolved designs, points, seeds."""
        doc = {**self.describe(), "bases": [s.model_dump(mode="json", exclude={"extends"}) for s in self.bases]}
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def checkpoint_name(self) -> str:
        return f".{self.kind}-{self.digest()[:12]}.partial"


@contextmanager
def _loader(item: ScenarioLike, overrides: Sequence[str]) -> Iterator[Callable[[list[str]], Scenario]]:
    """``load(extra_overrides)`` for a scenario file or an in-memory Scenario."""
    if not isinstance(item, Scenario):
        yield lambda extra: load_scenario(item, [*overrides, *extra])
        return
    if overrides:
        raise ValueError("overrides apply to scenario files; change a Scenario with model_copy")
    with tempfile.TemporaryDirectory(prefix="orgsim-") as tmp:
        path = Path(tmp) / "scenario.yaml"
        doc = item.model_dump(mode="json", exclude={"extends"})
        path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")

        def load(extra: list[str]) -> Scenario:
            try:
                return load_scenario(path, extra)
            except ScenarioError as exc:
                raise ScenarioError([replace(p, source=item.name) if p.source == str(path) else p
                                     for p in exc.problems]) from None

        yield load


def plan_points(kind: str, scenarios: Sequence[ScenarioLike], points: Callable[[Scenario], list[dict[str, Any]]],
                reps: int | None = None, seed: int | None = None, overrides: Sequence[str] = (),
                events: bool = False, source: str = "--vary",
                skipped: list[tuple[dict[str, Any], list[Problem]]] | None = None, large: bool = False) -> Plan:
    """Load every design at every point (validated like ``--set``) into a :class:`Plan`.

    ``points(base)`` gives the points from the first design, resolved. A point that does not
    validate is an error, unless ``skipped`` is given: then it is left out and listed there.
    Work beyond the limits of :func:`sim.experiment.check_size` is refused unless ``large``.
    """
    if not scenarios:
        raise ScenarioError([Problem(kind, None, "", "expected at least one scenario")])
    with _loaders(scenarios, overrides) as loaders:
        bases = [load([]) for load in loaders]
        check_designs(kind, bases)
        reps = bases[0].simulation.reps if reps is None else reps
        seed = bases[0].simulation.seed if seed is None else seed
        kept: list[dict[str, Any]] = []
        grid: list[list[Scenario]] = []
        problems: list[Problem] = []
        for point in points(bases[0]):
            extra = [f"{k}={override_text(v)}" for k, v in point.items()]
            row, wrong = [], []
            for load in loaders:
                try:
                    row.append(load(extra))
                except ScenarioError as exc:
                    where = f" (at {point_label(point)})"
                    wrong += [replace(p, source=source if p.source.split(" ")[0] == "--set" else p.source,
                                      message=p.message + where) for p in exc.problems]
            if not wrong:
                kept.append(point)
                grid.append(row)
            elif skipped is not None:
                skipped.append((point, _dedupe(wrong)))
            else:
                problems += wrong
        if problems:
            raise ScenarioError(_dedupe(problems))
    check_size([s for row in grid for s in row] or bases, reps, large, f"this {kind}")
    return Plan(kind, bases, kept, grid, reps, seed, events)


@contextmanager
def _loaders(scenarios: Sequence[ScenarioLike],
             overrides: Sequence[str]) -> Iterator[list[Callable[[list[str]], Scenario]]]:
    with ExitStack() as stack:
        yield [stack.enter_context(_loader(s, overrides)) for s in scenarios]


def check_designs(kind: str, bases: list[Scenario]) -> None:
    """Refuse two designs of one name and a market to extend (``abstract``), all at once."""
    names = [s.name for s in bases]
    problems = [Problem(kind, None, "name", f"two scenarios are named {n!r}")
                for n in sorted({n for n in names if names.count(n) > 1})]
    problems += [Problem(kind, None, "abstract", f"{s.name!r} is a market to extend, not a design to run")
                 for s in bases if s.abstract]
    if problems:
        raise ScenarioError(problems)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def integer_keys(base: Scenario, keys: Sequence[str]) -> set[str]:
    """The keys whose value in the resolved scenario is a whole number (headcount, teams...)."""
    doc = base.model_dump(mode="json")
    return {k for k in keys if _is_int(value_at(doc, k))}


# ---------------------------------------------------------------- running, with a checkpoint


def _json_number(x: Any) -> Any:
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    return float(x)


def _damaged(path: Path, what: str) -> ScenarioError:
    return ScenarioError([Problem(str(path), None, "", f"{what}: the checkpoint is damaged; "
                                                       f"delete {path.parent} to start again")])


def _is_record(r: Any) -> bool:
    return (isinstance(r, dict) and _is_int(r.get("point")) and isinstance(r.get("scenario"), str)
            and _is_int(r.get("replication")) and isinstance(r.get("kpis"), dict) and "seed" in r)


def _read_checkpoint(path: Path, plan: Plan | None = None) -> tuple[list[dict[str, Any]], int]:
    """Complete records and the length in bytes of the good part.

    A torn last line (a run killed while appending it) is not part of it. Any other line
    that is not a replication of ``plan`` means the file was damaged: an error naming it.
    """
    records: list[dict[str, Any]] = []
    good = 0
    if not path.is_file():
        return records, good
    names = set(plan.names) if plan is not None else None
    with path.open("rb") as f:
        for n, line in enumerate(f, 1):
            if not line.endswith(b"\n"):
                break
            try:
                record = json.loads(line)
            except ValueError:
                raise _damaged(path, f"line {n} is not JSON") from None
            if not _is_record(record) or (plan is not None and not (
                    0 <= record["point"] < len(plan.points) and record["scenario"] in (names or ())
                    and 0 <= record["replication"] < plan.reps)):
                raise _damaged(path, f"line {n} is not a replication of this plan")
            records.append(record)
            good += len(line)
    return records, good


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold the checkpoint folder for this run: a second run on it is refused, not raced."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ScenarioError([Problem("--resume", None, "", f"{folder} is in use by another orgsim run: "
                                         "wait for it to finish (or stop it), then resume")]) from None
        yield
    finally:
        os.close(fd)  # releases the lock


def _open_checkpoint(folder: Path, plan: Plan) -> list[dict[str, Any]]:
    """Create or reopen a checkpoint folder for ``plan``; return the replications already done."""
    folder.mkdir(parents=True, exist_ok=True)
    plan_file = folder / _PLAN_FILE
    digest = plan.digest()
    if plan_file.is_file():
        try:
            stored = json.loads(plan_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise _damaged(plan_file, f"cannot be read ({str(exc).splitlines()[0] if str(exc) else exc})") from None
        if not isinstance(stored, dict):
            raise _damaged(plan_file, "not a plan orgsim wrote")
        if stored.get("digest") != digest:
            mine = plan.describe()
            differs = [k for k in mine if stored.get(k) != json.loads(json.dumps(mine[k], default=str))]
            what = ", ".join(differs) if differs else "the resolved scenario"
            raise ScenarioError([Problem("--resume", None, "", f"{folder} is a checkpoint of another "
                                         f"{stored.get('kind', 'run')} (it differs in: {what})")])
    else:
        doc = {"digest": digest, **plan.describe()}
        write_text(plan_file, json.dumps(doc, indent=2, default=str))
    records, good = _read_checkpoint(folder / CHECKPOINT_FILE, plan)
    if (folder / CHECKPOINT_FILE).is_file():
        os.truncate(folder / CHECKPOINT_FILE, good)
    return records


def run_plan(plan: Plan, checkpoint: str | Path | None = None, jobs: int | None = None,
             executor: str = "local", scheduler: str | None = None,
             progress: Progress | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run what ``plan`` still needs; return every run's KPIs, sorted, and run facts.

    With a ``checkpoint`` folder, each finished replication is appended to it (and its event
    log written when ``plan.events``), and replications already there are not run again.
    Without one, a temporary folder is used and removed.
    """
    if checkpoint is None:
        if plan.events:
            raise ValueError("event logs are written to disk: give a checkpoint folder to keep them")
        with tempfile.TemporaryDirectory(prefix="orgsim-sweep-") as tmp:
            try:
                runs, facts = run_plan(plan, tmp, jobs, executor, scheduler, progress)
                return runs, {**facts, "checkpoint": None}
            except Interrupted as exc:
                raise Interrupted(exc.done, exc.total) from None
    folder = Path(checkpoint)
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        return _run_locked(plan, folder, jobs, executor, scheduler, progress)


def _run_locked(plan: Plan, folder: Path, jobs: int | None, executor: str, scheduler: str | None,
                progress: Progress | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    done = _open_checkpoint(folder, plan)
    finished = {(r["point"], r["scenario"], r["replication"]) for r in done}
    names = plan.names
    tasks = [t for t in plan.tasks() if (t.key[0], names[t.key[1]], t.key[2]) not in finished]
    if plan.events:
        (folder / "events").mkdir(exist_ok=True)
    started = time.perf_counter()
    with (folder / CHECKPOINT_FILE).open("a", encoding="utf-8") as out:

        def record(task: Task, outcome: Outcome) -> None:
            p, d, r = task.key
            if outcome.events is not None:
                _write_events(folder / "events", names[d], p, r, outcome.events.assign(point=p))
            row = {"point": p, "scenario": names[d], "replication": r, "seed": task.seed,
                   "kpis": {k: _json_number(v) for k, v in outcome.measured.kpis.items()}}
            out.write(json.dumps(row) + "\n")
            out.flush()

        try:
            execute(tasks, record, jobs=jobs, executor=executor, scheduler=scheduler, events=plan.events,
                    progress=progress, done_before=plan.total - len(tasks))
        except Interrupted as exc:
            raise Interrupted(exc.done, exc.total, str(folder)) from None
    elapsed = time.perf_counter() - started
    records, _ = _read_checkpoint(folder / CHECKPOINT_FILE, plan)
    facts = {"simulate_seconds": round(elapsed, 3), "resumed_replications": len(done),
             "checkpoint": str(folder)}
    return _runs_table(plan, records), facts


def event_file_name(scenario: str, point: int, replication: int) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in scenario)
    return f"{safe}-point{point:04d}-rep{replication:03d}.csv"


def _write_events(folder: Path, scenario: str, point: int, replication: int, events: pd.DataFrame) -> None:
    write_with(folder / event_file_name(scenario, point, replication), lambda tmp: events.to_csv(tmp, index=False))


def _runs_table(plan: Plan, records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per point x scenario x replication, in that order, whatever order they ran in."""
    order = {n: i for i, n in enumerate(plan.names)}
    latest = {(r["point"], r["scenario"], r["replication"]): r for r in records}
    rows = []
    keys = plan.keys if plan.key_columns else []
    for (p, name, rep), r in sorted(latest.items(), key=lambda kv: (kv[0][0], order[kv[0][1]], kv[0][2])):
        values = plan.points[p]
        rows.append({"point": p, "scenario": name, **{k: values.get(k) for k in keys},
                     "replication": rep, "seed": r["seed"], **r["kpis"]})
    missing = plan.total - len(rows)
    if missing:
        raise RuntimeError(f"{missing} replications are missing from the checkpoint")
    return pd.DataFrame(rows)
