"""Each core mechanism in a small scenario with an exact, hand-checked timeline."""

from __future__ import annotations

import pytest

import sim

FRIDAY_8PM = 4 + 20 / 24
MONDAY_9AM = 7 + 9 / 24
HOUR = 1 / 24


def timeline(path, seed: int = 1) -> list[tuple[str, str, str, float]]:
    """(event, role, activity, time) of every event, in order."""
    res = sim.simulate(sim.load_scenario(path), seed)
    ev = res.events
    return [(e, r, a, round(t, 6)) for e, r, a, t in zip(ev.event, ev.role, ev.activity, ev.time)]


def test_friday_evening_lead_waits_for_monday_in_business_hours(write_scenario):
    path = write_scenario({"market.channels.web.arrivals_at": [FRIDAY_8PM]})
    assert timeline(path) == [
        ("arrive", "", "", round(FRIDAY_8PM, 6)),
        ("contact", "", "", round(FRIDAY_8PM, 6)),
        ("queue", "sdr", "first_response", round(FRIDAY_8PM, 6)),
        ("start", "sdr", "first_response", round(MONDAY_9AM, 6)),
        ("end", "sdr", "first_response", round(MONDAY_9AM + HOUR, 6)),
        ("pass", "sdr", "first_response", round(MONDAY_9AM + HOUR, 6)),
        ("handoff", "ae", "demo", round(MONDAY_9AM + HOUR, 6)),
        ("queue", "ae", "demo", round(MONDAY_9AM + HOUR, 6)),
        ("start", "ae", "demo", round(MONDAY_9AM + HOUR, 6)),
        ("end", "ae", "demo", round(MONDAY_9AM + 3 * HOUR, 6)),
        ("pass", "ae", "demo", round(MONDAY_9AM + 3 * HOUR, 6)),
        ("won", "", "", round(MONDAY_9AM + 3 * HOUR, 6)),
    ]


def test_friday_evening_lead_is_answered_at_once_by_an_ai_agent(write_scenario):
    path = write_scenario({
        "market.channels.web.arrivals_at": [FRIDAY_8PM],
        "roles.sdr": {"headcount": 1, "kind": "ai", "calendar": "always"},
    })
    events = timeline(path)
    assert events[3] == ("start", "sdr", "first_response", round(FRIDAY_8PM, 6))
    # The AE still works business hours: the demo waits for Monday.
    assert ("start", "ae", "demo", round(MONDAY_9AM, 6)) in events


def test_work_that_passes_closing_time_resumes_next_morning(write_scenario):
    four_thirty_pm = 16.5 / 24  # Monday
    path = write_scenario({"market.channels.web.arrivals_at": [four_thirty_pm]})
    events = timeline(path)
    # 1 h of first response: 30 min on Monday, 30 min from 9:00 on Tuesday.
    assert ("end", "sdr", "first_response", round(1 + 9.5 / 24, 6)) in events


def test_second_buyer_queues_behind_the_first(write_scenario):
    nine_am = 9 / 24
    path = write_scenario({"market.channels.web.arrivals_at": [nine_am, nine_am + 0.25 * HOUR]})
    res = sim.simulate(sim.load_scenario(path), 1)
    starts = res.events[(res.events.event == "start") & (res.events.activity == "first_response")]
    assert starts.time.round(6).tolist() == [round(nine_am, 6), round(nine_am + HOUR, 6)]
    assert starts.value.round(6).tolist() == [0.0, round(0.75 * HOUR, 6)]


def test_impatient_buyer_reneges_with_reason_no_response(write_scenario):
    path = write_scenario({
        "market.channels.web.arrivals_at": [FRIDAY_8PM],
        "market.segments.smb.patience": {"dist": "constant", "value": "12h"},
    })
    res = sim.simulate(sim.load_scenario(path), 1)
    assert res.events.event.tolist() == ["arrive", "contact", "queue", "renege", "lost"]
    assert res.events.time.iloc[-1] == pytest.approx(FRIDAY_8PM + 0.5)
    assert res.buyers.reason.tolist() == ["no_response"]


def test_more_inside_sales_headcount_shortens_first_response(write_scenario):
    burst = [9 / 24 + i * 0.01 * HOUR for i in range(12)]  # 12 leads at once, Monday 9:00
    waits = []
    for headcount in (1, 3, 6):
        path = write_scenario({"market.channels.web.arrivals_at": burst, "roles.sdr.headcount": headcount},
                              name=f"h{headcount}.yaml")
        res = sim.simulate(sim.load_scenario(path), 1)
        waits.append(res.buyers.first_response_wait.mean())
    assert waits[0] > waits[1] > waits[2]


def test_zero_context_loss_means_no_rework(write_scenario):
    leads = [9 / 24 + i for i in range(4)]
    lossy = write_scenario({"market.channels.web.arrivals_at": leads,
                            "market.effects.context_loss_probability": 1.0}, name="lossy.yaml")
    clean = write_scenario({"market.channels.web.arrivals_at": leads,
                            "market.effects.context_loss_probability": 0.0}, name="clean.yaml")

    def demo_work(path):
        ev = sim.simulate(sim.load_scenario(path), 1).events
        return ev[(ev.event == "end") & (ev.activity == "demo")].value.tolist(), (ev.event == "context_loss").sum()

    work, losses = demo_work(clean)
    assert losses == 0 and work == pytest.approx([2 * HOUR] * 4)
    work, losses = demo_work(lossy)
    assert losses == 4 and work == pytest.approx([3 * HOUR] * 4)  # rework fraction 0.5


def test_data_integration_removes_context_loss(write_scenario):
    path = write_scenario({"market.channels.web.arrivals_at": [9 / 24 + i for i in range(4)],
                           "market.effects.context_loss_probability": 1.0, "data_integration": 1.0})
    ev = sim.simulate(sim.load_scenario(path), 1).events
    assert (ev.event == "handoff").sum() == 4 and (ev.event == "context_loss").sum() == 0


def test_no_handoff_when_one_role_does_everything(write_scenario):
    path = write_scenario({"market.channels.web.arrivals_at": [9 / 24], "routing.demo": "sdr"})
    ev = sim.simulate(sim.load_scenario(path), 1).events
    assert "handoff" not in set(ev.event)


def test_lead_dropped_at_the_handoff_before_first_response(write_scenario):
    scn = {
        "market.channels.web.arrivals_at": [9 / 24 + i for i in range(3)],
        "market.activities.score": {"kind": "gate", "work": {"dist": "constant", "value": "1min"}},
        "market.journey.acquisition": ["score", "first_response", "demo"],
        "roles.marketing": {"headcount": 1, "calendar": "always"},
        "routing.score": "marketing",
        "market.effects.first_response_handoff_drop": 1.0,
    }
    res = sim.simulate(sim.load_scenario(write_scenario(scn)), 1)
    assert res.buyers.reason.tolist() == ["never_followed_up"] * 3
    scn["market.effects.first_response_handoff_drop"] = 0.0
    res = sim.simulate(sim.load_scenario(write_scenario(scn, name="b.yaml")), 1)
    assert set(res.buyers.state) == {"active"}


def test_ai_responder_loses_automation_averse_buyers(write_scenario):
    path = write_scenario({
        "market.channels.web.arrivals_at": [9 / 24 + i for i in range(5)],
        "market.segments.smb.automation_aversion": 1.0,
        "roles.sdr.kind": "ai",
    })
    res = sim.simulate(sim.load_scenario(path), 1)
    assert res.buyers.reason.tolist() == ["bot_averse"] * 5


def test_gate_disqualifies_below_threshold_with_perfect_judgement(write_scenario):
    base = {
        "market.channels.web.arrivals_at": [9 / 24 + i for i in range(3)],
        "market.activities.qualify": {"kind": "gate", "work": {"dist": "constant", "value": "30min"},
                                      "threshold": 0.6},
        "market.journey.acquisition": ["first_response", "qualify", "demo"],
        "routing.qualify": "sdr",
        "roles.sdr.judgement_noise": 0.0,
        "kpi_alignment": "north_star",  # moves the bar by +0.05
    }
    res = sim.simulate(sim.load_scenario(write_scenario(base)), 1)  # fit is 0.5 < 0.65
    assert res.buyers.reason.tolist() == ["disqualified"] * 3
    base["market.activities.qualify"]["threshold"] = 0.4
    res = sim.simulate(sim.load_scenario(write_scenario(base, name="b.yaml")), 1)
    assert set(res.buyers.state) == {"active"}


def test_churn_at_renewal_and_missed_onboarding_doubles_risk(write_scenario):
    """With churn p and ttv missed, the renewal churns with 2p: checked over many customers."""
    many = [9 / 24 + i * 0.001 for i in range(400)]
    scn = {
        "simulation.horizon": "400d",
        "market.channels.web.arrivals_at": many,
        "market.activities.onboarding": {"kind": "onboarding", "work": {"dist": "constant", "value": "1min"}},
        "market.activities.renewal": {"kind": "renewal", "work": {"dist": "constant", "value": "1min"}},
        "market.journey.retention": ["onboarding", "renewal"],
        "market.segments.smb.base_churn_annual": 0.2,
        "roles.sdr.calendar": "always", "roles.ae.calendar": "always", "roles.ae.headcount": 50,
        "roles.sdr.headcount": 50,
        "routing.onboarding": "ae", "routing.renewal": "ae",
        "market.effects.context_loss_probability": 0.0,
    }
    on_time = sim.simulate(sim.load_scenario(write_scenario(scn)), 3).buyers
    scn["market.segments.smb.ttv_target"] = "1d"  # time_to_value is 5 d: every onboarding misses
    late = sim.simulate(sim.load_scenario(write_scenario(scn, name="late.yaml")), 3).buyers
    assert on_time.ttv_missed.sum() == 0 and late.ttv_missed.all()
    p_on_time = (on_time.state == "churned").mean()
    p_late = (late.state == "churned").mean()
    # Binomial(400, 0.2) and (400, 0.4): 4.5 standard errors apart.
    assert 0.14 < p_on_time < 0.26
    assert 0.33 < p_late < 0.47


def test_team_targets_lower_the_bar_and_a_north_star_raises_it(write_scenario):
    base = {
        "market.channels.web.arrivals_at": [9 / 24 + i for i in range(3)],
        "market.segments.smb.fit": {"dist": "constant", "value": 0.55},
        "market.activities.qualify": {"kind": "gate", "work": {"dist": "constant", "value": "30min"},
                                      "threshold": 0.6},
        "market.journey.acquisition": ["first_response", "qualify", "demo"],
        "routing.qualify": "sdr",
        "roles.sdr.judgement_noise": 0.0,
    }
    outcomes = {}
    for alignment in ("team_targets", "north_star"):
        path = write_scenario({**base, "kpi_alignment": alignment}, name=f"{alignment}.yaml")
        outcomes[alignment] = set(sim.simulate(sim.load_scenario(path), 1).buyers.state)
    assert outcomes == {"team_targets": {"active"}, "north_star": {"lost"}}
