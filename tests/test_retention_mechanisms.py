"""The retention mechanisms of issue 13 §4, each with a direction test in a small exact
scenario: fit -> retention, continuity of owners, customer-success capacity (neglect), and a
human fallback for bot-averse buyers."""

from __future__ import annotations

import pytest
from test_retention_rules import RETENTION

import sim
from sim.market import INSTALLED_ID_BASE
from sim.metrics import measure

BASE_TERM = 0.2  # base_churn_annual on a one-year term


def _decisions(path, kind: str, seed: int = 1):
    res = sim.simulate(sim.load_scenario(path), seed, decisions=True)
    d = res.decisions
    assert d is not None
    return d[(d.decision == kind) & (d.buyer == 0)]


# ---------------------------------------------------------------- fit -> retention

@pytest.mark.parametrize("fit, churn, expand", [(0.3, 1.2, 0.8), (0.5, 1.0, 1.0), (0.8, 0.7, 1.3)])
def test_fit_scales_churn_and_expansion_by_their_elasticities(write_scenario, fit, churn, expand):
    path = write_scenario({**RETENTION, "market.segments.smb.fit": {"dist": "constant", "value": fit},
                           "market.segments.smb.base_churn_annual": BASE_TERM,
                           "market.effects.fit_churn_elasticity": 1.0,
                           "market.effects.fit_expansion_elasticity": 1.0,
                           "market.effects.continuity_churn_uplift": 0.0})
    churns = _decisions(path, "churn")
    assert churns.probability.iloc[0] == pytest.approx(BASE_TERM * churn)
    labels = [label for label, _ in churns.terms.iloc[0]]
    assert any(label.startswith("fit ") for label in labels) == (fit != 0.5)  # the trace shows it
    expansions = _decisions(path, "expansion_opportunity")
    if len(expansions):
        assert expansions.probability.iloc[0] == pytest.approx(0.5 * expand)


def test_elasticity_zero_makes_fit_irrelevant_to_retention(write_scenario):
    path = write_scenario({**RETENTION, "market.segments.smb.fit": {"dist": "constant", "value": 0.2},
                           "market.segments.smb.base_churn_annual": BASE_TERM,
                           "market.effects.fit_churn_elasticity": 0.0,
                           "market.effects.continuity_churn_uplift": 0.0})
    assert _decisions(path, "churn").probability.iloc[0] == pytest.approx(BASE_TERM)


def test_weak_deals_let_through_by_a_lenient_gate_churn_more_later(write_scenario):
    """Many buyers of spread fit meet a qualification gate judged exactly; separate team targets
    lower the bar (threshold shift -0.1) and let weaker deals in, whose churn is higher."""
    changes = {
        **RETENTION,
        "market.channels.web.arrivals_at": [9 / 24 + 7 * i for i in range(150)],
        "market.segments.smb.fit": {"dist": "beta", "mean": 0.5, "sd": 0.2},
        "market.segments.smb.base_churn_annual": BASE_TERM,
        "market.activities.qualify": {"kind": "gate", "threshold": 0.5, "work": {"dist": "constant", "value": "30min"}},
        "market.journey.acquisition": ["first_response", "qualify", "demo"],
        "routing.qualify": "ae", "roles.ae.judgement_noise": 0.0,
        "market.referrals.probability_per_renewal": 0.0,
    }
    mean_p = {}
    for alignment in ("team_targets", "north_star"):
        path = write_scenario({**changes, "kpi_alignment": alignment}, name=f"{alignment}.yaml")
        res = sim.simulate(sim.load_scenario(path), 1, decisions=True)
        d = res.decisions
        first = d[d.decision == "churn"].groupby("buyer").probability.first()
        mean_p[alignment] = first.mean()
    assert mean_p["team_targets"] > mean_p["north_star"] * 1.02


# ---------------------------------------------------------------- continuity

def test_a_relay_of_owners_after_signature_adds_churn_and_one_owner_does_not(write_scenario):
    """The AE signs, customer success onboards and renews: two owners, churn x 1.1. When the AE
    keeps the account (a pod, a named owner) there is one owner and no such term. No context is
    ever lost (context_loss_probability 0), so this is apart from a one-off context loss."""
    common = {**RETENTION, "market.segments.smb.base_churn_annual": BASE_TERM,
              "market.effects.fit_churn_elasticity": 0.0, "market.effects.continuity_churn_uplift": 0.1}
    relay = _decisions(write_scenario(common), "churn")
    assert relay.probability.iloc[0] == pytest.approx(BASE_TERM * 1.1)
    assert any("more owners" in label for label, _ in relay.terms.iloc[0])
    owned = {**common, "routing.onboarding": "ae", "routing.renewal": "ae", "routing.expansion": "ae"}
    pod = _decisions(write_scenario(owned, name="pod.yaml"), "churn")
    assert pod.probability.iloc[0] == pytest.approx(BASE_TERM)
    # Named owners: the AE role split into one team per person keeps the same team on the account.
    named = {**owned, "roles.ae.headcount": 2, "roles.ae.teams": 2}
    assert _decisions(write_scenario(named, name="named.yaml"), "churn").probability.iloc[0] == \
        pytest.approx(BASE_TERM)


def test_siloed_relays_and_pods_keep_continuity_by_construction():
    """On the shipped designs: every siloed customer won in the run has dealt with at least two
    owners by its first renewal; no pod customer has more than one."""
    over = ["simulation.horizon=2y", "simulation.warmup=30d"]
    for design, relayed in (("siloed", True), ("cross_functional", False)):
        res = sim.simulate(sim.load_scenario(f"scenarios/{design}.yaml", over), 1, decisions=True)
        d = res.decisions
        d = d[(d.decision == "churn") & (d.buyer < INSTALLED_ID_BASE)]
        has = d.terms.map(lambda terms: any("more owners" in label for label, _ in terms))
        assert len(d) > 20
        assert bool(has.all()) if relayed else not bool(has.any())


# ---------------------------------------------------------------- customer-success capacity

def test_churn_rises_as_customer_success_headcount_falls(write_scenario):
    """An installed base of 150 customers, quarterly check-ins of 6 h: one CSM cannot keep up,
    check-ins wait past the SLA (neglect), and churn rises; more CSMs, less neglect."""
    changes = {
        "simulation.horizon": "2y",
        "market.segments.smb.base_churn_annual": BASE_TERM,
        "market.activities.checkin": {"kind": "checkin", "work": {"dist": "constant", "value": "6h"}},
        "market.activities.renewal": {"kind": "renewal", "work": {"dist": "constant", "value": "1h"}},
        "market.journey.retention": ["checkin", "renewal"],
        "market.journey.checkin_sla": "14d",
        "market.installed_base.segments.smb": {"customers": 150, "arr": {"dist": "constant", "value": 10000},
                                               "tenure": {"dist": "uniform", "low": 0, "high": "1y"}},
        "market.effects.neglect_churn_uplift": 0.15,
        "market.referrals.probability_per_renewal": 0.0,
        "routing.checkin": "cs", "routing.renewal": "cs",
    }
    neglected, mean_p, churned = [], [], []
    for heads in (1, 2, 4):
        path = write_scenario({**changes, "roles.cs": {"headcount": heads}}, name=f"cs{heads}.yaml")
        res = sim.simulate(sim.load_scenario(path), 1, decisions=True)
        d = res.decisions
        neglected.append(int((d.decision == "checkin_neglected").sum()))
        mean_p.append(float(d.loc[d.decision == "churn", "probability"].mean()))
        churned.append(int((res.events.event == "churned").sum()))
    assert neglected[0] > neglected[1] >= neglected[2] and neglected[2] == 0
    assert mean_p[0] > mean_p[1] >= mean_p[2] == pytest.approx(BASE_TERM)
    # Common random numbers: the same draws against higher probabilities churn at least as many.
    assert churned[0] >= churned[1] >= churned[2]


# ---------------------------------------------------------------- human fallback

FALLBACK = {
    "market.channels.web.arrivals_at": [9 / 24 + i for i in range(5)],
    "market.segments.smb.automation_aversion": 1.0,
    "roles.bot": {"headcount": 1, "kind": "ai", "calendar": "always"},
    "routing.first_response": "bot",
}


def test_without_a_fallback_bot_averse_buyers_are_lost(write_scenario):
    res = sim.simulate(sim.load_scenario(write_scenario(FALLBACK)), 1)
    assert res.buyers.reason.tolist() == ["bot_averse"] * 5


def test_a_fallback_passes_bot_averse_buyers_to_a_person_after_its_delay(write_scenario):
    path = write_scenario({**FALLBACK, "fallback": {"role": "sdr", "delay": "2h", "penalty": 1.0}})
    res = sim.simulate(sim.load_scenario(path), 1, decisions=True)
    assert set(res.buyers.state) == {"active"}  # lead decay floor 1 in TINY: nobody goes cold
    ev = res.events[res.events.buyer == 0]
    rows = [(str(e), str(r)) for e, r in zip(ev.event, ev.role) if e in ("start", "handoff", "pass")][:4]
    assert rows == [("start", "bot"), ("handoff", "sdr"), ("start", "sdr"), ("pass", "sdr")]
    bot_end = float(ev[(ev.event == "end") & (ev.role == "bot")].time.iloc[0])
    person = float(ev[(ev.event == "start") & (ev.role == "sdr")].time.iloc[0])
    assert person == pytest.approx(bot_end + 2 / 24)
    d = res.decisions
    assert (d[d.buyer == 0].decision == "fallback_engaged").sum() == 1


def test_the_fallback_penalty_costs_engagement(write_scenario):
    path = write_scenario({**FALLBACK, "fallback": {"role": "sdr", "delay": "1h", "penalty": 0.0}})
    res = sim.simulate(sim.load_scenario(path), 1)
    assert res.buyers.reason.tolist() == ["went_cold"] * 5


def test_the_fallback_must_be_a_person(write_scenario):
    path = write_scenario({**FALLBACK, "fallback": {"role": "bot"}})
    with pytest.raises(sim.ScenarioError, match="must be a person"):
        sim.load_scenario(path)


def test_kpis_are_measured_with_the_mechanisms_on(write_scenario):
    path = write_scenario({**FALLBACK, "fallback": {"role": "sdr"}})
    k = measure(sim.simulate(sim.load_scenario(path), 1)).kpis
    assert k["lost.bot_averse"] == 0


# ---------------------------------------------------------------- drawn when needed

def test_a_customer_draws_its_life_when_its_life_first_needs_it(monkeypatch):
    """At signature only the community draw is made (the first number of the customer's first
    block); the rest of the block is drawn when onboarding or the first term starts, and a
    design with neither (scenarios/validation/mmc.yaml) never draws it."""
    import sim.customer
    from sim.streams import Streams

    from conftest import SCENARIOS

    blocks: list[int] = []
    real = sim.customer._draw_block

    def spy(ctx, b, life, seg):  # type: ignore[no-untyped-def]
        blocks.append(b.id)
        at_signature = life.community_u  # before the block's own first number overwrites it
        first_block = not life.u
        real(ctx, b, life, seg)
        if first_block:  # the community draw made at signature is the block's first number
            assert at_signature == life.community_u
            assert at_signature == float(Streams(ctx.streams.seed).keyed(b.key, sim.customer.TERMS, 0).random())

    monkeypatch.setattr(sim.customer, "_draw_block", spy)
    mmc = sim.simulate(sim.load_scenario(SCENARIOS / "validation/mmc.yaml", ["simulation.horizon=20d"]), 1,
                       decisions=True)
    assert blocks == [] and (mmc.buyers.state == "active").sum() > 100
    assert (mmc.decisions.decision == "community").sum() == (mmc.buyers.state == "active").sum()
    res = sim.simulate(sim.load_scenario(SCENARIOS / "siloed.yaml", ["simulation.horizon=200d"]), 1)
    won = res.buyers[res.buyers.won_at.notna()]
    assert len(won) > 10 and set(blocks) == set(won.id)  # every customer, onboarded at signature
