"""Executors: the same numbers everywhere, bounded work in flight, failures and interrupts."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from concurrent.futures import Executor, Future
from pathlib import Path

import pytest

import sim
from sim.cli import main
from sim.experiment import Outcome, ReplicationError, Task, execute
from sim.metrics import Measured

from conftest import ROOT, SCENARIOS

SHORT = ["simulation.horizon=120d", "simulation.warmup=20d"]
SHORT_ARGS = [a for kv in SHORT for a in ("--set", kv)]
SILOED = SCENARIOS / "siloed.yaml"


def _sweep(out: Path, *extra: str) -> list[str]:
    return ["sweep", str(SILOED), "--vary", "roles.inside_sales.headcount=3,6", "--vary", "data_integration=0,0.5",
            "--reps", "2", "--seed", "17", "--out", str(out), "--quiet", "--no-charts", *SHORT_ARGS, *extra]


def _tables(out: Path) -> dict[str, bytes]:
    (folder,) = list(out.iterdir())
    return {name: (folder / name).read_bytes() for name in ("sweep.csv", "sweep_summary.csv")}


def test_same_seed_same_csvs_for_one_job_two_jobs_and_dask(tmp_path, capsys):
    import distributed  # the test extra installs it: this test must run, not skip

    assert main(_sweep(tmp_path / "one", "--jobs", "1")) == 0
    assert main(_sweep(tmp_path / "two", "--jobs", "2")) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert main(_sweep(tmp_path / "dask", "--executor", "dask", "--scheduler", cluster.scheduler_address)) == 0
    one = _tables(tmp_path / "one")
    assert _tables(tmp_path / "two") == one
    assert _tables(tmp_path / "dask") == one


def test_scheduler_needs_the_dask_executor(tmp_path, capsys):
    assert main(_sweep(tmp_path, "--scheduler", "tcp://127.0.0.1:1")) == 2
    assert "--executor dask" in capsys.readouterr().err
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


class _Instant(Executor):
    """Runs nothing: each task comes back at once; counts how many were ever outstanding."""

    def __init__(self) -> None:
        self.outstanding = 0
        self.most = 0

    def submit(self, fn, *args, **kwargs):
        self.outstanding += 1
        self.most = max(self.most, self.outstanding)
        fut: Future = Future()
        fut.set_result(Outcome(Measured({"replication": args[1]}, {}, None, None)))  # type: ignore[arg-type]
        return fut


def test_work_in_flight_is_bounded_whatever_the_number_of_tasks():
    from sim.experiment import _drain

    pool = _Instant()
    seen = []

    def finished(task: Task, outcome: Outcome) -> None:
        pool.outstanding -= 1
        seen.append(task.key)

    tasks = [Task((i,), None, i, i) for i in range(1000)]  # type: ignore[arg-type]
    _drain(pool, iter(tasks), 8, False, finished)
    assert sorted(seen) == [(i,) for i in range(1000)]
    assert pool.most == 8


def test_a_failed_replication_names_scenario_point_replication_and_seed():
    scn = sim.load_scenario(SILOED, SHORT)
    broken = scn.model_copy(update={"calendars": {}})  # not validated: the worker fails building roles
    tasks = [Task((0, r), broken, r, 1000 + r, "3 (data_integration=0.5)") for r in range(2)]
    with pytest.raises(ReplicationError) as err:
        execute(tasks, lambda t, o: None, jobs=2)
    e = err.value
    assert e.scenario == "siloed" and e.point == "3 (data_integration=0.5)"
    assert (e.replication, e.seed) in {(0, 1000), (1, 1001)}
    assert f"replication {e.replication} of scenario 'siloed' at point 3 (data_integration=0.5)" in str(e)
    assert f"(seed {e.seed})" in str(e)


def test_sigint_during_a_run_stops_the_workers_and_leaves_no_results_folder(tmp_path):
    out = tmp_path / "r"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", str(SILOED), "--reps", "40", "--jobs", "2",
                             "--out", str(out), *SHORT_ARGS], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = b""
    try:
        # The progress bar (stderr, after a second) shows replications finishing: then interrupt.
        deadline = time.monotonic() + 120
        # (not "0/40": the bar shows that before the first replication is under way)
        while not re.search(rb"\b[1-9]\d*/40", err) and time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([proc.stderr], [], [], 0.1)
            if ready:
                err += os.read(proc.stderr.fileno(), 4096)
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    text = (err + rest).decode()
    assert proc.returncode == 130, text
    assert "interrupted after" in text and "of 40 replications; nothing was written" in text
    assert "Traceback" not in text
    assert not out.exists() or not any(out.iterdir())


class _Dying(Executor):
    """Every task comes back as a worker failure, the way a killed process does."""

    def submit(self, fn, *args, **kwargs):
        fut: Future = Future()
        fut.set_exception(RuntimeError("worker process died"))
        return fut


def test_a_worker_that_dies_is_reported_with_what_reproduces_it():
    from types import SimpleNamespace

    from sim.experiment import _drain

    task = Task((0, 4), SimpleNamespace(name="siloed"), 4, 1234, "2 (data_integration=0.5)")  # type: ignore[arg-type]
    with pytest.raises(ReplicationError) as err:
        _drain(_Dying(), iter([task]), 2, False, lambda t, o: None)
    e = err.value
    assert (e.scenario, e.replication, e.seed, e.point) == ("siloed", 4, 1234, "2 (data_integration=0.5)")
    assert "worker process died" in str(e)


def _frozen_in_worker() -> int:
    import gc

    return gc.get_freeze_count()


def test_local_workers_start_with_the_parents_objects_frozen_and_the_parent_is_left_unfrozen():
    import gc
    import multiprocessing

    from sim.executors import open_executor

    with open_executor("local", 2) as pool:
        # Both workers were forked before any task was submitted, from a frozen heap...
        assert len(pool.executor._processes) == 2  # type: ignore[attr-defined]
        assert gc.get_freeze_count() == 0  # ...and the parent collects its own objects again
        frozen = [pool.executor.submit(_frozen_in_worker).result() for _ in range(4)]
    if multiprocessing.get_start_method() == "fork":
        assert min(frozen) > 1000  # the parent's heap, which a worker's collector never scans
