"""Every assumption has a plausible range, kept with its source in sim/assumptions.py (issue 14)."""

from __future__ import annotations

import json
import re

import pytest

import sim
from sim import assumptions as A

from conftest import SCENARIOS

DESIGNS = sorted(p for p in SCENARIOS.glob("*.yaml") if p.name != "market.yaml")
#: A published figure given as a range: "15-30%", "$5-18K", "60-72 d", "1.25-1.3".
PUBLISHED_RANGE = re.compile(r"\d+(\.\d+)?\s?-\s?\$?\d+(\.\d+)?\s?(%|K|\s?d\b|x)")


def test_every_assumption_has_a_range():
    missing = [p for p in A.SOURCE if A.is_assumption(p) and p not in A.RANGES and p not in A.NOT_RANGED]
    assert not missing, f"assumptions without a plausible range in sim/assumptions.py: {', '.join(missing)}"


def test_every_calibrated_value_with_a_published_range_has_one():
    missing = [p for p, text in A.SOURCE.items()
               if PUBLISHED_RANGE.search(text) and not text.startswith(("design choice",)) and p not in A.RANGES]
    assert not missing, missing


def test_what_has_no_range_is_not_a_number():
    market = sim.load_scenario(SCENARIOS / "market.yaml").model_dump(mode="json")
    for path in A.NOT_RANGED:
        values = [v for _, v in A._leaves(market, path.split("."), "")]
        assert values and all(isinstance(v, list) for v in values), path


def test_ranges_are_ranges_with_a_reason_and_hold_the_shipped_values():
    for path, r in A.RANGES.items():
        assert path in A.SOURCE, f"{path}: a range for an undocumented key"
        assert r.low < r.high and r.why.strip() and "\n" not in r.why, path
        if r.relative:
            assert r.low <= 1 <= r.high, path  # the shipped value is inside its own range
    for design in DESIGNS:
        scn = sim.load_scenario(design)
        for path, r in A.RANGES.items():
            if r.relative or not A.acts_in(path, scn):
                continue
            base = A.value_of(path, scn)
            assert base is None or r.low - 1e-12 <= base <= r.high + 1e-12, (design.name, path, base)


def test_expand_sets_every_named_key_within_the_schema():
    scn = sim.load_scenario(SCENARIOS / "ai_automated.yaml")
    over = A.expand("market.segments.<segment>.automation_aversion", 2.0, scn)
    assert over == {f"market.segments.{s}.automation_aversion": pytest.approx(2 * scn.market.segments[s].automation_aversion)
                    for s in scn.market.segments}
    assert A.expand("roles.<role>.platform_cost_annual", 30_000, scn) == {"roles.ai_agent.platform_cost_annual": 30_000}
    assert A.expand("roles.<role>.platform_cost_annual", 30_000, sim.load_scenario(SCENARIOS / "siloed.yaml")) == {}
    big = A.expand("market.segments.<segment>.automation_aversion", 100.0, scn)
    assert all(v <= 1 for v in big.values())  # clipped to a probability
    moved = A.expand("market.segments.<segment>.patience", 0.5, scn)["market.segments.smb.patience"]
    assert moved["mean"] == pytest.approx(scn.market.segments["smb"].patience.mean / 2)


def test_the_default_robustness_parameters_are_sampled_assumptions():
    for path in A.DEFAULT_ROBUSTNESS:
        assert path in A.RANGES and A.RANGES[path].varies, path
        assert A.is_assumption(path) or PUBLISHED_RANGE.search(A.SOURCE[path]) or "HBR" in A.SOURCE[path], path


def test_orgsim_schema_carries_sources_and_ranges(capsys):
    from sim.cli import main

    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    drop = schema["$defs"]["Effects"]["properties"]["first_response_handoff_drop"]
    assert drop["x-range"]["high"] == A.RANGES["market.effects.first_response_handoff_drop"].high
    assert "HBR 2011" in drop["x-source"]
    assert "x-range" in schema["$defs"]["Role"]["properties"]["platform_cost_annual"]


def test_model_md_shows_each_range_beside_its_source():
    from conftest import ROOT

    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    assert "| plausible range |" in text
    assert A.RANGES["market.effects.context_loss_probability"].why in text
