"""Sweeps: point sets, common random numbers, checkpoints, interrupt and resume."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.plan import CHECKPOINT_FILE, override_text
from sim.scenario import ScenarioError
from sim.streams import replication_seed
from sim.sweep import Vary, grid_points, lhs_points, parse_vary, plan_sweep

from conftest import ROOT, SCENARIOS

SHORT = ["simulation.horizon=120d", "simulation.warmup=20d"]
SHORT_ARGS = [a for kv in SHORT for a in ("--set", kv)]
SILOED = SCENARIOS / "siloed.yaml"
HEADCOUNT = "roles.inside_sales.headcount"


# ---------------------------------------------------------------- point sets


def test_vary_reads_lists_and_inclusive_ranges():
    assert parse_vary("roles.sdr.headcount=4,6,8") == Vary("roles.sdr.headcount", values=(4, 6, 8))
    assert parse_vary("a.b=2h,30min").values == ("2h", "30min")
    r = parse_vary("data_integration=0:1:0.25")
    assert (r.start, r.stop, r.step) == (0, 1, 0.25)
    assert grid_points([r]) == [{"data_integration": x} for x in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert grid_points([parse_vary("k=2:8:2")]) == [{"k": 2}, {"k": 4}, {"k": 6}, {"k": 8}]
    # No floating-point dust: 0.1 steps give 0.3, not 0.30000000000000004.
    assert [p["k"] for p in grid_points([parse_vary("k=0:0.3:0.1")])] == [0.0, 0.1, 0.2, 0.3]


def test_grid_is_every_combination_with_the_first_key_slowest():
    points = grid_points([parse_vary("a=1,2"), parse_vary("b=0:1:0.5")])
    assert [(p["a"], p["b"]) for p in points] == [(1, 0.0), (1, 0.5), (1, 1.0), (2, 0.0), (2, 0.5), (2, 1.0)]


def test_integer_keys_are_rounded_in_grids():
    assert grid_points([parse_vary("k=1:3:0.5")], {"k"}) == [{"k": 1}, {"k": 2}, {"k": 3}]


@pytest.mark.parametrize("text", ["noequals", "=1,2", "a..b=1", "a=", "a=1,,2", "a=3:1:1", "a=1:2:0",
                                  "a=1:2:3:4", "a=x:2"])
def test_bad_vary_is_refused(text):
    with pytest.raises(ScenarioError):
        parse_vary(text)


def test_lhs_puts_one_point_in_each_stratum_of_each_range():
    n = 12
    varies = [parse_vary("a=0:1"), parse_vary("b=10:20")]
    points = lhs_points(varies, n, seed=5)
    assert len(points) == n
    for key, low, high in (("a", 0, 1), ("b", 10, 20)):
        strata = sorted(math.floor((p[key] - low) / (high - low) * n) for p in points)
        assert strata == list(range(n)), key
    assert lhs_points(varies, n, seed=5) == points
    assert lhs_points(varies, n, seed=6) != points


def test_lhs_rounds_integer_keys_and_snaps_to_a_step():
    points = lhs_points([parse_vary("hc=2:9"), parse_vary("x=0:1:0.25")], 20, seed=1, integer_keys={"hc"})
    assert all(isinstance(p["hc"], int) and 2 <= p["hc"] <= 9 for p in points)
    assert {p["x"] for p in points} <= {0.0, 0.25, 0.5, 0.75, 1.0}


def test_lhs_needs_ranges():
    with pytest.raises(ScenarioError, match="range"):
        lhs_points([parse_vary("a=1,2")], 4, seed=1)


def test_override_text_reads_back_as_the_same_number():
    import yaml

    for x in (0.1, 1e-05, 2.5e20, 3, True, 0.30000000000000004):
        assert yaml.safe_load(override_text(x)) == x


def test_plan_applies_each_point_and_validates_like_set():
    plan = plan_sweep(SILOED, [f"{HEADCOUNT}=3,7", "data_integration=0,0.5"], reps=2, seed=1, overrides=SHORT)
    assert [(p[HEADCOUNT], p["data_integration"]) for p in plan.points] == [(3, 0.0), (3, 0.5), (7, 0.0), (7, 0.5)]
    for point, (scn,) in zip(plan.points, plan.scenarios):
        assert scn.roles["inside_sales"].headcount == point[HEADCOUNT]
        assert scn.data_integration == point["data_integration"]
    with pytest.raises(ScenarioError) as err:
        plan_sweep(SILOED, ["data_integration=0.5,1.5"], reps=1, overrides=SHORT)
    assert any(p.source == "--vary" and "data_integration=1.5" in p.message for p in err.value.problems)
    with pytest.raises(ScenarioError):
        plan_sweep(SILOED, ["roles.nobody.headcount=1,2"], reps=1, overrides=SHORT)


# ---------------------------------------------------------------- running


def test_sweep_tables_one_row_per_point_and_replication_with_shared_seeds():
    res = sim.sweep(SILOED, {HEADCOUNT: [3, 6]}, reps=2, seed=4, jobs=1, overrides=SHORT)
    runs = res.runs
    assert list(runs.columns[:5]) == ["point", "scenario", HEADCOUNT, "replication", "seed"]
    assert [tuple(r) for r in runs[["point", HEADCOUNT, "replication"]].itertuples(index=False)] == \
        [(0, 3, 0), (0, 3, 1), (1, 6, 0), (1, 6, 1)]
    # Common random numbers: every point uses the same replication seeds.
    assert list(runs.seed) == [replication_seed(4, 0), replication_seed(4, 1)] * 2
    # The market is shared: who asks for contact does not depend on the point.
    a, b = runs[runs.point == 0], runs[runs.point == 1]
    assert list(a.contacted) == list(b.contacted)
    summary = res.summary
    assert list(summary.columns) == ["scenario", "point", HEADCOUNT, "kpi", "mean", "ci_low", "ci_high", "n"]
    row = summary[(summary.point == 1) & (summary.kpi == "buyers")].iloc[0]
    assert row["mean"] == b.buyers.mean() and row.n == 2


def test_a_scenario_object_sweeps_like_its_file():
    scn = sim.load_scenario(SILOED, SHORT)
    from_object = sim.sweep(scn, {"data_integration": [0.5]}, reps=1, seed=2, jobs=1)
    from_file = sim.sweep(SILOED, {"data_integration": [0.5]}, reps=1, seed=2, jobs=1, overrides=SHORT)
    pd.testing.assert_frame_equal(from_object.runs, from_file.runs)
    with pytest.raises(ScenarioError) as err:
        sim.sweep(scn, {"data_integration": [2]}, reps=1)
    assert err.value.problems[0].source == "--vary"


def test_sweep_cli_writes_the_whole_folder(tmp_path, capsys):
    out = tmp_path / "r"
    args = ["sweep", str(SILOED), "--vary", f"{HEADCOUNT}=3,6", "--reps", "2", "--jobs", "2", "--seed", "2",
            "--out", str(out), "--quiet", "--events", "--kpi", "conversion_rate", *SHORT_ARGS]
    assert main(args) == 0
    stdout = capsys.readouterr().out
    (folder,) = list(out.iterdir())  # the checkpoint is gone once the folder is written
    assert f"results: {folder}" in stdout and "conversion_rate (mean [95% CI])" in stdout
    for name in ("scenario.yaml", "manifest.json", "sweep.csv", "sweep_summary.csv",
                 "charts/sweep_conversion_rate.png", "charts/sweep_conversion_rate.svg"):
        assert (folder / name).is_file(), name
    events = sorted(p.name for p in (folder / "events").iterdir())
    assert events == [f"siloed-point{p:04d}-rep{r:03d}.csv" for p in range(2) for r in range(2)]
    log = pd.read_csv(folder / "events" / events[-1])
    assert {"scenario", "replication", "seed", "point"} <= set(log.columns) and set(log.point) == {1}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["command"] == "sweep" and manifest["reps"] == 2 and manifest["points"] == 2
    assert manifest["keys"] == [HEADCOUNT] and len(manifest["replication_seeds"]) == 2


def test_two_designs_swept_over_the_same_points(tmp_path):
    res = sim.sweep([SILOED, SCENARIOS / "cross_functional.yaml"], ["data_integration=0,0.5"], reps=1,
                    seed=1, jobs=2, overrides=SHORT)
    assert [tuple(r) for r in res.runs[["point", "scenario"]].itertuples(index=False)] == \
        [(0, "siloed"), (0, "cross_functional"), (1, "siloed"), (1, "cross_functional")]


def _sweep_args(out: Path, *extra: str) -> list[str]:
    return ["sweep", str(SILOED), "--vary", f"{HEADCOUNT}=2:6:1", "--reps", "4", "--seed", "9",
            "--out", str(out), "--quiet", "--no-charts", *SHORT_ARGS, *extra]


def _wait_for_lines(path_glob: Path, pattern: str, lines: int, proc: subprocess.Popen, limit: float = 120) -> Path:
    """Poll until a checkpoint has ``lines`` finished replications (or the run ends)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        for path in path_glob.glob(pattern):
            if path.is_file() and path.read_bytes().count(b"\n") >= lines:
                return path
        time.sleep(0.05)
    raise AssertionError("the sweep never checkpointed enough replications")


def test_interrupted_sweep_leaves_no_results_folder_and_resumes_to_the_same_numbers(tmp_path, capsys):
    out = tmp_path / "r"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "sim", *_sweep_args(out, "--jobs", "1")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        checkpoint = _wait_for_lines(out, f".sweep-*.partial/{CHECKPOINT_FILE}", 2, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted after" in err and "of 20 replications" in err and "Traceback" not in err
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == []  # no results folder
    partial = checkpoint.parent
    done = checkpoint.read_bytes().count(b"\n")
    assert 2 <= done < 20 and f"--resume {partial}" in err

    # Running it again without --resume refuses to overwrite the checkpoint.
    assert main(_sweep_args(out, "--jobs", "2")) == 2
    assert "--resume" in capsys.readouterr().err

    assert main(_sweep_args(out, "--jobs", "2", "--resume", str(partial))) == 0
    assert not partial.exists()
    (resumed,) = list(out.iterdir())
    assert json.loads((resumed / "manifest.json").read_text())["resumed_replications"] == done

    assert main(_sweep_args(tmp_path / "whole", "--jobs", "1")) == 0
    (whole,) = list((tmp_path / "whole").iterdir())
    for name in ("sweep.csv", "sweep_summary.csv"):
        assert (resumed / name).read_bytes() == (whole / name).read_bytes(), name


def test_resume_refuses_a_checkpoint_of_another_sweep(tmp_path, capsys):
    plan = plan_sweep(SILOED, [f"{HEADCOUNT}=3,4"], reps=1, seed=1, overrides=SHORT)
    other = tmp_path / "r" / plan.checkpoint_name()
    from sim.plan import run_plan

    run_plan(plan, other, jobs=1)
    args = ["sweep", str(SILOED), "--vary", f"{HEADCOUNT}=3,4", "--reps", "2", "--seed", "1", "--quiet",
            "--out", str(tmp_path / "r"), "--resume", str(other), *SHORT_ARGS]
    assert main(args) == 2
    assert "reps" in capsys.readouterr().err


def test_a_torn_last_line_is_dropped_on_resume(tmp_path):
    plan = plan_sweep(SILOED, [f"{HEADCOUNT}=3,4"], reps=2, seed=1, overrides=SHORT)
    from sim.plan import run_plan

    folder = tmp_path / "cp"
    whole, _ = run_plan(plan, folder, jobs=1)
    lines = (folder / CHECKPOINT_FILE).read_bytes().splitlines(keepends=True)
    # Keep two finished replications and half of a third, as a kill mid-write would.
    (folder / CHECKPOINT_FILE).write_bytes(b"".join(lines[:2]) + lines[2][:20])
    again, facts = run_plan(plan, folder, jobs=1)
    assert facts["resumed_replications"] == 2
    pd.testing.assert_frame_equal(whole, again)


def test_only_a_line_of_kpis_is_kept_per_replication(tmp_path):
    # No event logs unless asked, no curves: one JSON line of KPIs per finished replication.
    plan = plan_sweep(SILOED, [f"{HEADCOUNT}=3,4"], reps=1, seed=1, overrides=SHORT)
    from sim.plan import run_plan

    run_plan(plan, tmp_path / "cp", jobs=1)
    assert sorted(p.name for p in (tmp_path / "cp").iterdir()) == ["plan.json", CHECKPOINT_FILE]
    lines = (tmp_path / "cp" / CHECKPOINT_FILE).read_text().splitlines()
    assert len(lines) == 2
    record = json.loads(lines[0])
    assert set(record) == {"point", "scenario", "replication", "seed", "kpis"}
    assert all(isinstance(v, (int, float)) for v in record["kpis"].values())
