"""The results folder: written whole into a temporary folder, then renamed into place.

A folder under ``results/`` either holds every file of a run or does not exist: a crash or
an interrupt while writing leaves only a hidden ``.tmp-*`` folder, which is removed.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .atomic import make_temp_dir
from .experiment import Results
from .scenario import resolved_yaml

if TYPE_CHECKING:
    from .sensitivity import SensitivityResults
    from .sweep import SweepResults

__all__ = ["write_results", "write_sweep", "write_sensitivity", "new_folder_name"]


def new_folder_name(root: Path, command: str, names: list[str]) -> Path:
    """A folder name under ``root`` that no other run has taken."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    label = "-".join(names)[:60] or "run"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in label)
    candidate = root / f"{stamp}-{command}-{safe}"
    n = 2
    while candidate.exists():
        candidate = root / f"{stamp}-{command}-{safe}-{n}"
        n += 1
    return candidate


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("orgsim", "simpy", "numpy", "pandas", "pydantic", "scipy", "matplotlib"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
            out[dist] = "not installed"
    return out


def _write_folder(root: Path, command: str, names: list[str], fill: Callable[[Path], dict[str, Any]],
                  argv: list[str] | None, last: Callable[[Path], Callable[[], None]] | None = None,
                  report: bool = True, charts: bool = True) -> Path:
    """Fill a hidden temporary folder, add the manifest, rename it into place; return it.

    ``fill(tmp)`` writes the files and returns the manifest's entries; ``last(tmp)``, if
    given, runs just before the rename (to move files in) and returns how to undo it.
    """
    undo: Callable[[], None] | None = None
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tmp = make_temp_dir(root, ".tmp-")
    try:
        entries = fill(tmp)
        manifest = {
            "command": command,
            "argv": argv if argv is not None else sys.argv,
            "scenarios": names,
            **entries,
            "versions": _versions(),
            "write_seconds": round(time.perf_counter() - started, 3),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        if report:
            # The report reads the folder's own files (it never runs a simulation).
            from .report import render_report

            render_report(tmp, "en", charts=charts)
            charts_dir = tmp / "charts"
            manifest["charts"] = sorted(str(p.relative_to(charts_dir)) for p in charts_dir.rglob("*")
                                        if p.is_file()) if charts_dir.is_dir() else []
            manifest["write_seconds"] = round(time.perf_counter() - started, 3)
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        if last is not None:
            undo = last(tmp)
        final = new_folder_name(root, command, names)
        os.rename(tmp, final)
    except BaseException:
        if undo is not None:
            undo()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def write_results(results: Results, root: Path, command: str, argv: list[str] | None = None,
                  charts: bool = True) -> Path:
    """Write every output of an experiment into a new folder under ``root``; return it."""
    def fill(tmp: Path) -> dict[str, Any]:
        (tmp / "scenario.yaml").write_text(resolved_yaml(results.scenarios), encoding="utf-8")
        results.replications.to_csv(tmp / "replications.csv", index=False)
        results.summary.to_csv(tmp / "summary.csv", index=False)
        if results.paired is not None:
            results.paired.to_csv(tmp / "paired.csv", index=False)
        results.funnel.to_csv(tmp / "funnel.csv", index=False)
        results.survival.to_csv(tmp / "survival.csv", index=False)
        results.arr.to_csv(tmp / "arr.csv", index=False)
        return dict(results.meta)

    return _write_folder(root, command, results.names, fill, argv, charts=charts)


def write_sweep(results: SweepResults, root: Path, argv: list[str] | None = None, charts: bool = True,
                kpis: Sequence[str] = ()) -> Path:
    """A sweep's folder: sweep.csv, sweep_summary.csv, charts, events/ when kept, manifest."""
    from .sweep_charts import sweep_charts

    def fill(tmp: Path) -> dict[str, Any]:
        (tmp / "scenario.yaml").write_text(resolved_yaml(results.scenarios), encoding="utf-8")
        results.runs.to_csv(tmp / "sweep.csv", index=False)
        results.summary.to_csv(tmp / "sweep_summary.csv", index=False)
        chart_files = sweep_charts(results.summary, results.keys, kpis, tmp / "charts") if charts else []
        return {**results.meta, "charts": chart_files}

    return _write_folder(root, "sweep", results.names, fill, argv, _move_events(results.events), charts=charts)


def write_sensitivity(results: SensitivityResults, root: Path, argv: list[str] | None = None,
                      charts: bool = True) -> Path:
    """A sensitivity folder: sensitivity.csv, the runs, the base's summary, a tornado, manifest."""
    from .sweep_charts import tornado_chart

    def fill(tmp: Path) -> dict[str, Any]:
        (tmp / "scenario.yaml").write_text(resolved_yaml([results.scenario]), encoding="utf-8")
        results.table.to_csv(tmp / "sensitivity.csv", index=False)
        results.runs.to_csv(tmp / "sensitivity_runs.csv", index=False)
        results.base_summary.to_csv(tmp / "summary.csv", index=False)
        chart_files = [f for k in results.kpis for f in tornado_chart(results.table, k, tmp / "charts")] if charts else []
        return {**results.meta, "charts": chart_files}

    return _write_folder(root, "sensitivity", results.names, fill, argv, charts=charts)


def _move_events(events: Path | None) -> Callable[[Path], Callable[[], None]] | None:
    """Move the event logs in from the checkpoint last (and back if the rename fails)."""
    if events is None or not events.is_dir():
        return None

    def move(tmp: Path) -> Callable[[], None]:
        os.rename(events, tmp / "events")
        return lambda: os.rename(tmp / "events", events)

    return move
