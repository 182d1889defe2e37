"""Sensitivity: levers found, moved within bounds, and ranked by their paired effect."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.scenario import ScenarioError
from sim.sensitivity import (
    SENSITIVITY_COLUMNS,
    default_levers,
    parse_delta,
    perturb,
    plan_sensitivity,
)

#: A constructed market: 80 buyers a week each need a 1-hour first response from the SDRs.
#: Two SDRs working 40 h a week are saturated, so their headcount drives the wait for a first
#: response; the "ops" role is staffed but does no journey work at all.
BOTTLENECK = {
    "simulation.horizon": "120d",
    "simulation.warmup": "20d",
    "market.channels.web.rate_per_week": 80,
    "roles.sdr.headcount": 2,
    "roles.ops": {"headcount": 4, "loaded_cost_annual": 90000},
}
KPI = "first_response_p50_hours"


def test_the_bottleneck_role_ranks_above_a_role_that_does_nothing(write_scenario):
    path = write_scenario(BOTTLENECK)
    res = sim.sensitivity(path, KPI, params=["roles.ops.headcount", "roles.sdr.headcount"], delta="50%",
                          reps=3, seed=3, jobs=2)
    table = res.table
    assert list(table.columns) == ["rank", *SENSITIVITY_COLUMNS]
    assert list(table.parameter) == ["roles.sdr.headcount", "roles.ops.headcount"]
    assert list(table["rank"]) == [1, 2]
    sdr, ops = table.iloc[0], table.iloc[1]
    assert (sdr.base_value, sdr.low_value, sdr.high_value) == (2, 1, 3)
    # Fewer SDRs: a longer wait, and the paired interval says so; more SDRs: a shorter one.
    assert sdr.low_diff_ci_low > 0 and sdr.high_diff_ci_high < 0
    # The idle role's interval holds zero on both sides.
    for side in ("low", "high"):
        assert ops[f"{side}_diff_ci_low"] <= 0 <= ops[f"{side}_diff_ci_high"]
    # Common random numbers: every variant ran on the base's replication seeds.
    runs = res.runs
    seeds = runs.groupby(["parameter", "side"]).seed.apply(tuple)
    assert seeds.nunique() == 1 and len(seeds) == 5


def test_default_levers_are_the_non_zero_numbers_of_the_organization(write_scenario):
    scn = sim.load_scenario(write_scenario({**BOTTLENECK, "data_integration": 0.5,
                                            "market.activities.qualify": {"kind": "gate", "threshold": 0.3,
                                                                          "work": {"dist": "constant", "value": "10min"}}}))
    levers = default_levers(scn)
    for key in ("roles.sdr.headcount", "roles.ops.headcount", "roles.ops.loaded_cost_annual",
                "roles.sdr.productive_share", "data_integration", "market.activities.qualify.threshold"):
        assert key in levers, key
    assert "roles.sdr.loaded_cost_annual" not in levers  # zero: +-20% of nothing is nothing
    assert not any(k.endswith((".generalist", ".kind")) for k in levers)
    assert "data_integration" not in default_levers(sim.load_scenario(write_scenario(BOTTLENECK)))


def test_moves_are_rounded_for_whole_numbers_and_clipped_to_the_schema(write_scenario):
    scn = sim.load_scenario(write_scenario({**BOTTLENECK, "roles.sdr.productive_share": 0.9,
                                            "roles.ops.headcount": 10}))
    hc = perturb(scn, "roles.ops.headcount", 0.2)
    assert (hc.low, hc.high) == (8, 12)
    one = perturb(scn, "roles.sdr.headcount", 0.1)  # 2 +- 10% rounds back to 2: move by one
    assert (one.low, one.high) == (1, 3)
    share = perturb(scn, "roles.sdr.productive_share", 0.2)  # 1.08 is above the bound of 1
    assert (share.low, share.high) == (0.72, 1.0)
    with pytest.raises(ScenarioError, match="not a numeric parameter"):
        perturb(scn, "roles.sdr.calendar", 0.2)
    assert parse_delta("20%") == parse_delta("0.2") == 0.2
    with pytest.raises(ScenarioError):
        parse_delta("lots")


def test_a_side_that_does_not_validate_is_left_out_and_said(write_scenario):
    path = write_scenario({**BOTTLENECK, "roles.sdr.headcount": 1})
    skipped: list[str] = []
    plan, levers = plan_sensitivity(path, ["roles.sdr.headcount", "data_integration"], 0.2, reps=1, skipped=skipped)
    (lever,) = levers  # data_integration is 0 here: +-20% of it is still 0
    assert (lever.low, lever.high) == (None, 2)  # a working role cannot have no one
    assert plan.points == [{}, {"roles.sdr.headcount": 2}]
    assert len(skipped) == 2 and "roles.sdr.headcount=0" in skipped[0] and "data_integration" in skipped[1]
    with pytest.raises(ScenarioError, match="no lever can move"):
        plan_sensitivity(path, ["data_integration"], 0.2, reps=1)


def test_sensitivity_cli_writes_the_table_and_the_tornado(write_scenario, tmp_path, capsys):
    path = write_scenario(BOTTLENECK)
    out = tmp_path / "r"
    args = ["sensitivity", str(path), "--kpi", f"{KPI},won", "--params", "roles.ops.headcount,roles.sdr.headcount",
            "--delta", "50%", "--reps", "2", "--jobs", "2", "--out", str(out), "--quiet"]
    assert main(args) == 0
    stdout = capsys.readouterr().out
    (folder,) = list(out.iterdir())
    lines = stdout.splitlines()
    assert lines[0].startswith(f"{KPI} of 'tiny' at base")
    ranked = [line.split()[1] for line in lines if line[:1].isdigit()]
    assert ranked == ["roles.sdr.headcount", "roles.ops.headcount"]
    for name in ("scenario.yaml", "manifest.json", "sensitivity.csv", "sensitivity_runs.csv", "summary.csv",
                 f"charts/tornado_{KPI}.png", f"charts/tornado_{KPI}.svg", "charts/tornado_won.png"):
        assert (folder / name).is_file(), name
    table = pd.read_csv(folder / "sensitivity.csv")
    assert list(table.kpi.unique()) == [KPI, "won"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["command"] == "sensitivity" and manifest["delta"] == 0.5 and manifest["kpis"] == [KPI, "won"]


def test_an_unknown_kpi_is_refused_before_anything_runs(write_scenario, tmp_path, capsys):
    path = write_scenario(BOTTLENECK)
    assert main(["sensitivity", str(path), "--kpi", "first_response_p50_hour", "--out", str(tmp_path / "r")]) == 2
    assert "did you mean 'first_response_p50_hours'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
