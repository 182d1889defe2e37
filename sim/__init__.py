"""orgsim: a discrete-event simulator of go-to-market organizations.

Scenario -> model -> event log -> metrics -> stats -> report, one direction.

>>> import sim
>>> scn = sim.load_scenario("scenarios/siloed.yaml", ["simulation.horizon=1y"])
>>> res = sim.compare(["scenarios/siloed.yaml", "scenarios/ai_automated.yaml"], reps=4)
>>> res.summary.head()  # doctest: +SKIP

The names below are imported on first use (PEP 562), so ``import sim`` and the ``orgsim``
command start without pandas and scipy: the command installs its Ctrl-C handler before
anything heavy loads, and ``orgsim --help`` answers at once.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from .lazy import lazy_exports

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "SensitivityResults": "api", "SweepResults": "api", "compare": "api", "run": "api",
    "sensitivity": "api", "sweep": "api", "robustness": "robustness", "RobustnessResults": "robustness",
    "optimize": "optimize", "OptimizeResults": "optimize",
    "calibrate": "calibrate", "Calibration": "calibrate",
    "Results": "experiment",
    "KPI_DOCS": "metrics", "measure": "metrics",
    "SimResult": "model", "simulate": "model",
    "Problem": "scenario", "ScenarioError": "scenario", "load_scenario": "scenario",
    "Scenario": "schema",
}

__all__ = [
    "KPI_DOCS", "Problem", "Results", "RobustnessResults", "Scenario", "ScenarioError", "SensitivityResults", "SimResult",
    "SweepResults", "__version__", "compare", "load_scenario", "measure", "robustness", "run", "sensitivity",
    "simulate", "sweep", "optimize", "OptimizeResults", "calibrate", "Calibration",
]

if TYPE_CHECKING:
    from .api import SensitivityResults, SweepResults, compare, run, sensitivity, sweep
    from .calibrate import Calibration, calibrate
    from .experiment import Results
    from .metrics import KPI_DOCS, measure
    from .model import SimResult, simulate
    from .optimize import OptimizeResults, optimize
    from .robustness import RobustnessResults, robustness
    from .scenario import Problem, ScenarioError, load_scenario
    from .schema import Scenario


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


class _Package(types.ModuleType):
    """``sim.sweep``, ``sim.sensitivity``, ``sim.optimize`` and ``sim.calibrate`` are functions, though modules of those names exist.

    Importing a submodule binds it on its package; an eager ``__init__`` bound the functions
    afterwards, but a lazy one cannot know when, so the binding of a submodule over a public
    name is refused here (the module stays in ``sys.modules``).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
