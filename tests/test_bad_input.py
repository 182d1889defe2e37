"""Every class of bad input: one clear line per problem, exit status 2, nothing written."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from sim.cli import main

from conftest import ROOT

BAD = ROOT / "tests" / "data" / "bad"
SCN = "scenarios/siloed.yaml"


def _expectations(path: Path) -> list[str]:
    text = path.read_bytes().decode("utf-8", errors="replace")
    return [line.split("# expect:", 1)[1].strip() for line in text.splitlines() if line.startswith("# expect:")]


def _argument_cases() -> list[tuple[str, str]]:
    lines = (BAD / "bad_arguments.txt").read_text().splitlines()
    return [tuple(line.split("\t")) for line in lines if line and not line.startswith("#")]  # type: ignore[misc]


@pytest.mark.parametrize("path", sorted(BAD.glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_scenario_file_is_reported_and_nothing_is_written(path, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    expected = _expectations(path)
    assert expected or path.stat().st_size == 0, f"{path.name} has no '# expect:' line"
    expected = expected or ["empty file: expected a scenario mapping"]
    assert main(["validate", str(path.relative_to(ROOT))]) == 2
    err = capsys.readouterr().err
    for text in expected:
        assert text in err
    assert "Traceback" not in err
    out = tmp_path / "results"
    assert main(["run", str(path.relative_to(ROOT)), "--out", str(out), "--quiet", "--reps", "1"]) == 2
    assert not out.exists()


@pytest.mark.parametrize("args,expected", _argument_cases(), ids=lambda x: x if len(x) < 40 else None)
def test_bad_arguments_are_reported_with_status_2(args, expected, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    argv = [a if a != "SCN" else SCN for a in shlex.split(args)] + ["--out", str(tmp_path / "r")]
    if argv[0] not in ("run", "compare", "sweep"):
        argv = argv[:1]
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse reports usage errors itself
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_each_problem_gets_its_own_line(tmp_path, capsys):
    path = tmp_path / "two.yaml"
    path.write_text(f"extends: {ROOT / SCN}\nroles:\n  field_sales: {{headcount: -2, productive_share: 2}}\n")
    assert main(["validate", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert all(line.startswith(f"{path}:3: roles.field_sales.") for line in lines)


def test_valid_files_pass_validation(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "scenarios").glob("*.yaml"))
    assert main(["validate", *files]) == 0
    assert capsys.readouterr().out.count(": ok") == len(files)


def test_a_file_that_is_not_a_scenario_is_named_not_repeated(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["validate", "tests/data/bad/extends_a_file_that_is_not_a_scenario.yaml"]) == 2
    err = capsys.readouterr().err
    assert "not a scenario file" in err
    assert "hunter2" not in err and "password" not in err and "s3cr3t" not in err
