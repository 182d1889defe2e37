"""The results folder: written whole into a temporary folder, then renamed into place.

A folder under ``results/`` either holds every file of a run or does not exist: a crash or
an interrupt while writing leaves only a hidden ``.tmp-*`` folder, which is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .atomic import make_temp_dir, write_text, write_with
from .experiment import Results
from .scenario import resolved_yaml
from .timeline import changes_over_time, paired_timeline, payback

if TYPE_CHECKING:
    from .sensitivity import SensitivityResults
    from .sweep import SweepResults

__all__ = ["write_results", "write_sweep", "write_sensitivity", "new_folder_name", "claim_folder", "check_writable",
           "leftovers", "ResultsNotWritten", "TEMP_PREFIX", "portable_argv", "portable_paths", "csv_safe", "to_csv"]


#: Bytes a folder name may take (most filesystems: 255; kept well below, with room for "-NN").
_NAME_BYTES = 200
#: The prefix of a folder being written; the writer's pid follows (``.tmp-<pid>-...``).
TEMP_PREFIX = ".tmp-"


class ResultsNotWritten(OSError):
    """The results could not be written where asked. ``saved`` is where they went instead
    (None: nowhere); the finished work is never silently dropped. ``kept`` names a
    checkpoint that still holds the replications (sweeps and sensitivity analyses)."""

    kept: Path | None = None

    def __init__(self, root: Path, reason: str, saved: Path | None):
        self.root, self.reason, self.saved = root, reason, saved
        where = f"they were saved in {saved} instead" if saved else "they could not be saved anywhere else either"
        super().__init__(f"could not write the results in {root} ({reason}); {where}")


def _label(command: str, names: list[str]) -> str:
    """``<stamp>-<command>-<names>``, safe in a file name and at most ``_NAME_BYTES`` bytes."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    label = "-".join(names)[:60] or "run"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in label)
    text = f"{stamp}-{command}-{safe}"
    # Cut by bytes, not characters: sixty 4-byte letters exceed a 255-byte name limit.
    return text.encode("utf-8")[:_NAME_BYTES].decode("utf-8", errors="ignore")


def new_folder_name(root: Path, command: str, names: list[str]) -> Path:
    """A folder name under ``root`` that no other run has taken (not reserved: see :func:`claim_folder`)."""
    base = root / _label(command, names)
    candidate, n = base, 2
    while candidate.exists():
        candidate = root / f"{base.name}-{n}"
        n += 1
    return candidate


def claim_folder(root: Path, command: str, names: list[str]) -> Path:
    """Create and return a new empty folder under ``root`` whose name no other run has.

    ``mkdir`` is atomic: two processes finishing in the same second get different names
    (the loser of a race tries the next one), where checking then renaming lost results.
    """
    base = _label(command, names)
    for n in range(1, 10_000):
        candidate = root / (base if n == 1 else f"{base}-{n}")
        try:
            os.mkdir(candidate)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"no free folder name for {base} in {root}")


def _pid_of(temp: Path) -> int | None:
    rest = temp.name[len(TEMP_PREFIX):]
    head = rest.split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def leftovers(root: Path, clean: bool = True) -> list[str]:
    """Temporary folders of runs that were killed while writing into ``root``.

    Those whose writer is gone are removed (when ``clean``); one line each says what was
    found. A folder whose writer is still running is left alone and not mentioned.
    """
    notes: list[str] = []
    try:
        temps = sorted(p for p in Path(root).glob(f"{TEMP_PREFIX}*") if p.is_dir())
    except OSError:
        return notes
    for temp in temps:
        pid = _pid_of(temp)
        if pid is not None and _alive(pid):
            continue
        if clean:
            shutil.rmtree(temp, ignore_errors=True)
        if temp.exists():
            notes.append(f"{temp} is an unfinished results folder of a run that was killed: delete it")
        else:
            notes.append(f"removed {temp}: an unfinished results folder of a run that was killed")
    return notes


def check_writable(root: Path, need: int = 1 << 20) -> None:
    """Refuse an output location before simulating, not after: it must be a folder (or be
    creatable as one), writable, with room for a small probe file and ``need`` bytes.

    Raises ``OSError`` with a one-line reason. Nothing is left behind.
    """
    root = Path(root)
    existing = root
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(f"{existing} exists and is not a folder")
    name = root.name.encode("utf-8", errors="surrogateescape")
    if len(name) > 255:
        raise OSError(f"the folder name {root.name[:40]}... is longer than 255 bytes")
    try:
        fd, probe = tempfile.mkstemp(prefix=".orgsim-probe-", dir=existing)
    except OSError as exc:
        raise OSError(f"cannot write in {existing}: {exc.strerror or exc}") from None
    try:
        try:
            os.write(fd, b"\0" * 4096)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise OSError(f"cannot write in {existing}: {exc.strerror or exc}") from None
    finally:
        Path(probe).unlink(missing_ok=True)
    try:
        st = os.statvfs(existing)
    except (OSError, AttributeError):  # pragma: no cover - not POSIX
        return
    free = st.f_bavail * st.f_frsize
    if free < need:
        raise OSError(f"only {free // 1024:,} KiB free in {existing}; the results need about {need // 1024:,} KiB")


def _portable(arg: str, root: Path) -> str:
    """An absolute path made relative: to the working directory when inside it, else to
    the results folder's parent (a manifest does not reveal the user's machine layout)."""
    if not os.path.isabs(arg):
        return arg
    cwd = os.getcwd()
    try:
        inside = os.path.commonpath([cwd, arg]) == cwd
    except ValueError:  # pragma: no cover - different drives
        return os.path.basename(arg)
    return os.path.relpath(arg, cwd if inside else os.path.abspath(root))


def portable_argv(argv: Sequence[str], root: Path) -> list[str]:
    """The command line as the user would retype it, without absolute local paths."""
    out = ["orgsim"]
    for arg in list(argv)[1:]:
        arg = str(arg)
        key, sep, value = arg.partition("=")
        if sep and not os.path.isabs(arg) and os.path.isabs(value):
            out.append(f"{key}={_portable(value, root)}")
        else:
            out.append(_portable(arg, root))
    return out


def portable_paths(entries: dict[str, Any], root: Path) -> dict[str, Any]:
    """``entries`` with every absolute path (a string value) made relative."""
    return {k: _portable(v, root) if isinstance(v, str) else v for k, v in entries.items()}


#: Cells a spreadsheet would run as a formula (OWASP: CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _neutralise(cell: Any) -> Any:
    if not isinstance(cell, str) or not cell:
        return cell
    if cell.startswith("'") or (cell.startswith(_FORMULA_START) and not _is_number(cell)):
        return "'" + cell  # a leading quote makes a spreadsheet show the text as text
    return cell


def _is_text(column: pd.Series) -> bool:
    """Text (or mixed) columns: pandas 3 gives text its own dtype, older versions ``object``."""
    return bool(column.dtype == object or pd.api.types.is_string_dtype(column.dtype))


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with text cells that a spreadsheet would run as a formula prefixed by ``'``.

    Only text columns are touched: numbers (negative ones too) stay numbers. The reader
    (:mod:`sim.report.folder`) removes the prefix, so names read back as they were.
    """
    text = [c for c in df.columns if _is_text(df[c])]
    if not text:
        return df
    out = df.copy()
    for c in text:
        out[c] = out[c].map(_neutralise)
    return out


def to_csv(df: pd.DataFrame, path: Path) -> Path:
    """Write ``df`` as CSV, atomically, neutralising formula-like text (see :func:`csv_safe`)."""
    safe = csv_safe(df)
    return write_with(path, lambda tmp: safe.to_csv(tmp, index=False))


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
    """Write the folder under ``root``; if that fails, under a safe place, and say so.

    Raises :class:`ResultsNotWritten` (an ``OSError``) when the folder could not be written
    in ``root``: it names where the results were saved instead, if anywhere.
    """
    try:
        return _write_into(root, command, names, fill, argv, last, report, charts)
    except OSError as exc:
        reason = exc.strerror or str(exc)
    for rescue in _rescue_roots(root):
        try:
            # The event logs stay in the checkpoint: moving them could cross filesystems.
            saved = _write_into(rescue, command, names, fill, argv, None, report, charts)
        except OSError:
            continue
        raise ResultsNotWritten(root, reason, saved)
    raise ResultsNotWritten(root, reason, None)


def _rescue_roots(root: Path) -> list[Path]:
    places = [Path(tempfile.gettempdir()) / "orgsim-unsaved", Path.home() / "orgsim-unsaved"]
    return [p for p in places if p.resolve() != Path(root).resolve()]


def _write_into(root: Path, command: str, names: list[str], fill: Callable[[Path], dict[str, Any]],
                argv: list[str] | None, last: Callable[[Path], Callable[[], None]] | None,
                report: bool, charts: bool) -> Path:
    """Fill a hidden temporary folder, add the manifest, rename it into place; return it.

    ``fill(tmp)`` writes the files and returns the manifest's entries; ``last(tmp)``, if
    given, runs just before the rename (to move files in) and returns how to undo it.
    """
    undo: Callable[[], None] | None = None
    final: Path | None = None
    root.mkdir(parents=True, exist_ok=True)
    leftovers(root)
    started = time.perf_counter()
    tmp = make_temp_dir(root, f"{TEMP_PREFIX}{os.getpid()}-")
    try:
        entries = fill(tmp)
        manifest = {
            "command": command,
            "argv": portable_argv(argv if argv is not None else sys.argv, root),
            "scenarios": names,
            **portable_paths(entries, root),
            "versions": _versions(),
            "write_seconds": round(time.perf_counter() - started, 3),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        write_text(tmp / "manifest.json", json.dumps(manifest, indent=2, default=str))
        final = claim_folder(root, command, names)  # claimed first: the report names it, not tmp
        if report:
            # The report reads the folder's own files (it never runs a simulation).
            from .report import render_report

            render_report(tmp, "en", charts=charts, name=final.name)
            charts_dir = tmp / "charts"
            manifest["charts"] = sorted(str(p.relative_to(charts_dir)) for p in charts_dir.rglob("*")
                                        if p.is_file()) if charts_dir.is_dir() else []
            manifest["write_seconds"] = round(time.perf_counter() - started, 3)
            write_text(tmp / "manifest.json", json.dumps(manifest, indent=2, default=str))
        if last is not None:
            undo = last(tmp)
        os.rename(tmp, final)  # over the empty folder just claimed: atomic
    except BaseException:
        if undo is not None:
            undo()
        if final is not None:
            with contextlib.suppress(OSError):
                final.rmdir()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def write_results(results: Results, root: Path, command: str, argv: list[str] | None = None,
                  charts: bool = True) -> Path:
    """Write every output of an experiment into a new folder under ``root``; return it."""
    def fill(tmp: Path) -> dict[str, Any]:
        write_text(tmp / "scenario.yaml", resolved_yaml(results.scenarios))
        to_csv(results.replications, tmp / "replications.csv")
        to_csv(results.summary, tmp / "summary.csv")
        if results.paired is not None:
            to_csv(results.paired, tmp / "paired.csv")
        to_csv(results.funnel, tmp / "funnel.csv")
        to_csv(results.survival, tmp / "survival.csv")
        to_csv(results.arr, tmp / "arr.csv")
        if results.timeline is not None and changes_over_time(results.scenarios):
            # Only where capacity changes over time: a static comparison's folder stays as it was.
            to_csv(results.timeline, tmp / "timeline.csv")
            if len(results.names) > 1:
                to_csv(paired_timeline(results.timeline, results.names[0]), tmp / "timeline_paired.csv")
                to_csv(payback(results.timeline, results.names[0]), tmp / "payback.csv")
        return dict(results.meta)

    return _write_folder(root, command, results.names, fill, argv, charts=charts)


def write_sweep(results: SweepResults, root: Path, argv: list[str] | None = None, charts: bool = True,
                kpis: Sequence[str] = ()) -> Path:
    """A sweep's folder: sweep.csv, sweep_summary.csv, charts, events/ when kept, manifest."""
    from .sweep_charts import sweep_charts

    def fill(tmp: Path) -> dict[str, Any]:
        write_text(tmp / "scenario.yaml", resolved_yaml(results.scenarios))
        to_csv(results.runs, tmp / "sweep.csv")
        to_csv(results.summary, tmp / "sweep_summary.csv")
        chart_files = sweep_charts(results.summary, results.keys, kpis, tmp / "charts") if charts else []
        return {**results.meta, "charts": chart_files}

    return _write_folder(root, "sweep", results.names, fill, argv, _move_events(results.events), charts=charts)


def write_sensitivity(results: SensitivityResults, root: Path, argv: list[str] | None = None,
                      charts: bool = True) -> Path:
    """A sensitivity folder: sensitivity.csv, the runs, the base's summary, a tornado, manifest."""
    from .sweep_charts import tornado_chart

    def fill(tmp: Path) -> dict[str, Any]:
        write_text(tmp / "scenario.yaml", resolved_yaml([results.scenario]))
        to_csv(results.table, tmp / "sensitivity.csv")
        to_csv(results.runs, tmp / "sensitivity_runs.csv")
        to_csv(results.base_summary, tmp / "summary.csv")
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
