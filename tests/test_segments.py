"""Segment mix is one concept: the market's shares, tilted per stream of buyers."""

from __future__ import annotations

import pytest

import sim

from conftest import ROOT

SILOED = str(ROOT / "scenarios" / "siloed.yaml")
SHORT = ["simulation.horizon=120d", "simulation.warmup=0d"]


def test_the_events_tilt_gives_the_documented_mix_at_the_default_shares():
    m = sim.load_scenario(SILOED).market
    assert m.segment_mix(m.channels["events"].segment_tilt) == pytest.approx({"smb": 0.3, "mm": 0.45, "ent": 0.25})
    assert m.segment_mix(None) == pytest.approx({s: seg.share for s, seg in m.segments.items()})
    # A tilt is relative: scaling every weight changes nothing.
    assert m.segment_mix({"smb": 1, "mm": 3, "ent": 5}) == pytest.approx(m.segment_mix({"smb": 2, "mm": 6, "ent": 10}))


def test_an_enterprise_only_market_brings_only_enterprise_buyers_through_every_channel():
    only = ["market.segments.smb.share=0", "market.segments.mm.share=0", "market.segments.ent.share=1"]
    res = sim.simulate(sim.load_scenario(SILOED, [*SHORT, *only]), seed=5)
    arrived = res.buyers[res.buyers.source != "installed"]  # the installed base is a book, not a stream
    assert len(arrived) > 100
    assert set(arrived["segment"]) == {"ent"}
    assert (arrived["channel"] == "events").any()
