"""The books balance on any valid scenario: properties checked with hypothesis.

Scenarios are drawn at random from the building blocks of the TINY scenario (conftest.py):
one or two segments, any subset of the journey's activities routed to one to four roles
(pooled or in teams, 24/7 or business hours, human or AI), handoffs, bridges, assists,
nurture, self-serve trials, outbound prospecting, renewals with churn and expansion. The
horizons are short (two to eight weeks), so one example runs in well under a second.

What must hold for every one of them:

- every buyer ends in exactly one state (active, churned, lost with a reason, in flight),
  consistent with the event log;
- times are non-negative and ordered: arrive_at <= contact_at <= first response <= won_at
  <= churned_at, lost_at after arrival and contact, every event of a buyer at or after their
  arrival;
- event times are <= the horizon, except ``start`` and ``end`` records, which the engine
  writes when work is *scheduled* and may therefore lie past the horizon; every such
  record belongs to a visit whose ``queue`` record is at or before the horizon. Each visit
  is ``queue`` <= ``start`` (value = the wait) <= ``end`` (value = occupied time), or
  ``queue`` <= ``renege`` (value = the wait), or still waiting at the horizon;
- utilization in [0, 1]; shares and probabilities in [0, 1]; churned <= won; ARR >= 0 and
  the ARR moves in the log add up to the active customers' ARR;
- the CI of every KPI contains its mean; people cost grows with headcount;
- the same seed gives the same events, buyers and KPIs.

Budget: a few dozen examples per property in CI; ``ORGSIM_HYPOTHESIS_EXAMPLES=500`` runs
that many per property. ``ORGSIM_HYPOTHESIS_RANDOM=1`` draws fresh examples instead of the
fixed (derandomized) sequence CI uses; ``ORGSIM_HYPOTHESIS_SHRINK=1`` shrinks a failing
scenario to a smaller one (slow: each step reruns the simulation).
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import sim
from sim.experiment import run_experiment
from sim.metrics import LOST_REASONS
from sim.schema import Scenario
from sim.stats import mean_ci, summarize

from conftest import TINY

STATES = {"active", "churned", "lost", "in_flight"}
#: Events written when work is scheduled: their time may lie past the horizon.
SCHEDULED = {"start", "end"}
EPS = 1e-9


def _budget(default: int) -> settings:
    examples = int(os.environ.get("ORGSIM_HYPOTHESIS_EXAMPLES", default))
    # Shrinking a failing scenario reruns dozens of simulations: on request only.
    phases = tuple(Phase) if os.environ.get("ORGSIM_HYPOTHESIS_SHRINK") else (Phase.explicit, Phase.generate)
    return settings(max_examples=examples, deadline=None, derandomize=not os.environ.get("ORGSIM_HYPOTHESIS_RANDOM"),
                    phases=phases, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ------------------------------------------------------------------------- scenarios

PROBABILITY = st.sampled_from([0.0, 0.05, 0.3, 0.5, 0.8, 1.0]) | st.floats(0.0, 1.0)
ROLE_NAMES = ("sdr", "ae", "csm", "bot")


def _days(draw: Any, low: float, high: float) -> float:
    return round(draw(st.floats(low, high)), 4)


def _dist(draw: Any, mean: float, allow_zero: bool = False) -> dict[str, Any]:
    """A positive duration or amount around ``mean``, in one of the distribution families."""
    kind = draw(st.sampled_from(["constant", "exponential", "lognormal", "uniform", "gamma"]))
    if kind == "constant":
        return {"dist": "constant", "value": 0.0 if allow_zero and draw(st.booleans()) else mean}
    if kind == "exponential":
        return {"dist": "exponential", "mean": mean}
    if kind == "lognormal":
        return {"dist": "lognormal", "mean": mean, "sd": mean * draw(st.sampled_from([0.1, 0.5, 1.0, 2.0]))}
    if kind == "gamma":
        return {"dist": "gamma", "mean": mean, "sd": mean * draw(st.sampled_from([0.3, 1.0]))}
    return {"dist": "uniform", "low": 0.0, "high": 2 * mean}


def _segment(draw: Any, share: float, stages: list[str], horizon: float) -> dict[str, Any]:
    return {
        "share": share,
        "acv": draw(st.sampled_from([
            {"dist": "constant", "value": 10000},
            {"dist": "lognormal", "mean": 30000, "sd": 15000},
            {"dist": "empirical", "values": [5000, 50000, 250000], "weights": [6, 3, 1]},
        ])),
        "fit": draw(st.sampled_from([
            {"dist": "constant", "value": 0.5},
            {"dist": "beta", "mean": 0.5, "sd": 0.2},
            {"dist": "uniform", "low": 0.0, "high": 1.0},
            {"dist": "triangular", "low": 0.0, "mode": 0.7, "high": 1.0},
        ])),
        "contact_probability": draw(PROBABILITY),
        "keep_researching_probability": draw(PROBABILITY),
        "rep_free_preference": draw(PROBABILITY),
        "automation_aversion": draw(PROBABILITY),
        "patience": _dist(draw, _days(draw, 0.01, 10.0)),
        "research_time": _dist(draw, _days(draw, 0.01, 5.0), allow_zero=True),
        "stage_conversion": {s: draw(PROBABILITY) for s in stages},
        "no_decision_share": draw(PROBABILITY),
        "deliberation_scale": draw(st.sampled_from([0.5, 1.0, 3.0])),
        "work_scale": draw(st.sampled_from([0.5, 1.0, 2.5])),
        "time_to_value": _dist(draw, _days(draw, 0.5, 10.0)),
        "ttv_target": _days(draw, 0.5, 10.0),
        # Short terms, so that renewals, churn and expansion happen inside the horizon.
        "contract_term": _days(draw, 2.0, horizon),
        "base_churn_annual": draw(PROBABILITY),
        "expansion_probability": draw(PROBABILITY),
        "expansion_uplift": draw(st.sampled_from([0.0, 0.2, 1.0])),
        "gross_margin": draw(PROBABILITY),
    }


@st.composite
def scenario_trees(draw: Any) -> dict[str, Any]:
    """A valid scenario as a plain tree (what a YAML file holds)."""
    tree = copy.deepcopy(TINY)
    horizon = float(draw(st.integers(14, 56)))
    warmup = draw(st.sampled_from([0.0, 0.0, round(horizon / 4, 2), round(horizon / 2, 2)]))
    tree["simulation"] = {"horizon": horizon, "warmup": warmup, "reps": 2, "seed": draw(st.integers(0, 2**32))}

    # The journey: first response, then any of a gate, two stages and a close, in order.
    acquisition = (["score"] if draw(st.booleans()) else []) + ["first_response"]
    acquisition += [a for a in ("qualify", "discovery", "demo", "close") if draw(st.booleans())]
    retention = [a for a in ("onboarding", "checkin", "renewal", "expansion") if draw(st.booleans())]
    if "checkin" in retention and "renewal" not in retention:
        retention.insert(retention.index("checkin") + 1, "renewal")  # check-ins run within a term
    nurture = draw(st.booleans())
    activities: dict[str, Any] = {
        "score": {"kind": "gate", "work": _dist(draw, 0.005), "threshold": draw(PROBABILITY)},
        "first_response": {"kind": "contact", "work": _dist(draw, _days(draw, 0.005, 0.2))},
        "qualify": {"kind": "gate", "work": _dist(draw, 0.02), "threshold": draw(PROBABILITY),
                    "deliberation": _dist(draw, 1.0)},
        "discovery": {"kind": "stage", "work": _dist(draw, 0.05)},
        "demo": {"kind": "stage", "work": _dist(draw, _days(draw, 0.01, 3.0)),
                 "deliberation": _dist(draw, _days(draw, 0.1, 5.0), allow_zero=True)},
        "close": {"kind": "close", "work": _dist(draw, 0.1)},
        "onboarding": {"kind": "onboarding", "work": _dist(draw, _days(draw, 0.05, 2.0))},
        "checkin": {"kind": "checkin", "work": _dist(draw, 0.05)},
        "renewal": {"kind": "renewal", "work": _dist(draw, 0.1)},
        "expansion": {"kind": "expansion", "work": _dist(draw, 0.1)},
        "nurture": {"kind": "nurture", "work": _dist(draw, 0.01)},
    }
    used = acquisition + retention + (["nurture"] if nurture else [])
    stages = [a for a in acquisition if activities[a]["kind"] in ("stage", "close")]

    two_segments = draw(st.booleans())
    shares = draw(st.sampled_from([(0.5, 0.5), (0.25, 0.75), (0.9, 0.1)])) if two_segments else (1.0,)
    names = ["smb", "ent"][: len(shares)]
    segments = {n: _segment(draw, s, stages, horizon) for n, s in zip(names, shares)}

    channels: dict[str, Any] = {"web": {"rate_per_week": draw(st.sampled_from([0, 5, 40, 120]) | st.floats(0, 150))}}
    if draw(st.booleans()):
        times = draw(st.lists(st.floats(0, horizon * 1.2), max_size=30))
        channels["event"] = {"rate_per_week": 0, "arrivals_at": [round(t, 3) for t in times]}
        if two_segments:
            channels["event"]["segment_tilt"] = {"smb": 0.0, "ent": 1.0}

    n_roles = draw(st.integers(1, len(ROLE_NAMES)))
    role_names = list(ROLE_NAMES[:n_roles])
    roles = {}
    for name in role_names:
        headcount = draw(st.integers(1, 4))
        role: dict[str, Any] = {
            "headcount": headcount,
            "kind": draw(st.sampled_from(["human", "ai"])),
            "calendar": draw(st.sampled_from(["always", "business_hours", "weekend"])),
            "loaded_cost_annual": draw(st.sampled_from([0.0, 100000.0, 231234.5])),
            "cost_per_task": draw(st.sampled_from([0.0, 0.5])),
            "productive_share": draw(st.sampled_from([0.1, 0.35, 0.6, 1.0])),
            "generalist": draw(st.booleans()),
            "judgement_noise": draw(st.sampled_from([0.0, 0.15, 1.0])),
            "teams": draw(st.integers(1, headcount)),
            "team": draw(st.sampled_from([None, "unit_a", "unit_b"])),
            "discipline": draw(st.sampled_from(["fifo", "fifo", "predicted_value"])),
            "scoring_accuracy": draw(PROBABILITY),
            "prospecting_share": draw(st.sampled_from([0.0, 0.0, 0.0, 0.3])),
        }
        if draw(st.booleans()):
            role["pickup_delay"] = _dist(draw, _days(draw, 0.01, 1.0))
        roles[name] = role

    def route() -> Any:
        if two_segments and draw(st.booleans()):
            return {seg: draw(st.sampled_from(role_names)) for seg in names}
        return draw(st.sampled_from(role_names))

    tree["roles"] = roles
    tree["routing"] = {a: route() for a in used}
    if draw(st.booleans()):
        tree["assists"] = {draw(st.sampled_from(acquisition)): draw(st.sampled_from(role_names))}
    if draw(st.booleans()):
        tree["bridges"] = [{"sender": draw(st.sampled_from(role_names)), "receiver": draw(st.sampled_from(role_names)),
                            "context_loss_factor": draw(PROBABILITY), "sender_work": _days(draw, 0.0, 0.1)}]
    tree["calendars"] = {"business_hours": {"days": ["mon", "tue", "wed", "thu", "fri"], "open": "9h", "close": "17h"},
                         "weekend": {"days": ["sat", "sun"], "open": "10h", "close": "14h"}}
    tree["data_integration"] = draw(PROBABILITY)
    tree["kpi_alignment"] = draw(st.sampled_from(["team_targets", "north_star"]))
    tree["north_star"] = draw(st.sampled_from(["ltv_to_cac", "conversion_rate", "nrr"]))
    tree["community_participation"] = draw(PROBABILITY)
    if draw(st.booleans()):
        tree["self_serve"] = {"trial_probability": draw(PROBABILITY), "trial_length": _days(draw, 1.0, 14.0),
                              "activation_probability": draw(PROBABILITY), "paid_if_activated": draw(PROBABILITY),
                              "paid_if_not_activated": draw(PROBABILITY),
                              "pql_acv_threshold": draw(st.sampled_from([0, 20000, 1e9])),
                              "pql_entry": draw(st.sampled_from(acquisition))}
    tree["market"] = {
        "channels": channels,
        "segments": segments,
        "activities": {a: activities[a] for a in used},
        "journey": {"acquisition": acquisition, "retention": retention,
                    "checkin_interval": _days(draw, 1.0, 10.0), "checkin_sla": _days(draw, 0.1, 5.0),
                    "max_nurture_rounds": draw(st.integers(0, 2))},
        "effects": {
            "lead_decay": {"half_life": _days(draw, 0.01, 2.0), "floor": draw(PROBABILITY)},
            "context_loss_probability": draw(PROBABILITY),
            "context_loss_conversion_factor": draw(PROBABILITY),
            "context_loss_rework_fraction": draw(st.sampled_from([0.0, 0.5, 2.0])),
            "first_response_handoff_drop": draw(PROBABILITY),
            "fit_elasticity": draw(st.sampled_from([0.0, 1.0, 3.0])),
            "nurture_contact_uplift": draw(st.sampled_from([1.0, 1.5, 10.0])),
            "generalist_slowdown": draw(st.sampled_from([1.0, 1.15, 2.0])),
        },
        "outbound": {"target_accounts": draw(st.sampled_from([0, 50, 500])),
                     "meeting_probability": draw(PROBABILITY), "work_per_attempt": "15min"},
        "referrals": {"probability_per_renewal": draw(PROBABILITY)},
        "marketing_program_cost_annual": draw(st.sampled_from([0.0, 1e6])),
        "buyer_hours": {"days": ["mon", "tue", "wed", "thu", "fri"], "open": "8h", "close": "18h"},
        "contact_in_buyer_hours": draw(PROBABILITY),
    }
    return tree


def _load(tree: dict[str, Any], tmp: Path) -> Scenario:
    """Through the YAML file and ``load_scenario``, as a user's scenario goes."""
    path = tmp / "scenario.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return sim.load_scenario(path)


#: A job that starts before the warmup and ends inside the measured window (a 19-day demo,
#: window [10, 20)): its occupied time must not be counted as if it all fell in the window.
LONG_JOB_ACROSS_WARMUP: dict[str, Any] = copy.deepcopy(TINY)
LONG_JOB_ACROSS_WARMUP["simulation"].update(horizon=20, warmup=10)
LONG_JOB_ACROSS_WARMUP["market"]["channels"]["web"]["arrivals_at"] = [0]
LONG_JOB_ACROSS_WARMUP["market"]["activities"]["demo"]["work"] = {"dist": "constant", "value": 19}
for _role in LONG_JOB_ACROSS_WARMUP["roles"].values():
    _role["calendar"] = "always"


# ------------------------------------------------------------------------- checks


def check_buyers(res: sim.SimResult) -> None:
    """Every buyer in exactly one state, consistent with the log; times ordered."""
    b, ev = res.buyers, res.events
    horizon = res.scenario.simulation.horizon
    assert b.id.is_unique
    assert set(b.state) <= STATES, set(b.state) - STATES
    arrived = ev[ev.event == "arrive"]
    assert arrived.buyer.is_unique and set(arrived.buyer) == set(b.id)
    lost, won = b.state == "lost", b.won_at.notna()
    # lost <=> a reason, known to the KPIs (a reason they do not know would vanish from them)
    assert (b.reason[lost] != "").all() and (b.reason[~lost] == "").all()
    assert set(b.reason[lost]) <= set(LOST_REASONS), set(b.reason[lost]) - set(LOST_REASONS)
    assert b.lost_at[lost].notna().all() and b.lost_at[~lost].isna().all()
    # won <=> active or churned; churned <=> churned_at
    assert (won == b.state.isin(["active", "churned"])).all()
    assert ((b.state == "churned") == b.churned_at.notna()).all()
    assert (b.state == "churned").sum() <= won.sum()
    counts = ev.event.value_counts()
    assert counts.get("won", 0) == won.sum()
    assert counts.get("lost", 0) == lost.sum()
    assert counts.get("churned", 0) == (b.state == "churned").sum()
    # times: arrive_at <= contact_at <= won_at <= churned_at <= horizon
    assert (b.arrive_at >= 0).all() and (b.arrive_at <= horizon).all()
    for earlier, later in (("arrive_at", "contact_at"), ("arrive_at", "won_at"), ("contact_at", "won_at"),
                           ("won_at", "churned_at"), ("arrive_at", "lost_at"), ("contact_at", "lost_at")):
        both = b[earlier].notna() & b[later].notna()
        bad = b[both & (b[later] < b[earlier] - EPS)]
        assert bad.empty, f"{later} before {earlier}:\n{bad[['id', earlier, later]]}"
    for column in ("contact_at", "won_at", "churned_at", "lost_at"):
        assert (b[column].dropna() <= horizon + EPS).all(), column
    answered = b.first_response_wait.notna()
    assert (b.first_response_wait[answered] >= 0).all()
    responded_at = b.contact_at + b.first_response_wait
    assert (responded_at[answered] <= horizon + EPS).all()
    # ... and a first response comes before the signature
    assert (responded_at[answered & won] <= b.won_at[answered & won] + EPS).all()
    onboarded = b.ttv.notna()
    assert (b.ttv[onboarded] >= 0).all() and (b.won_at[onboarded] + b.ttv[onboarded] <= horizon + EPS).all()
    # money and counters
    assert (b.arr >= 0).all() and (b.arr[~won] == 0).all()
    assert (b.arr[won] >= b.acv[won] - 1e-6).all()  # expansions only add
    assert ((b.handoffs >= b.context_losses) & (b.context_losses >= 0)).all()


def check_events(res: sim.SimResult) -> None:
    """Event times, and each visit to a role: queue <= start <= end, or queue <= renege."""
    ev, b = res.events, res.buyers
    horizon = res.scenario.simulation.horizon
    assert (ev.time >= 0).all()
    assert ev.time.is_monotonic_increasing
    late = ev[~ev.event.isin(SCHEDULED) & (ev.time > horizon + EPS)]
    assert late.empty, f"events after the horizon:\n{late}"
    arrival = b.set_index("id").arrive_at
    before = ev[ev.time < ev.buyer.map(arrival) - EPS]
    assert before.empty, f"events before the buyer arrived:\n{before}"

    visits = ev[ev.event.isin(["queue", "start", "end", "renege"])].copy()
    visits["key"] = list(zip(visits.buyer, visits.role.astype(str), visits.activity.astype(str)))
    queue = visits[visits.event == "queue"].assign(k=lambda d: d.groupby("key").cumcount())
    left = visits[visits.event.isin(["start", "renege"])].assign(k=lambda d: d.groupby("key").cumcount())
    end = visits[visits.event == "end"].assign(k=lambda d: d.groupby("key").cumcount())
    pairs = queue.merge(left, on=["key", "k"], how="left", suffixes=("_q", "_l"))
    # At most the last visit of a key is still waiting at the horizon, unanswered.
    waiting = pairs[pairs.event_l.isna()]
    assert (waiting.time_q <= horizon + EPS).all()
    last_k = queue.groupby("key").k.max()
    assert (waiting.k.to_numpy() == waiting.key.map(last_k).to_numpy()).all(), "a visit was never answered"
    assert len(left) == len(pairs) - len(waiting), "a start or renege without its queue"
    served = pairs.dropna(subset=["event_l"])
    assert (served.time_q <= horizon + EPS).all(), "work queued after the horizon"
    assert (served.time_l >= served.time_q - EPS).all(), "started or left before queueing"
    assert np.allclose(served.value_l, served.time_l - served.time_q, atol=1e-7), "the wait is not start - queue"
    started = served[served.event_l == "start"]
    assert len(end) == len(started), "every start has its end"
    # the j-th start of a key goes with its j-th end
    started = started.assign(j=started.groupby("key").cumcount())
    ends = end.assign(j=end.groupby("key").cumcount())[["key", "j", "time", "value"]]
    done = started.merge(ends.rename(columns={"time": "time_e", "value": "value_e"}), on=["key", "j"])
    assert len(done) == len(started)
    assert (done.time_e >= done.time_l - EPS).all(), "ended before it started"
    assert (done.value_e >= 0).all()
    # Working time fits in the elapsed time (a calendar may stretch it, never shrink it).
    assert (done.time_e - done.time_l >= done.value_e - 1e-7).all(), "more work than elapsed time"
    renege = served[served.event_l == "renege"]
    assert (renege.time_l <= horizon + EPS).all()


def check_kpis(res: sim.SimResult, kpis: dict[str, float]) -> None:
    """Shares in [0, 1], utilization in [0, 1], money >= 0, the funnel balances."""
    scn = res.scenario

    def finite_or_nan(name: str) -> float:
        x = kpis[name]
        assert math.isnan(x) or math.isfinite(x), f"{name} = {x}"
        return x

    shares = ["conversion_rate", "win_rate", "in_flight_share", "answered_within_1h_share", "never_answered_share",
              "logo_churn_annual", "onboarding_completion", "at_risk_share"]
    shares += [k for k in kpis if k.startswith(("source_share.", "won_share.", "utilization."))]
    for name in shares:
        x = finite_or_nan(name)
        assert math.isnan(x) or -EPS <= x <= 1 + EPS, f"{name} = {x} is not in [0, 1]"
    for name in ("arr_end", "new_arr_annual", "people_cost", "ai_cost", "marketing_cost", "total_cost",
                 "buyers", "contacted", "won", "new_customers", "expansion_rate_annual"):
        x = finite_or_nan(name)
        assert math.isnan(x) or x >= 0, f"{name} = {x} < 0"
    for name in [k for k in kpis if k.startswith("queue_wait_mean_hours.")] + [
            "first_response_p50_hours", "sales_cycle_p50_days", "time_to_value_p50_days"]:
        x = finite_or_nan(name)
        assert math.isnan(x) or x >= 0, f"{name} = {x} < 0"
    if kpis["first_response_p50_hours"] == kpis["first_response_p50_hours"]:
        assert kpis["first_response_p50_hours"] <= kpis["first_response_p90_hours"] + EPS
    assert math.isnan(kpis["grr"]) or kpis["grr"] <= 1 + EPS
    assert math.isnan(kpis["nrr"]) or kpis["nrr"] >= kpis["grr"] - EPS
    people = sum(r.headcount * r.loaded_cost_annual for r in scn.roles.values())
    assert kpis["people_cost"] == pytest.approx(people)
    assert kpis["total_cost"] == pytest.approx(kpis["people_cost"] + kpis["ai_cost"] + kpis["marketing_cost"])
    # Every cohort buyer is won, lost for a reason, or still in flight.
    lost = sum(kpis[f"lost.{r}"] for r in LOST_REASONS)
    in_flight = round(kpis["in_flight_share"] * kpis["buyers"]) if kpis["buyers"] else 0
    assert kpis["won"] + lost + in_flight == kpis["buyers"]
    assert kpis["contacted"] <= kpis["buyers"] and kpis["won"] <= kpis["buyers"]


def check_arr(res: sim.SimResult, measured: Any) -> None:
    """ARR >= 0 at every month end; the log's ARR moves add up to the active customers' ARR."""
    ev, b = res.events, res.buyers
    sign = {"won": 1.0, "expanded": 1.0, "churned": -1.0}
    moves = ev[ev.event.isin(list(sign))]
    total = float((moves.value * moves.event.astype(str).map(sign)).sum())
    active = float(b.arr[b.state == "active"].sum())
    assert total == pytest.approx(active, rel=1e-9, abs=1e-6)
    assert measured.kpis["arr_end"] == pytest.approx(active)
    scale = max(1.0, float(b.arr.sum()))
    assert (measured.arr_by_month >= -1e-9 * scale).all(), measured.arr_by_month
    surv = measured.survival[~np.isnan(measured.survival)]
    assert ((surv >= 0) & (surv <= 1 + EPS)).all() and (np.diff(surv) <= EPS).all()


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


# ------------------------------------------------------------------------- properties


@_budget(60)
@given(tree=scenario_trees(), seed=st.integers(0, 2**63 - 1))
def test_the_books_balance_on_any_valid_scenario(tree, seed, tmp_path_factory):
    scn = _load(tree, tmp_path_factory.mktemp("scn"))
    res = sim.simulate(scn, seed)
    measured = sim.measure(res)
    check_buyers(res)
    check_events(res)
    check_kpis(res, measured.kpis)
    check_arr(res, measured)
    # the same seed, the same world
    again = sim.simulate(scn, seed)
    pd.testing.assert_frame_equal(res.events, again.events)
    pd.testing.assert_frame_equal(res.buyers, again.buyers)
    assert _same(measured.kpis, sim.measure(again).kpis)


def test_utilization_counts_only_the_work_done_inside_the_window(tmp_path):
    """One 19-day job from day 0 to day 19, measured over [10, 20): the role was busy 9 of
    the window's 10 days, so its utilization is 0.9, and never more than 1."""
    scn = _load(LONG_JOB_ACROSS_WARMUP, tmp_path)
    res = sim.simulate(scn, 1)
    kpis = sim.measure(res).kpis
    assert kpis["utilization.ae"] <= 1.0
    assert kpis["utilization.ae"] == pytest.approx(0.9, abs=0.01)


@_budget(15)
@given(tree=scenario_trees(), role=st.sampled_from(ROLE_NAMES), extra=st.integers(1, 5),
       seed=st.integers(0, 2**32))
def test_people_cost_grows_with_headcount(tree, role, extra, seed, tmp_path_factory):
    if role not in tree["roles"]:
        role = next(iter(tree["roles"]))
    tree["roles"][role]["loaded_cost_annual"] = 120000.0
    tmp = tmp_path_factory.mktemp("scn")
    small = _load(tree, tmp)
    tree["roles"][role]["headcount"] += extra
    big = _load(tree, tmp)
    a = sim.measure(sim.simulate(small, seed)).kpis
    b = sim.measure(sim.simulate(big, seed)).kpis
    assert b["people_cost"] - a["people_cost"] == pytest.approx(extra * 120000.0)
    assert b["people_cost"] > a["people_cost"]


@_budget(15)
@given(tree=scenario_trees(), reps=st.integers(2, 4))
def test_every_confidence_interval_contains_its_mean(tree, reps, tmp_path_factory):
    scn = _load(tree, tmp_path_factory.mktemp("scn"))
    results = run_experiment([scn], reps=reps, jobs=1)
    s = results.summary
    assert len(results.replications) == reps
    finite = s.ci_low.notna()
    assert (s.ci_low[finite] <= s["mean"][finite] + EPS * s["mean"][finite].abs().clip(lower=1)).all()
    assert (s["mean"][finite] <= s.ci_high[finite] + EPS * s["mean"][finite].abs().clip(lower=1)).all()
    # An interval is missing only when fewer than two replications give a finite value.
    assert (s.n[~finite] < 2).all() and (s.n[finite] >= 2).all()


KPI_VALUES = arrays(np.float64, st.integers(0, 12),
                    elements=st.floats(-1e9, 1e9) | st.sampled_from([np.nan, np.inf, -np.inf, 0.0]))


@_budget(300)
@given(values=KPI_VALUES, level=st.sampled_from([0.5, 0.9, 0.95, 0.99]))
def test_mean_ci_contains_the_mean_of_the_finite_values(values, level):
    mean, low, high, n = mean_ci(values, level)
    finite = values[np.isfinite(values)]
    assert n == len(finite)
    if n == 0:
        assert math.isnan(mean) and math.isnan(low) and math.isnan(high)
        return
    assert mean == pytest.approx(float(finite.mean()))
    if n == 1:
        assert math.isnan(low) and math.isnan(high)
        return
    assert low <= mean <= high
    assert high - mean == pytest.approx(mean - low, rel=1e-9, abs=1e-6)


@_budget(100)
@given(values=arrays(np.float64, st.integers(2, 8), elements=st.floats(-1e6, 1e6)))
def test_summarize_keeps_each_scenario_apart_and_brackets_the_mean(values):
    reps = pd.DataFrame({"scenario": ["a"] * len(values) + ["b"] * len(values),
                         "replication": list(range(len(values))) * 2, "seed": 0,
                         "k": np.concatenate([values, values + 1.0])})
    s = summarize(reps).set_index("scenario")
    assert s.loc["b", "mean"] == pytest.approx(s.loc["a", "mean"] + 1.0, abs=1e-6)
    for name in ("a", "b"):
        row = s.loc[name]
        assert row.ci_low <= row["mean"] <= row.ci_high and row.n == len(values)


def test_a_rate_too_small_for_its_mean_gap_to_be_a_float_brings_no_buyer_and_no_warning():
    """1e-310 buyers a week is valid (>= 0) but 1 / rate overflows: the market must still work."""
    quiet = [f"market.channels.{c}.rate_per_week=0" for c in ("social", "community", "events", "partners")]
    scn = sim.load_scenario(str(Path(__file__).parents[1] / "scenarios/siloed.yaml"),
                            [*quiet, "market.channels.search.rate_per_week=1e-310", "simulation.horizon=60d",
                             "simulation.warmup=0d"])
    res = sim.simulate(scn, seed=3)
    assert (res.buyers["channel"] == "search").sum() == 0
