"""Holidays: a calendar closed on a country's public holidays and on dates of its own."""

from __future__ import annotations

import datetime
import math
import random

import pytest

import sim
from sim.calendar import WorkCalendar, build_calendar, closed_days
from sim.schema import Calendar, Simulation

#: Monday 4 January 2027 is time 0 (the default simulation.start_date).
START = datetime.date(2027, 1, 4)


def _day_by_day(cal: WorkCalendar, start: float, end: float) -> float:
    total, d = 0.0, float(math.floor(start))
    while d < end:
        if int(d) % 7 in cal.days and int(d) not in cal.closed:
            lo, hi = max(start, d + cal.open_at), min(end, d + cal.close_at)  # type: ignore[operator]
            total += max(0.0, hi - lo)
        d += 1.0
    return total


def _random_calendar(rng: random.Random) -> WorkCalendar:
    days = set(rng.sample(range(7), rng.randint(1, 7)))
    open_at = rng.random() * 0.5
    closed = rng.sample(range(800), rng.randint(0, 120))
    return WorkCalendar(days, open_at, open_at + rng.random() * (1 - open_at) + 1e-6, closed)


def test_working_time_skips_holidays_as_counting_days_does():
    rng = random.Random(5)
    for _ in range(1500):
        cal = _random_calendar(rng)
        start = rng.random() * 60
        end = start + rng.random() * rng.choice([0.5, 3, 30, 700])
        assert cal.working_time(start, end) == pytest.approx(_day_by_day(cal, start, end), rel=1e-9, abs=1e-12)


def test_finishing_a_work_takes_exactly_that_much_working_time_around_holidays():
    rng = random.Random(6)
    for _ in range(1500):
        cal = _random_calendar(rng)
        start = rng.random() * 60
        work = rng.random() * rng.choice([0.1, 2, 20, 150])
        end = cal.finish_at(start, work)
        assert cal.working_time(start, end) == pytest.approx(work, rel=1e-9, abs=1e-9)
        assert math.floor(end - 1e-9) not in cal.closed  # it ends in opening hours of an open day
        # Nothing earlier would do: the work is not finished a moment before.
        assert cal.working_time(start, end - 1e-6) < work


def test_work_due_on_a_holiday_waits_for_the_next_working_day():
    # Friday 8 January (day 4) and Monday 11 January (day 7) are holidays.
    cal = WorkCalendar({0, 1, 2, 3, 4}, 9 / 24, 17 / 24, [4, 7])
    assert cal.next_open(3 + 18 / 24) == pytest.approx(8 + 9 / 24)  # Thursday evening -> Tuesday 9h
    assert cal.finish_at(3 + 16 / 24, 2 / 24) == pytest.approx(8 + 10 / 24)  # an hour Thursday, an hour Tuesday
    # A week of holidays: the next opening is after it.
    week = WorkCalendar({0, 1, 2, 3, 4}, 9 / 24, 17 / 24, range(7, 14))
    assert week.next_open(5.0) == pytest.approx(14 + 9 / 24)


def test_a_countrys_public_holidays_fall_on_their_dates():
    sim_ = Simulation(start_date=START, horizon=365.0, warmup=0.0)
    jp = closed_days(Calendar(country="JP"), sim_)
    golden_week = [(datetime.date(2027, 5, d) - START).days for d in (3, 4, 5)]
    assert set(golden_week) <= set(jp)
    us = closed_days(Calendar(country="us"), sim_)
    assert (datetime.date(2027, 7, 5) - START).days in us  # 4 July 2027 is a Sunday: observed on Monday
    assert (datetime.date(2027, 5, 3) - START).days not in us
    own = closed_days(Calendar(holidays=[datetime.date(2027, 8, 16), datetime.date(2030, 1, 1)]), sim_)
    assert own == [(datetime.date(2027, 8, 16) - START).days]  # after the horizon: not in the run
    cal = build_calendar(Calendar(country="JP"), sim_)
    assert cal.working_time(golden_week[0], golden_week[-1] + 1) == 0.0


def test_a_holiday_shifts_a_buyers_first_response_to_the_next_working_day(write_scenario):
    # A buyer asks on Monday 11 January 2027 at 10h; that Monday is the company's holiday.
    monday = 7 + 10 / 24
    base = {"market.channels.web.arrivals_at": [monday], "market.contact_in_buyer_hours": 0.0}
    plain = write_scenario(base, name="plain.yaml")
    closed = write_scenario({**base, "calendars": {"business_hours": {"holidays": ["2027-01-11"]}}}, name="closed.yaml")

    def first_response(path) -> float:
        ev = sim.simulate(sim.load_scenario(path), 1).events
        return float(ev[(ev.event == "start") & (ev.activity == "first_response")].time.iloc[0])

    assert first_response(plain) == pytest.approx(monday)
    assert first_response(closed) == pytest.approx(8 + 9 / 24)  # Tuesday 9h


def test_days_away_stretch_every_piece_of_work_by_their_share_of_the_working_days(write_scenario):
    # 26 of a five-day week's 260.7 working days a year away: work takes 1 / (1 - 26 / 260.7) as long.
    base = {"market.channels.web.arrivals_at": [0.4, 0.45, 1.4]}
    plain = sim.simulate(sim.load_scenario(write_scenario(base, name="plain.yaml")), 1).events
    away = sim.simulate(sim.load_scenario(write_scenario({**base, "roles.sdr.vacation_days": 26},
                                                         name="away.yaml")), 1).events

    def occupied(ev):
        return ev[(ev.event == "end") & (ev.role == "sdr")].value.to_numpy()

    assert occupied(away) == pytest.approx(occupied(plain) / (1 - 26 / (5 * 365 / 7)), rel=1e-12)
    assert len(occupied(plain)) == 3


def test_more_days_away_than_working_days_is_reported(write_scenario):
    path = write_scenario({"roles.sdr.vacation_days": 190, "calendars": {"business_hours": {"days": ["mon", "tue"]}}})
    with pytest.raises(sim.ScenarioError) as err:
        sim.load_scenario(path)
    assert "roles.sdr.vacation_days: expected fewer than the 104 working days a year of its calendar, got 190" in str(err.value)
