"""orgsim: a discrete-event simulator of go-to-market organizations.

Scenario -> model -> event log -> metrics -> stats -> report, one direction.

>>> import sim
>>> scn = sim.load_scenario("scenarios/siloed.yaml", ["simulation.horizon=1y"])
>>> res = sim.compare(["scenarios/siloed.yaml", "scenarios/ai_automated.yaml"], reps=4)
>>> res.summary.head()  # doctest: +SKIP
"""

from .api import SensitivityResults, SweepResults, compare, run, sensitivity, sweep
from .experiment import Results
from .metrics import KPI_DOCS, measure
from .model import SimResult, simulate
from .scenario import Problem, ScenarioError, load_scenario
from .schema import Scenario

__version__ = "0.1.0"

__all__ = [
    "KPI_DOCS",
    "Problem",
    "Results",
    "Scenario",
    "ScenarioError",
    "SensitivityResults",
    "SimResult",
    "SweepResults",
    "compare",
    "load_scenario",
    "measure",
    "run",
    "sensitivity",
    "simulate",
    "sweep",
    "__version__",
]
