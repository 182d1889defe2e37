"""Never lose finished work: the output is checked before simulating, a failed write saves
the results elsewhere and says where, names are unique under concurrency and fit the
filesystem, workers die with their parent, leftovers of killed runs are cleaned, a
checkpoint is used by one run at a time, and damaged folders are named in one line.

Fault tests use a small tmpfs (we are root: permissions would not stop us) or a fake
filesystem error.
"""

from __future__ import annotations

import errno
import fcntl
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from test_faults import _alive, _children

import sim.api
import sim.output
import sim.report
from sim.cli import main
from sim.output import claim_folder, leftovers

from conftest import ROOT, TINY

SILOED = ROOT / "scenarios" / "siloed.yaml"
QUICK = ["--reps", "2", "--jobs", "1", "--quiet", "--no-charts"]


def _tiny(tmp: Path, name: str = "tiny", rate: float = 30.0) -> Path:
    tree = yaml.safe_load(yaml.safe_dump(TINY))
    tree["name"] = name
    tree["market"]["channels"]["web"]["rate_per_week"] = rate
    path = tmp / "tiny.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def small_tmpfs(tmp_path):  # type: ignore[no-untyped-def]
    """A 512 KiB tmpfs, unmounted afterwards (skipped where mounting is not allowed)."""
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


# ------------------------------------------------------------------------- before simulating


def test_a_full_disk_is_refused_before_simulating(small_tmpfs, tmp_path, monkeypatch, capsys):
    (small_tmpfs / "filler").write_bytes(b"x" * (500 << 10))
    simulated = []
    monkeypatch.setattr(sim.api, "compare", lambda *a, **k: simulated.append(1))
    status = main(["run", str(_tiny(tmp_path)), "--out", str(small_tmpfs / "results"), *QUICK])
    err = capsys.readouterr().err
    assert status == 2 and not simulated
    assert f"--out {small_tmpfs / 'results'}:" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (small_tmpfs / "results").exists()


@pytest.mark.parametrize("out", ["file", "file/below", "x" * 300])
def test_an_output_that_cannot_be_a_folder_is_refused_before_simulating(out, tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    status = main(["run", str(_tiny(tmp_path)), "--out", str(tmp_path / out), *QUICK])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


# ------------------------------------------------------------------------- when writing fails


def test_a_write_that_fails_at_the_end_keeps_the_results_elsewhere(tmp_path, monkeypatch, capsys):
    rescue = tmp_path / "rescue-tmp"
    rescue.mkdir()
    monkeypatch.setattr(sim.output.tempfile, "gettempdir", lambda: str(rescue))
    out = tmp_path / "results"
    real = sim.output.claim_folder

    def full(root, command, names):  # type: ignore[no-untyped-def]
        if root == out:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(root, command, names)

    monkeypatch.setattr(sim.output, "claim_folder", full)
    status = main(["run", str(_tiny(tmp_path)), "--out", str(out), *QUICK])
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "No space left on device" in err
    saved = Path(re.search(r"saved in (\S+) instead", err).group(1))  # type: ignore[union-attr]
    assert saved.parent == rescue / "orgsim-unsaved"
    assert {"summary.csv", "replications.csv", "manifest.json", "scenario.yaml"} <= {p.name for p in saved.iterdir()}
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]


def test_a_sweep_whose_write_fails_keeps_its_checkpoint(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sim.output, "_rescue_roots", lambda root: [])
    monkeypatch.setattr(sim.output, "claim_folder", lambda *a: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
    out = tmp_path / "results"
    status = main(["sweep", str(_tiny(tmp_path)), "--vary", "roles.sdr.headcount=1,2", "--out", str(out), *QUICK])
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err, err
    assert "could not be saved anywhere else" in err and "--resume" in err
    kept = Path(re.search(r"kept in (\S+) \(", err).group(1))  # type: ignore[union-attr]
    assert (kept / "runs.jsonl").read_text().count("\n") == 4


def test_a_long_multibyte_name_fits_the_filesystem(tmp_path, capsys):
    name = "\U0001d49c" * 60 + "x" * 100  # 340 bytes of UTF-8
    out = tmp_path / "results"
    assert main(["run", str(_tiny(tmp_path, name)), "--out", str(out), *QUICK]) == 0
    (folder,) = out.iterdir()
    assert len(folder.name.encode("utf-8")) <= 255
    assert json.loads((folder / "manifest.json").read_text())["scenarios"] == [name]


def _claim_many(root: str, n: int) -> list[str]:
    return [claim_folder(Path(root), "run", ["same"]).name for _ in range(n)]


def test_folder_names_are_unique_when_many_processes_finish_in_the_same_second(tmp_path):
    # Spawned, not forked: a fork of a test process that runs threads (coverage's, a progress
    # bar's) can inherit a lock one of them held and wait on it for ever (it hung a CI run).
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        names = [n for part in pool.starmap(_claim_many, [(str(tmp_path), 50)] * 4) for n in part]
    assert len(names) == 200 == len(set(names))


def test_concurrent_writes_of_results_all_arrive(tmp_path):
    """Eight processes write results folders into one --out at once: none is lost."""
    script = tmp_path / "tiny.yaml"
    _tiny(tmp_path, rate=5.0)
    out = tmp_path / "results"
    procs = [subprocess.Popen([sys.executable, "-m", "sim", "run", str(script), "--out", str(out), *QUICK],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(8)]
    codes = [p.wait(timeout=180) for p in procs]
    assert codes == [0] * 8, [p.stderr.read() for p in procs if p.stderr]  # type: ignore[union-attr]
    assert len([p for p in out.iterdir() if not p.name.startswith(".")]) == 8


# ------------------------------------------------------------------------- killed runs


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find worker processes")
def test_workers_stop_when_the_parent_is_killed_with_sigkill(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", str(SILOED), "--reps", "40", "--jobs", "2",
                             "--set", "simulation.horizon=1y", "--set", "simulation.warmup=30d", "--quiet",
                             "--out", str(tmp_path / "r")], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and len(workers) < 2 and proc.poll() is None:
            workers = _children(proc.pid)
            time.sleep(0.1)
        assert workers, "no worker started"
        time.sleep(1.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and [w for w in workers if _alive(w)]:
            time.sleep(0.1)
        left = [w for w in workers if _alive(w)]
    finally:
        for w in _children(proc.pid):
            os.kill(w, signal.SIGKILL)
    assert not left, "workers outlived a parent killed with SIGKILL"


def test_leftover_temporary_folders_are_cleaned_and_never_reported_as_results(tmp_path, capsys):
    out = tmp_path / "results"
    dead = out / ".tmp-999999999-abcd"
    mine = out / f".tmp-{os.getpid()}-live"
    for folder in (dead, mine):
        folder.mkdir(parents=True)
        (folder / "summary.csv").write_text("scenario,kpi,mean,ci_low,ci_high,n\n")
    assert main(["report", str(dead)]) == 2
    assert "did not finish" in capsys.readouterr().err
    assert main(["run", str(_tiny(tmp_path)), "--out", str(out), *QUICK]) == 0
    err = capsys.readouterr().err
    assert f"removed {dead}" in err
    assert not dead.exists() and mine.exists()  # a writer still running is left alone
    assert leftovers(out) == []


def test_a_second_resume_is_refused_while_the_first_holds_the_checkpoint(tmp_path, capsys):
    out = tmp_path / "results"
    args = ["sweep", str(_tiny(tmp_path)), "--vary", "roles.sdr.headcount=1,2", "--out", str(out), *QUICK]
    from sim.plan import _open_checkpoint
    from sim.sweep import plan_sweep

    plan = plan_sweep(_tiny(tmp_path), ["roles.sdr.headcount=1,2"], reps=2)
    folder = out / plan.checkpoint_name()
    folder.mkdir(parents=True)
    _open_checkpoint(folder, plan)
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as the first run holds it
        assert main([*args, "--resume", str(folder)]) == 2
        err = capsys.readouterr().err
        assert "in use by another orgsim run" in err and "Traceback" not in err
    finally:
        os.close(fd)
    assert main([*args, "--resume", str(folder)]) == 0  # once released, it resumes


# ------------------------------------------------------------------------- damaged folders


@pytest.fixture
def results(tmp_path):  # type: ignore[no-untyped-def]
    out = tmp_path / "results"
    assert main(["run", str(_tiny(tmp_path)), "--out", str(out), *QUICK]) == 0
    (folder,) = out.iterdir()
    return folder


@pytest.mark.parametrize("name,content", [
    ("summary.csv", b"\x00\xff garbage"), ("summary.csv", b"a,b\n1,2\n"), ("summary.csv", b'"unclosed\n'),
    ("manifest.json", b"{not json"), ("manifest.json", b"[1, 2]"), ("scenario.yaml", b"a: [b\n"),
    ("scenario.yaml", b"- 1\n- 2\n"), ("funnel.csv", b"x\n1\n"), ("arr.csv", b"\xff\xfe\x00"),
    ("summary.csv", b"scenario,kpi,mean,ci_low,ci_high,n\ntiny,won,abc,x,y,z\n"), ("survival.csv", b""),
])
def test_a_damaged_results_folder_is_named_in_one_line(results, name, content, capsys):
    (results / name).write_bytes(content)
    assert main(["report", str(results)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert name in err


@pytest.mark.parametrize("damage", ["plan", "middle_line", "foreign_record"])
def test_a_damaged_checkpoint_is_named_in_one_line(damage, tmp_path, capsys):
    from sim.plan import CHECKPOINT_FILE, _open_checkpoint
    from sim.sweep import plan_sweep

    scn = _tiny(tmp_path)
    plan = plan_sweep(scn, ["roles.sdr.headcount=1,2"], reps=2)
    folder = tmp_path / "cp"
    folder.mkdir()
    _open_checkpoint(folder, plan)
    record = {"point": 0, "scenario": "tiny", "replication": 0, "seed": 1, "kpis": {}}
    lines = [json.dumps(record), "garbage{", json.dumps(record)] if damage == "middle_line" else \
        [json.dumps({**record, "point": 99})] if damage == "foreign_record" else []
    (folder / CHECKPOINT_FILE).write_text("".join(line + "\n" for line in lines))
    if damage == "plan":
        (folder / "plan.json").write_text("{torn")
    status = main(["sweep", str(scn), "--vary", "roles.sdr.headcount=1,2", "--resume", str(folder),
                   "--out", str(tmp_path / "r"), *QUICK])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert ("plan.json" if damage == "plan" else CHECKPOINT_FILE) in err and "damaged" in err


def test_an_interrupted_report_says_what_it_had_written(results, monkeypatch, capsys):
    def render(folder, lang="en", charts=True, **_):  # type: ignore[no-untyped-def]
        (Path(folder) / "report.html").write_text("half")
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.report, "render_report", render)
    assert main(["report", str(results)]) == 130
    err = capsys.readouterr().err
    assert "nothing was written" not in err and "report.html" in err and "again" in err


def test_an_interrupted_report_that_wrote_nothing_says_so(results, monkeypatch, capsys):
    monkeypatch.setattr(sim.report, "render_report", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert main(["report", str(results)]) == 130
    assert "interrupted; nothing was written" in capsys.readouterr().err
