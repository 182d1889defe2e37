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
import tempfile
import time
from pathlib import Path

from .experiment import Results
from .scenario import resolved_yaml

__all__ = ["write_results", "new_folder_name"]


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


def write_results(results: Results, root: Path, command: str, argv: list[str] | None = None,
                  charts: bool = True) -> Path:
    """Write every output of an experiment into a new folder under ``root``; return it."""
    from .report import write_charts

    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        (tmp / "scenario.yaml").write_text(resolved_yaml(results.scenarios), encoding="utf-8")
        results.replications.to_csv(tmp / "replications.csv", index=False)
        results.summary.to_csv(tmp / "summary.csv", index=False)
        if results.paired is not None:
            results.paired.to_csv(tmp / "paired.csv", index=False)
        results.funnel.to_csv(tmp / "funnel.csv", index=False)
        results.survival.to_csv(tmp / "survival.csv", index=False)
        results.arr.to_csv(tmp / "arr.csv", index=False)
        chart_files = write_charts(results, tmp / "charts") if charts else []
        manifest = {
            "command": command,
            "argv": argv if argv is not None else sys.argv,
            "scenarios": results.names,
            **results.meta,
            "versions": _versions(),
            "charts": chart_files,
            "write_seconds": round(time.perf_counter() - started, 3),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        final = new_folder_name(root, command, results.names)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
