"""Reneging against the M/M/c+M ("Erlang A") queue.

scenarios/validation/erlang_a.yaml is the M/M/c queue of mmc.yaml with a 'contact' activity:
the engine gives each buyer a deadline ``contact_at + patience`` and takes them out of the
queue, with a ``renege`` event, when no server has started on them by then
(sim/org.py ``RoleQueue.perform``). Patience is exponential with rate theta, engagement does
not decay (``lead_decay.floor = 1``), nobody is averse to automation and there is no
handoff, so every buyer who is served passes.

The theory is the birth-death chain of Palm (1943) and Garnett, Mandelbaum & Reiman (2002),
solved numerically in :func:`queueing.erlang_a`. Figures checked per replication, over the
buyers who joined the queue in [warmup, horizon - tail) (``tail`` leaves every one of them
time to be served or to leave, so none is censored):

- P(abandon) = renege events / queue joins, against theta E[Lq] / lambda;
- mean wait of ALL arrivals (the ``start`` value for the served, the ``renege`` value for
  those who left), against E[Lq] / lambda;
- mean wait of the SERVED arrivals only, against E[Wq | served];
- P(wait > 0), against P(N >= c);
- server utilization (the formula of the KPI ``utilization.server``), against
  E[min(N, c)] / c.

Each figure must lie inside its replication t-interval; the intervals are simultaneous at
99% over the module's checks (Bonferroni, see test_mmc.py). One case serves by deal value
(``discipline: predicted_value``, a priority queue with its own reneging code); there, every
figure but the served buyers' mean wait is order-free and checked the same way.

Two exact timelines then check what happens when a deadline falls on the very instant a
server frees up: the buyer should be served (no one had started on them *before* it), and
in no case may the server be lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pandas as pd
import pytest
from harness import load, replicate, utilization, visits
from queueing import assert_covers, bonferroni, erlang_a

import sim

ROLE = "server"
TAIL = 2.0  # days; P(an exponential patience of mean 4 h exceeds 2 d) = exp(-12) = 6e-6


@dataclass(frozen=True)
class Case:
    """One M/M/c+M queue: rates per day, times in hours, run length in days."""

    id: str
    c: int
    lam: float  # arrivals per day
    service_hours: float  # E[S] = 1 / mu
    patience_hours: float  # E[patience] = 1 / theta
    horizon: float
    warmup: float
    reps: int
    extra: tuple[str, ...] = ()  # more overrides

    @property
    def mu(self) -> float:
        return 24.0 / self.service_hours

    @property
    def theta(self) -> float:
        return 24.0 / self.patience_hours

    @property
    def overrides(self) -> list[str]:
        return [
            f"roles.server.headcount={self.c}",
            f"market.channels.inbound.rate_per_week={self.lam * 7}",
            f"market.activities.serve.work.mean={self.service_hours}h",
            f"market.segments.buyer.patience.mean={self.patience_hours}h",
            f"simulation.horizon={self.horizon}d",
            f"simulation.warmup={self.warmup}d",
            *self.extra,
        ]


CASES = [
    # As shipped in erlang_a.yaml: offered load lambda / (c mu) = 0.8, patience 2 x service.
    Case("c3_load0.8", c=3, lam=28.8, service_hours=2.0, patience_hours=4.0, horizon=100, warmup=5, reps=20),
    # Overloaded (lambda / (c mu) = 1.1): stable only because buyers abandon.
    Case("c5_load1.1", c=5, lam=66.0, service_hours=2.0, patience_hours=4.0, horizon=65, warmup=5, reps=20),
    # The first case served by deal value (a priority queue, sim/org.py ValueQueue, whose
    # reneging is its own code) with deal values that differ. Every waiting buyer abandons at
    # rate theta wherever they stand and the order is blind to service times, so the number
    # in the system is the same birth-death chain: every figure but the served buyers' mean
    # wait is unchanged.
    Case("c3_load0.8_by_value", c=3, lam=28.8, service_hours=2.0, patience_hours=4.0, horizon=100, warmup=5,
         reps=20, extra=("roles.server.discipline=predicted_value",
                         "market.segments.buyer.acv={dist: lognormal, mean: 10000, sd: 5000}")),
]


def erlang_a_statistic(res: sim.SimResult) -> dict[str, float]:
    """Abandonment, waits and utilization of one replication."""
    window = res.scenario.simulation
    v = visits(res.events, ROLE)
    v = v[(v.queued_at >= window.warmup) & (v.queued_at < window.horizon - TAIL)]
    served = v.outcome == "start"
    reneged = v.outcome == "renege"
    return {
        "joined": float(len(v)),
        "censored": float((~served & ~reneged).sum()),
        "p_abandon": float(reneged.mean()),
        "mean_wait_all": float(v.wait.mean()),
        "mean_wait_served": float(v.wait[served].mean()),
        "p_wait": float((v.wait > 0).mean()),
        "utilization": utilization(res, ROLE),
    }


@cache
def replications(case_id: str) -> pd.DataFrame:
    case = next(c for c in CASES if c.id == case_id)
    df = replicate(load("erlang_a.yaml", case.overrides), erlang_a_statistic, case.reps, key=f"erlang_a/{case.id}")
    assert (df.censored == 0).all(), "a buyer who joined in the window was neither served nor gone"
    return df


# (column, attribute of queueing.ErlangA, precision the interval must reach: its half-width
# as a share of theory, about 1.5 times what these run lengths give)
FIGURES = [
    ("p_abandon", "p_abandon", 0.12),
    ("mean_wait_all", "mean_wait", 0.12),
    ("mean_wait_served", "mean_wait_served", 0.15),
    ("p_wait", "p_wait", 0.08),
    ("utilization", "utilization", 0.04),
]
ORDER_DEPENDENT = {"mean_wait_served"}  # not a function of the number in the system alone
CHECKS = [(case, figure) for case in CASES for figure in FIGURES
          if not (case.extra and figure[0] in ORDER_DEPENDENT)]
#: Each check's level: together, the checks of this module cover at 99% (Bonferroni).
LEVEL = bonferroni(0.99, len(CHECKS))


@pytest.mark.parametrize("case,figure", CHECKS, ids=[f"{c.id}-{f[0]}" for c, f in CHECKS])
def test_matches_erlang_a(case: Case, figure: tuple[str, str, float]) -> None:
    column, attribute, precision = figure
    df = replications(case.id)
    theory = erlang_a(case.lam, case.mu, case.c, case.theta)
    assert theory.truncation_mass < 1e-12
    assert_covers(f"{case.id} {column}", df[column], getattr(theory, attribute), LEVEL,
                  max_relative_half_width=precision)


# ------------------------------------------------------------------------------ exact timelines

#: One server, constant 1 h work and 1 h patience, buyers at 24 h, 24 h and 72 h: buyer 1's
#: deadline (25 h) is exactly when buyer 0's service ends, so the grant and the renege fall
#: on the same instant.
TIE = [
    "market.channels.inbound.rate_per_week=0",
    "market.channels.inbound.arrivals_at=[1d, 1d, 3d]",
    "roles.server.headcount=1",
    "market.activities.serve.work={dist: constant, value: 1h}",
    "market.segments.buyer.patience={dist: constant, value: 1h}",
    "simulation.horizon=5d",
    "simulation.warmup=0d",
]
DISCIPLINES = ["fifo", "predicted_value"]


def _tie_timeline(discipline: str) -> dict[int, tuple[str, float]]:
    """buyer -> (outcome, hour it started or left) for the TIE scenario."""
    res = sim.simulate(load("erlang_a.yaml", [*TIE, f"roles.server.discipline={discipline}"]), 1)
    v = visits(res.events, ROLE)
    return {int(r.buyer): (r.outcome, round(r.left_at * 24, 9)) for r in v.itertuples()}


@pytest.mark.parametrize("discipline", DISCIPLINES)
def test_a_renege_at_the_instant_a_server_frees_up_does_not_lose_the_server(discipline: str) -> None:
    """Work conservation: buyer 2 arrives at 72 h to an idle role and is served at once."""
    timeline = _tie_timeline(discipline)
    assert timeline[2] == ("start", 72.0), (
        f"{discipline}: buyer 2 found the only server idle at 72 h but got {timeline[2]}: the "
        f"server was lost at 25 h, when buyer 1's deadline met buyer 0's release ({timeline})")


@pytest.mark.parametrize("discipline", DISCIPLINES)
def test_a_server_free_exactly_at_the_deadline_serves_the_buyer(discipline: str) -> None:
    """RoleQueue.perform: a buyer leaves when no one has started on them *by* the deadline;
    a server free at that very instant starts on them (as the FIFO queue does)."""
    timeline = _tie_timeline(discipline)
    assert timeline[0] == ("start", 24.0)
    assert timeline[1] == ("start", 25.0), f"{discipline}: {timeline}"
