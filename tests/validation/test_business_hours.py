"""A business-hours role under saturation does headcount x 40 h of work a week.

scenarios/validation/business_hours.yaml gives a role of people working Monday to Friday,
9:00 to 17:00, more buyers than it can serve. Once the queue has built up it never empties,
so every person is busy every working minute and completes one job per service time of
working time (service work is stretched by 1 / productive_share). Over the window:

    completions per week = headcount x 40 h x productive_share / E[S],

checked against the t-interval over replications, and the utilization (the formula of the
KPI ``utilization.server``) against 1; the intervals are simultaneous at 99% over the
module's checks (Bonferroni, see test_mmc.py). Exactly, on every replication: no work
starts or ends outside opening hours, and the queue never empties during the window (the
saturation the formula assumes). One case serves the queue by deal value
(``discipline: predicted_value``), whose queue has its own code for closed hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import pytest
from harness import load, replicate, utilization
from queueing import assert_covers, bonferroni

import sim

ROLE = "server"
OPEN, CLOSE = 9 / 24, 17 / 24  # business_hours.yaml
HOURS_PER_WEEK = 5 * 8


@dataclass(frozen=True)
class Case:
    id: str
    headcount: int
    productive_share: float
    service_hours: float  # E[S]
    arrivals_per_week: float  # 1.5 to 2 x capacity, so the queue never empties after the warm-up
    reps: int
    extra: tuple[str, ...] = ()  # more overrides

    @property
    def capacity_per_week(self) -> float:
        return self.headcount * HOURS_PER_WEEK * self.productive_share / self.service_hours

    @property
    def overrides(self) -> list[str]:
        return [
            f"roles.server.headcount={self.headcount}",
            f"roles.server.productive_share={self.productive_share}",
            f"market.activities.serve.work.mean={self.service_hours}h",
            f"market.channels.inbound.rate_per_week={self.arrivals_per_week}",
            *self.extra,
        ]


CASES = [
    # As shipped: 4 x 40 h / 2 h = 80 a week, 120 arrive.
    Case("c4", headcount=4, productive_share=1.0, service_hours=2.0, arrivals_per_week=120, reps=15),
    # Half of each person's time on other duties: 2 x 40 h x 0.5 / 2 h = 20 a week, 40 arrive.
    Case("c2_share0.5", headcount=2, productive_share=0.5, service_hours=2.0, arrivals_per_week=40, reps=20),
    # The first case served by deal value (a priority queue, sim/org.py ValueQueue).
    Case("c4_by_value", headcount=4, productive_share=1.0, service_hours=2.0, arrivals_per_week=120, reps=15,
         extra=("roles.server.discipline=predicted_value",
                "market.segments.buyer.acv={dist: lognormal, mean: 10000, sd: 5000}")),
]


#: Each check's level: together, the interval checks of this module cover at 99% (Bonferroni).
LEVEL = bonferroni(0.99, 2 * len(CASES))


def _in_hours(t: np.ndarray, closed_end: bool) -> np.ndarray:
    """True where instant ``t`` lies inside opening hours (``closed_end``: 17:00 counts)."""
    day, clock = np.floor(t), t - np.floor(t)
    weekday = day.astype(int) % 7 < 5
    eps = 1e-9
    inside = (clock >= OPEN - eps) & ((clock <= CLOSE + eps) if closed_end else (clock < CLOSE - eps))
    return weekday & inside


def saturation_statistic(res: sim.SimResult) -> dict[str, float]:
    """Completions per week, utilization, and the exact checks, over the window."""
    window = res.scenario.simulation
    t0, t1 = window.warmup, window.horizon
    ev = res.events[res.events.role == ROLE]
    starts = ev[ev.event == "start"].time.to_numpy()
    ends_all = ev[ev.event == "end"].time.to_numpy()
    ends = ends_all[(ends_all >= t0) & (ends_all < t1)]
    # Queue length after every queue/start event (no renege: 'stage' work has no deadline).
    qs = ev[ev.event.isin(["queue", "start"])]
    level = np.cumsum(np.where(qs.event.astype(str).to_numpy() == "queue", 1, -1))
    qt = qs.time.to_numpy()
    before = level[qt < t0]
    in_window = level[(qt >= t0) & (qt < t1)]
    return {
        "completions_per_week": len(ends) / ((t1 - t0) / 7.0),
        "utilization": utilization(res, ROLE),
        "starts_out_of_hours": float((~_in_hours(starts, closed_end=False)).sum()),
        "ends_out_of_hours": float((~_in_hours(ends_all, closed_end=True)).sum()),
        "min_queue_in_window": float(min(before[-1] if len(before) else 0, in_window.min(initial=10**9))),
    }


@cache
def replications(case_id: str) -> pd.DataFrame:
    case = next(c for c in CASES if c.id == case_id)
    return replicate(load("business_hours.yaml", case.overrides), saturation_statistic, case.reps,
                     key=f"business_hours/{case.id}")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_role_is_saturated_and_works_only_in_business_hours(case: Case) -> None:
    df = replications(case.id)
    assert (df.min_queue_in_window > 0).all(), "the queue emptied: the role was not saturated"
    assert (df.starts_out_of_hours == 0).all(), "work started outside Mon-Fri 9-17"
    assert (df.ends_out_of_hours == 0).all(), "work ended outside Mon-Fri 9-17"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_completed_work_per_week_is_headcount_times_40_hours(case: Case) -> None:
    df = replications(case.id)
    assert_covers(f"{case.id} completions per week", df.completions_per_week, case.capacity_per_week,
                  LEVEL, max_relative_half_width=0.08)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_saturated_utilization_is_one(case: Case) -> None:
    df = replications(case.id)
    assert_covers(f"{case.id} utilization", df.utilization, 1.0, LEVEL, max_relative_half_width=0.03)
