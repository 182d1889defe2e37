"""The shipped designs: fair comparisons on one market (issue #3)."""

from __future__ import annotations

import pytest

import sim

from conftest import SCENARIOS

DESIGNS = sorted(p for p in SCENARIOS.glob("*.yaml") if p.name != "market.yaml")


def people_cost(scn: sim.Scenario) -> float:
    return sum(r.headcount * r.loaded_cost_annual for r in scn.roles.values())


@pytest.mark.parametrize("path", DESIGNS, ids=lambda p: p.stem)
def test_designs_cost_within_ten_percent_of_the_model(path):
    base = people_cost(sim.load_scenario(SCENARIOS / "siloed.yaml"))
    assert people_cost(sim.load_scenario(path)) == pytest.approx(base, rel=0.10)


@pytest.mark.parametrize("path", DESIGNS, ids=lambda p: p.stem)
def test_designs_share_the_market_and_differ_only_in_the_organization(path):
    market = sim.load_scenario(SCENARIOS / "market.yaml")
    design = sim.load_scenario(path)
    assert design.market == market.market and design.simulation == market.simulation


def test_compare_every_design_on_the_same_market(tmp_path, capsys, monkeypatch):
    from sim.cli import main

    monkeypatch.chdir(SCENARIOS.parent)
    args = ["compare", *[str(p.relative_to(SCENARIOS.parent)) for p in sorted(SCENARIOS.glob("*.yaml"))],
            "--reps", "2", "--quiet", "--no-charts", "--out", str(tmp_path),
            "--set", "simulation.horizon=120d", "--set", "simulation.warmup=20d"]
    assert main(args) == 0
    captured = capsys.readouterr()
    header = captured.out.splitlines()[0]
    for path in DESIGNS:
        assert path.stem in header
    assert "skipping scenarios/market.yaml" in captured.err
