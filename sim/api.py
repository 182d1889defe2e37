"""The Python API: what the CLI does, for notebooks and scripts. Everything returns DataFrames
(inside :class:`~sim.experiment.Results`, :class:`~sim.sweep.SweepResults` or
:class:`~sim.sensitivity.SensitivityResults`).

Every function takes ``reps``, ``seed``, ``jobs``, ``overrides`` (``"key.path=value"``),
``progress`` (called as ``progress(done, total)``), and ``executor`` / ``scheduler``
(``"local"`` processes, or ``"dask"`` with an optional scheduler address).

>>> import sim
>>> res = sim.sweep("scenarios/siloed.yaml", ["roles.inside_sales.headcount=4,6,8"], reps=4)  # doctest: +SKIP
>>> res.summary[res.summary.kpi == "conversion_rate"]  # doctest: +SKIP
>>> sens = sim.sensitivity("scenarios/siloed.yaml", kpi="conversion_rate", reps=4)  # doctest: +SKIP
>>> sens.table.head()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .experiment import Progress, Results, run_experiment
from .plan import check_designs
from .scenario import Problem, ScenarioError, load_scenario
from .schema import Scenario
from .sensitivity import SensitivityResults, sensitivity
from .sweep import SweepResults, sweep

__all__ = ["run", "compare", "sweep", "sensitivity", "as_scenario", "SweepResults", "SensitivityResults"]

ScenarioLike = Scenario | str | Path


def as_scenario(item: ScenarioLike, overrides: Sequence[str] = ()) -> Scenario:
    """A validated scenario from a path (with ``--set`` style overrides) or a Scenario."""
    if isinstance(item, Scenario):
        if overrides:
            raise ValueError("overrides apply to scenario files; change a Scenario with model_copy")
        return item
    return load_scenario(item, overrides)


def compare(scenarios: Sequence[ScenarioLike], reps: int | None = None, seed: int | None = None,
            jobs: int | None = None, overrides: Sequence[str] = (),
            progress: Progress | None = None, executor: str = "local", scheduler: str | None = None,
            large: bool = False, replications: Sequence[int] | None = None) -> Results:
    """Run several designs on the same market; the first is the baseline of ``paired``.

    ``overrides`` (``"key.path=value"``) apply to every scenario. Work estimated beyond the
    size limits (:func:`sim.experiment.check_size`) is refused unless ``large``.
    ``replications`` runs only those replication indices (default: ``range(reps)``), each
    with the seed it has in a full run: how ``orgsim app`` adds replications as they finish.
    """
    loaded = [as_scenario(s, overrides) for s in scenarios]
    if not loaded:
        raise ScenarioError([Problem("compare", None, "", "expected at least one scenario")])
    check_designs("compare", loaded)
    return run_experiment(loaded, reps=reps, seed=seed, jobs=jobs, progress=progress, executor=executor,
                          scheduler=scheduler, large=large, replications=replications)


def run(scenario: ScenarioLike, reps: int | None = None, seed: int | None = None,
        jobs: int | None = None, overrides: Sequence[str] = (),
        progress: Progress | None = None, executor: str = "local", scheduler: str | None = None,
        large: bool = False) -> Results:
    """Run one design for several replications."""
    return compare([scenario], reps=reps, seed=seed, jobs=jobs, overrides=overrides, progress=progress,
                   executor=executor, scheduler=scheduler, large=large)
