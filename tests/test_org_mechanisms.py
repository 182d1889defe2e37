"""The organization mechanisms of the debate (issue #3), each in a small exact scenario."""

from __future__ import annotations

import pytest

import sim

HOUR = 1 / 24
MON_9 = 9 / 24
LEADS = [MON_9 + i for i in range(5)]  # one lead each weekday morning


def run(write_scenario, changes, name="s.yaml", seed=1):
    return sim.simulate(sim.load_scenario(write_scenario(changes, name=name)), seed)


def test_bridge_removes_context_loss_at_its_seam_at_the_senders_cost(write_scenario):
    lossy = {"market.channels.web.arrivals_at": LEADS, "market.effects.context_loss_probability": 1.0}
    plain = run(write_scenario, lossy, "plain.yaml").events
    bridged = run(write_scenario, {**lossy, "bridges": [{"sender": "sdr", "receiver": "ae",
                                                        "context_loss_factor": 0.0, "sender_work": "45min"}]},
                  "bridged.yaml").events
    assert (plain.event == "context_loss").sum() == 5
    assert (bridged.event == "context_loss").sum() == 0
    sender_time = bridged[(bridged.event == "end") & (bridged.role == "sdr") & (bridged.activity == "demo")]
    assert sender_time.value.tolist() == pytest.approx([0.75 * HOUR] * 5)


def test_same_unit_handoffs_lose_less_context(write_scenario):
    base = {"market.channels.web.arrivals_at": [MON_9 + i * 0.01 for i in range(400)],
            "market.effects.context_loss_probability": 1.0,
            "market.effects.same_unit_context_factor": 0.25,
            "roles.sdr.headcount": 50, "roles.ae.headcount": 50}
    apart = run(write_scenario, base, "apart.yaml").events
    together = run(write_scenario, {**base, "roles.sdr.team": "unit", "roles.ae.team": "unit"}, "unit.yaml").events
    assert (apart.event == "context_loss").sum() == 400
    assert 60 < (together.event == "context_loss").sum() < 140  # Binomial(400, 0.25): mean 100, sd 8.7


def test_outbound_capacity_creates_outbound_buyers_only_when_there_is_some(write_scenario):
    base = {"simulation.horizon": "8w", "roles.sdr.headcount": 2}
    none = run(write_scenario, base, "none.yaml").buyers
    some = run(write_scenario, {**base, "roles.sdr.prospecting_share": 0.5}, "some.yaml").buyers
    assert len(none) == 0
    assert len(some) > 0 and set(some.source) == {"outbound"}
    # Booked meetings skip first response and go to the AE: a handoff from the prospector.
    assert (some.first_response_wait.isna()).all() and (some.handoffs >= 1).all()


def test_outbound_meetings_follow_the_capacity_formula(write_scenario):
    """2 SDRs x 40 h x 0.5 prospecting / 15 min per attempt x 2% = 3.2 meetings a week."""
    res = run(write_scenario, {"simulation.horizon": "50w", "roles.sdr.headcount": 2,
                               "roles.sdr.prospecting_share": 0.5,
                               "market.outbound.target_accounts": 10_000_000}, "rate.yaml", seed=5)
    weekly = len(res.buyers) / 50
    assert weekly == pytest.approx(3.2, abs=4 * (3.2 / 50) ** 0.5)


def test_referrals_switched_off_bring_no_referral_buyers(write_scenario):
    base = {
        "simulation.horizon": "800d",
        "market.channels.web.arrivals_at": [MON_9 + i * 0.01 for i in range(200)],
        "market.activities.renewal": {"kind": "renewal", "work": {"dist": "constant", "value": "1min"}},
        "market.journey.retention": ["renewal"],
        "routing.renewal": "ae", "roles.ae.headcount": 20, "roles.sdr.headcount": 20,
        "market.referrals.probability_per_renewal": 0.5,
    }
    on = run(write_scenario, base, "on.yaml").buyers
    off = run(write_scenario, {**base, "market.referrals.probability_per_renewal": 0.0}, "off.yaml").buyers
    assert (on.source == "referral").sum() > 50
    assert (off.source == "referral").sum() == 0


def test_perfect_scoring_serves_the_highest_value_buyer_first(write_scenario):
    values = [5000, 80000, 20000, 150000, 1000, 40000]
    res = run(write_scenario, {
        "market.channels.web.arrivals_at": [MON_9 + i * 0.001 for i in range(6)],
        "market.segments.smb.acv": {"dist": "empirical", "values": values},
        "market.activities.score": {"kind": "gate", "work": {"dist": "constant", "value": "1min"}},
        "market.journey.acquisition": ["score", "first_response", "demo"],
        "roles.scorer": {"headcount": 6, "kind": "ai", "calendar": "always", "scoring_accuracy": 1.0},
        "routing.score": "scorer",
        "roles.sdr": {"headcount": 1, "discipline": "predicted_value"},
    }, "score.yaml")
    starts = res.events[(res.events.event == "start") & (res.events.activity == "first_response")]
    acv = res.buyers.set_index("id").acv
    served = [acv[b] for b in starts.buyer]
    # The first is served on arrival; everyone after waits and is served by value.
    assert served[1:] == sorted(served[1:], reverse=True)


def test_routing_by_segment_sends_each_segment_to_its_role(write_scenario):
    res = run(write_scenario, {
        "market.channels.web.arrivals_at": [MON_9 + i * 0.01 for i in range(40)],
        "market.segments.ent": {**_segment(), "share": 0.5},
        "market.segments.smb.share": 0.5,
        "roles.key_accounts": {"headcount": 1},
        "routing.demo": {"smb": "ae", "ent": "key_accounts"},
    }, "seg.yaml")
    demo = res.events[(res.events.event == "start") & (res.events.activity == "demo")]
    segment = res.buyers.set_index("id").segment
    pairs = {(segment[b], r) for b, r in zip(demo.buyer, demo.role)}
    assert pairs == {("smb", "ae"), ("ent", "key_accounts")}


def test_assist_adds_the_specialists_time_without_a_handoff(write_scenario):
    res = run(write_scenario, {"market.channels.web.arrivals_at": LEADS, "routing.demo": "sdr",
                               "assists": {"demo": "ae"}}, "assist.yaml")
    ev = res.events
    assert "handoff" not in set(ev.event)
    assert ((ev.event == "end") & (ev.role == "ae") & (ev.activity == "demo")).sum() == 5


def test_generalists_take_longer_than_specialists(write_scenario):
    res = run(write_scenario, {"market.channels.web.arrivals_at": [MON_9], "roles.ae.generalist": True,
                               "market.effects.generalist_slowdown": 1.25}, "gen.yaml")
    end = res.events[(res.events.event == "end") & (res.events.activity == "demo")]
    assert end.value.tolist() == pytest.approx([2 * HOUR * 1.25])


def test_self_serve_trial_converts_or_hands_large_accounts_to_sales(write_scenario):
    base = {
        "market.channels.web.arrivals_at": [MON_9 + i * 0.01 for i in range(300)],
        "market.segments.smb.rep_free_preference": 1.0,
        "self_serve": {"trial_probability": 1.0, "activation_probability": 1.0, "paid_if_activated": 1.0,
                       "pql_acv_threshold": 1e9, "pql_entry": "demo"},
        "roles.sdr.headcount": 5, "roles.ae.headcount": 5,
    }
    paid = run(write_scenario, base, "paid.yaml")
    assert set(paid.buyers.source) == {"trial"} and set(paid.buyers.state) == {"active"}
    assert not (paid.events.event == "start").any()  # nobody in sales touched them
    pql = run(write_scenario, {**base, "self_serve.pql_acv_threshold": 0}, "pql.yaml")
    assert set(pql.buyers.source) == {"pql"}
    starts = pql.events[pql.events.event == "start"]
    assert set(starts.activity) == {"demo"}  # PQLs join the journey at the entry activity


def _segment() -> dict:
    from conftest import TINY

    return dict(TINY["market"]["segments"]["smb"])


def test_assist_joins_onboarding_too(write_scenario):
    res = run(write_scenario, {
        "market.channels.web.arrivals_at": LEADS,
        "market.activities.onboarding": {"kind": "onboarding", "work": {"dist": "constant", "value": "1h"}},
        "market.journey.retention": ["onboarding"],
        "routing.onboarding": "ae", "roles.csm": {"headcount": 1}, "assists": {"onboarding": "csm"},
    }, "onboard.yaml")
    ev = res.events
    assert ((ev.event == "end") & (ev.role == "csm") & (ev.activity == "onboarding")).sum() == 5
