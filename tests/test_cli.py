"""The command line end to end, on short horizons."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from sim.cli import main

from conftest import ROOT

SHORT = ["--set", "simulation.horizon=150d", "--set", "simulation.warmup=20d"]
DESIGNS = [f"scenarios/{n}.yaml" for n in ("siloed", "cross_functional", "ai_automated")]


def test_compare_writes_the_whole_results_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "results"
    assert main(["compare", *DESIGNS, "--reps", "2", "--jobs", "2", "--out", str(out), "--quiet", *SHORT]) == 0
    stdout = capsys.readouterr().out
    folder = next(out.iterdir())
    assert f"results: {folder}" in stdout
    header = stdout.splitlines()[0].split()
    assert header[-3:] == ["siloed", "cross_functional", "ai_automated"]
    for name in ("scenario.yaml", "manifest.json", "replications.csv", "summary.csv", "paired.csv",
                 "charts/funnel.svg", "charts/retention.svg", "charts/ltv_cac.svg"):
        assert (folder / name).is_file(), name
    assert not list(folder.glob("charts/*.png")), "PNGs are written only when asked for (orgsim report --png)"
    reps = pd.read_csv(folder / "replications.csv")
    assert len(reps) == 6 and {"scenario", "replication", "seed", "conversion_rate", "utilization.field_sales"} <= set(reps.columns)
    summary = pd.read_csv(folder / "summary.csv")
    assert list(summary.columns) == ["scenario", "kpi", "mean", "ci_low", "ci_high", "n"]
    paired = pd.read_csv(folder / "paired.csv")
    assert list(paired.columns) == ["scenario", "baseline", "kpi", "diff_mean", "diff_ci_low", "diff_ci_high", "n"]
    assert set(paired.scenario) == {"cross_functional", "ai_automated"} and set(paired.baseline) == {"siloed"}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["reps"] == 2 and len(manifest["replication_seeds"]) == 2
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp")]


def test_run_twice_never_overwrites(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    args = ["run", DESIGNS[0], "--reps", "1", "--out", str(tmp_path), "--quiet", "--no-charts", *SHORT]
    assert main(args) == 0 and main(args) == 0
    folders = sorted(tmp_path.iterdir())
    assert len(folders) == 2
    assert not (folders[0] / "paired.csv").exists()
    a, b = (pd.read_csv(f / "replications.csv") for f in folders)
    pd.testing.assert_frame_equal(a, b)


def test_python_dash_m_behaves_like_orgsim(tmp_path):
    out = subprocess.run([sys.executable, "-m", "sim", "validate", "scenarios/siloed.yaml"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and "ok (siloed)" in out.stdout


def test_schema_prints_json_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "roles" in schema["properties"]
