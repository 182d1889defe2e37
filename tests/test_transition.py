"""The reorganization (sim.transition): a run that starts as one design and becomes another."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.locale import catalogue
from sim.metrics import measure
from sim.report.charts import close_charts
from sim.report.folder import read_folder
from sim.report.over_time import over_time_chart
from sim.scenario import load_scenario
from sim.timeline import MONTH, monthly
from sim.transition import moved_in

from conftest import ROOT

H = 1 / 24
#: Tuesday 10:19 (time 0 is Monday 00:00; business hours 9h-17h).
T = 1.43
#: Before: an SDR answers and an AE demos. After: one pod person does both.
BEFORE = {"name": "specialists"}
AFTER = {"name": "pod", "roles": {"pod": {"headcount": 1}}, "routing": {"first_response": "pod", "demo": "pod"}}


def _pair(write_scenario, **transition):
    """The design before and the reorganization into one pod, three buyers arriving just before ``T``."""
    arrivals = {"market.channels.web.arrivals_at": [1.40, 1.41, 1.42], "simulation.horizon": "2w"}
    before = write_scenario({**arrivals, **BEFORE}, name="before.yaml")
    after = write_scenario({**arrivals, **AFTER, "transition": {"from_design": "before.yaml", "at": T, **transition}},
                           name="after.yaml")
    return before, after


def _log(path, kinds=("queue", "start", "end", "reassign", "handoff")):
    ev = sim.simulate(load_scenario(path), 1).events
    ev = ev[ev.event.isin(kinds)]
    return [(round(t, 6), int(b), e, str(r), str(a)) for t, b, e, r, a in
            zip(ev.time, ev.buyer, ev.event, ev.role, ev.activity)]


def test_waiting_work_moves_to_the_new_role_and_every_buyer_meets_it_as_a_handoff(write_scenario):
    _, after = _pair(write_scenario, reramp_start=1.0)
    log = sorted(_log(after), key=lambda e: (e[0], e[1]))
    r = lambda t: round(t, 6)  # noqa: E731
    # The SDR answers buyer 0 from 1.40 to 1.40 + 1h (after the switch: the job in hand is
    # finished); buyers 1 and 2 wait for the SDR, and at the switch their work goes to the pod
    # (reassign, then queue there), which answers them in order. The AE has nothing and leaves.
    # Each buyer's next activity (the demo) is with the pod: a handoff from the SDR.
    expected = [
        (r(1.40), 0, "queue", "sdr", "first_response"), (r(1.40), 0, "start", "sdr", "first_response"),
        (r(1.41), 1, "queue", "sdr", "first_response"), (r(1.42), 2, "queue", "sdr", "first_response"),
        (r(T), 1, "reassign", "sdr", "first_response"), (r(T), 1, "queue", "pod", "first_response"),
        (r(T), 1, "start", "pod", "first_response"),
        (r(T), 2, "reassign", "sdr", "first_response"), (r(T), 2, "queue", "pod", "first_response"),
        (r(1.40 + H), 0, "end", "sdr", "first_response"),
        (r(1.40 + H), 0, "handoff", "pod", "demo"), (r(1.40 + H), 0, "queue", "pod", "demo"),
        (r(T + H), 1, "end", "pod", "first_response"), (r(T + H), 1, "handoff", "pod", "demo"),
        (r(T + H), 1, "queue", "pod", "demo"), (r(T + H), 2, "start", "pod", "first_response"),
        (r(T + 2 * H), 0, "start", "pod", "demo"), (r(T + 2 * H), 2, "end", "pod", "first_response"),
        (r(T + 2 * H), 2, "handoff", "pod", "demo"), (r(T + 2 * H), 2, "queue", "pod", "demo"),
        (r(T + 4 * H), 0, "end", "pod", "demo"), (r(T + 4 * H), 1, "start", "pod", "demo"),
        (r(T + 6 * H), 1, "end", "pod", "demo"), (r(T + 6 * H), 2, "start", "pod", "demo"),
        # 41 minutes left on Tuesday (to 17h), the rest from Wednesday 9h.
        (r(2 + 9 / 24 + (2 * H - (17 / 24 - (T + 6 * H - 1)))), 2, "end", "pod", "demo"),
    ]
    assert log == sorted(expected, key=lambda e: (e[0], e[1]))


def test_a_moved_person_re_ramps_from_reramp_start(write_scenario):
    # At 0.5 productivity on the day of the switch, an hour of work takes two.
    _, after = _pair(write_scenario, reramp_start=0.5, reramp_time="30d")
    log = _log(after, kinds=("start", "end"))
    start = next(e for e in log if e[1:] == (1, "start", "pod", "first_response"))[0]
    end = next(e for e in log if e[1:] == (1, "end", "pod", "first_response"))[0]
    assert start == pytest.approx(T)
    assert end - start == pytest.approx(2 * H, abs=1e-6)
    res = sim.simulate(load_scenario(after), 1)
    pod = res.staff[res.staff.role == "pod"].iloc[0]
    assert (pod.joined, pod.ramp_time, pod.ramp_start) == (pytest.approx(T), 30.0, 0.5)


def test_the_people_who_leave_move_to_the_roles_that_grow_and_the_rest_is_hired(write_scenario):
    # Two specialists leave at the switch; a pod of three takes both, and hires one.
    _pair(write_scenario, reramp_start=0.5)
    path = write_scenario({**AFTER, "roles": {"pod": {"headcount": 3}},
                           "transition": {"from_design": "before.yaml", "at": T, "reramp_start": 0.5}}, name="big.yaml")
    scn = load_scenario(path)
    assert moved_in(scn.roles, T) == {"pod": 2}
    staff = sim.simulate(scn, 1).staff
    pod = staff[staff.role == "pod"]
    assert sorted(pod.ramp_start) == [0.25, 0.5, 0.5]  # the hire ramps from roles.pod.ramp_start
    left = staff[staff.role != "pod"]
    assert set(left.role) == {"sdr", "ae"} and (left.left >= T).all() and np.isfinite(left.left).all()


def test_until_the_switch_the_run_is_the_design_before_event_for_event():
    # Common random numbers and one engine for both: the reorganization changes nothing
    # before its date (the static queues of siloed and the staffed ones of the combined
    # design give the same log), so the paired difference before it is exactly 0.
    before = load_scenario(ROOT / "scenarios" / "siloed.yaml", ["simulation.horizon=8mo"])
    for name in ("reorg_to_pods", "reorg_to_ai"):
        after = load_scenario(ROOT / "scenarios" / "over_time" / f"{name}.yaml", ["simulation.horizon=8mo"])
        at = after.transition.at
        a, b = (sim.simulate(s, 3).events for s in (before, after))
        a, b = (e[e.time < at].reset_index(drop=True) for e in (a, b))
        assert len(a) > 10_000
        assert a.astype(str).equals(b.astype(str)), name


@pytest.fixture(scope="module")
def pods():
    scn = load_scenario(ROOT / "scenarios" / "over_time" / "reorg_to_pods.yaml", ["simulation.horizon=9mo"])
    return scn, sim.simulate(scn, 5)


def test_every_account_is_handed_to_its_pod_at_the_switch(pods):
    scn, res = pods
    at = scn.transition.at
    b, ev = res.buyers, res.events
    active = set(b.id[(b.won_at < at) & ~(b.churned_at <= at)])
    assert len(active) > 300
    handed = ev[(ev.time == at) & (ev.event == "handoff")]
    assert set(handed.buyer) == active and len(handed) == len(active)
    assert set(handed.role) == {"account_team"}
    lost = ev[(ev.time == at) & (ev.event == "context_loss")]
    # Each handover loses context with the handoff's probability (no data integration in pods).
    p = scn.market.effects.context_loss_probability
    n = len(active)
    assert abs(len(lost) - n * p) < 4 * math.sqrt(n * p * (1 - p))


def test_no_specialist_takes_new_work_after_the_switch(pods):
    scn, res = pods
    at = scn.transition.at
    ev = res.events
    old = ev[ev.role.isin(["inside_sales", "field_sales", "customer_success"]) & (ev.time > at)]
    # Only the jobs in hand finish (and what follows from them at once: a pass, a renewal or a
    # churn); work that reaches them later (after its pickup delay) is sent on to the pod.
    assert set(old.event) <= {"end", "pass", "renewed", "churned", "expanded", "reassign"}, set(old.event)
    queued = ev[(ev.event == "queue") & (ev.role == "account_team")]
    sent = {(t, b, a) for t, b, a in zip(queued.time, queued.buyer, queued.activity)}
    moved_work = ev[(ev.event == "reassign") & (ev.time >= at)]
    assert len(moved_work) > 0
    assert all((t, b, a) in sent for t, b, a in zip(moved_work.time, moved_work.buyer, moved_work.activity))
    staff = res.staff
    for role in ("inside_sales", "field_sales", "customer_success"):
        people = staff[staff.role == role]
        assert (people.left >= at).all() and (people.left <= at + 30).all()
    moved = staff[(staff.role == "account_team") & (staff.joined == at)]
    assert len(moved) == 20 and (moved.ramp_start == scn.transition.reramp_start).all()


def test_the_reorganization_costs_its_one_off_cost_in_its_month_and_in_total_cost(pods):
    scn, res = pods
    cost = scn.transition.one_off_cost
    tl = monthly(res)
    month = tl[(tl.start <= scn.transition.at) & (tl.start + tl.days > scn.transition.at)]
    assert len(month) == 1 and month.reorg_cost.iloc[0] == cost == tl.reorg_cost.sum()
    assert (tl.cost - tl.people_cost - tl.ai_cost - tl.marketing_cost - tl.reorg_cost).abs().max() < 1e-6
    k = measure(res).kpis
    years = (scn.simulation.horizon - scn.simulation.warmup) / 365
    assert k["reorg_cost"] == pytest.approx(cost / years)
    assert k["total_cost"] == pytest.approx(k["people_cost"] + k["ai_cost"] + k["marketing_cost"] + cost / years)


def test_a_role_that_opens_at_the_switch_costs_its_platform_from_then_on():
    scn = load_scenario(ROOT / "scenarios" / "over_time" / "reorg_to_ai.yaml", ["simulation.horizon=9mo"])
    tl = monthly(sim.simulate(scn, 2))
    at = scn.transition.at
    agent = scn.roles["ai_agent"]
    before = tl[tl.start + tl.days <= at]
    after = tl[tl.start >= at]
    assert (before.ai_cost == 0).all() and (before["heads.ai_agent"] == 0).all()
    fixed = (agent.platform_cost_annual + agent.operations_cost_annual) * after.days / 365
    assert (after.ai_cost >= fixed - 1e-6).all()


def test_compare_prints_the_payback_and_the_chart_marks_the_switch(write_scenario, tmp_path, capsys):
    before, after = _pair(write_scenario)
    out = tmp_path / "out"
    assert main(["compare", str(before), str(after), "--reps", "2", "--jobs", "1", "--quiet", "--no-charts",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "payback against specialists" in printed and "\n  pod: " in printed
    (folder,) = out.iterdir()
    timeline = pd.read_csv(folder / "timeline.csv")
    assert timeline[timeline.scenario == "pod"].reorg_cost.sum() == 0  # none stated
    chart = over_time_chart(read_folder(folder), catalogue("en"))
    assert chart is not None
    dotted = [line for ax in chart.fig.axes for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert len(dotted) == 2 and all(line.get_xdata()[0] == pytest.approx(round(T / MONTH, 2)) for line in dotted)
    assert any("reorganization: month" in t.get_text() for ax in chart.fig.axes for t in ax.texts)
    close_charts([chart])


def test_a_closed_role_costs_what_its_people_cost_and_has_no_utilization(pods):
    scn, res = pods
    k = measure(res).kpis
    assert math.isnan(k["utilization.inside_sales"]) and k["utilization.account_team"] > 0
    pod = scn.roles["account_team"]
    heads = res.roles.set_index("role").heads_window
    assert k["role_cost.account_team"] == pytest.approx(heads["account_team"] * pod.loaded_cost_annual)
    assert 0 < k["role_cost.inside_sales"] < 0.01 * k["role_cost.account_team"]  # jobs in hand, finished after the switch
    assert sum(k[f"role_cost.{r}"] for r in scn.roles) == pytest.approx(k["people_cost"])
