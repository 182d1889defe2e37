"""``orgsim trace`` formats the model's own decisions: every buyer of a small replication is
traced, and each decision line must agree with what the model recorded and did."""

from __future__ import annotations

import pytest

import sim
from sim.market import ENDOGENOUS_ID_BASE
from sim.story import market_buyers, story

from conftest import ROOT

#: Kinds of decision the model records, and the story step that shows each.
SHOWN = {"community": "community", "churn": "renewal", "refer": "referral", "expansion_opportunity": "expansion",
         "trial_activated": "trial", "trial_paid": "trial", "expansion_kept": "decision"}


def _small(name: str, horizon: str, share: float) -> sim.Scenario:
    scn = sim.load_scenario(ROOT / "scenarios" / f"{name}.yaml", [f"simulation.horizon={horizon}"])
    rates = [f"market.channels.{c}.rate_per_week={ch.rate_per_week * share}" for c, ch in scn.market.channels.items()]
    return sim.load_scenario(ROOT / "scenarios" / f"{name}.yaml", [f"simulation.horizon={horizon}", *rates])


@pytest.mark.parametrize("name, horizon, share", [("siloed", "800d", 0.15), ("plg", "400d", 0.1),
                                                  ("ai_automated", "800d", 0.15),
                                                  ("over_time/reorg_to_pods", "400d", 0.1)])
def test_every_decision_line_agrees_with_the_model(name, horizon, share):
    scn = _small(name, horizon, share)
    res = sim.simulate(scn, 3, decisions=True)
    decisions = res.decisions
    assert decisions is not None
    drawn = market_buyers(scn, res.seed, [int(i) for i in res.buyers.id])
    by_buyer = dict(tuple(res.events.groupby("buyer", sort=False)))
    made_by_buyer = dict(tuple(decisions.groupby("buyer", sort=False)))
    shown = 0
    for row in res.buyers.itertuples(index=False):
        made = made_by_buyer.get(row.id)
        steps = story(scn, row, by_buyer[row.id], drawn.get(row.id), made)
        bad = [s.text for s in steps if s.consistent is False]
        assert not bad, (row.id, bad)
        if made is None:
            continue
        # Every recorded decision is told, with the model's own probability and draw...
        for d in made.itertuples(index=False):
            if d.decision == "checkin_neglected":
                assert any(s.step == "checkin" and s.outcome == "neglected" and s.time == d.time for s in steps)
                continue
            if d.decision == "community" and d.probability == 0:
                continue  # not told in a design without a customer community
            told = [s for s in steps if s.step == SHOWN[d.decision] and s.draw == d.draw]
            assert len(told) == 1 and told[0].probability == d.probability, (row.id, d)
            shown += 1
        # ...and a renewal's line says what the run did.
        outcomes = [s.outcome for s in steps if s.step == "renewal"]
        ev = by_buyer[row.id]
        assert outcomes == ev.event[ev.event.isin(["renewed", "churned"])].astype(str).tolist()
        if row.id < ENDOGENOUS_ID_BASE and row.won_at == row.won_at:
            assert made.decision.iloc[0] == "community" or made.decision.iloc[0].startswith("trial")
    assert shown > 50


def test_a_neglected_check_in_is_the_models_own_verdict(write_scenario):
    """One CSM (24/7), 4 h check-ins due an hour apart: the second starts 3 h late, past a 1 h SLA.
    The story's neglect lines are the model's records (each in a churn's neglected count)."""
    path = write_scenario({
        "market.channels.web.arrivals_at": [9 / 24, 9 / 24 + 0.001],
        "simulation.horizon": "400d",
        "market.activities.checkin": {"kind": "checkin", "work": {"dist": "constant", "value": "4h"}},
        "market.activities.renewal": {"kind": "renewal", "work": {"dist": "constant", "value": "1h"}},
        "market.journey.retention": ["checkin", "renewal"],
        "market.journey.checkin_sla": "1h",
        "roles.ae.headcount": 2,
        "roles.cs": {"headcount": 1, "calendar": "always"},
        "routing.checkin": "cs", "routing.renewal": "cs",
    })
    scn = sim.load_scenario(path)
    res = sim.simulate(scn, 1, decisions=True)
    d = res.decisions
    neglected = d[d.decision == "checkin_neglected"]
    assert len(neglected) > 0
    churn = d[d.decision == "churn"].set_index("buyer").detail
    assert neglected.groupby("buyer").size().to_dict() == {b: int(n) for b, n in churn.items() if n > 0}
    for buyer in neglected.buyer.unique():
        row = next(res.buyers[res.buyers.id == buyer].itertuples(index=False))
        steps = story(scn, row, res.events[res.events.buyer == buyer], None, d[d.buyer == buyer])
        assert sum(s.outcome == "neglected" for s in steps) == (neglected.buyer == buyer).sum()
