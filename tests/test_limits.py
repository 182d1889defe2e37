"""Never hang, never exhaust memory; every input class answered cleanly.

Oversized work is refused before it starts, with its estimate and the flag that runs it
anyway; --jobs never starts more workers than there are tasks; an overloaded role is
warned of; scenario inputs are regular files of a sensible size; a --scheduler address is
parsed before any connection; CSV cells cannot run as spreadsheet formulas; the manifest
holds no absolute local path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import sim.experiment
from sim.capacity import overloaded_roles
from sim.cli import main
from sim.experiment import Task, TooBigError, execute
from sim.output import csv_safe, to_csv
from sim.report.folder import _csv
from sim.scenario import load_scenario
from sim.sweep import plan_sweep

from conftest import ROOT

SCN = ROOT / "scenarios" / "siloed.yaml"


def _refused(argv: list[str], capsys) -> str:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2, err
    assert time.monotonic() - started < 20
    # One line of problem (argparse puts its usage above its own errors, as for every argument).
    assert "Traceback" not in err and len([x for x in err.splitlines() if x and not x.startswith(("usage:", " "))]) == 1, err
    return err


@pytest.mark.parametrize("extra", [
    ["--reps", "1000000000"],
    ["--reps", "100000"],
    ["--set", "simulation.reps=10000000"],
])
def test_huge_replications_are_refused_with_an_estimate(extra, tmp_path, capsys):
    err = _refused(["run", str(SCN), *extra, "--out", str(tmp_path / "r"), "--quiet"], capsys)
    assert "CPU-hours" in err and "GiB" in err and "--yes-large" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("vary", [
    ["--vary", "data_integration=0:1:1e-9"],
    ["--vary", "data_integration=0:1:5e-324"],
    ["--vary", "data_integration=0:1:0.001", "--vary", "market.segments.smb.contact_probability=0:1:0.001"],
    ["--lhs", "10000000", "--vary", "data_integration=0:1"],
])
def test_huge_sweeps_are_refused_before_their_points_are_built(vary, tmp_path, capsys):
    err = _refused(["sweep", str(SCN), *vary, "--out", str(tmp_path / "r"), "--quiet"], capsys)
    assert "CPU-hours" in err and ("--yes-large" in err or "too large to run" in err)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("setting,expected", [
    ("market.segments.smb.contract_term=1e-6", "renewals and check-ins"),
    ("market.journey.checkin_interval=1min", "renewals and check-ins"),
    ("simulation.horizon=200y", "less than or equal to 36500"),
])
def test_values_that_would_multiply_the_events_are_refused(setting, expected, tmp_path, capsys):
    """No loop may grow with a parameter's value: a tiny term or a century-long run is refused."""
    err = _refused(["run", str(SCN), "--set", setting, "--out", str(tmp_path / "r"), "--quiet"], capsys)
    assert expected in err


def test_yes_large_lets_a_large_plan_through():
    with pytest.raises(TooBigError):
        plan_sweep(SCN, ["roles.inside_sales.headcount=1:12000:1"], reps=1)
    # Counting is cheap; with the flag the limit on points no longer applies (not run here).
    from sim.plan import check_points

    base = load_scenario(SCN)
    check_points("sweep", 12_000, base, 1, 1, large=True)
    with pytest.raises(TooBigError, match="too large to run"):
        check_points("sweep", 10**9, base, 1, 1, large=True)


def test_jobs_is_capped_by_the_number_of_tasks(monkeypatch):
    seen = []

    class Stop(Exception):
        pass

    def fake(kind, jobs, scheduler):  # type: ignore[no-untyped-def]
        seen.append(jobs)
        raise Stop

    monkeypatch.setattr(sim.experiment, "open_executor", fake)
    scn = load_scenario(SCN)
    tasks = [Task((i,), scn, i, i) for i in range(3)]
    with pytest.raises(Stop):
        execute(tasks, lambda t, o: None, jobs=1000)
    assert seen == [3]


def test_an_overloaded_role_is_warned_of_with_its_rate_and_capacity(tmp_path, capsys, monkeypatch):
    scn = load_scenario(SCN, ["market.channels.search.rate_per_week=20000"])
    lines = overloaded_roles(scn)
    assert lines and all("buyers a week" in line and "people can do" in line for line in lines)
    monkeypatch.setattr(sim.api, "compare", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    main(["run", str(SCN), "--set", "market.channels.search.rate_per_week=20000", "--out", str(tmp_path / "r"),
          "--quiet"])
    assert "warning: siloed: role 'inside_sales' looks overloaded" in capsys.readouterr().err


def test_the_shipped_designs_are_not_warned_of():
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        scn = load_scenario(path)
        assert scn.abstract or overloaded_roles(scn) == [], path.name


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null", "FIFO", "BIG", "DIR"])
def test_a_scenario_input_must_be_a_regular_file_of_sensible_size(path, tmp_path, capsys):
    if path == "FIFO":
        path = str(tmp_path / "fifo.yaml")
        os.mkfifo(path)
    elif path == "BIG":
        path = str(tmp_path / "big.yaml")
        Path(path).write_bytes(b"# " + b"x" * (3 << 20) + b"\n")
    elif path == "DIR":
        path = str(tmp_path)
    elif not Path(path).exists():
        pytest.skip(f"no {path}")
    for command in (["validate", path], ["run", path, "--out", str(tmp_path / "r"), "--quiet"]):
        _refused(command, capsys)


@pytest.mark.parametrize("address", ["tcp://host:port", "tcp://:8786", "not an address", "tcp://h:99999",
                                     "ftp://h:1", "tcp://h:8786/path"])
def test_an_unparsable_scheduler_address_is_refused(address, tmp_path, capsys):
    err = _refused(["run", str(SCN), "--executor", "dask", "--scheduler", address, "--out", str(tmp_path / "r")],
                   capsys)
    assert "expected an address such as tcp://10.0.0.5:8786" in err


# ---------------------------------------------------------------- CSV injection


NAMES = ["=HYPERLINK(\"http://x\")", "+1+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", "'quoted", "plain", "-1.5", ""]


def test_csv_cells_that_would_run_as_formulas_are_neutralised(tmp_path):
    df = pd.DataFrame({"scenario": NAMES, "mean": [-1.5] * len(NAMES), "n": range(-5, 5)})
    assert csv_safe(df)["scenario"].tolist()[4:6] == ["'\tx", "'\rx"]
    df = df[~df.scenario.str.startswith(("\t", "\r"))].reset_index(drop=True)  # pandas writes CR unquoted
    safe = csv_safe(df)
    assert list(safe["scenario"][:4]) == ["'" + n for n in NAMES[:4]]
    assert safe["scenario"][6] == "-1.5" and safe["scenario"][5] == "plain"  # a number stays a number
    assert safe["mean"].tolist() == df["mean"].tolist() and safe["n"].tolist() == df["n"].tolist()
    to_csv(df, tmp_path / "summary.csv")
    raw = (tmp_path / "summary.csv").read_text()
    assert not any(line.startswith(("=", "+", "@")) for line in raw.splitlines())
    back = pd.read_csv(tmp_path / "summary.csv", keep_default_na=False)
    assert back["mean"].dtype.kind == "f" and back["n"].tolist() == df["n"].tolist()


def test_neutralised_names_read_back_as_they_were(tmp_path):
    names = [n for n in NAMES[:-1] if not n.startswith(("\t", "\r"))]  # control characters: refused in names
    df = pd.DataFrame({"scenario": names, "kpi": "k", "mean": range(len(names)), "ci_low": 0, "ci_high": 0, "n": 1})
    to_csv(df, tmp_path / "summary.csv")
    back = _csv(tmp_path / "summary.csv")
    assert back is not None
    assert back["scenario"].astype(str).tolist() == names


# ---------------------------------------------------------------- local paths


def test_the_manifest_and_the_command_row_hold_no_absolute_path(tmp_path):
    out = tmp_path / "results"
    subprocess.run([sys.executable, "-m", "sim", "run", str(SCN), "--reps", "1", "--jobs", "1", "--quiet",
                    "--no-charts", "--out", str(out), "--set", "simulation.horizon=60d",
                    "--set", "simulation.warmup=0d"], cwd=tmp_path, check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    (folder,) = out.iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["argv"][0] == "orgsim"
    assert not [a for a in manifest["argv"] if os.path.isabs(a)]
    assert manifest["argv"][manifest["argv"].index("--out") + 1] == "results"  # inside the working directory
    # Outside it: relative to the results folder's parent, and still pointing at the file.
    assert (out / manifest["argv"][2]).resolve() == SCN.resolve()
    html = (folder / "report.html").read_text()
    assert f" {ROOT}/" not in html and f">{ROOT}/" not in html and str(tmp_path) not in html
