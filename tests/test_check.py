"""``orgsim check``: published ranges, the figures measured against them, the verdicts."""

from __future__ import annotations

import argparse
import re

import numpy as np
import pytest
import yaml

import sim
from sim import check
from sim.scenario import ScenarioError
from sim.streams import replication_seed

from conftest import ROOT

SHORT = ["--set", "simulation.horizon=150d", "--set", "simulation.warmup=20d"]
#: The project's record of the published figures; every source reference points into it.
SOURCES_MD = ROOT / "docs" / "sources.md"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    check.add_arguments(parser)
    status = check.main(parser.parse_args(argv))
    return status, capsys.readouterr().out


def test_every_benchmark_has_a_range_and_named_sources():
    marks, bands = check.load_benchmarks()
    assert [b["band"] for b in bands] == ["smb", "mm", "ent"]
    ids = {m.id for m in marks}
    assert ids >= {"lead_to_mql", "mql_to_sql", "sql_to_opp", "opp_to_won", "lead_to_won", "win_rate",
                   "answered_within_1h", "never_answered", "sales_cycle_days", "logo_churn", "nrr",
                   "ltv_to_cac", "cac_payback_months"}
    for m in marks:
        assert m.unit in ("share", "days", "months", "ratio"), m.id
        assert m.low is not None or m.high is not None, m.id
        if m.low is not None and m.high is not None:
            assert m.low < m.high, m.id
        assert m.basis and m.measure, m.id
        assert m.sources, m.id
        for source in m.sources:
            assert {"short", "cite", "calibration", "status"} <= set(source), (m.id, source)


def test_sourced_figures_are_the_ones_in_sources_md():
    text = SOURCES_MD.read_text(encoding="utf-8")
    for figure in ("37% responded within 1 h", "23% never responded", "15–30%", "$1.14", "$1.76",
                   "≤ $12K: 100%", "60 days", "0.55%", "2.05%"):
        assert figure in text, figure


def _anchors() -> set[str]:
    return set(re.findall(r'<a id="([^"]+)"></a>', SOURCES_MD.read_text(encoding="utf-8")))


def test_every_source_reference_resolves_to_an_anchor_of_sources_md():
    anchors = _anchors()
    assert len(anchors) > 40
    text = SOURCES_MD.read_text(encoding="utf-8")
    assert not set(re.findall(r"\]\(#([^)]+)\)", text)) - anchors, "sources.md links to a missing anchor"
    # Each benchmark source names its entry: docs/sources.md#ID, several joined by "; ".
    marks, _ = check.load_benchmarks()
    for m in marks:
        for source in m.sources:
            for ref in source["calibration"].split("; "):
                found = re.fullmatch(r"docs/sources\.md#(\S+)", ref)
                assert found, (m.id, ref)
                assert found.group(1) in anchors, (m.id, ref)
    # Every docs/sources.md#ID (or sources.md#ID in docs/) in the shipped files and the docs.
    files = [*ROOT.glob("scenarios/**/*.yaml"), *ROOT.glob("docs/*.md"), *ROOT.glob("docs/*.py"),
             *ROOT.glob("sim/**/*.py"), *ROOT.glob("sim/data/*.yaml"), ROOT / "README.md", ROOT / "scenarios" / "README.md"]
    refs = 0
    for path in files:
        for anchor in re.findall(r"sources\.md#([A-Za-z0-9_-]+)", path.read_text(encoding="utf-8")):
            assert anchor in anchors, f"{path.relative_to(ROOT)}: sources.md#{anchor} is not an anchor of docs/sources.md"
            refs += 1
    assert refs > 100


def test_no_file_refers_to_the_research_notes_outside_the_repository():
    """The sources are carried by the project (docs/sources.md), not by a folder beside it."""
    import subprocess

    folder, notes = "shared", "calibration" + ".md"
    forbidden = (f"../{folder}", f"{folder}/{notes.removesuffix('.md')}", notes)
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        paths = [ROOT / name for name in listed.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: every file but caches
        paths = [p for p in ROOT.rglob("*") if p.is_file() and not any(
            part.startswith(".") or part.endswith(".egg-info") or part == "__pycache__" for part in p.relative_to(ROOT).parts)]
    assert len(paths) > 50
    for path in paths:
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for needle in forbidden:
            assert needle not in text, f"{path.relative_to(ROOT)} refers to {needle}"


def test_hbr_audit_is_the_basis_of_the_response_rows():
    marks, _ = check.load_benchmarks()
    by_id = {m.id: m for m in marks if m.band is None}
    assert by_id["answered_within_1h"].low < 0.37 < by_id["answered_within_1h"].high
    assert by_id["never_answered"].low < 0.23 < by_id["never_answered"].high
    assert "Short Life of Online Sales Leads" in by_id["answered_within_1h"].sources[0]["cite"]


def test_funnel_steps_map_onto_mql_sql_opportunity():
    scn = sim.load_scenario(ROOT / "scenarios/siloed.yaml")
    assert check.funnel_steps(scn) == {"mql": "score", "sql": "qualify", "opp": "discovery"}


def test_segments_are_compared_with_the_band_of_their_mean_acv():
    scn = sim.load_scenario(ROOT / "scenarios/siloed.yaml", ["market.segments.mm.acv={dist: constant, value: 120000}"])
    _, bands = check.load_benchmarks()
    assert check.segment_bands(scn, bands) == {"smb": "smb", "mm": "ent", "ent": "ent"}


def test_figures_of_a_small_exact_run(write_scenario):
    """Four buyers ask at once; one 24/7 responder spends 40 min on each: waits 0, 40, 80, 120 min."""
    path = write_scenario({
        "simulation.horizon": "100d",
        "market.channels.web.arrivals_at": ["1d", "1d", "1d", "1d"],
        "market.activities.first_response.work": {"dist": "constant", "value": "40min"},
        "market.activities.qualify": {"kind": "gate", "work": {"dist": "constant", "value": "10min"}, "threshold": 0.3},
        "market.activities.score": {"kind": "gate", "work": {"dist": "constant", "value": "1min"}},
        "market.journey.acquisition": ["score", "first_response", "qualify", "demo"],
        "roles.sdr.calendar": "always",
        "roles.sdr.judgement_noise": 0,
        "routing.score": "sdr",
        "routing.qualify": "sdr",
    })
    scn = sim.load_scenario(path)
    assert check.funnel_steps(scn) == {"mql": "score", "sql": "qualify", "opp": "demo"}
    got = check.figures(sim.simulate(scn, 1))
    assert got["answered_within_1h"] == (0.5, 4)
    assert got["never_answered"] == (0.0, 4)
    assert got["lead_to_mql"] == (1.0, 4) and got["mql_to_sql"] == (1.0, 4) and got["sql_to_opp"] == (1.0, 4)
    assert got["opp_to_won"] == (1.0, 4) and got["lead_to_won"] == (1.0, 4)


def test_verdicts_and_uncertainty():
    mark = check.Benchmark("x", "x", "share", 0.2, 0.4, "", "", ())
    assert check._verdict(mark, 0.1, 0.05, 0.15) == ("below", False)
    assert check._verdict(mark, 0.5, 0.45, 0.55) == ("above", False)
    assert check._verdict(mark, 0.3, 0.25, 0.35) == ("inside", False)
    assert check._verdict(mark, 0.19, 0.15, 0.25) == ("below", True)
    assert check._verdict(mark, float("nan"), float("nan"), float("nan")) == ("n/a", False)
    open_high = check.Benchmark("x", "x", "ratio", 3.0, None, "", "", ())
    assert check._verdict(open_high, 30.0, 20.0, 40.0) == ("inside", False)
    low, high = check.wilson(0.0, 50)
    assert low == 0.0 and 0.06 < high < 0.08


def test_check_prints_every_row_with_a_verdict(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status, out = run(["scenarios/siloed.yaml", "--reps", "2", "--jobs", "1", *SHORT], capsys)
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "Reality check: siloed (2 replications, horizon 150 d, warmup 20 d, seed 20261124)"
    assert lines[2].split() == ["figure", "model", "mean", "[95%", "CI]", "published", "range", "verdict", "n", "source"]
    rows = {line.split("  ")[0].strip(): line for line in lines[4:] if re.search(r"\s(inside|above|below|n/a)\*?\s", line)}
    for figure in ("lead -> MQL", "MQL -> SQL", "SQL -> opportunity", "opportunity -> won", "lead -> won (end to end)",
                   "win rate (sales stages)", "leads answered within 1 h", "leads never answered",
                   "sales cycle, 1st meeting -> signed: smb", "logo churn, trailing year: ent",
                   "NRR, trailing year: mm", "LTV : CAC", "CAC payback"):
        assert figure in rows, figure
    # A trailing year does not fit in 150 days: said, not invented.
    assert " n/a " in rows["logo churn, trailing year: ent"]
    assert "HBR 2011" in rows["leads answered within 1 h"]


def test_same_seed_same_check(monkeypatch):
    monkeypatch.chdir(ROOT)
    scn = sim.load_scenario("scenarios/siloed.yaml", ["simulation.horizon=100d", "simulation.warmup=10d"])
    one = check.check(scn, reps=2, jobs=1)
    two = check.check(scn, reps=2, jobs=2)
    # The number of worker processes never changes a result: equal to the bit, NaN where both are NaN.
    assert [r.n for r in one] == [r.n for r in two]
    np.testing.assert_array_equal([r.mean for r in one], [r.mean for r in two])
    per_rep = [check.figures(sim.simulate(scn, replication_seed(scn.simulation.seed, r)))["lead_to_mql"][0]
               for r in range(2)]
    row = next(r for r in one if r.benchmark.id == "lead_to_mql")
    assert row.mean == pytest.approx(sum(per_rep) / 2)


def test_strict_fails_when_a_figure_is_outside(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    marks = {"segment_bands": [{"band": "all", "label": "all"}], "benchmarks": [{
        "id": "lead_to_won", "figure": "lead -> won", "unit": "share", "low": 0.9, "high": 1.0,
        "measure": "m", "basis": "b", "sources": [{"short": "s", "cite": "c", "calibration": "§1", "status": "test"}]}]}
    path = tmp_path / "marks.yaml"
    path.write_text(yaml.safe_dump(marks))
    argv = ["scenarios/siloed.yaml", "--reps", "1", "--benchmarks", str(path), *SHORT]
    status, out = run(argv, capsys)
    assert status == 0 and "below" in out
    status, _ = run([*argv, "--strict"], capsys)
    assert status == 1


def test_bad_input(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(ScenarioError, match="unknown key"):
        run(["scenarios/siloed.yaml", "--set", "roles.inside_sales.headcont=3"], capsys)
    with pytest.raises(ScenarioError, match="a market to extend"):
        run(["scenarios/market.yaml"], capsys)
    bad = tmp_path / "bad.yaml"
    bad.write_text("benchmarks: 3\n")
    with pytest.raises(ScenarioError, match="expected a mapping with a 'benchmarks' list"):
        run(["scenarios/siloed.yaml", "--benchmarks", str(bad), *SHORT], capsys)
    assert run(["scenarios/siloed.yaml", "--reps", "0"], capsys)[0] == 2
    assert check._cli(["scenarios/nope.yaml"]) == 2
    assert "file not found" in capsys.readouterr().err
