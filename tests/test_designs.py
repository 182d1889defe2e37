"""The shipped designs: fair comparisons on one market (issue #3)."""

from __future__ import annotations

import pytest

import sim

from conftest import SCENARIOS

DESIGNS = sorted(p for p in SCENARIOS.glob("*.yaml") if p.name != "market.yaml")


def people_cost(scn: sim.Scenario) -> float:
    """The fixed cost a year, with every cost per head derived from the role's mix (sim.costs)."""
    from sim.costs import fixed_cost

    return fixed_cost(scn)


def role_cost_from_members(scn: sim.Scenario, role: sim.schema.Role) -> float:
    """By hand: the mean of the member jobs' costs in market.job_costs, weighted by count."""
    jobs = scn.market.job_costs
    return sum(jobs[j] * n for j, n in role.mix.items()) / sum(role.mix.values())


@pytest.mark.parametrize("path", DESIGNS, ids=lambda p: p.stem)
def test_designs_cost_within_ten_percent_of_the_model(path):
    base = people_cost(sim.load_scenario(SCENARIOS / "siloed.yaml"))
    assert people_cost(sim.load_scenario(path)) == pytest.approx(base, rel=0.10)


@pytest.mark.parametrize("path", DESIGNS, ids=lambda p: p.stem)
def test_every_human_role_costs_the_sum_of_its_members(path):
    """Fair by construction: a person's cost comes from the job catalogue the market shares."""
    from sim.costs import cost_notes

    scn = sim.load_scenario(path)
    notes = cost_notes(scn)
    for name, role in scn.roles.items():
        if role.kind == "ai":
            assert not role.mix  # costed per agent, plus platform and operations
            continue
        assert role.mix, f"{scn.name}.{name} states a cost per head without a mix"
        implied = role_cost_from_members(scn, role)
        if role.loaded_cost_annual != pytest.approx(implied):
            assert any(n.startswith(f"{name}:") for n in notes)  # a stated cost carries the warning
        else:
            assert not any(n.startswith(f"{name}:") for n in notes)


def test_pods_cost_their_members_not_a_stated_blend():
    scn = sim.load_scenario(SCENARIOS / "cross_functional.yaml")
    team = scn.roles["account_team"]
    assert team.loaded_cost_annual == pytest.approx((100_000 + 2 * 230_000 + 150_000) / 4)  # $177.5K


def test_a_stated_cost_far_from_the_mix_is_warned_about(tmp_path, capsys):
    from sim.cli import main
    from sim.costs import cost_notes

    path = SCENARIOS / "cross_functional.yaml"
    stated = sim.load_scenario(path, ["roles.account_team.loaded_cost_annual=155000"])
    (note,) = cost_notes(stated)
    assert "$155.0K" in note and "$177.5K" in note and "1 sdr + 2 ae + 1 csm" in note and "-12.7%" in note
    assert stated.roles["account_team"].loaded_cost_annual == 155_000  # the stated cost is the one used
    assert not cost_notes(sim.load_scenario(path, ["roles.account_team.loaded_cost_annual=180000"]))  # within 5%
    assert main(["run", str(path), "--set", "roles.account_team.loaded_cost_annual=155000", "--reps", "1",
                 "--quiet", "--no-charts", "--out", str(tmp_path), "--set", "simulation.horizon=30d",
                 "--set", "simulation.warmup=5d"]) == 0
    assert "warning: cross_functional: account_team: $155.0K a head is stated" in capsys.readouterr().err


def test_an_unknown_job_in_a_mix_is_bad_input():
    with pytest.raises(sim.ScenarioError) as err:
        sim.load_scenario(SCENARIOS / "siloed.yaml", ["roles.field_sales.mix={aee: 1}"])
    assert "unknown job 'aee' (did you mean 'ae'?)" in str(err.value)
    with pytest.raises(sim.ScenarioError) as err:
        sim.load_scenario(SCENARIOS / "siloed.yaml", ["roles.field_sales.mix={ae: 0}"])
    assert "expected a positive count" in str(err.value)


def test_ai_agents_carry_platform_and_operations_costs():
    from sim.kpis import docs  # noqa: F401  (the KPI text names them)

    scn = sim.load_scenario(SCENARIOS / "ai_automated.yaml")
    agent = scn.roles["ai_agent"]
    assert agent.platform_cost_annual > 0 and agent.operations_cost_annual > 0 and agent.cost_per_task > 0
    res = sim.simulate(sim.load_scenario(SCENARIOS / "ai_automated.yaml",
                                         ["simulation.horizon=40d", "simulation.warmup=10d"]), seed=3)
    k = sim.measure(res).kpis
    tasks = res.events[(res.events.event == "end") & (res.events.role == "ai_agent")
                       & (res.events.time >= 10) & (res.events.time < 40)]
    fees = agent.cost_per_task * len(tasks) / (30 / 365)
    assert k["ai_cost"] == pytest.approx(fees + agent.platform_cost_annual + agent.operations_cost_annual)
    assert k["total_cost"] == pytest.approx(k["people_cost"] + k["ai_cost"] + k["marketing_cost"])


@pytest.mark.parametrize("path", DESIGNS, ids=lambda p: p.stem)
def test_every_design_states_its_data_integration(path):
    """data_integration is a lever of its own: each design file (or the design it extends) says its value."""
    import yaml

    chain, doc = [], {"extends": path.name}
    while "extends" in doc and doc["extends"] != "market.yaml":
        doc = yaml.safe_load((SCENARIOS / doc["extends"]).read_text(encoding="utf-8"))
        chain.append(doc)
    assert any("data_integration" in d for d in chain), path.name


def test_the_report_shows_data_integration_among_the_differences():
    from sim.locale import catalogue
    from sim.report.folder import ReportData
    from sim.report.params import differing

    names = ["siloed", "ai_automated"]
    docs = {n: sim.load_scenario(SCENARIOS / f"{n}.yaml").model_dump(mode="json") for n in names}
    import pandas as pd

    empty = pd.DataFrame()
    data = ReportData(names, docs, {}, empty, None, empty, empty, empty)
    rows = {r.path: r.values for r in differing(data, catalogue("en"))}
    assert "data_integration" in rows and len(set(rows["data_integration"])) == 2


def test_siloed_sla_is_the_model_with_its_service_levels():
    base = sim.load_scenario(SCENARIOS / "siloed.yaml")
    sla = sim.load_scenario(SCENARIOS / "siloed_sla.yaml")
    assert people_cost(sla) == people_cost(base)
    assert sla.roles["inside_sales"].follows_up_every_lead and not base.roles["inside_sales"].follows_up_every_lead
    assert sla.roles["inside_sales"].pickup_delay.mean < base.roles["inside_sales"].pickup_delay.mean / 5
    short = ["simulation.horizon=60d", "simulation.warmup=10d"]
    a = sim.simulate(sim.load_scenario(SCENARIOS / "siloed.yaml", short), seed=5).buyers
    b = sim.simulate(sim.load_scenario(SCENARIOS / "siloed_sla.yaml", short), seed=5).buyers
    assert (a.reason == "never_followed_up").sum() > 0
    assert (b.reason == "never_followed_up").sum() == 0


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
