"""The engine as an M/M/c queue, against Erlang C.

scenarios/validation/mmc.yaml reduces the buyer journey to one FIFO queue: Poisson arrivals,
every buyer contacts sales at once, one 'stage' activity with exponential work, c servers
working 24/7. For several (lambda, mu, c), including rho = 0.9, each check runs independent
replications, discards the scenario's warm-up, and requires the steady-state value from
queueing theory to lie inside the Student-t interval of the replication estimates
(:func:`queueing.assert_covers`). The intervals are simultaneous: each is taken at level
1 - 0.01 / m for the m checks of this module (Bonferroni), so that a correct engine fails
this module at most 1% of the time, whatever the seed. Each check also requires its
interval to be narrow enough to detect an error of a stated size (``*_precision``, about
1.5 times the half-width the design gives, so that it holds for any seed), so it cannot pass
by being vague. The mean wait in heavy traffic is the hardest figure: its replication
estimates spread roughly as 1 / (1 - rho)^2, so at rho = 0.9 only an error of about 60% is
sure to be detected; P(wait > 0) and utilization stay sharp (5-8%).

Figures checked, each per replication over the window [warmup, horizon):

- mean wait in queue, over the work started in the window (from the event log's ``start``
  values), against E[Wq] = C(c, a) / (c mu - lambda);
- P(wait > 0), the share of those starts that waited at all, against Erlang C, C(c, a);
- server utilization (occupied time ended in the window over c x its length: the formula of
  the KPI ``utilization.server``), against rho = lambda / (c mu).

Three variants go through other code: one case serves the queue by deal value
(``discipline: predicted_value``) instead of FIFO (a work-conserving order blind to service
times leaves the three figures unchanged); one splits the servers into pinned teams (each
team its own M/M/c queue); one adds a pickup delay before the queue (the wait grows by its
mean).

:func:`sim.measure`'s KPIs ``queue_wait_mean_hours.server`` and ``utilization.server`` are
also required to equal those figures read off the event log.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pandas as pd
import pytest
from harness import load, replicate, replication_seeds, utilization, waits_started_in
from queueing import assert_covers, bonferroni, mmc

import sim

ROLE = "server"


@dataclass(frozen=True)
class Case:
    """One M/M/c queue: rates per day, service time in hours, run length in days."""

    id: str
    c: int
    lam: float  # arrivals per day
    service_hours: float  # E[S]; mu = 24 / service_hours per day
    horizon: float
    warmup: float
    reps: int
    wait_precision: float  # the interval of the mean wait must be this tight (share of theory)
    p_wait_precision: float = 0.08  # and that of P(wait > 0)
    teams: int = 1  # the headcount split into pinned teams, each its own queue
    pickup_hours: float = 0.0  # mean of an exponential pickup delay before joining the queue
    extra: tuple[str, ...] = ()  # more overrides

    @property
    def mu(self) -> float:
        return 24.0 / self.service_hours

    @property
    def overrides(self) -> list[str]:
        out = [
            f"roles.server.headcount={self.c}",
            f"roles.server.teams={self.teams}",
            f"market.channels.inbound.rate_per_week={self.lam * 7}",  # arrivals are per week
            f"market.activities.serve.work.mean={self.service_hours}h",
            f"simulation.horizon={self.horizon}d",
            f"simulation.warmup={self.warmup}d",
            *self.extra,
        ]
        if self.pickup_hours:
            out.append(f"roles.server.pickup_delay={{dist: exponential, mean: {self.pickup_hours}h}}")
        return out

    def theory(self) -> dict[str, float]:
        """Mean wait (days), P(wait > 0) and utilization from Erlang C.

        With ``teams`` pinned teams, buyers are split among them at random (a Poisson
        stream thinned), so each team is an M/M/(c / teams) queue fed at lambda / teams.
        A pickup delay D before joining the queue delays each arrival independently, which
        leaves the stream that reaches the queue Poisson(lambda) (the displacement theorem),
        and the wait the engine reports is D + Wq.
        """
        q = mmc(self.lam / self.teams, self.mu, self.c // self.teams)
        return {"mean_wait": q.mean_wait + self.pickup_hours / 24.0, "p_wait": q.p_wait,
                "utilization": q.utilization}


#: Serve the highest deal value first (a priority queue, sim/org.py ValueQueue) with deal
#: values that differ: the order is no longer FIFO but still work-conserving and blind to
#: service times, so with identical exponential servers the number waiting, hence the mean
#: wait, P(wait > 0) and utilization, are those of FIFO M/M/c.
BY_VALUE = ("roles.server.discipline=predicted_value",
            "market.segments.buyer.acv={dist: lognormal, mean: 10000, sd: 5000}")

# Warm-up: the queue starts empty and relaxes at the rate c mu (1 - sqrt(rho))^2 (about 2.5 d
# at rho = 0.8 and 10 d at rho = 0.9 with c mu = 36 / day); the warm-up is at least 3 of those.
CASES = [
    # As shipped in mmc.yaml: rho = 28.8 / (3 x 12) = 0.8.
    Case("c3_rho0.8", c=3, lam=28.8, service_hours=2.0, horizon=130, warmup=10, reps=25, wait_precision=0.30),
    # M/M/1, half loaded, a short service: rho = 24 / 48 = 0.5.
    Case("c1_rho0.5", c=1, lam=24.0, service_hours=0.5, horizon=100, warmup=5, reps=20, wait_precision=0.15),
    # Heavy traffic: rho = 32.4 / (3 x 12) = 0.9.
    Case("c3_rho0.9", c=3, lam=32.4, service_hours=2.0, horizon=150, warmup=30, reps=25, wait_precision=0.60),
    # The first case again, served by deal value instead of first come, first served.
    Case("c3_rho0.8_by_value", c=3, lam=28.8, service_hours=2.0, horizon=100, warmup=10, reps=20,
         wait_precision=0.40, extra=BY_VALUE),
    # Six people in three pinned teams (pods) of two: three M/M/2 queues, each fed
    # 28.8 / 3 = 9.6 a day at mu = 6: rho = 0.8, and a longer wait than one pool of six.
    Case("c6_teams3_rho0.8", c=6, teams=3, lam=28.8, service_hours=4.0, horizon=100, warmup=10, reps=20,
         wait_precision=0.40),
    # The first case with a 1 h exponential pickup delay: wait = 1 h + Wq; no P(wait > 0)
    # check (everyone waits for the pickup).
    Case("c3_rho0.8_pickup1h", c=3, lam=28.8, service_hours=2.0, pickup_hours=1.0, horizon=100, warmup=10,
         reps=20, wait_precision=0.20),
]
FIGURES = ("mean_wait", "p_wait", "utilization")
CHECKS = [(case, figure) for case in CASES for figure in FIGURES
          if not (figure == "p_wait" and case.pickup_hours)]
#: Each check's level: together, the checks of this module cover at 99% (Bonferroni).
LEVEL = bonferroni(0.99, len(CHECKS))


def mmc_statistic(res: sim.SimResult) -> dict[str, float]:
    """Mean wait, P(wait > 0) and utilization of one replication, over its window."""
    window = res.scenario.simulation
    waits = waits_started_in(res.events, ROLE, window.warmup, window.horizon)
    return {
        "mean_wait": float(waits.mean()),
        "p_wait": float((waits > 0).mean()),
        "utilization": utilization(res, ROLE),
        "served": float(len(waits)),
    }


@cache
def replications(case_id: str) -> pd.DataFrame:
    """The replications of one case (run once, shared by its checks)."""
    case = next(c for c in CASES if c.id == case_id)
    return replicate(load("mmc.yaml", case.overrides), mmc_statistic, case.reps, key=f"mmc/{case.id}")


@pytest.mark.parametrize("case,figure", CHECKS, ids=[f"{c.id}-{f}" for c, f in CHECKS])
def test_matches_erlang_c(case: Case, figure: str) -> None:
    precision = {"mean_wait": case.wait_precision, "p_wait": case.p_wait_precision, "utilization": 0.05}
    assert_covers(f"{case.id} {figure}", replications(case.id)[figure], case.theory()[figure], LEVEL,
                  max_relative_half_width=precision[figure])


def test_kpis_are_the_event_log_figures() -> None:
    """sim.measure's queue KPIs are the figures the checks above read off the event log."""
    res = sim.simulate(load("mmc.yaml", ["simulation.horizon=40d"]), replication_seeds(1, 1, "mmc/kpis")[0])
    kpis = sim.measure(res).kpis
    window = res.scenario.simulation
    waits = waits_started_in(res.events, ROLE, window.warmup, window.horizon)
    assert kpis[f"queue_wait_mean_hours.{ROLE}"] == pytest.approx(waits.mean() * 24.0, rel=1e-12)
    assert kpis[f"utilization.{ROLE}"] == pytest.approx(utilization(res, ROLE), rel=1e-12)
