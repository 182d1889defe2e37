"""Rules of customer health and of context loss, each in a small exact scenario."""

from __future__ import annotations

import pytest

import sim

MONDAY_9AM = 9 / 24
HOUR = 1 / 24

#: A buyer on Monday 9:00: first response (sdr), a gate (ae), a demo (ae), then a customer
#: of customer success (onboarding, renewal, expansion) for three yearly terms.
RETENTION = {
    "market.channels.web.arrivals_at": [MONDAY_9AM],
    "simulation.horizon": "1100d",
    "market.activities.onboarding": {"kind": "onboarding", "work": {"dist": "constant", "value": "1h"}},
    "market.activities.renewal": {"kind": "renewal", "work": {"dist": "constant", "value": "1h"}},
    "market.activities.expansion": {"kind": "expansion", "work": {"dist": "constant", "value": "1h"}},
    "market.journey.retention": ["onboarding", "renewal", "expansion"],
    "market.segments.smb.expansion_probability": 0.5,
    "roles.cs": {"headcount": 1},
    "routing.onboarding": "cs", "routing.renewal": "cs", "routing.expansion": "cs",
}


def _decisions(path, seed: int = 1):
    res = sim.simulate(sim.load_scenario(path), seed, decisions=True)
    assert res.decisions is not None
    d = res.decisions
    return res, d[d.buyer == 0]  # the first customer (referred buyers may follow)


def test_a_missed_onboarding_puts_the_first_term_at_risk_and_a_good_term_recovers(write_scenario):
    """Onboarding takes 5 days against a 1-day target: at risk in the first term only."""
    path = write_scenario({**RETENTION, "market.segments.smb.ttv_target": "1d",
                           "market.effects.expansion_at_risk_factor": 0.2,
                           "market.referrals.unhealthy_factor": 0.9})
    res, d = _decisions(path)
    expansion = d[d.decision == "expansion_opportunity"].probability.tolist()
    referral = d[d.decision == "refer"].probability.tolist()
    # Expansion has its own at-risk factor (0.2), referral keeps unhealthy_factor (0.9).
    assert expansion == [pytest.approx(0.5 * 0.2), 0.5, 0.5]
    assert referral == [pytest.approx(0.15 * 0.9), 0.15, 0.15]
    assert not res.buyers.set_index("id").at_risk[0]


def test_a_healthy_customer_is_never_at_risk(write_scenario):
    _, d = _decisions(write_scenario(RETENTION))
    assert d[d.decision == "expansion_opportunity"].probability.tolist() == [0.5, 0.5, 0.5]


def test_a_context_loss_puts_the_term_it_falls_in_at_risk(write_scenario):
    """A loss at the handoff to onboarding (ae -> cs) counts in the first term, not later."""
    path = write_scenario({**RETENTION, "market.effects.context_loss_probability": 1.0,
                           "market.effects.expansion_at_risk_factor": 0.2})
    _, d = _decisions(path)
    assert d[d.decision == "expansion_opportunity"].probability.tolist() == [pytest.approx(0.1), 0.5, 0.5]


def test_a_context_loss_adds_rework_to_the_next_activity_only(write_scenario):
    """Context is lost at the handoff sdr -> ae for the gate: the gate takes 30 min x 1.5; the
    demo after it, by the same AE, takes its own 2 h (the loss still lowers its odds once)."""
    path = write_scenario({
        "market.channels.web.arrivals_at": [MONDAY_9AM],
        "market.activities.qualify": {"kind": "gate", "threshold": 0.0, "work": {"dist": "constant", "value": "30min"}},
        "market.journey.acquisition": ["first_response", "qualify", "demo"],
        "routing.qualify": "ae",
        "market.effects.context_loss_probability": 1.0,
        "market.effects.context_loss_rework_fraction": 0.5,
        "market.effects.context_loss_conversion_factor": 1.0,
    })
    res = sim.simulate(sim.load_scenario(path), 1)
    ev = res.events
    got = [(e, r, a, round(t, 6), round(v / HOUR, 6) if e == "end" else None)
           for e, r, a, t, v in zip(ev.event, ev.role, ev.activity, ev.time, ev.value)]
    t0 = MONDAY_9AM
    assert got == [
        ("arrive", "", "", round(t0, 6), None),
        ("contact", "", "", round(t0, 6), None),
        ("queue", "sdr", "first_response", round(t0, 6), None),
        ("start", "sdr", "first_response", round(t0, 6), None),
        ("end", "sdr", "first_response", round(t0 + HOUR, 6), 1.0),
        ("pass", "sdr", "first_response", round(t0 + HOUR, 6), None),
        ("handoff", "ae", "qualify", round(t0 + HOUR, 6), None),
        ("context_loss", "ae", "qualify", round(t0 + HOUR, 6), None),
        ("queue", "ae", "qualify", round(t0 + HOUR, 6), None),
        ("start", "ae", "qualify", round(t0 + HOUR, 6), None),
        ("end", "ae", "qualify", round(t0 + 1.75 * HOUR, 6), 0.75),  # 30 min x 1.5
        ("pass", "ae", "qualify", round(t0 + 1.75 * HOUR, 6), None),
        ("queue", "ae", "demo", round(t0 + 1.75 * HOUR, 6), None),
        ("start", "ae", "demo", round(t0 + 1.75 * HOUR, 6), None),
        ("end", "ae", "demo", round(t0 + 3.75 * HOUR, 6), 2.0),  # no rework: not the next activity
        ("pass", "ae", "demo", round(t0 + 3.75 * HOUR, 6), None),
        ("won", "", "", round(t0 + 3.75 * HOUR, 6), None),
    ]
