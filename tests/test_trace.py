"""``orgsim trace``: stories of single buyers, checked against exact timelines."""

from __future__ import annotations

import argparse
import io
import re

import numpy as np
import pandas as pd
import pytest

import sim
from sim import story, trace
from sim.market import ENDOGENOUS_ID_BASE
from sim.scenario import ScenarioError
from sim.streams import replication_seed

from conftest import ROOT

SHORT = ["--set", "simulation.horizon=150d", "--set", "simulation.warmup=20d"]

#: A buyer who asks for contact on Friday at 18:00 and waits one day at most.
FRIDAY = {
    "simulation.horizon": "14d",
    "market.channels.web.arrivals_at": ["4.75d"],
    "market.segments.smb.patience": {"dist": "constant", "value": "1d"},
    "market.effects.lead_decay": {"floor": 0.3, "half_life": "1h"},
}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    trace.add_arguments(parser)
    status = trace.main(parser.parse_args(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def story_lines(out: str, name: str) -> list[str]:
    """The lines of one design's story (header excluded), continuation lines joined, and the
    buyer's random draws masked (``draw #``): the timeline is exact, the draws incidental."""
    block = out.split(f" in {name}: ", 1)[1].split("\n\n")[0].splitlines()[1:]
    lines: list[str] = []
    for line in block:
        if line.startswith(("  day ", "  END")):
            lines.append(" ".join(line.split()))
        else:
            lines[-1] += " " + " ".join(line.split())
    return [re.sub(r"draw \d\.\d{3}", "draw #", line) for line in lines]


def test_time_and_duration_formats():
    assert story.when(0) == "day 0 Mon 00:00"
    assert story.when(4.75) == "day 4 Fri 18:00"
    assert story.when(13.999999) == "day 14 Mon 00:00"
    assert [story.span(d) for d in (0, 20 / 1440, 2.5 / 24, 1, 2 + 15 / 24)] == [
        "under a minute", "20 min", "2 h 30 min", "1 d", "2 d 15 h"]


def test_friday_evening_lead_lost_by_people_kept_by_an_ai_agent(write_scenario, capsys):
    people = write_scenario(FRIDAY, name="people.yaml")
    ai = write_scenario({**FRIDAY, "name": "ai", "roles.sdr.kind": "ai", "roles.sdr.calendar": "always"},
                        name="ai.yaml")
    status, out, _ = run([str(people), str(ai), "--buyer", "0"], capsys)
    assert status == 0
    assert story_lines(out, "tiny") == [
        "day 4 Fri 18:00 arrives through web (smb); no research of their own",
        "day 4 Fri 18:00 research ends; P(ask sales for contact) = 1; draw # -> asks",
        "day 4 Fri 18:00 asks sales for contact",
        "day 5 Sat 18:00 gives up after waiting 1 d (patience 1 d): nobody had started on first_response",
        ("END: lost, no_response at first_response (day 5 Sat 18:00): gave up waiting for a first response "
         "(their patience ran out)"),
    ]
    lines = story_lines(out, "ai")
    assert lines[3].startswith("day 4 Fri 18:00 sdr starts first_response, no wait (an AI agent, 24/7)")
    assert lines[5] == ("day 4 Fri 19:00 first response under a minute after asking: P(still engaged) = "
                        "0.3 + 0.7 x 2^(-wait / 1 h) = 1.000; draw # -> engages")
    assert lines[7].startswith("day 7 Mon 09:00 ae starts demo after 2 d 14 h in the queue (queued outside "
                               "ae's working hours (Mon-Fri 09:00-17:00))")
    assert lines[-2:] == ["day 7 Mon 11:00 SIGNS: a customer at ACV $10.0K",
                          "END: a customer when the run ended, ARR $10.0K"]


def test_handoff_drop_and_context_loss_are_told_with_their_probabilities(write_scenario, capsys):
    path = write_scenario({
        "market.activities.score": {"kind": "gate", "work": {"dist": "constant", "value": "5min"}},
        "market.journey.acquisition": ["score", "first_response", "demo"],
        "market.channels.web.arrivals_at": ["1.5d"],
        "market.effects.context_loss_probability": 1.0,
        "market.effects.first_response_handoff_drop": 1.0,
        "roles.marketing": {"headcount": 1, "calendar": "always"},
        "routing.score": "marketing",
    })
    status, out, _ = run([str(path), "--buyer", "0"], capsys)
    lines = story_lines(out, "tiny")
    assert status == 0
    assert any(line.startswith("day 1 Tue 12:05 handoff marketing -> sdr for first_response: P(context lost) = 1; "
                               "draw") and "-> context LOST" in line and "P(lead dropped, never followed up) = 1.000"
               in line and line.endswith("-> DROPPED") for line in lines)
    assert lines[-1].startswith("END: lost, never_followed_up at first_response (day 1 Tue 12:05)")


def test_every_draw_the_trace_reads_agrees_with_the_run():
    """The trace re-reads each decision from the market's draws; it must agree with the log."""
    for name in ("siloed", "ai_automated", "plg", "escalator", "bridge_sales", "mini_business_units"):
        scn = sim.load_scenario(ROOT / f"scenarios/{name}.yaml",
                                ["simulation.horizon=120d", "simulation.warmup=10d"])
        seed = replication_seed(3, 0)
        res = sim.simulate(scn, seed)
        asked = res.buyers[res.buyers.contact_at.notna() | (res.buyers.source == "trial")]
        # Market buyers (the installed base's referrals are the organization's own, not re-drawn here).
        asked = asked[asked.id < ENDOGENOUS_ID_BASE]
        ids = sorted(np.random.default_rng(0).choice(asked.id, 80, replace=False))
        drawn = story.market_buyers(scn, seed, ids)
        table = res.buyers.set_index("id", drop=False)
        events = dict(tuple(res.events[res.events.buyer.isin(ids)].groupby("buyer")))
        checked = 0
        for buyer_id in ids:
            steps = story.story(scn, table.loc[buyer_id], events[buyer_id], drawn[buyer_id])
            disagree = [s.text for s in steps if s.consistent is False]
            assert not disagree, (name, buyer_id, disagree)
            checked += sum(s.consistent is True for s in steps)
        assert checked > 150, name


def test_where_selects_by_buyer_table_columns_and_derived_ones(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status, out, _ = run(["scenarios/siloed.yaml", "--where", "lost_reason=no_response", "--where",
                          "contact_day=fri", "--sample", "2", *SHORT], capsys)
    assert status == 0
    stories = [s for s in out.split("\n\n") if s.startswith("buyer ")]
    assert len(stories) == 2
    for s in stories:
        assert "END: lost, no_response at first_response" in s
        assert "Fri" in s.split("asks sales for contact")[0].splitlines()[-1]


def test_sample_is_reproducible_and_csv_is_tidy(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    argv = ["scenarios/siloed.yaml", "--sample", "2", "--where", "won=yes", "--csv", *SHORT]
    first = run(argv, capsys)[1]
    assert run(argv, capsys)[1] == first
    table = pd.read_csv(io.StringIO(first))
    assert {"scenario", "replication", "seed", "buyer", "day", "weekday", "clock", "time", "step", "text",
            "role", "activity", "wait", "probability", "draw", "outcome"} <= set(table.columns)
    assert table.buyer.nunique() == 2
    assert (table.step == "end").sum() == 2 and "won" in set(table.step)


def test_funnel_says_where_buyers_were_lost(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status, out, _ = run(["scenarios/siloed.yaml", "--funnel", *SHORT], capsys)
    assert status == 0
    assert out.startswith("Where buyers were lost: siloed") and "\nbuyer " not in out
    assert "\nbuyer " in run(["scenarios/siloed.yaml", "--funnel", "--sample", "1", *SHORT], capsys)[1]
    for step in ("arrived", "asked for contact", "score", "first_response", "qualify", "close", "won"):
        assert any(line.startswith(step) for line in out.splitlines()), step
    assert "never_followed_up" in out and "left_after_research" in out


@pytest.mark.parametrize("argv, message", [
    (["--where", "colour=red"], "unknown column"),
    (["--where", "won=maybe"], "expected yes or no"),
    (["--where", "segment>smb"], "use = or !="),
    (["--where", "acv"], "expected KEY=VALUE"),
    (["--buyer", "99999999"], "no buyer 99999999"),
])
def test_bad_selections_are_reported(argv, message, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(ScenarioError, match=message):
        run(["scenarios/siloed.yaml", *argv, *SHORT], capsys)


def test_exit_status_for_conflicting_options_and_empty_selections(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status, _, err = run(["scenarios/siloed.yaml", "--buyer", "1", "--where", "won=yes", *SHORT], capsys)
    assert status == 2 and "--buyer" in err
    status, _, err = run(["scenarios/siloed.yaml", "--where", "first_response_wait>30d", *SHORT], capsys)
    assert status == 1 and "no buyer matches first_response_wait>30d" in err
