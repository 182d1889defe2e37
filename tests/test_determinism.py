"""Same seed, same numbers: byte-identical CSV files across reruns, ``--jobs`` values,
executors (local worker processes, a local Dask cluster; a Dask scheduler given by address is
in test_executors.py) and ``PYTHONHASHSEED`` values.

The designs compared cover pooled queues, pinned teams, AI agents, value-ordered queues,
self-serve trials, outbound prospecting and referrals, so that any order that depends on
chance (a set, a dict filled in completion order, a hash) shows up as a different byte.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main

from conftest import ROOT

SHIPPED = [str(ROOT / "scenarios" / f"{n}.yaml") for n in ("siloed", "cross_functional", "ai_automated", "plg",
                                                            "escalator")]
#: No shipped design prospects: this one does, across bridged seams, with value-ordered queues.
OUTBOUND = f"""
extends: {ROOT / "scenarios" / "bridge_sales.yaml"}
name: outbound_bridges
roles:
  inside_sales: {{prospecting_share: 0.3, discipline: predicted_value, scoring_accuracy: 0.7}}
market:
  outbound: {{target_accounts: 800, meeting_probability: 0.05}}
  referrals: {{probability_per_renewal: 0.5}}
"""
SHORT = ["--reps", "3", "--seed", "11", "--set", "simulation.horizon=120d", "--set", "simulation.warmup=20d",
         "--quiet", "--no-charts"]
#: Every table a run writes (paired.csv: the designs are compared with the first).
TABLES = ("replications.csv", "summary.csv", "paired.csv", "funnel.csv", "survival.csv", "arr.csv")


def _tables(out: Path) -> dict[str, bytes]:
    (folder,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    return {name: (folder / name).read_bytes() for name in TABLES}


@pytest.fixture(scope="module")
def designs(tmp_path_factory) -> list[str]:
    path = tmp_path_factory.mktemp("designs") / "outbound_bridges.yaml"
    path.write_text(OUTBOUND)
    return [*SHIPPED, str(path)]


def _compare_here(designs: list[str], out: Path, *extra: str) -> dict[str, bytes]:
    assert main(["compare", *designs, *SHORT, "--out", str(out), *extra]) == 0
    return _tables(out)


def _assert_same(a: dict[str, bytes], b: dict[str, bytes]) -> None:
    for name in TABLES:
        assert a[name] == b[name], f"{name} differs"


@pytest.fixture(scope="module")
def reference(designs, tmp_path_factory) -> dict[str, bytes]:
    """The tables of one compare in this process, one job."""
    return _compare_here(designs, tmp_path_factory.mktemp("reference"), "--jobs", "1")


def test_a_rerun_writes_the_same_bytes(designs, reference, tmp_path, capsys):
    _assert_same(reference, _compare_here(designs, tmp_path, "--jobs", "1"))


def test_the_number_of_jobs_does_not_change_a_byte(designs, reference, tmp_path, capsys):
    _assert_same(reference, _compare_here(designs, tmp_path, "--jobs", "2"))


def test_the_dask_executor_writes_the_same_bytes(designs, reference, tmp_path, capsys):
    """Without ``--scheduler``, ``--executor dask`` starts its own local cluster."""
    import distributed  # noqa: F401  (the test extra installs it: this test must run, not skip)

    _assert_same(reference, _compare_here(designs, tmp_path, "--jobs", "2", "--executor", "dask"))
    (folder,) = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert json.loads((folder / "manifest.json").read_text())["executor"] == "dask"


def test_python_hash_seeds_do_not_change_a_byte(designs, reference, tmp_path):
    """String hashing differs between processes started with different PYTHONHASHSEED."""
    runs = {}
    procs = {}
    for hash_seed in ("0", "12345"):
        out = tmp_path / f"hash{hash_seed}"
        procs[hash_seed] = (out, subprocess.Popen(
            [sys.executable, "-m", "sim", "compare", *designs, *SHORT, "--jobs", "2", "--out", str(out)],
            cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": hash_seed},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    for hash_seed, (out, proc) in procs.items():
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        runs[hash_seed] = _tables(out)
    _assert_same(runs["0"], runs["12345"])
    _assert_same(reference, runs["0"])
