"""A results folder read back for the report: the CSV tables, the manifest and the scenarios.

The report is built from these files only (it never runs a simulation), so ``orgsim report
DIR`` can re-render a folder written by any earlier run. Optional tables appear when the
command that wrote the folder produces them:

``sweep_summary.csv``
    ``point``, one column per varied key (its dotted path, e.g. ``roles.inside_sales.headcount``),
    ``kpi``, ``mean``, ``ci_low``, ``ci_high``, ``n``; and ``scenario`` when several designs
    are swept.
``sensitivity.csv``
    ``parameter``, ``kpi``, ``base_value``, ``low_value``, ``high_value``, ``base_mean``,
    ``low_diff_mean``, ``low_diff_ci_low``, ``low_diff_ci_high``, ``high_diff_mean``,
    ``high_diff_ci_low``, ``high_diff_ci_high``, ``n``: the paired change in the KPI when the
    parameter moves from its base value to its low or high value.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from ..stats import CI_LEVEL

if TYPE_CHECKING:
    from ..experiment import Results

__all__ = ["ReportData", "DamagedFolder", "read_folder", "from_results", "scenario_hash", "SWEEP_ID_COLUMNS",
           "DEFAULT_PRIORITIES"]

#: What the scorecard ranks designs on unless ``--priorities`` says otherwise: unit economics,
#: then retention and growth, then the funnel; the cost of the organization as a guard.
DEFAULT_PRIORITIES = ("ltv_to_cac", "nrr", "conversion_rate", "total_cost")
#: Columns of sweep_summary.csv that are not a varied key.
SWEEP_ID_COLUMNS = ("scenario", "point", "kpi", "mean", "ci_low", "ci_high", "n")


@dataclass
class ReportData:
    """Everything a report shows, as plain tables; ``names`` are the designs, baseline first."""

    names: list[str]
    scenarios: dict[str, dict[str, Any]]
    manifest: dict[str, Any]
    summary: pd.DataFrame
    paired: pd.DataFrame | None
    funnel: pd.DataFrame
    survival: pd.DataFrame
    arr: pd.DataFrame
    sweep: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    robustness: pd.DataFrame | None = None
    switching: pd.DataFrame | None = None
    #: Month by month (timeline.csv) and the payback months (payback.csv), where capacity changes.
    timeline: pd.DataFrame | None = None
    payback: pd.DataFrame | None = None
    folder: Path | None = None
    ci_level: float = CI_LEVEL

    #: The results folder's name as the reader will find it (the report may be rendered in a
    #: temporary folder that is renamed afterwards).
    folder_name: str = ""

    @property
    def materiality(self) -> dict[str, float]:
        """KPI -> the smallest material difference, where the manifest sets one (``materiality``)."""
        given = self.manifest.get("materiality") or {}
        return {str(k): float(v) for k, v in given.items()} if isinstance(given, dict) else {}

    @property
    def priorities(self) -> list[str]:
        """The KPIs the user ranks the designs on, most important first (the manifest's
        ``priorities``, else :data:`DEFAULT_PRIORITIES`)."""
        given = self.manifest.get("priorities")
        return [str(k) for k in given] if isinstance(given, list) and given else list(DEFAULT_PRIORITIES)

    @property
    def baseline(self) -> str:
        return self.names[0]

    @property
    def reps(self) -> int:
        return int(self.manifest.get("reps") or self.summary["n"].max())

    @property
    def seed(self) -> Any:
        return self.manifest.get("seed", "?")

    @property
    def version(self) -> str:
        return str(self.manifest.get("versions", {}).get("orgsim", "?"))

    @property
    def level(self) -> int:
        return int(round(self.ci_level * 100))

    @property
    def window_days(self) -> float:
        sim = self.scenarios[self.baseline].get("simulation", {})
        return float(sim.get("horizon", 0.0)) - float(sim.get("warmup", 0.0))

    @cached_property
    def _stats(self) -> dict[tuple[str, str], pd.Series]:
        # A report looks up hundreds of cells: index the table once, not a filter per cell.
        first = self.summary.drop_duplicates(["scenario", "kpi"])
        return {(r.scenario, r.kpi): r for _, r in first.iterrows()}

    @cached_property
    def _diffs(self) -> dict[tuple[str, str], pd.Series]:
        if self.paired is None:
            return {}
        first = self.paired.drop_duplicates(["scenario", "kpi"])
        return {(r.scenario, r.kpi): r for _, r in first.iterrows()}

    def stat(self, name: str, kpi: str) -> pd.Series | None:
        """The summary row (mean, ci_low, ci_high, n) of a design's KPI, if measured."""
        return self._stats.get((name, kpi))

    def mean(self, name: str, kpi: str) -> float:
        row = self.stat(name, kpi)
        return float("nan") if row is None else float(row["mean"])

    def diff(self, name: str, kpi: str) -> pd.Series | None:
        """The paired difference (design - baseline) of a KPI, if there is one."""
        if self.paired is None or name == self.baseline:
            return None
        return self._diffs.get((name, kpi))

    def kpis(self) -> list[str]:
        """Every KPI of the summary, in its order."""
        return list(dict.fromkeys(self.summary.kpi))


class DamagedFolder(ValueError):
    """A file of a results folder cannot be read back; the message names it."""


#: The columns each table must have for the report to use it.
_COLUMNS = {
    "summary.csv": ("scenario", "kpi", "mean", "ci_low", "ci_high", "n"),
    "paired.csv": ("scenario", "kpi"),
    "funnel.csv": ("scenario", "replication", "step", "buyers"),
    "survival.csv": ("scenario", "replication", "month", "share_active"),
    "arr.csv": ("scenario", "replication", "month", "arr"),
    "sweep_summary.csv": ("point", "kpi", "mean", "ci_low", "ci_high", "n"),
    "sensitivity.csv": ("parameter", "kpi"),
    "timeline.csv": ("scenario", "replication", "month", "cumulative_contribution"),
    "payback.csv": ("scenario", "baseline", "payback_month", "ci_low", "ci_high"),
}
#: Columns that hold numbers wherever they appear.
_NUMBERS = ("mean", "ci_low", "ci_high", "n", "replication", "month", "buyers", "share_active", "arr", "point")
_QUOTED = "=+-@\t\r'"


def _unquote(cell: Any) -> Any:
    """Undo :func:`sim.output.csv_safe`: a text cell written as ``'=x`` reads back as ``=x``."""
    if isinstance(cell, str) and len(cell) > 1 and cell[0] == "'" and cell[1] in _QUOTED:
        return cell[1:]
    return cell


def _csv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:  # pandas' parser errors are ValueErrors
        raise DamagedFolder(f"{path}: cannot be read ({_reason(exc)}); the results folder is damaged") from None
    missing = [c for c in _COLUMNS.get(path.name, ()) if c not in df.columns]
    if missing:
        raise DamagedFolder(f"{path}: not a table orgsim wrote (no column {', '.join(missing)}); "
                            "the results folder is damaged")
    wrong = [c for c in _NUMBERS if c in df.columns and len(df) and not pd.api.types.is_numeric_dtype(df[c].dtype)]
    if wrong:
        raise DamagedFolder(f"{path}: column {wrong[0]} holds values that are not numbers; "
                            "the results folder is damaged")
    for c in df.columns:
        if df[c].dtype == object or pd.api.types.is_string_dtype(df[c].dtype):
            df[c] = df[c].map(_unquote)
    return df


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DamagedFolder(f"{path}: cannot be read ({_reason(exc)}); the results folder is damaged") from None


#: The folder's scenario.yaml is orgsim's own output (not a user's file, whose errors need
#: line numbers): libyaml's parser reads it ten times faster than the pure-Python one, where
#: PyYAML was built with it; the safe constructor is the same either way.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_folder(folder: Path) -> ReportData:
    """Read a results folder written by :func:`sim.output.write_results` (and friends).

    Raises ``FileNotFoundError`` for a folder that holds no results and
    :class:`DamagedFolder`, naming the file, for one whose files cannot be read back.
    """
    folder = Path(folder)
    if not (folder / "summary.csv").is_file() and not (folder / "sweep_summary.csv").is_file():
        raise FileNotFoundError(f"{folder} is not a results folder: summary.csv is missing")
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(_text(manifest_path)) if manifest_path.is_file() else {}
    except ValueError as exc:
        raise DamagedFolder(f"{manifest_path}: not valid JSON ({_reason(exc)}); the results folder is damaged") from None
    if not isinstance(manifest, dict):
        raise DamagedFolder(f"{manifest_path}: not a manifest orgsim wrote; the results folder is damaged")
    scenario_path = folder / "scenario.yaml"
    if not scenario_path.is_file():
        raise DamagedFolder(f"{scenario_path}: missing; the results folder is damaged")
    try:
        docs = [d for d in yaml.load_all(_text(scenario_path), Loader=_LOADER) if d]
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise DamagedFolder(f"{scenario_path}: not valid YAML ({_reason(exc)}); the results folder is damaged") from None
    if not all(isinstance(d, dict) and "name" in d for d in docs):
        raise DamagedFolder(f"{scenario_path}: not the scenarios orgsim wrote; the results folder is damaged")
    scenarios = {str(d["name"]): d for d in docs}
    # A sweep has no single design to summarize: its table is sweep_summary.csv.
    summary = _csv(folder / "summary.csv")
    if summary is None:
        summary = pd.DataFrame(columns=["scenario", "kpi", "mean", "ci_low", "ci_high", "n"])
    names = [str(n) for n in manifest.get("scenarios") or dict.fromkeys(summary.scenario)]
    empty = pd.DataFrame(columns=["scenario", "replication", "month", "value"])
    return ReportData(
        names=names,
        scenarios=scenarios,
        manifest=manifest,
        summary=summary,
        paired=_csv(folder / "paired.csv"),
        funnel=_or(_csv(folder / "funnel.csv"), empty),
        survival=_or(_csv(folder / "survival.csv"), empty),
        arr=_or(_csv(folder / "arr.csv"), empty),
        sweep=_csv(folder / "sweep_summary.csv"),
        sensitivity=_csv(folder / "sensitivity.csv"),
        robustness=_csv(folder / "robustness.csv"),
        switching=_csv(folder / "switching.csv"),
        timeline=_csv(folder / "timeline.csv"),
        payback=_csv(folder / "payback.csv"),
        folder=folder,
    )


def _or(table: pd.DataFrame | None, default: pd.DataFrame) -> pd.DataFrame:
    return default if table is None else table


def from_results(results: Results) -> ReportData:
    """The same view of an experiment still in memory (for :func:`write_charts`)."""
    from importlib import metadata

    try:
        version = metadata.version("orgsim")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        version = "?"
    docs = {s.name: s.model_dump(mode="json", exclude={"extends"}) for s in results.scenarios}
    manifest = {"scenarios": results.names, **results.meta, "versions": {"orgsim": version}}
    return ReportData(
        names=results.names, scenarios=docs, manifest=manifest, summary=results.summary,
        paired=results.paired, funnel=results.funnel, survival=results.survival, arr=results.arr,
    )


def scenario_hash(doc: dict[str, Any]) -> str:
    """SHA-256 of a resolved scenario, as canonical JSON (key order and spacing do not count)."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
