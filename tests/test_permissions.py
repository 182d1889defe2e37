"""Results are written with the user's umask, so a colleague can open a shared report."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sim import atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_results_folder_and_reports_follow_the_umask(write_scenario, tmp_path: Path, mask: int) -> None:
    scenario = write_scenario({"market.channels.web.rate_per_week": 20})
    out = tmp_path / "results"
    code = ("import os, sys; os.umask(int(sys.argv[1], 8)); from sim.cli import main; "
            "sys.exit(main(sys.argv[2:]))")
    done = subprocess.run([sys.executable, "-c", code, oct(mask), "run", str(scenario), "--reps", "1",
                           "--out", str(out), "--quiet"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    folder, = list(out.iterdir())
    done = subprocess.run([sys.executable, "-c", code, oct(mask), "report", str(folder), "--pptx"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _mode(folder) == 0o777 & ~mask
    for name in ("report.html", "report.pptx", "summary.csv", "manifest.json"):
        assert _mode(folder / name) == 0o666 & ~mask, name
    assert _mode(folder / "charts") == 0o777 & ~mask


def test_write_text_is_atomic_and_leaves_nothing_when_it_fails(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    atomic.write_text(target, "old")

    def broken(fh) -> None:
        fh.write("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic.write_file(target, broken)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    assert _mode(target) == 0o666 & ~atomic.umask()
    assert atomic.umask() == atomic.umask()  # reading it does not change it
