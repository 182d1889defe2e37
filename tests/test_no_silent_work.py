"""Nothing silently wrong: a role with no people does no work, and a boolean is not a number.

Every way a role receives work (journey routing, the nurture touch, assists, bridges) is
covered by one headcount check at validation (sim/scenario.py). Should a new way in be
missed there, the queue itself refuses the work (sim/org.py): a replication error, never
one unpaid person doing it.
"""

from __future__ import annotations

import math
import random

import pytest

from sim.api import run
from sim.calendar import WorkCalendar
from sim.experiment import ReplicationError
from sim.scenario import ScenarioError, load_scenario

from conftest import ROOT

ESCALATOR = ROOT / "scenarios" / "escalator.yaml"
CROSS = ROOT / "scenarios" / "cross_functional.yaml"
BRIDGE = ROOT / "scenarios" / "bridge_sales.yaml"


def _messages(path, overrides):  # type: ignore[no-untyped-def]
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return [p.message for p in info.value.problems]


@pytest.mark.parametrize("path,overrides,expected", [
    (CROSS, ["roles.marketing.headcount=0"], "role does the nurture touch 'nurture' but has headcount 0"),
    (ESCALATOR, ["roles.field_specialist.headcount=0"], "role assists on 'demo' but has headcount 0"),
    (BRIDGE, ["roles.partner={headcount: 0}", "bridges=[{sender: partner, receiver: field_sales}]"],
     "role joins the bridge to 'field_sales' but has headcount 0"),
])
def test_every_way_a_role_receives_work_needs_people(path, overrides, expected):
    assert any(expected in m for m in _messages(path, overrides))


def test_a_role_nobody_uses_may_have_no_people():
    scn = load_scenario(ESCALATOR, ["roles.spare={headcount: 0}"])
    assert scn.roles["spare"].headcount == 0


def test_work_that_reaches_an_empty_role_is_an_error_not_a_free_person():
    """Validation bypassed (model_copy does not validate): the queue refuses the work."""
    scn = load_scenario(ESCALATOR, ["simulation.horizon=120d", "simulation.warmup=0d"])
    roles = dict(scn.roles)
    roles["field_specialist"] = roles["field_specialist"].model_copy(update={"headcount": 0})
    broken = scn.model_copy(update={"roles": roles})
    with pytest.raises(ReplicationError, match="'field_specialist' has headcount 0 but was given work"):
        run(broken, reps=1, jobs=1)


@pytest.mark.parametrize("key", ["roles.inside_sales.headcount", "simulation.reps", "market.segments.smb.contact_probability",
                                 "roles.inside_sales.loaded_cost_annual", "market.channels.search.rate_per_week"])
@pytest.mark.parametrize("value", ["true", "false"])
def test_a_boolean_is_not_a_number(key, value):
    path = ROOT / "scenarios" / "siloed.yaml"
    try:
        load_scenario(path, [f"{key}=1"])
    except ScenarioError:
        pytest.skip(f"{key} is not a key of this scenario")
    assert any("not a boolean" in m for m in _messages(path, [f"{key}={value}"]))


# ---------------------------------------------------------------- calendar: closed form


def _day_by_day(cal: WorkCalendar, start: float, end: float) -> float:
    total, d = 0.0, float(math.floor(start))
    while d < end:
        if int(d) % 7 in cal.days:
            lo, hi = max(start, d + cal.open_at), min(end, d + cal.close_at)  # type: ignore[operator]
            total += max(0.0, hi - lo)
        d += 1.0
    return total


def test_working_time_is_closed_form_and_agrees_with_counting_days():
    rng = random.Random(3)
    for _ in range(2000):
        days = set(rng.sample(range(7), rng.randint(1, 7)))
        open_at = rng.random() * 0.5
        cal = WorkCalendar(days, open_at, open_at + rng.random() * (1 - open_at) + 1e-6)
        start = rng.random() * 60
        end = start + rng.random() * rng.choice([0.5, 3, 30, 400])
        assert cal.working_time(start, end) == pytest.approx(_day_by_day(cal, start, end), rel=1e-9, abs=1e-12)
        assert cal.working_time(end, start) == 0.0


def test_a_work_of_a_trillion_days_is_computed_at_once():
    cal = WorkCalendar({0, 1, 2, 3, 4}, 0.375, 0.75)
    assert cal.working_time(0.0, 7e12) == pytest.approx(1e12 * 5 * 0.375)
    end = cal.finish_at(0.0, 1e12)
    assert cal.working_time(0.0, end) == pytest.approx(1e12, rel=1e-9)
    assert cal.working_time(0.0, math.inf) == math.inf and cal.finish_at(1.0, math.inf) == math.inf
