"""orgsim robustness: switching values known in advance, Morris ranking known in advance, bad input.

The constructed comparison: in the *relay*, marketing scores every lead and hands it to an
SDR, and the handoff drops it with probability d (market.effects.first_response_handoff_drop);
in *bot*, an AI agent scores and answers, and averse buyers (automation_aversion a) refuse it.
Nothing else differs and nothing waits (24/7, ample staff, no lead decay, no context loss),
so conversion is 1 - d in the relay and 1 - a with the bot: the paired difference
bot - relay is d - a, which changes sign at d = a, and at a = d. Its elementary effects are
exact: +1 per unit of d and -0.2 per unit of the aversion factor (a = 0.2 x factor).
"""

from __future__ import annotations

import math

import pytest

import sim
from sim.robustness import robustness

D0, A0 = 0.12, 0.2  # shipped drop and aversion
PARAMS = ["market.effects.first_response_handoff_drop", "market.segments.<segment>.automation_aversion",
          "market.effects.neglect_churn_uplift"]


def _designs(write_scenario):
    common = {
        "simulation.horizon": "5w", "simulation.warmup": "1w", "simulation.reps": 3,
        "market.channels.web.rate_per_week": 500,
        "market.segments.smb.automation_aversion": A0,
        "market.effects.first_response_handoff_drop": D0,
        "market.effects.ai_judgement_noise": 0.0,
        "market.activities.score": {"kind": "gate", "threshold": 0.0,
                                    "work": {"dist": "constant", "value": "1min"}},
        "market.journey.acquisition": ["score", "first_response", "demo"],
    }
    relay = write_scenario({**common, "name": "relay",
                            "roles": {"mkt": {"headcount": 200, "calendar": "always", "judgement_noise": 0.0},
                                      "sdr": {"headcount": 200, "calendar": "always"},
                                      "ae": {"headcount": 400, "calendar": "always"}},
                            "routing": {"score": "mkt", "first_response": "sdr", "demo": "ae"}}, name="relay.yaml")
    bot = write_scenario({**common, "name": "bot",
                          "roles": {"bot": {"headcount": 200, "calendar": "always", "kind": "ai"},
                                    "ae": {"headcount": 400, "calendar": "always"}},
                          "routing": {"score": "bot", "first_response": "bot", "demo": "ae"}}, name="bot.yaml")
    return relay, bot


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    import copy

    import yaml

    from conftest import TINY, _set

    folder = tmp_path_factory.mktemp("robust")

    def write(changes, name):
        tree = copy.deepcopy(TINY)
        for k, v in changes.items():
            _set(tree, k, v)
        path = folder / name
        path.write_text(yaml.safe_dump(tree, sort_keys=False))
        return path

    relay, bot = _designs(write)
    return robustness([relay, bot], "relay", params=PARAMS, samples=4, reps=4, jobs=2, steps=4)


def within(x, low, high):
    """``x`` inside the 95% interval [low, high], widened by half its width on each side: two
    such checks in one test would otherwise fail by chance one run in ten (4 replications)."""
    pad = (high - low) / 2
    return low - pad <= x <= high + pad


def test_the_constructed_difference_is_d_minus_a(result):
    base = result.table.set_index("kpi").loc["conversion_rate"]
    assert within(D0 - A0, base.base_diff_ci_low, base.base_diff_ci_high)
    assert not base.robust  # it flips inside the ranges


def test_robustness_finds_the_switching_values_known_in_advance(result):
    sw = result.switching[result.switching.kpi == "conversion_rate"].set_index("parameter")
    drop = sw.loc["market.effects.first_response_handoff_drop"]
    assert within(A0, drop.ci_low, drop.ci_high)  # d* = a
    assert drop.ci_high - drop.ci_low < 0.1
    assert drop.better_when == "above"  # the bot wins when the relay drops more leads
    aversion = sw.loc["market.segments.<segment>.automation_aversion"]
    assert within(D0 / A0, aversion.ci_low, aversion.ci_high)  # a* = d, as a factor on a
    assert aversion.better_when == "below"


def test_morris_ranks_the_parameters_as_the_formula_does(result):
    idx = result.indices[result.indices.kpi == "conversion_rate"].set_index("parameter")
    assert list(idx.sort_values("rank").index) == [PARAMS[1], PARAMS[0], PARAMS[2]]
    # mu* is |effect over the whole range| for a linear response: 0.2 x (2 - 0.5) = 0.3 and 0.23 - 0.
    for p, exact in ((PARAMS[0], 0.23), (PARAMS[1], 0.3)):
        width = max(3 * idx.loc[p, "mu_star_conf"], 0.03)
        assert abs(idx.loc[p, "mu_star"] - exact) <= width, (p, idx.loc[p, "mu_star"])
    assert idx.loc[PARAMS[2], "mu_star"] == 0  # no retention in this market: no effect at all


def test_share_better_and_rules_describe_where_the_bot_wins(result):
    row = result.table.set_index("kpi").loc["conversion_rate"]
    pts = result.points[(result.points.kpi == "conversion_rate") & (result.points.point > 0)]
    drop = pts[PARAMS[0]]
    aversion = A0 * pts[PARAMS[1]]
    exact = ((drop - aversion) > 0).mean()
    assert abs(row.share_better - exact) <= 2 / len(pts)  # only points within noise of d = a may differ
    rules = result.rules[result.rules.kpi == "conversion_rate"]
    if len(rules):
        assert rules.points.sum() == len(pts)


def test_the_cli_writes_the_folder_and_says_what_it_rests_on(tmp_path, write_scenario, capsys):
    from sim.cli import main

    relay, bot = _designs(write_scenario)
    out = tmp_path / "out"
    assert main(["robustness", str(relay), str(bot), "--params", PARAMS[0], "--method", "oat", "--reps", "2",
                 "--quiet", "--out", str(out), "--jobs", "2"]) == 0
    captured = capsys.readouterr()
    assert "baseline: relay (first file); --baseline NAME to choose" in captured.err
    assert "What this conclusion rests on" in captured.out
    assert "first_response_handoff_drop" in captured.out
    (folder,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    for name in ("robustness.csv", "switching.csv", "indices.csv", "rules.csv", "summary.csv", "report.html"):
        assert (folder / name).is_file(), name
    assert not any(p.name.startswith(".robustness") for p in out.iterdir())  # the checkpoint is gone
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "What this conclusion rests on" in html


@pytest.mark.parametrize("args, message", [
    (["--params", "market.effects.no_such_effect"], "no plausible range is documented"),
    (["--params", "market.segments.<segment>.share"], "its range is not sampled"),
    (["--params", "market.effects.community_churn_factor"], "does not act in any of these designs"),
    (["--method", "sobol", "--samples", "3"], "expected a power of 2"),
    (["--baseline", "nobody"], "no design named 'nobody'"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, write_scenario, capsys, args, message):
    from sim.cli import main

    relay, bot = _designs(write_scenario)
    assert main(["robustness", str(relay), str(bot), "--quiet", "--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_one_design_is_not_a_comparison(write_scenario):
    relay, _ = _designs(write_scenario)
    with pytest.raises(sim.ScenarioError, match="at least two designs"):
        robustness([relay])
    assert math.isfinite(1.0)


def test_sensitivity_includes_the_effects_and_ranks_by_the_paired_difference(write_scenario):
    from sim.sensitivity import default_levers

    relay, bot = _designs(write_scenario)
    assert "market.effects.first_response_handoff_drop" in default_levers(sim.load_scenario(relay))
    res = sim.sensitivity(bot, "conversion_rate", params=[PARAMS[0]], delta="50%", reps=3, jobs=2, vs=relay)
    row = res.table.iloc[0]
    # The paired difference bot - relay is d - a: moving d by -/+ 0.06 moves it by exactly that.
    assert row.low_diff_ci_low <= row.low_value - D0 <= row.low_diff_ci_high
    assert row.high_diff_ci_low <= row.high_value - D0 <= row.high_diff_ci_high
    assert abs(row.base_mean - (D0 - A0)) < 0.05
