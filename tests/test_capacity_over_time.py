"""The organization over time, in small scenarios: seasonal demand."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.seasonality import MONTH_DAYS, MONTHS

#: Buyers arrive and never ask for contact: the market alone, nothing queued.
QUIET = {"market.segments.smb.contact_probability": 0.0, "simulation.horizon": "1y",
         "market.channels.web.rate_per_week": 140}
FLAT = dict.fromkeys(MONTHS, 1.0)


def _arrivals(path, seed: int) -> np.ndarray:
    res = sim.simulate(sim.load_scenario(path), seed)
    return res.buyers.arrive_at.to_numpy()


def test_seasonality_raises_arrivals_in_the_named_months_only(write_scenario):
    months = {**FLAT, "mar": 2.0, "aug": 0.5}
    path = write_scenario({**QUIET, "market.seasonality": {"months": months}})
    counts = sum(np.bincount((_arrivals(path, s) // MONTH_DAYS).astype(int), minlength=12)[:12] for s in (1, 2))
    expected = 2 * 140 / 7 * MONTH_DAYS * np.array([months[m] for m in MONTHS])
    # Poisson counts: each month within 4.5 standard deviations of its mean (all 12 at once
    # fail by chance about once in 10^4 runs).
    assert np.all(np.abs(counts - expected) < 4.5 * np.sqrt(expected)), (counts, expected)
    assert counts[2] > 1.6 * np.delete(counts, [2, 7]).mean()
    assert counts[7] < 0.65 * np.delete(counts, [2, 7]).mean()


def test_the_start_month_shifts_the_year_and_weekdays_are_calendar_days(write_scenario):
    # The run starts in July: month 0 of the run is July, the only month with buyers; and
    # nobody arrives on a weekend.
    months = {**dict.fromkeys(MONTHS, 0.0), "jul": 1.0}
    weekdays = {"mon": 1, "tue": 1, "wed": 1, "thu": 1, "fri": 1, "sat": 0, "sun": 0}
    path = write_scenario({**QUIET, "market.seasonality": {"months": months, "weekdays": weekdays,
                                                           "start_month": "jul"}})
    t = _arrivals(path, 3)
    assert len(t) > 300
    assert t.max() < MONTH_DAYS
    assert set(np.floor(t).astype(int) % 7) <= {0, 1, 2, 3, 4}


def test_designs_in_a_seasonal_market_meet_the_same_buyers(write_scenario):
    seasonal = {**QUIET, "market.segments.smb.contact_probability": 0.3,
                "market.channels.web.rate_per_week": 20,
                "market.seasonality": {"months": {**FLAT, "feb": 3.0, "nov": 0.2}}}
    one = write_scenario(seasonal, name="one.yaml")
    two = write_scenario({**seasonal, "roles.sdr.headcount": 3, "roles.ae.calendar": "always"}, name="two.yaml")
    a, b = (sim.simulate(sim.load_scenario(p), 5).buyers for p in (one, two))
    cols = ["id", "arrive_at", "segment", "acv", "fit"]
    assert len(a) > 300
    assert a[cols].equals(b[cols])
    assert not a.won_at.equals(b.won_at)  # the designs do differ in what happens next


# ---------------------------------------------------------------- headcount over time

MONDAY = 7.0  # day 7 is a Monday (time 0 is Monday 00:00)
HOUR = 1 / 24


def _simulate(path, seed: int = 1) -> sim.SimResult:
    return sim.simulate(sim.load_scenario(path), seed)


def _sorted_events(res: sim.SimResult) -> list[tuple]:
    """The events inside the run, sorted (the static queues also log the starts they already
    know of after the horizon)."""
    ev = res.events[res.events.time < res.scenario.simulation.horizon]
    return sorted(zip(ev.time.round(9), ev.buyer, ev.event.astype(str), ev.role.astype(str),
                      ev.activity.astype(str), ev.value.round(9).fillna(-1)))


def test_a_ramping_hire_completes_less_work_in_their_first_weeks(write_scenario):
    # 150 leads wait at 9:00 on day 7, when the only SDR starts: one ramped, one ramping over
    # 90 days from a quarter of full speed.
    base = {"market.channels.web.arrivals_at": [MONDAY + 9 * HOUR] * 150, "simulation.horizon": "3w",
            "roles.ae.headcount": 20}
    plan = [{"at": 0, "n": 0}, {"at": "7d", "n": 1}]
    ramped = write_scenario({**base, "roles.sdr.headcount": plan}, name="ramped.yaml")
    ramping = write_scenario({**base, "roles.sdr": {"headcount": plan, "ramp_time": "90d"}}, name="ramping.yaml")
    done = {}
    for label, path in (("ramped", ramped), ("ramping", ramping)):
        ev = _simulate(path).events
        done[label] = ev[(ev.event == "end") & (ev.role == "sdr") & (ev.time < 21)]
    # Two working weeks of 8 hours at 1 h a lead: 80 leads ramped.
    assert len(done["ramped"]) == 80
    assert len(done["ramping"]) < 0.45 * len(done["ramped"])
    # The first lead takes 1 h at the hire's productivity on day 7 at 9:00.
    p = 0.25 + 0.75 * (9 * HOUR) / 90
    first = done["ramping"].iloc[0]
    assert first.value == pytest.approx(HOUR / p)
    assert first.time == pytest.approx(MONDAY + 9 * HOUR + HOUR / p)
    # And each lead goes faster than the one before.
    assert done["ramping"].value.is_monotonic_decreasing


def test_a_plan_that_never_changes_inside_the_run_gives_the_static_queues_results(write_scenario):
    # The step after the horizon makes the role's capacity change, so it runs on the engine of
    # sim.staffing; inside the run it has the static headcount: every event and outcome is the same.
    # Work is drawn from a continuous distribution: two jobs ending at the same instant would
    # resume their buyers in the order their timers were set, which differs between the engines
    # (the static queue sets it on joining, the other on starting).
    work = {"dist": "lognormal", "mean": "1h", "sd": "30min"}
    for discipline in ("fifo", "predicted_value"):
        common = {"market.channels.web.rate_per_week": 45, "market.segments.smb.acv":
                  {"dist": "lognormal", "mean": 10000, "sd": 5000}, "simulation.horizon": "6w",
                  "market.activities.first_response.work": work, "market.activities.demo.work": work,
                  "roles.ae": {"headcount": 2, "discipline": discipline}}
        static = write_scenario({**common, "roles.sdr": {"headcount": 4, "teams": 2, "discipline": discipline}},
                                name=f"static_{discipline}.yaml")
        moving = write_scenario({**common, "roles.sdr": {"headcount": [{"at": 0, "n": 4}, {"at": "1y", "n": 6}],
                                                         "teams": 2, "discipline": discipline}},
                                name=f"moving_{discipline}.yaml")
        a, b = _simulate(static, 3), _simulate(moving, 3)
        assert sim.load_scenario(moving).roles["sdr"].capacity_changes
        assert len(a.buyers) > 200
        assert a.buyers.equals(b.buyers)
        assert _sorted_events(a) == _sorted_events(b)


def test_people_join_and_leave_by_the_plan_and_are_paid_while_there(write_scenario):
    # 2 SDRs for two weeks, then none: nobody takes work after day 14 (a job taken over the
    # weekend is done on Monday morning before leaving); cost and capacity are those of 1
    # person on average over the 4 weeks.
    path = write_scenario({"market.channels.web.rate_per_week": 30,
                           "roles.sdr": {"headcount": [{"at": 0, "n": 2}, {"at": "14d", "n": 0}],
                                         "loaded_cost_annual": 100000}})
    res = _simulate(path)
    ev = res.events
    starts = ev[(ev.event == "start") & (ev.role == "sdr")]
    assert len(starts) > 20
    late = starts[starts.time >= 14]
    assert len(late) <= 2 and (late.time < 14.5).all()
    assert ((starts.time - starts.value) < 14).all()  # every job was queued before the step
    # Two people for two weeks of 8 h days, and each at most until Monday 10:00 after.
    row = res.roles.set_index("role").loc["sdr"]
    assert 1.0 <= row.heads_window <= 1.0 + 2 * 2.5 / 28
    assert 2 * 10 * 8 * HOUR <= row.staffed_time_window <= 2 * 10 * 8 * HOUR + 2 * HOUR
    assert sim.measure(res).kpis["people_cost"] == pytest.approx(100000 * row.heads_window)


def test_a_leavers_job_in_hand_goes_back_to_the_queue_and_is_finished_once(write_scenario):
    # Heavy attrition on a busy team: some leave mid-job; what they leave is done by another
    # person, and the pieces of every job add up to its work (1 h: no ramp, full speed).
    path = write_scenario({"market.channels.web.rate_per_week": 70, "simulation.horizon": "1y",
                           "market.segments.smb.patience": {"dist": "constant", "value": "1y"},
                           "roles.ae.headcount": 4,
                           "roles.sdr": {"headcount": 2, "attrition_annual": 0.95, "time_to_hire": "5d"}})
    res = _simulate(path, 2)
    ev = res.events[res.events.role == "sdr"]
    moved = ev[ev.event == "reassign"]
    assert len(moved) >= 1
    ends = ev[ev.event == "end"].groupby("buyer").value.sum()
    split = ends[ends.index.isin(moved.buyer)]
    assert len(split) >= 1
    assert np.allclose(split.to_numpy(), HOUR)
    # Every lead who did not leave was answered exactly once in all.
    answered = ev[ev.event == "end"].buyer.nunique()
    assert answered == len(ends)


def test_attrition_with_a_long_time_to_hire_lengthens_queue_waits(write_scenario):
    # Three SDRs at about 70% load, most of whom leave within the half year.
    common = {"market.channels.web.rate_per_week": 85, "simulation.horizon": "26w",
              "market.segments.smb.patience": {"dist": "constant", "value": "1y"}, "roles.ae.headcount": 5}
    quick = write_scenario({**common, "roles.sdr": {"headcount": 3, "attrition_annual": 0.95, "time_to_hire": "1w"}},
                           name="quick.yaml")
    slow = write_scenario({**common, "roles.sdr": {"headcount": 3, "attrition_annual": 0.95, "time_to_hire": "3mo"}},
                          name="slow.yaml")
    ratios = []
    for seed in range(1, 9):
        waits = []
        for path in (quick, slow):
            ev = _simulate(path, seed).events
            waits.append(ev[(ev.event == "start") & (ev.role == "sdr")].value.mean())
        ratios.append(np.log(waits[1] / waits[0]))
    # The same buyers, and the first leavers at the same times (the tenures are the role's own
    # stream): the paired log ratio of the mean waits, whose 99% confidence interval lies above 0.
    d = np.array(ratios)
    half = 3.50 * d.std(ddof=1) / np.sqrt(len(d))  # t(0.995, 7 df)
    assert d.mean() - half > 0, d


def test_impatient_buyers_leave_a_changing_team_as_they_leave_a_static_one(write_scenario):
    # Nobody is there until day 2 (a hire), and a Friday-evening lead meets a closed office:
    # both leave at their deadline, unserved, as in the static queues.
    friday_8pm = 4 + 20 / 24
    path = write_scenario({"market.channels.web.arrivals_at": [1.4, friday_8pm],
                           "market.segments.smb.patience": {"dist": "constant", "value": "12h"},
                           "roles.sdr.headcount": [{"at": 0, "n": 0}, {"at": "2d", "n": 1}]})
    res = _simulate(path)
    reneges = res.events[res.events.event == "renege"]
    assert reneges.time.tolist() == pytest.approx([1.9, friday_8pm + 0.5])
    assert res.buyers.reason.tolist() == ["no_response", "no_response"]


def test_a_cut_in_the_plan_calls_off_a_pending_backfill(write_scenario):
    # Heavy attrition (a stay of about two months on average) with slow backfills, then the
    # plan cuts the team to 0 at week 3, some backfills still on their way: they are called
    # off, so nobody joins after the cut and no work is taken after it.
    path = write_scenario({"market.channels.web.rate_per_week": 60, "simulation.horizon": "8w",
                           "roles.sdr": {"headcount": [{"at": 0, "n": 3}, {"at": "3w", "n": 0}],
                                         "attrition_annual": 0.999, "time_to_hire": "2w"}})
    for seed in (1, 2, 3):
        res = _simulate(path, seed)
        starts = res.events[(res.events.event == "start") & (res.events.role == "sdr")]
        assert len(starts) > 10
        assert ((starts.time - starts.value) < 21).all()
        row = res.roles.set_index("role").loc["sdr"]
        assert row.heads_window <= 3 * 21.5 / 56


def test_prospecting_starts_when_the_prospectors_join(write_scenario):
    path = write_scenario({"simulation.horizon": "5w", "roles.ae.headcount": 3,
                           "roles.sdr": {"headcount": [{"at": 0, "n": 0}, {"at": "14d", "n": 2}],
                                         "prospecting_share": 0.5}})
    res = _simulate(path)
    booked = res.buyers[res.buyers.source == "outbound"]
    assert len(booked) >= 2
    assert booked.arrive_at.min() >= 14
