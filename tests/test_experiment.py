"""Replications: determinism, common random numbers, conservation, statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.market import ENDOGENOUS_ID_BASE, INSTALLED_ID_BASE
from sim.stats import mean_ci, paired_differences
from sim.streams import Streams, replication_seed

from conftest import SCENARIOS

SHORT = ["simulation.horizon=200d", "simulation.warmup=30d"]
DESIGNS = [SCENARIOS / f"{n}.yaml" for n in ("siloed", "cross_functional", "ai_automated")]


def test_same_seed_same_numbers_whatever_the_number_of_jobs():
    one = sim.compare(DESIGNS[:2], reps=3, seed=11, jobs=1, overrides=SHORT)
    two = sim.compare(DESIGNS[:2], reps=3, seed=11, jobs=2, overrides=SHORT)
    pd.testing.assert_frame_equal(one.replications, two.replications)
    pd.testing.assert_frame_equal(one.summary, two.summary)
    pd.testing.assert_frame_equal(one.paired, two.paired)


def test_different_seeds_give_different_numbers():
    a = sim.run(DESIGNS[0], reps=2, seed=1, jobs=1, overrides=SHORT).replications
    b = sim.run(DESIGNS[0], reps=2, seed=2, jobs=1, overrides=SHORT).replications
    assert not a.buyers.equals(b.buyers)


def test_designs_in_a_replication_meet_the_same_market():
    seed = replication_seed(5, 0)
    # The market's buyers and the installed base; buyers the organization brings in itself
    # (referrals, outbound) depend on its work, and differ.
    worlds = [b[(b.id < ENDOGENOUS_ID_BASE) | (b.id >= INSTALLED_ID_BASE)].reset_index(drop=True)
              for b in (sim.simulate(sim.load_scenario(p, SHORT), seed).buyers for p in DESIGNS)]
    for other in worlds[1:]:
        for column in ("arrive_at", "channel", "segment", "acv", "fit"):
            assert worlds[0][column].equals(other[column])


def test_streams_are_independent_of_the_order_they_are_asked_for():
    a, b = Streams(3), Streams(3)
    x1 = a.rng("market.buyers").random(3)
    b.rng("pickup.sdr").random(100)
    assert np.array_equal(x1, b.rng("market.buyers").random(3))


@pytest.mark.parametrize("design", DESIGNS, ids=lambda p: p.stem)
def test_every_buyer_ends_in_exactly_one_state(design):
    res = sim.simulate(sim.load_scenario(design, SHORT), 4)
    b = res.buyers
    assert set(b.state) <= {"active", "churned", "lost", "in_flight"}
    installed = b.id >= INSTALLED_ID_BASE  # customers on contract at the start: they never arrive
    assert installed.any() and (b[installed].source == "installed").all()
    assert b.id.is_unique and (~installed).sum() == (res.events.event == "arrive").sum()
    lost = b[b.state == "lost"]
    assert (lost.reason != "").all() and (b[b.state != "lost"].reason == "").all()
    assert b[b.state.isin(["active", "churned"])].won_at.notna().all()
    assert b[b.state == "churned"].churned_at.notna().all()
    counts = res.events.event.value_counts()
    assert counts["won"] == b[~installed].won_at.notna().sum()
    assert counts.get("lost", 0) == len(lost)
    assert counts.get("churned", 0) == (b.state == "churned").sum()


def test_paired_difference_is_tighter_than_independent_runs():
    """Common random numbers: the market's noise is shared, so it cancels in the difference."""
    # Without an installed base, whose referrals would depend on each design's retention.
    res = sim.compare(DESIGNS[:2], reps=6, seed=3, jobs=2, overrides=[*SHORT, "market.installed_base.segments={}"])
    r = res.replications
    a, b = (r[r.scenario == n].set_index("replication") for n in ("siloed", "cross_functional"))
    # Who asks for contact is decided by the market alone: identical in both designs.
    assert (b.contacted - a.contacted).std() == 0 and a.contacted.std() > 0
    paired = (b.first_response_p50_hours - a.first_response_p50_hours).std()
    independent = np.sqrt(a.first_response_p50_hours.var() + b.first_response_p50_hours.var())
    assert paired < independent
    row = res.paired.set_index("kpi").loc["contacted"]
    assert row.diff_mean == row.diff_ci_low == row.diff_ci_high == 0


def test_mean_ci_matches_the_t_interval():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    mean, _low, high, n = mean_ci(x)
    assert (mean, n) == (2.5, 4)
    assert high - mean == pytest.approx(3.182446 * x.std(ddof=1) / 2, rel=1e-5)
    assert mean_ci(np.array([np.nan, 1.0]))[3] == 1


@pytest.mark.parametrize("n", [2, 3, 5, 10, 30, 200])
@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99, 0.9967])
def test_the_t_interval_is_scipy_stats_to_the_bit(n, level):
    """sim.stats takes Student-t's quantile from scipy.special (scipy.stats is slow to import);
    the intervals must not move by a bit."""
    from scipy import stats

    x = np.random.default_rng(n).normal(10.0, 3.0, n)
    mean, low, high, _n = mean_ci(x, level)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / np.sqrt(n)
    assert (low, high) == (mean - half, mean + half)


def test_paired_differences_pair_by_replication():
    reps = pd.DataFrame({"scenario": ["a", "a", "b", "b"], "replication": [0, 1, 0, 1],
                         "seed": [1, 2, 1, 2], "k": [1.0, 5.0, 2.0, 6.0]})
    out = paired_differences(reps, "a")
    row = out.iloc[0]
    assert (row.scenario, row.baseline, row.kpi, row.diff_mean, row.n) == ("b", "a", "k", 1.0, 2)
    assert row.diff_ci_low == row.diff_ci_high == 1.0  # the difference has no spread


def test_absurd_inputs_are_refused_with_an_estimate():
    scn = sim.load_scenario(DESIGNS[0], ["market.channels.search.rate_per_week=10000000"])
    with pytest.raises(sim.experiment.TooBigError, match="CPU-hours"):
        sim.run(scn, reps=2)


def test_a_replication_leaves_the_garbage_collector_as_it_found_it(monkeypatch):
    """simulate() defers full collections while it runs (sim/model.py), and only then."""
    import gc

    import sim.model

    scn = sim.load_scenario(SCENARIOS / "siloed.yaml", ["simulation.horizon=20d", "simulation.warmup=0d"])
    before = gc.get_threshold()
    seen = []
    real = sim.model._simulate

    def spy(*args):  # type: ignore[no-untyped-def]
        seen.append(gc.get_threshold())
        return real(*args)

    monkeypatch.setattr(sim.model, "_simulate", spy)
    sim.simulate(scn, 1)
    assert seen[0][:2] == before[:2] and seen[0][2] > 10**9
    assert gc.get_threshold() == before

    def boom(*args):  # type: ignore[no-untyped-def]
        raise RuntimeError("mid-run")

    monkeypatch.setattr(sim.model, "_simulate", boom)
    with pytest.raises(RuntimeError):
        sim.simulate(scn, 1)
    assert gc.get_threshold() == before


def test_a_buyer_reads_the_same_draws_from_its_chunk_or_from_its_own_row():
    """A buyer who keeps researching keeps only its row of the chunk's draws (Buyer.detach), and
    what it reads is what it would have read from the chunk: the same Python floats."""
    from sim.market import buyer_chunks, plan_for

    scn = sim.load_scenario(SCENARIOS / "siloed.yaml")
    plan = plan_for(scn)
    chunk = next(buyer_chunks(scn, Streams(7), plan))
    twin = next(buyer_chunks(scn, Streams(7), plan))
    for i in (0, 5, len(chunk) - 1):
        a, b = chunk[i], twin[i]
        table = a._draws.table  # type: ignore[union-attr]
        b.detach()
        assert b._draws is not None and b._draws.table.shape == (1, table.shape[1])
        assert b.work_at(1) == a.work_at(1)
        assert list(b.u) == table[i, :plan.n_early].tolist()  # the early uniforms, from the start
        a.engage()
        b.engage()
        read = [x for name in ("u", "z", "work", "deliberation") for x in getattr(a, name)]
        assert read == [x for name in ("u", "z", "work", "deliberation") for x in getattr(b, name)]
        assert read == table[i].tolist() and all(type(x) is float for x in read)
        assert list(a.u[:plan.n_early]) == list(twin[i].u[:plan.n_early])


def test_the_buyers_of_a_finished_replication_are_freed_without_a_full_collection():
    """Only the buyers still inside a SimPy process at the horizon wait for the collector; the
    rest go when simulate() returns (a reference cycle through the context kept them all:
    24,170 of 24,170 alive)."""
    import gc

    from sim.market import Buyer

    scn = sim.load_scenario(SCENARIOS / "siloed.yaml")  # three years: most buyers are done long before the end
    gc.collect()
    gc.disable()
    try:
        res = sim.simulate(scn, 1)
        alive = sum(isinstance(o, Buyer) for o in gc.get_objects())
    finally:
        gc.enable()
    # Still referenced at the horizon: buyers in the journey or customers (inside a SimPy
    # process) and the chunk being set on its way.
    held = res.buyers.state.isin(["in_flight", "active"]).sum() + 2048
    assert len(res.buyers) > 5 * held
    assert alive <= held
