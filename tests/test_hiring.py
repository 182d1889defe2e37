"""Hiring on demand (roles.<role>.hiring): a role that stays busy gets one more person."""

from __future__ import annotations

import pytest

import sim
from sim.scenario import ScenarioError, load_scenario

REVIEW = 30.0
HIRE = 10.0
#: One SDR answering 60 buyers a week, an hour each, in a 40-hour week: overloaded.
BUSY = {"market.channels.web.rate_per_week": 60, "simulation.horizon": "150d", "roles.ae.headcount": 8,
        "roles.sdr.time_to_hire": HIRE, "roles.sdr.ramp_time": "20d",
        "roles.sdr.hiring": {"above": 0.9, "review": REVIEW, "max_headcount": 3}}


def _sdrs(path, seed=1):
    res = sim.simulate(load_scenario(path), seed)
    return res, res.staff[res.staff.role == "sdr"].sort_values("joined")


def test_a_role_that_stays_busy_hires_one_at_a_time_up_to_its_cap(write_scenario):
    _, sdrs = _sdrs(write_scenario(BUSY))
    joined = sdrs.joined.tolist()
    assert len(joined) == 3  # the first, then two hires: the cap
    assert joined[0] == 0.0
    # Fully busy in the first period: the first requisition opens at the first review; the
    # next one only after it is filled, at a later review.
    assert joined[1] == pytest.approx(REVIEW + HIRE)
    assert joined[2] >= 2 * REVIEW + HIRE and (joined[2] - HIRE) % REVIEW == pytest.approx(0.0, abs=1e-9)
    assert (sdrs.ramp_time.iloc[1:] == 20.0).all()


def test_a_role_with_time_to_spare_hires_no_one(write_scenario):
    _, sdrs = _sdrs(write_scenario({**BUSY, "market.channels.web.rate_per_week": 10}))
    assert sdrs.joined.tolist() == [0.0]


def test_hiring_shortens_the_wait_for_a_first_response(write_scenario):
    def waits(changes):
        res = sim.simulate(load_scenario(write_scenario(changes)), 2)
        ev = res.events
        late = ev[(ev.event == "start") & (ev.activity == "first_response") & (ev.time > 100)]
        return late.value.mean()

    stay = {k: v for k, v in BUSY.items() if k != "roles.sdr.hiring"}
    assert waits(BUSY) < 0.5 * waits(stay)


def test_a_cap_below_the_headcount_is_a_mistake(write_scenario):
    path = write_scenario({**BUSY, "roles.sdr.headcount": 4})
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert "roles.sdr.hiring.max_headcount: expected at least the role's planned headcount (4)" in str(err.value)
