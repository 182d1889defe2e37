"""Faults: interrupts, a crash while writing, a replication that raises.

- SIGINT (Ctrl-C) and SIGTERM while ``run`` or ``compare`` is simulating: the process exits
  within 5 s of the signal with status 130 (cli.py turns SIGTERM into the same
  ``KeyboardInterrupt`` as Ctrl-C, so both report "interrupted" and exit 130), leaves no
  partial results folder and no worker process behind, and an older results folder in the
  same ``--out`` is byte for byte untouched.
- A crash or an interrupt while the results folder is being written leaves neither a
  final folder nor a hidden ``.tmp-*`` one.
- A replication that raises, in this process (``--jobs 1``) or in a worker (``--jobs 2``),
  is reported with the scenario, replication and seed that reproduce it; the command exits
  1 without a traceback and writes nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import yaml

import sim.experiment
import sim.output
import sim.report
from sim.cli import main
from sim.streams import replication_seed

from conftest import ROOT, TINY

SILOED = ROOT / "scenarios" / "siloed.yaml"
CROSS = ROOT / "scenarios" / "cross_functional.yaml"
#: Long enough that a signal finds the run simulating: dozens of replications of a year.
LONG = ["--reps", "40", "--set", "simulation.horizon=1y", "--set", "simulation.warmup=30d"]


def _tiny(tmp: Path, name: str = "tiny", rate: float = 30.0) -> Path:
    """TINY with buyers arriving, under its own name."""
    tree = yaml.safe_load(yaml.safe_dump(TINY))
    tree["name"] = name
    tree["market"]["channels"]["web"]["rate_per_week"] = rate
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


def _snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root``: relative path -> sha256 of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _older_results(tmp: Path) -> tuple[Path, dict[str, str]]:
    """A results folder from an earlier run, and its snapshot."""
    out = tmp / "results"
    assert main(["run", str(_tiny(tmp, "earlier")), "--reps", "2", "--jobs", "1", "--out", str(out), "--quiet",
                 "--no-charts"]) == 0
    assert len(list(out.iterdir())) == 1
    return out, _snapshot(out)


# ------------------------------------------------------------------------- signals


def _children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class _Reader(threading.Thread):
    """Collects a pipe's text as it comes (the progress bar rewrites one line)."""

    def __init__(self, pipe):  # type: ignore[no-untyped-def]
        super().__init__(daemon=True)
        self.pipe, self.text = pipe, ""

    def run(self) -> None:
        for chunk in iter(lambda: self.pipe.read(1), ""):
            self.text += chunk


SIGNALS = [(c, j, s) for c in ("run", "compare") for j in (2,) for s in ("SIGINT", "SIGTERM")]
SIGNALS += [("run", 1, "SIGINT"), ("run", 1, "SIGTERM")]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find worker processes")
@pytest.mark.parametrize("command,jobs,name", SIGNALS, ids=[f"{c}-jobs{j}-{s}" for c, j, s in SIGNALS])
def test_a_signal_stops_the_run_promptly_and_leaves_older_results_untouched(command, jobs, name, tmp_path):
    out, before = _older_results(tmp_path)
    designs = [SILOED] if command == "run" else [SILOED, CROSS]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", command, *map(str, designs), *LONG, "--jobs", str(jobs), "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    err = _Reader(proc.stderr)
    err.start()
    try:
        # Wait until it is simulating (its workers are up, or the progress bar shows a
        # finished replication), then give it about two more seconds.
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and proc.poll() is None:
            workers = _children(proc.pid)
            if workers or re.search(r"\b\d+/\d+\b", err.text):
                break
            time.sleep(0.1)
        assert workers or jobs == 1, f"no worker process started: {err.text[-2000:]}"
        time.sleep(2.0)
        workers |= _children(proc.pid)
        assert proc.poll() is None, f"finished before the signal: {err.text[-2000:]}"
        proc.send_signal(getattr(signal, name))
        sent = time.monotonic()
        proc.wait(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err.join(timeout=5)
    assert took < 5, f"took {took:.1f} s to stop"
    assert proc.returncode == 130, err.text[-2000:]
    assert "interrupted" in err.text and "Traceback" not in err.text, err.text[-2000:]
    # No partial folder, hidden or not; the older folder byte for byte as it was.
    assert _snapshot(out) == before
    assert [p.name for p in out.iterdir()] == [next(iter(before)).split("/")[0]]
    # No worker left running.
    time.sleep(0.5)
    assert not [w for w in workers if _alive(w)], "worker processes outlived the command"


def _maps(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return ""


#: Starts a command with SIGINT at its default, as from a terminal (the test runner may
#: have been started with SIGINT ignored, and a child inherits that; exec keeps SIG_DFL).
_AS_FROM_A_TERMINAL = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                       "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc to see what the process has loaded")
@pytest.mark.parametrize("library", ["numpy", "pandas"])
def test_ctrl_c_while_starting_up_exits_calmly(library, tmp_path):
    """Ctrl-C while ``orgsim`` is still importing its libraries: 130, a calm line, nothing written.

    The moment is found, not guessed: the signal goes as soon as the library's compiled
    extension appears in the process's memory map, i.e. in the middle of start-up.
    """
    out = tmp_path / "results"
    proc = subprocess.Popen([sys.executable, "-c", _AS_FROM_A_TERMINAL, "-m", "sim", "run", str(SILOED),
                             "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and f"/{library}/" not in _maps(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.002)
        assert proc.poll() is None, "finished before the signal"
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, err = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert took < 5, f"took {took:.1f} s to stop"
    assert proc.returncode == 130, err
    assert err.strip() == "orgsim: interrupted; nothing was written"
    assert not out.exists()


def test_ctrl_c_in_this_process_reports_what_was_done(tmp_path, monkeypatch, capsys):
    """``--jobs 1``: the interrupt lands in the simulation loop of this process."""
    out, before = _older_results(tmp_path)
    real = sim.experiment.measure
    calls = []

    def measure(res):  # type: ignore[no-untyped-def]
        calls.append(res.seed)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(res)

    monkeypatch.setattr(sim.experiment, "measure", measure)
    status = main(["run", str(_tiny(tmp_path)), "--reps", "4", "--jobs", "1", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert status == 130
    assert "interrupted after 1 of 4 replications" in err and "Traceback" not in err
    assert _snapshot(out) == before


def test_an_interrupt_swallowed_by_a_finalizer_still_stops_the_run(tmp_path, monkeypatch, capsys):
    """Ctrl-C that lands in a finalizer is lost to Python (only reported there); the run still
    stops after the replication under way (sim/interrupt.py), quietly, and writes nothing."""
    out, before = _older_results(tmp_path)
    real = sim.experiment.measure
    calls = []

    raised = []

    class Finalized:
        def __del__(self) -> None:
            raised.append(True)
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # the handler main() installed

    def measure(res):  # type: ignore[no-untyped-def]
        calls.append(res.seed)
        if len(calls) == 2:
            Finalized()  # freed at once: its KeyboardInterrupt is "ignored" by Python
        return real(res)

    monkeypatch.setattr(sim.experiment, "measure", measure)
    status = main(["run", str(_tiny(tmp_path)), "--reps", "4", "--jobs", "1", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert status == 130, err
    assert raised == [True]
    # Python would print "Exception ignored in ..." and a traceback; the command does not.
    assert err == "orgsim: interrupted after 2 of 4 replications; nothing was written\n"
    assert len(calls) == 2
    assert _snapshot(out) == before
    # The request ends with the command: the next one runs.
    monkeypatch.setattr(sim.experiment, "measure", real)
    assert main(["run", str(_tiny(tmp_path)), "--reps", "1", "--jobs", "1", "--out", str(tmp_path / "next"),
                 "--quiet", "--no-charts"]) == 0


# ------------------------------------------------------------------------- writing


@pytest.mark.parametrize("fault", ["resolved_yaml", "charts", "charts_ctrl_c", "rename"])
def test_a_crash_while_writing_leaves_no_folder_that_looks_complete(fault, tmp_path, monkeypatch, capsys):
    out, before = _older_results(tmp_path)

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise (KeyboardInterrupt() if fault == "charts_ctrl_c" else OSError(28, "No space left on device"))

    if fault == "resolved_yaml":
        monkeypatch.setattr(sim.output, "resolved_yaml", boom)
    elif fault in ("charts", "charts_ctrl_c"):
        # The charts and the HTML report are written into the folder by sim.report.
        for writer in ("render_report", "write_charts"):
            monkeypatch.setattr(sim.report, writer, boom, raising=False)
    else:
        monkeypatch.setattr(sim.output.os, "rename", boom)
    try:
        status = main(["run", str(_tiny(tmp_path)), "--reps", "2", "--jobs", "1", "--out", str(out), "--quiet"])
    except BaseException as exc:
        status = exc
    assert status != 0
    if fault == "charts_ctrl_c":
        assert status == 130
    monkeypatch.undo()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".tmp")], "a temporary folder remains"
    assert _snapshot(out) == before, "a new folder appeared, or the older one changed"


# ------------------------------------------------------------------------- failing replications


def _failing_measure(fail_seed: int):  # type: ignore[no-untyped-def]
    real = sim.experiment.measure

    def measure(res):  # type: ignore[no-untyped-def]
        if res.seed == fail_seed and res.scenario.name == "second":
            raise ZeroDivisionError("planted failure")
        return real(res)

    return measure


def test_a_replication_that_raises_here_names_what_reproduces_it(tmp_path, monkeypatch, capsys):
    seed = replication_seed(7, 2)
    monkeypatch.setattr(sim.experiment, "measure", _failing_measure(seed))
    out = tmp_path / "r"
    status = main(["compare", str(_tiny(tmp_path, "first")), str(_tiny(tmp_path, "second")), "--reps", "3",
                   "--seed", "7", "--jobs", "1", "--out", str(out), "--quiet", "--baseline", "first"])
    err = capsys.readouterr().err
    assert status == 1
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "replication 2" in err and "'second'" in err and str(seed) in err and "planted failure" in err
    assert not out.exists() or not any(out.iterdir())


SITECUSTOMIZE = """
    # Loaded by every Python process of the test (the CLI and its workers, however started).
    import os
    if os.environ.get("ORGSIM_TEST_FAIL_SEED"):
        import sim.experiment
        _real = sim.experiment.measure
        def _measure(res):
            if res.seed == int(os.environ["ORGSIM_TEST_FAIL_SEED"]) and res.scenario.name == "second":
                raise ZeroDivisionError("planted failure")
            return _real(res)
        sim.experiment.measure = _measure
"""


def test_a_replication_that_raises_in_a_worker_names_what_reproduces_it(tmp_path):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE))
    seed = replication_seed(7, 3)
    out = tmp_path / "r"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]),
           "ORGSIM_TEST_FAIL_SEED": str(seed)}
    done = subprocess.run(
        [sys.executable, "-m", "sim", "compare", str(_tiny(tmp_path, "first")), str(_tiny(tmp_path, "second")),
         "--reps", "6", "--seed", "7", "--jobs", "2", "--out", str(out), "--quiet", "--baseline", "first"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "replication 3" in done.stderr and "'second'" in done.stderr and str(seed) in done.stderr
    assert "planted failure" in done.stderr
    assert not out.exists() or not any(out.iterdir())
