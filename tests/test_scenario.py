"""Scenario loading: units, distributions, extends, --set, resolution."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import sim
from sim.distributions import Beta, Empirical, Gamma, Lognormal, Triangular
from sim.scenario import ScenarioError, resolved_yaml
from sim.units import parse_duration

from conftest import SCENARIOS


@pytest.mark.parametrize("text,days", [
    ("30min", 30 / 1440), ("4h", 4 / 24), ("2d", 2.0), ("3w", 21.0), ("6mo", 182.5), ("1y", 365.0),
    (2, 2.0), (0.5, 0.5), ("1.5h", 1.5 / 24), ("10", 10.0),
])
def test_durations_accept_units(text, days):
    assert parse_duration(text) == pytest.approx(days)


@pytest.mark.parametrize("bad", ["4 hours", "h", "1hr", True, None, [1]])
def test_durations_reject_nonsense(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize("dist", [
    Lognormal(dist="lognormal", mean=8000, sd=4000),
    Gamma(dist="gamma", mean=5, sd=2),
    Beta(dist="beta", mean=0.3, sd=0.1),
    Triangular(dist="triangular", low=1, mode=2, high=6),
    Empirical(dist="empirical", values=[1, 2, 10], weights=[1, 1, 2]),
])
def test_distributions_have_the_mean_they_are_given(dist):
    x = dist.sample(np.random.default_rng(1), 200_000)
    se = x.std() / np.sqrt(len(x))
    assert abs(x.mean() - dist.mean_value) < 5 * se


def test_design_extends_market_and_changes_only_the_organization():
    market = sim.load_scenario(SCENARIOS / "market.yaml")
    for name in ("siloed", "cross_functional", "ai_automated"):
        design = sim.load_scenario(SCENARIOS / f"{name}.yaml")
        assert design.market == market.market
        assert design.simulation == market.simulation
        assert not design.abstract and market.abstract


def test_set_overrides_any_key_path_with_a_typed_value():
    scn = sim.load_scenario(SCENARIOS / "siloed.yaml", [
        "roles.inside_sales.headcount=6", "simulation.horizon=2y",
        "market.effects.lead_decay.half_life=30min", "market.journey.retention=[onboarding]",
    ])
    assert scn.roles["inside_sales"].headcount == 6
    assert scn.simulation.horizon == 730
    assert scn.market.effects.lead_decay.half_life == pytest.approx(30 / 1440)
    assert scn.market.journey.retention == ["onboarding"]


def test_resolved_scenario_round_trips(tmp_path):
    scn = sim.load_scenario(SCENARIOS / "siloed.yaml", ["roles.inside_sales.headcount=7"])
    path = tmp_path / "resolved.yaml"
    path.write_text(resolved_yaml([scn]))
    again = sim.load_scenario(path)
    assert again == scn.model_copy(update={"extends": None})


def test_null_is_not_a_way_to_smuggle_bad_values(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump({"extends": str(SCENARIOS / "siloed.yaml"), "roles": {"marketing": None}}))
    with pytest.raises(ScenarioError) as err:
        sim.load_scenario(path)
    assert "roles.marketing" in str(err.value)


def test_extends_replaces_a_distribution_whole(tmp_path):
    path = tmp_path / "child.yaml"
    path.write_text(f"extends: {SCENARIOS / 'siloed.yaml'}\n"
                    "market:\n  segments:\n    smb:\n      patience: {dist: constant, value: 2d}\n")
    scn = sim.load_scenario(path)
    assert scn.market.segments["smb"].patience.mean_value == 2.0


def test_the_loader_bounds_what_it_reads(tmp_path):
    """The Python API refuses a huge file, a pipe or a folder before parsing, as the CLI does."""
    import os

    from sim.scenario import MAX_BYTES, ScenarioError, load_scenario

    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * MAX_BYTES)
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    for path, text in ((big, "larger than"), (fifo, "not a regular file"), (tmp_path, "not a regular file")):
        with pytest.raises(ScenarioError) as err:
            load_scenario(path)
        assert text in str(err.value)
