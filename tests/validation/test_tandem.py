"""Two queues in series against Jackson's theorem.

scenarios/validation/tandem.yaml sends every buyer through stage 'serve' (role 'server',
M/M/3, rho = 0.8) and then stage 'serve2' (role 'second', M/M/2, rho = 0.75), both 24/7
with exponential work, with context loss switched off so that the handoff between the roles
changes nothing. By Burke's theorem the first stage's departures are a Poisson stream, so in
steady state each stage is an M/M/c queue of its own (Jackson 1957): each stage's mean wait,
P(wait > 0) and utilization are checked against Erlang C with replication t-intervals,
simultaneous at 99% over the module's checks (Bonferroni, see test_mmc.py).
"""

from __future__ import annotations

from functools import cache

import pandas as pd
import pytest
from harness import load, replicate, utilization, waits_started_in
from queueing import assert_covers, bonferroni, mmc

import sim

LAM = 28.8  # arrivals per day (tandem.yaml: 201.6 a week)
#: role -> (servers, service rate per day), as in tandem.yaml
STAGES = {"server": (3, 24.0 / 2.0), "second": (2, 24.0 / 1.25)}
REPS = 20
# figure -> precision required (half-width / theory; about 1.5 x what 20 replications give)
FIGURES = {"mean_wait": 0.35, "p_wait": 0.08, "utilization": 0.05}
#: Each check's level: together, the checks of this module cover at 99% (Bonferroni).
LEVEL = bonferroni(0.99, len(STAGES) * len(FIGURES))


def tandem_statistic(res: sim.SimResult) -> dict[str, float]:
    """Per stage: mean wait, P(wait > 0) and utilization over the window."""
    window = res.scenario.simulation
    out: dict[str, float] = {}
    for role in STAGES:
        waits = waits_started_in(res.events, role, window.warmup, window.horizon)
        out[f"{role}.mean_wait"] = float(waits.mean())
        out[f"{role}.p_wait"] = float((waits > 0).mean())
        out[f"{role}.utilization"] = utilization(res, role)
    out["handoffs"] = float((res.events.event == "handoff").sum())
    out["context_losses"] = float((res.events.event == "context_loss").sum())
    return out


@cache
def replications() -> pd.DataFrame:
    return replicate(load("tandem.yaml"), tandem_statistic, REPS, key="tandem")


def test_handoffs_happen_without_context_loss() -> None:
    df = replications()
    assert (df.handoffs > 0).all()
    assert (df.context_losses == 0).all()


@pytest.mark.parametrize("figure", list(FIGURES))
@pytest.mark.parametrize("role", list(STAGES))
def test_each_stage_is_its_own_mmc_queue(role: str, figure: str) -> None:
    c, mu = STAGES[role]
    theory = getattr(mmc(LAM, mu, c), figure)
    assert_covers(f"stage {role} {figure}", replications()[f"{role}.{figure}"], theory, LEVEL,
                  max_relative_half_width=FIGURES[figure])
