"""Goal seek (sim.optimize, sim.selection): a known optimum, the selection's promise, seeds, resume.

Constructed problems with known answers and statistical tolerances, no pinned seeds:

- one M/M/c queue (scenarios/validation/mmc.yaml) whose cheapest headcount meeting a wait
  target follows from Erlang C: optimize finds it;
- KN on synthetic normal systems with known means (correlated noise, as with common random
  numbers): it picks the true best in at least the promised share of repeated runs, within
  a binomial tolerance;
- the same seed gives the same trials and choice; a resumed run ends as an uninterrupted one.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim.cli import main
from sim.experiment import Interrupted
from sim.optimize import optimize, parse_amount, parse_constraint
from sim.scenario import ScenarioError
from sim.selection import kn_select

from conftest import ROOT, SCENARIOS

sys.path.insert(0, str(ROOT / "tests" / "validation"))
from queueing import mmc

MMC = SCENARIOS / "validation" / "mmc.yaml"
HEADCOUNT = "roles.server.headcount"
SHORT = ["simulation.horizon=30d", "simulation.warmup=5d", "roles.server.loaded_cost_annual=100000"]
LAM, SERVICE_HOURS = 28.8, 2.0  # per day, and hours: the scenario's lambda and E[S]
WAIT_TARGET_HOURS = 1.0


def _cheapest_meeting_target(target_hours: float) -> int:
    mu = 24.0 / SERVICE_HOURS
    c = math.floor(LAM / mu) + 1
    while mmc(LAM, mu, c).mean_wait * 24.0 > target_hours:
        c += 1
    return c


def _run(**kw):
    args = {"minimize": ["total_cost"], "vary": [f"{HEADCOUNT}=3:8"],
            "constraints": [f"queue_wait_mean_hours.server<={WAIT_TARGET_HOURS}"], "trials": 6, "reps": 3,
            "jobs": 2, "overrides": SHORT}
    args.update(kw)
    return optimize(MMC, **args)


# ---------------------------------------------------------------- the selection stage


@pytest.mark.parametrize("k", [3, 5])
def test_kn_picks_the_true_best_at_least_as_often_as_promised(k):
    """Slippage configuration (the best leads every other by exactly delta: KN's least
    favourable case), correlated noise. The procedure promises P(CS) >= 0.9; the test fails
    only if the successes fall below Binomial(runs, 0.9)'s 0.1% quantile."""
    confidence, delta, runs = 0.9, 1.0, 150
    means = np.array([delta] + [0.0] * (k - 1))
    rng = np.random.default_rng()
    wins = 0
    for _ in range(runs):
        best = int(rng.integers(k))  # the best's place changes, so ties in order cannot help
        mu = np.roll(means, best)
        common: list[float] = []
        data: dict[int, list[float]] = {i: [] for i in range(k)}

        def draw(which, a, b, mu=mu, common=common, data=data):
            while len(common) < b:
                common.append(float(rng.normal(0, 2.0)))  # shared by every system: CRN
                for i in range(k):
                    data[i].append(mu[i] + common[-1] + float(rng.normal(0, 1.5)))
            return np.array([data[i][a:b] for i in which])

        sel = kn_select(draw, k, delta, confidence, n0=10, batch=3)
        wins += sel.best == best
        assert sel.pcs == confidence
    floor = stats.binom.ppf(0.001, runs, confidence)
    assert wins >= floor, f"{wins} of {runs} correct, promised {confidence:.0%} (floor {floor:.0f})"


def test_kn_minimizes_and_stops_on_noiseless_ties():
    # Equal, noiseless systems: KN stops at once past its last stage instead of looping.
    sel = kn_select(lambda which, a, b: np.ones((len(which), b - a)), 3, 0.1, 0.95, n0=5)
    assert sel.total == 15
    # Minimization: the smallest mean wins.
    rng = np.random.default_rng()
    mu = np.array([3.0, 1.0, 2.0])
    sel = kn_select(lambda which, a, b: mu[list(which), None] + rng.normal(0, 0.2, (len(which), b - a)), 3,
                    0.5, 0.95, n0=5, maximize=False)
    assert sel.best == 1


# ---------------------------------------------------------------- input


def test_amounts_and_constraints_read_as_written():
    assert parse_amount("5.35M", "", "") == pytest.approx(5.35e6)
    assert parse_amount("$200K", "", "") == pytest.approx(2e5)
    assert parse_amount("0.5pp", "", "") == pytest.approx(0.005)
    c = parse_constraint("total_cost<=5.35M")
    assert (c.kpi, c.op, c.limit) == ("total_cost", "<=", 5.35e6)
    assert c.violation(5e6) < 0 < c.violation(6e6) and c.violation(math.nan) > 0
    with pytest.raises(ScenarioError):
        parse_constraint("total_cost=5M")


@pytest.mark.parametrize("args", [
    ["--maximize", "no_such_kpi", "--vary", f"{HEADCOUNT}=3:8"],
    ["--minimize", "total_cost", "--vary", f"{HEADCOUNT}=3,4,5"],
    ["--minimize", "total_cost", "--vary", f"{HEADCOUNT}=3:8", "--constraint", "total_cost=5M"],
    ["--minimize", "total_cost", "--vary", "roles.server.headcont=3:8"],
    ["--vary", f"{HEADCOUNT}=3:8"],
    ["--minimize", "total_cost", "--vary", f"{HEADCOUNT}=0:8"],
    ["--minimize", "total_cost", "--vary", f"{HEADCOUNT}=3:8", "--delta", "lots"],
])
def test_bad_input_is_one_line_per_problem_exit_2_nothing_written(args, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["optimize", str(MMC), *args, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all("Traceback" not in line for line in err)
    assert not out.exists() or not any(out.iterdir())


# ---------------------------------------------------------------- the search and its answer


@pytest.fixture(scope="module")
def uninterrupted():
    return _run()


def test_optimize_finds_the_cheapest_headcount_erlang_c_allows(uninterrupted):
    want = _cheapest_meeting_target(WAIT_TARGET_HOURS)
    assert 3 < want < 8  # the problem is not decided by a range end
    res = uninterrupted
    assert res.best == {HEADCOUNT: want}
    # Infeasible trials are reported, never chosen; the starting organization (3) misses the target.
    t = res.trials
    assert (~t.feasible[t[HEADCOUNT] < want]).all() and t.feasible[t[HEADCOUNT] >= want].all()
    assert not res.meta["start_feasible"]
    assert res.pcs == 0.95


def test_same_seed_same_choice(uninterrupted):
    again = _run(jobs=1)  # jobs changes only the speed
    assert again.best == uninterrupted.best
    assert again.trials.equals(uninterrupted.trials)


def test_resume_after_an_interrupt_ends_as_an_uninterrupted_run(uninterrupted, tmp_path):
    folder = tmp_path / "ckpt"

    def stop(done, total, best):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as exc:
        _run(checkpoint=folder, on_trial=stop)
    assert exc.value.checkpoint == str(folder) and (folder / "study.db").is_file()
    res = _run(checkpoint=folder)
    assert res.best == uninterrupted.best
    assert res.trials.equals(uninterrupted.trials)
    assert res.candidates.equals(uninterrupted.candidates)


def test_cli_writes_best_yaml_that_extends_the_input(tmp_path, capsys):
    out = tmp_path / "out"
    sets = [a for kv in SHORT for a in ("--set", kv)]
    code = main(["optimize", str(MMC), "--minimize", "total_cost", "--vary", f"{HEADCOUNT}=3:8", "--constraint",
                 f"queue_wait_mean_hours.server<={WAIT_TARGET_HOURS}", "--trials", "4", "--reps", "2", "--quiet",
                 "--no-charts", "--out", str(out), *sets])
    assert code == 0
    text = capsys.readouterr().out
    assert text.startswith("Best mix") and "vs today" in text
    (folder,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    for name in ("best.yaml", "trials.csv", "candidates.csv", "comparisons.csv", "study.db", "report.md"):
        assert (folder / name).is_file(), name
    assert not [p for p in out.iterdir() if p.name.startswith(".optimize-")]  # the checkpoint is dropped
    from sim.scenario import load_scenario

    best = load_scenario(Path(folder / "best.yaml"))
    assert best.roles["server"].headcount >= 4 and best.simulation.horizon == 30


def test_a_candidate_equal_within_the_zone_is_named_with_what_it_saves(uninterrupted):
    """Named only when its paired CI against the chosen lies inside +-delta (an equivalence, not
    a failure to find a difference): the first is, the second's interval reaches past delta."""
    import dataclasses

    import pandas as pd

    from sim.optimize import near_ties

    cand = pd.DataFrame({"candidate": [0, 1, 2], "source": ["start", "trial 1", "trial 2"],
                         HEADCOUNT: [5, 4, 6], "chosen": [True, False, False]})
    rows = []
    for c, (low, high) in ((1, (-20.0, 30.0)), (2, (-20.0, 80.0))):
        rows.append({"candidate": c, "against": "best", "kpi": "total_cost", "diff_mean": (low + high) / 2,
                     "diff_ci_low": low, "diff_ci_high": high})
    res = dataclasses.replace(uninterrupted, candidates=cand, comparisons=pd.DataFrame(rows), delta=50.0)
    lines = near_ties(res)
    assert len(lines) == 1 and "trial 1" in lines[0] and f"{HEADCOUNT}=4" in lines[0]
    assert near_ties(dataclasses.replace(res, delta=10.0)) == []


def test_the_answer_under_a_budget_says_what_the_chosen_mix_costs_against_today(uninterrupted):
    import dataclasses

    import pandas as pd

    from sim.optimize import Objective, summary_line

    setup = dataclasses.replace(uninterrupted.setup, objectives=[Objective("nrr", True)],
                                constraints=[parse_constraint("total_cost<=5.35M")])
    cand = pd.DataFrame({"candidate": [0, 1], "source": ["trial 3", "start"], HEADCOUNT: [4, 5],
                         "chosen": [True, False]})
    comp = pd.DataFrame([{"candidate": 0, "against": "start", "kpi": k, "diff_mean": m, "diff_ci_low": lo,
                          "diff_ci_high": hi} for k, m, lo, hi in (("nrr", 0.021, 0.012, 0.03),
                                                                  ("total_cost", -4e5, -4e5, -4e5))])
    res = dataclasses.replace(uninterrupted, setup=setup, candidates=cand, comparisons=comp,
                              best={HEADCOUNT: 4}, delta=0.005)
    assert summary_line(res) == (f"Best mix under $5.35M: {HEADCOUNT}=4; nrr +2.1 pp [1.2, 3.0], "
                                 "total_cost -$400.0K vs today (P(correct selection) >= 95% within 0.5 pp)")


def test_an_equal_that_costs_more_is_not_offered(uninterrupted):
    import dataclasses

    import pandas as pd

    from sim.optimize import Objective, near_ties

    setup = dataclasses.replace(uninterrupted.setup, objectives=[Objective("nrr", True)],
                                constraints=[parse_constraint("total_cost<=5.35M")])
    cand = pd.DataFrame({"candidate": [0, 1, 2], "source": ["trial 3", "trial 1", "trial 2"],
                         HEADCOUNT: [4, 5, 3], "chosen": [True, False, False]})
    comp = pd.DataFrame([{"candidate": c, "against": "best", "kpi": k, "diff_mean": m, "diff_ci_low": m - 0.001,
                          "diff_ci_high": m + 0.001}
                         for c, cost in ((1, 2e5), (2, -1e5)) for k, m in (("nrr", 0.0), ("total_cost", cost))])
    res = dataclasses.replace(uninterrupted, setup=setup, candidates=cand, comparisons=comp, delta=0.005)
    lines = near_ties(res)
    assert len(lines) == 1 and "trial 2" in lines[0] and "total_cost -$100.0K" in lines[0]
