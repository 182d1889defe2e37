"""Reading a company's own funnel: a CRM export, checked, as one table of deals.

Three formats are read (``docs/tutorial.md``, "Your own company", shows each on the shipped
``examples/crm/``):

- **neutral**, one row per lead or deal: ``id, segment, source, created_at, stage, outcome``
  (required), and ``first_response_at, lost_reason, amount, closed_at`` and one
  ``<stage>_entered_at`` column per opportunity stage (optional). ``stage`` is where the
  record is, or where it ended: ``lead`` or one of the stages (orgsim's ``discovery, demo,
  proposal, close``); ``outcome`` is ``won``, ``lost`` or ``open``. The stage times may come
  instead as a long table (``--stages``): ``id, stage, entered_at``, a row per stage entered.
- **salesforce**, an opportunity history report: one row per stage change, with
  ``OpportunityId, StageName, Amount, CloseDate, CreatedDate`` (the change's time) and the
  columns named in the mapping file for the segment and the lead source.
- **hubspot**, a deals export: one row per deal, with ``dealname, pipeline, dealstage, amount,
  createdate, closedate`` and optional ``hs_date_entered_<stage id>`` columns.

A mapping file (YAML) turns the CRM's stage names into orgsim's (``stages:``), and may rename
segments (``segments:``), sources (``sources:``) and the columns that hold them (``columns:``);
``examples/crm/stage_mapping.yaml`` is a commented one to edit.

Every problem is reported as one line naming the file, the row (the line of the CSV file,
the header being line 1) and the column, with what was expected (:class:`~sim.scenario.Problem`);
nothing is read half.
"""

from __future__ import annotations

import difflib
import math
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .scenario import Problem, ScenarioError

__all__ = ["STAGES", "FORMATS", "CrmData", "Mapping", "read_mapping", "read_deals", "read_customers", "load",
           "MAX_BYTES"]

#: orgsim's opportunity stages, in order (the default market's acquisition stages after qualification).
STAGES: tuple[str, ...] = ("discovery", "demo", "proposal", "close")
FORMATS = ("neutral", "salesforce", "hubspot")
OUTCOMES = ("won", "lost", "open")
#: The default market's channels, and the buyers the organization brings in itself.
SOURCES = ("search", "social", "community", "events", "partners", "referral", "outbound")
#: A CRM export larger than this is refused before it is read (a large company's funnel of a
#: few years is tens of MB).
MAX_BYTES = 200 << 20
#: At most this many problems are listed; the rest are counted.
_MAX_PROBLEMS = 20

_REQUIRED = ("id", "segment", "source", "created_at", "stage", "outcome")
_OPTIONAL = ("first_response_at", "lost_reason", "amount", "closed_at")
_CUSTOMER_REQUIRED = ("id", "segment", "start_at", "arr")
_CUSTOMER_OPTIONAL = ("churned_at", "expansions", "expansion_arr")


@dataclass(frozen=True)
class Mapping:
    """How a CRM's names read as orgsim's: stages, segments, sources, and the columns that hold them."""

    stages: dict[str, str]
    segments: dict[str, str]
    sources: dict[str, str]
    columns: dict[str, str]
    won: tuple[str, ...] = ("Closed Won", "closedwon")
    lost: tuple[str, ...] = ("Closed Lost", "closedlost")


@dataclass
class CrmData:
    """A funnel read from a CRM export (or exported from a simulated run).

    ``deals``: one row per lead or deal; times are days since ``start`` (the earliest record):
    ``id, segment, source, created, first_response, stage, outcome, lost_reason, amount,
    closed`` and ``entered.<stage>`` per stage. ``customers`` (or None): ``id, segment, start,
    arr, churned, expansions, expansion_arr`` (NaN where the table has no ``expansion_arr``).
    The records cover ``days`` days from ``start`` to the export.
    """

    deals: pd.DataFrame
    customers: pd.DataFrame | None
    start: pd.Timestamp
    days: float
    stages: tuple[str, ...] = STAGES
    source: str = "deals"


class _Problems:
    """Problems found in one file, reported together, at most :data:`_MAX_PROBLEMS` of them."""

    def __init__(self, source: str):
        self.source = source
        self.items: list[Problem] = []
        self.more = 0

    def add(self, row: int | None, column: str, message: str) -> None:
        if len(self.items) < _MAX_PROBLEMS:
            self.items.append(Problem(self.source, row, column, message))
        else:
            self.more += 1

    def raise_if_any(self) -> None:
        if self.items:
            self.items.sort(key=lambda p: p.line or 0)
            extra = [Problem(self.source, None, "", f"and {self.more} more problems")] if self.more else []
            raise ScenarioError(self.items + extra)


def _hint(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _read_csv(path: Path) -> pd.DataFrame:
    """The file's cells as text (empty cells as ''), or one problem saying why it cannot be read."""
    source = str(path)
    try:
        st = path.stat()
    except OSError:
        raise ScenarioError([Problem(source, None, "", "file not found")]) from None
    if not stat.S_ISREG(st.st_mode):
        raise ScenarioError([Problem(source, None, "", "not a regular file: expected a CSV file")])
    if st.st_size > MAX_BYTES:
        raise ScenarioError([Problem(source, None, "", f"{st.st_size:,} bytes: a CRM export is read up to "
                                                       f"{MAX_BYTES:,} bytes")])
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ScenarioError([Problem(source, None, "", "not UTF-8 text: save the export as UTF-8 CSV")]) from None
    except pd.errors.EmptyDataError:
        raise ScenarioError([Problem(source, None, "", "empty file: expected a header row and records")]) from None
    except pd.errors.ParserError as exc:
        line = _parser_line(str(exc))
        raise ScenarioError([Problem(source, line, "", "not a CSV table: a row has more cells than the header")]
                            ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    dupes = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if any(c.endswith(".1") for c in frame.columns) or dupes:
        raise ScenarioError([Problem(source, 1, c.removesuffix(".1"), "column given twice")
                             for c in frame.columns if c.endswith(".1")])
    return frame.apply(lambda s: s.str.strip())


def _parser_line(text: str) -> int | None:
    import re

    m = re.search(r"line (\d+)", text)
    return int(m.group(1)) if m else None


def _columns(frame: pd.DataFrame, required: Sequence[str], problems: _Problems, what: str) -> bool:
    missing = [c for c in required if c not in frame.columns]
    for c in missing:
        others = [k for k in frame.columns if k not in required]  # a hint never names a column also needed
        problems.add(1, c, f"missing column: {what} needs {', '.join(required)}{_hint(c, others)}")
    if not len(frame):
        problems.add(None, "", "no records: expected at least one row after the header")
    return not missing and len(frame) > 0


def _dates(frame: pd.DataFrame, column: str, problems: _Problems, required: bool = False) -> pd.Series:
    """The column as UTC timestamps (NaT where empty); each unreadable cell is a problem."""
    text = frame[column]
    parsed = pd.to_datetime(text.where(text != ""), format="ISO8601", errors="coerce", utc=True)
    bad = (text != "") & parsed.isna()
    for i in np.flatnonzero(bad.to_numpy()):
        problems.add(int(i) + 2, column, f"expected a date such as 2025-03-14 or 2025-03-14T09:30, "
                                         f"got {text.iloc[i][:40]!r}")
    if required:
        for i in np.flatnonzero((text == "").to_numpy()):
            problems.add(int(i) + 2, column, "expected a date, the cell is empty")
    return parsed


def _amounts(frame: pd.DataFrame, column: str, problems: _Problems) -> pd.Series:
    text = frame[column].str.replace(",", "", regex=False).str.removeprefix("$")
    value = pd.to_numeric(text.where(text != ""), errors="coerce")
    for i in np.flatnonzero(((text != "") & value.isna()).to_numpy()):
        problems.add(int(i) + 2, column, f"expected an amount such as 12000, got {frame[column].iloc[i][:40]!r}")
    for i in np.flatnonzero((value < 0).to_numpy() | ~np.isfinite(value.fillna(0).to_numpy())):
        problems.add(int(i) + 2, column, f"expected an amount of at least 0, got {frame[column].iloc[i][:40]}")
    return value.astype(float)


def _first_of_each(values: pd.Series, bad: np.ndarray) -> list[tuple[int, str, str]]:
    """Each distinct bad value once, at its first row: (position, value, how many more rows have it)."""
    out: dict[str, list[int]] = {}
    for i in np.flatnonzero(bad):
        out.setdefault(str(values.iloc[i]), []).append(int(i))
    return [(rows[0], v, f" (and {len(rows) - 1} more rows)" if len(rows) > 1 else "") for v, rows in out.items()]


def _names(values: pd.Series, lines: np.ndarray, column: str, known: Sequence[str], rename: dict[str, str],
           problems: _Problems, what: str) -> pd.Series:
    """The names through ``rename``; a name neither known nor renamed is a problem (on its line)."""
    values = values.astype(str)
    mapped = values.map(lambda v: rename.get(v, v))
    for i, raw, more in _first_of_each(values, ~mapped.isin(list(known)).to_numpy()):
        problems.add(int(lines[i]), column, f"unknown {what} {raw[:40]!r}: expected one of {', '.join(known)}"
                                            f"{_hint(raw, [*known, *rename])}{more}")
    return mapped


def _duplicates(ids: pd.Series, lines: np.ndarray, column: str, problems: _Problems) -> None:
    first: dict[str, int] = {}
    for i, v in enumerate(ids.astype(str)):
        if v == "":
            problems.add(int(lines[i]), column, "expected an id, the cell is empty")
        elif v in first:
            problems.add(int(lines[i]), column, f"duplicate id {v[:40]!r} (first on line {first[v]})")
        else:
            first[v] = int(lines[i])


# ---------------------------------------------------------------- the mapping file


def read_mapping(path: str | Path | None) -> Mapping:
    """The mapping file, or the identity (no renames) when ``path`` is None."""
    if path is None:
        return Mapping({}, {}, {}, {})
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError([Problem(str(path), None, "", "file not found")]) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise ScenarioError([Problem(str(path), None if line is None else line + 1, "", "not a YAML mapping file")]
                            ) from None
    doc = doc or {}
    problems = _Problems(str(path))
    if not isinstance(doc, dict):
        problems.add(None, "", "expected a mapping with stages:, and optionally segments:, sources:, columns:")
        problems.raise_if_any()
    known = ("stages", "segments", "sources", "columns", "won", "lost")
    for key in doc:
        if key not in known:
            problems.add(None, str(key), f"unknown key{_hint(str(key), known)}: expected {', '.join(known)}")
    tables: dict[str, dict[str, str]] = {}
    for key in ("stages", "segments", "sources", "columns"):
        table = doc.get(key) or {}
        if not isinstance(table, dict):
            problems.add(None, key, "expected a mapping of CRM name: orgsim name")
            table = {}
        tables[key] = {str(k): str(v) for k, v in table.items()}
    for crm, ours in tables["stages"].items():
        if ours not in ("lead", *STAGES):
            problems.add(None, f"stages.{crm}", f"unknown orgsim stage {ours!r}: expected lead or "
                                                f"{', '.join(STAGES)}{_hint(ours, STAGES)}")
    ends = {}
    for key in ("won", "lost"):
        value = doc.get(key, Mapping.won if key == "won" else Mapping.lost)
        ends[key] = tuple(str(v) for v in (value if isinstance(value, list) else [value]))
    problems.raise_if_any()
    return Mapping(tables["stages"], tables["segments"], tables["sources"], tables["columns"],
                   ends["won"], ends["lost"])


# ---------------------------------------------------------------- adapters: to the neutral table


def _salesforce(frame: pd.DataFrame, mapping: Mapping, problems: _Problems) -> pd.DataFrame | None:
    """One row per opportunity from an opportunity history report (one row per stage change)."""
    seg, src = mapping.columns.get("segment", "Segment__c"), mapping.columns.get("source", "LeadSource")
    if not _columns(frame, ("OpportunityId", "StageName", "Amount", "CloseDate", "CreatedDate", seg, src),
                    problems, "a Salesforce opportunity history report"):
        return None
    when = _dates(frame, "CreatedDate", problems, required=True)
    close = _dates(frame, "CloseDate", problems)
    amount = _amounts(frame, "Amount", problems)
    known = {**mapping.stages, **dict.fromkeys(mapping.won, "won"), **dict.fromkeys(mapping.lost, "lost")}
    for i, name, more in _first_of_each(frame["StageName"], (~frame["StageName"].isin(list(known))).to_numpy()):
        problems.add(i + 2, "StageName", f"unknown stage {name[:40]!r}: add it to the mapping file's stages"
                                         f"{_hint(name, known)}{more}")
    if problems.items:
        return None
    rows = frame.assign(_when=when, _close=close, _amount=amount, _line=np.arange(len(frame)) + 2,
                        _stage=frame["StageName"].map(known))
    out = []
    for opp, g in rows.sort_values(["_when", "_line"], kind="stable").groupby("OpportunityId", sort=False):
        last = g.iloc[-1]
        stage_rows = g[g._stage.isin(STAGES)]
        entered = {f"{s}_entered_at": stage_rows._when[stage_rows._stage == s].min() for s in STAGES}
        reached = [s for s in STAGES if pd.notna(entered[f"{s}_entered_at"])]
        outcome = last._stage if last._stage in ("won", "lost") else "open"
        out.append({"id": opp, "segment": last[seg], "source": last[src], "created_at": g._when.min(),
                    "stage": reached[-1] if reached else "lead", "outcome": outcome, "lost_reason": "",
                    "amount": last._amount,
                    # The closing stage change is the close (CloseDate is only a date, often the planned one).
                    "closed_at": last._when if outcome != "open" else pd.NaT,
                    **entered, "_line": int(g._line.min())})
    return pd.DataFrame(out)


def _hubspot(frame: pd.DataFrame, mapping: Mapping, problems: _Problems) -> pd.DataFrame | None:
    """One row per deal from a HubSpot deals export."""
    seg, src = mapping.columns.get("segment", "segment"), mapping.columns.get("source", "hs_analytics_source")
    if not _columns(frame, ("dealname", "pipeline", "dealstage", "amount", "createdate", "closedate", seg, src),
                    problems, "a HubSpot deals export"):
        return None
    known = {**mapping.stages, **dict.fromkeys(mapping.won, "won"), **dict.fromkeys(mapping.lost, "lost")}
    stage = frame["dealstage"].map(known)
    for i, name, more in _first_of_each(frame["dealstage"], stage.isna().to_numpy()):
        problems.add(i + 2, "dealstage", f"unknown stage {name[:40]!r}: add it to the mapping file's stages"
                                         f"{_hint(name, known)}{more}")
    created = _dates(frame, "createdate", problems, required=True)
    closed = _dates(frame, "closedate", problems)
    amount = _amounts(frame, "amount", problems)
    entered: dict[str, pd.Series] = {}
    for column in frame.columns:
        if column.startswith("hs_date_entered_"):
            crm = column.removeprefix("hs_date_entered_")
            ours = known.get(crm)
            if ours is None:
                problems.add(1, column, f"unknown stage {crm[:40]!r}: add it to the mapping file's stages"
                                        f"{_hint(crm, known)}")
            elif ours in STAGES:
                when = _dates(frame, column, problems)
                entered[ours] = when if ours not in entered else entered[ours].combine_first(when)
    if problems.items:
        return None
    outcome = stage.where(stage.isin(["won", "lost"]), "open")
    reached = pd.Series("lead", index=frame.index)
    for s in STAGES:
        if s in entered:
            reached = reached.where(entered[s].isna(), s)
    reached = reached.where(~stage.isin(STAGES), stage)
    return pd.DataFrame({"id": frame["dealname"], "segment": frame[seg], "source": frame[src],
                         "created_at": created, "stage": reached, "outcome": outcome, "lost_reason": "",
                         "amount": amount, "closed_at": closed.where(outcome != "open"),
                         **{f"{s}_entered_at": entered[s] for s in entered},
                         "_line": np.arange(len(frame)) + 2})


# ---------------------------------------------------------------- the neutral table


def _neutral(frame: pd.DataFrame, problems: _Problems) -> pd.DataFrame | None:
    if not _columns(frame, _REQUIRED, problems, "the neutral format"):
        return None
    stray = [c for c in frame.columns if c.endswith("_entered_at") and c.removesuffix("_entered_at") not in STAGES]
    for c in stray:
        name = c.removesuffix("_entered_at")
        problems.add(1, c, f"unknown stage {name!r}: expected {', '.join(STAGES)}{_hint(name, STAGES)}")
    out: dict[str, Any] = {c: frame[c] for c in ("id", "segment", "source", "stage", "outcome")}
    out["lost_reason"] = frame.get("lost_reason", "")
    out["created_at"] = _dates(frame, "created_at", problems, required=True)
    for c in ("first_response_at", "closed_at"):
        if c in frame:
            out[c] = _dates(frame, c, problems)
    if "amount" in frame:
        out["amount"] = _amounts(frame, "amount", problems)
    for s in STAGES:
        if f"{s}_entered_at" in frame:
            out[f"{s}_entered_at"] = _dates(frame, f"{s}_entered_at", problems)
    out["_line"] = np.arange(len(frame)) + 2
    return pd.DataFrame(out)


def _check_records(table: pd.DataFrame, segments: Sequence[str], sources: Sequence[str], mapping: Mapping,
                   problems: _Problems, neutral: bool, id_column: str,
                   derived: dict[str, str] | None = None) -> pd.DataFrame:
    """Names known, ids unique, outcomes complete, and every record's times in order.

    ``derived`` names the file a stage-time column came from (a long stage history), for the messages.
    """
    derived = derived or {}

    def label(c: str) -> str:
        return f"{c} (from {derived[c]})" if c in derived else c

    lines = table["_line"].to_numpy()
    table = table.copy()
    table["segment"] = _names(table["segment"], lines, "segment", segments, mapping.segments, problems,
                              "segment").to_numpy()
    table["source"] = _names(table["source"], lines, "source", sources, mapping.sources, problems,
                             "source").to_numpy()
    if neutral:
        table["stage"] = _names(table["stage"], lines, "stage", ("lead", *STAGES), mapping.stages, problems,
                                "stage").to_numpy()
        _names(table["outcome"], lines, "outcome", OUTCOMES, {}, problems, "outcome")
    _duplicates(table["id"], lines, id_column, problems)
    order = [c for c in ("created_at", *(f"{s}_entered_at" for s in STAGES)) if c in table]
    rank = {s: i for i, s in enumerate(("lead", *STAGES))}
    for k, (_, row) in enumerate(table.iterrows()):
        line = int(lines[k])
        seen: tuple[str, pd.Timestamp] | None = None
        for c in order:
            t = row[c]
            if pd.isna(t):
                continue
            if seen is not None and t < seen[1]:
                problems.add(line, label(c), f"stages out of order: {c} {t:%Y-%m-%d %H:%M} is before {seen[0]} "
                                      f"{seen[1]:%Y-%m-%d %H:%M}")
            seen = (c, t)
        stage_rank = rank.get(str(row["stage"]))
        if stage_rank is not None:
            for s in STAGES[stage_rank:]:
                c = f"{s}_entered_at"
                if rank[s] > stage_rank and c in table and pd.notna(row[c]):
                    problems.add(line, label(c), f"stages out of order: entered {s} but the record's stage is "
                                          f"{row['stage']}")
                    break
        for c in ("first_response_at", "closed_at"):
            if c in table and pd.notna(row[c]) and pd.notna(row["created_at"]) and row[c] < row["created_at"]:
                problems.add(line, c, f"before created_at ({row[c]:%Y-%m-%d %H:%M} < "
                                      f"{row['created_at']:%Y-%m-%d %H:%M})")
        outcome = str(row["outcome"])
        if outcome in ("won", "lost") and ("closed_at" not in table or pd.isna(row["closed_at"])):
            problems.add(line, "closed_at", f"a {outcome} deal needs its close date")
        if outcome == "won" and ("amount" not in table or pd.isna(row["amount"])):
            problems.add(line, "amount", "a won deal needs its amount")
    return table


def _days(series: pd.Series, start: pd.Timestamp) -> np.ndarray:
    days: np.ndarray = ((series - start).dt.total_seconds() / 86400.0).to_numpy(dtype=float)
    return days


def _history(path: Path, table: pd.DataFrame, deals: Path, mapping: Mapping) -> dict[str, pd.Series]:
    """A long stage history (``id, stage, entered_at``: a row per stage a record entered) as one
    ``<stage>_entered_at`` column per stage, aligned with ``table`` (the earliest entry counts)."""
    frame = _read_csv(path)
    problems = _Problems(str(path))
    if not _columns(frame, ("id", "stage", "entered_at"), problems, "a stage history"):
        problems.raise_if_any()
    lines = np.arange(len(frame)) + 2
    stage = _names(frame["stage"], lines, "stage", STAGES, mapping.stages, problems, "stage")
    when = _dates(frame, "entered_at", problems, required=True)
    known = set(table["id"].astype(str))
    for i, v, more in _first_of_each(frame["id"], (~frame["id"].isin(list(known))).to_numpy()):
        problems.add(int(lines[i]), "id", f"no record {v[:40]!r} in {deals}{more}")
    twice = [c for c in table.columns if c.endswith("_entered_at")]
    for c in twice:
        problems.add(None, "", f"stage times in both files: {deals} has a {c} column; keep one of the two")
    problems.raise_if_any()
    first = pd.DataFrame({"id": frame["id"], "stage": stage, "when": when}).groupby(["id", "stage"])["when"].min()
    ids = table["id"].astype(str)
    return {f"{s}_entered_at": ids.map(first.xs(s, level="stage")) if s in set(stage) else
            pd.Series(pd.NaT, index=table.index, dtype="datetime64[ns, UTC]") for s in STAGES}


def read_deals(path: str | Path, format: str = "neutral", mapping: Mapping | None = None,
               segments: Sequence[str] = ("smb", "mm", "ent"),
               sources: Sequence[str] = SOURCES, history: str | Path | None = None) -> pd.DataFrame:
    """The export as one checked row per record (timestamps in UTC), or a ScenarioError with every problem.

    ``segments`` and ``sources`` are the market's names (the design's segments and channels):
    a record's name must be one of them, or be renamed to one by ``mapping``. ``history`` (neutral
    format only) is a long table of stage entries, ``id, stage, entered_at``, in place of the
    ``<stage>_entered_at`` columns.
    """
    if format not in FORMATS:
        raise ScenarioError([Problem("--format", None, "", f"expected one of {', '.join(FORMATS)}, got {format!r}"
                                                           f"{_hint(format, FORMATS)}")])
    path = Path(path)
    mapping = mapping or Mapping({}, {}, {}, {})
    frame = _read_csv(path)
    problems = _Problems(str(path))
    read = {"neutral": _neutral, "salesforce": _salesforce, "hubspot": _hubspot}[format]
    table = read(frame, problems) if format == "neutral" else read(frame, mapping, problems)  # type: ignore[operator]
    problems.raise_if_any()
    assert table is not None
    derived: dict[str, str] = {}
    if history is not None:
        if format != "neutral":
            raise ScenarioError([Problem("--stages", None, "", f"a stage history goes with the neutral format; "
                                                               f"a {format} export holds its stage times itself")])
        for c, col in _history(Path(history), table, path, mapping).items():
            table[c] = col.to_numpy()
            derived[c] = str(history)
    id_column = {"neutral": "id", "salesforce": "OpportunityId", "hubspot": "dealname"}[format]
    table = _check_records(table, segments, sources, mapping, problems, format == "neutral", id_column, derived)
    problems.raise_if_any()
    return table.drop(columns="_line").reset_index(drop=True)


def read_customers(path: str | Path, segments: Sequence[str] = ("smb", "mm", "ent"),
                   mapping: Mapping | None = None) -> pd.DataFrame:
    """The customers table, checked: ``id, segment, start_at, arr`` (ARR at the start) and optional
    ``churned_at``, ``expansions`` (how many) and ``expansion_arr`` (the ARR they added)."""
    path = Path(path)
    mapping = mapping or Mapping({}, {}, {}, {})
    frame = _read_csv(path)
    problems = _Problems(str(path))
    if not _columns(frame, _CUSTOMER_REQUIRED, problems, "a customers table"):
        problems.raise_if_any()
    out: dict[str, Any] = {"id": frame["id"]}
    lines = np.arange(len(frame)) + 2
    out["segment"] = _names(frame["segment"], lines, "segment", segments, mapping.segments, problems, "segment")
    out["start_at"] = _dates(frame, "start_at", problems, required=True)
    out["arr"] = _amounts(frame, "arr", problems)
    out["churned_at"] = (_dates(frame, "churned_at", problems) if "churned_at" in frame
                         else pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]"))
    if "expansions" in frame:
        count = pd.to_numeric(frame["expansions"].where(frame["expansions"] != "", "0"), errors="coerce")
        for i in np.flatnonzero((count.isna() | (count < 0) | (count % 1 != 0)).to_numpy()):
            problems.add(int(i) + 2, "expansions", f"expected a whole number of expansions, got "
                                                   f"{frame['expansions'].iloc[i][:40]!r}")
        out["expansions"] = count.fillna(0)
    else:
        out["expansions"] = 0
    out["expansion_arr"] = _amounts(frame, "expansion_arr", problems) if "expansion_arr" in frame else math.nan
    _duplicates(frame["id"], lines, "id", problems)
    table = pd.DataFrame(out)
    if "churned_at" in frame:
        for i in np.flatnonzero((table.churned_at < table.start_at).to_numpy()):
            problems.add(int(i) + 2, "churned_at", "before start_at")
    problems.raise_if_any()
    return table


def load(deals: str | Path, customers: str | Path | None = None, format: str = "neutral",
         mapping: str | Path | None = None, segments: Sequence[str] = ("smb", "mm", "ent"),
         sources: Sequence[str] = SOURCES,
         as_of: str | None = None, history: str | Path | None = None) -> CrmData:
    """Read and check an export (and its customers table) into days since the earliest record.

    The records are taken to cover the time from the earliest ``created_at`` to ``as_of``
    (default: the latest date anywhere in the files: the day of the export).
    """
    mapped = read_mapping(mapping)
    table = read_deals(deals, format, mapped, segments, sources, history)
    cust = read_customers(customers, segments, mapped) if customers is not None else None
    times = [table[c] for c in table.columns if c.endswith("_at")]
    if cust is not None:
        times += [cust.start_at, cust.churned_at]
    start = table["created_at"].min()
    latest = max(s.max() for s in times if s.notna().any())
    if as_of is not None:
        end = pd.to_datetime(as_of, utc=True, errors="coerce", format="ISO8601")
        if pd.isna(end) or end < latest:
            raise ScenarioError([Problem("--as-of", None, "", f"expected a date on or after the latest in the data "
                                                              f"({latest:%Y-%m-%d}), got {as_of!r}")])
        latest = end
    days = float((latest - start).total_seconds() / 86400.0)
    if not days > 0:
        raise ScenarioError([Problem(str(deals), None, "created_at", "the records span no time: expected dates "
                                                                       "over at least a few weeks")])
    frame = pd.DataFrame({"id": table["id"].astype(str), "segment": table["segment"], "source": table["source"],
                          "created": _days(table["created_at"], start),
                          "first_response": (_days(table["first_response_at"], start)
                                             if "first_response_at" in table else math.nan),
                          "stage": table["stage"], "outcome": table["outcome"],
                          "lost_reason": table["lost_reason"].astype(str),
                          "amount": table["amount"].to_numpy(float) if "amount" in table else math.nan,
                          "closed": _days(table["closed_at"], start) if "closed_at" in table else math.nan})
    for s in STAGES:
        c = f"{s}_entered_at"
        frame[f"entered.{s}"] = _days(table[c], start) if c in table else math.nan
    customers_frame = None
    if cust is not None:
        customers_frame = pd.DataFrame({"id": cust["id"].astype(str), "segment": cust["segment"],
                                        "start": _days(cust["start_at"], start), "arr": cust["arr"].to_numpy(float),
                                        "churned": _days(cust["churned_at"], start),
                                        "expansions": cust["expansions"].to_numpy(float),
                                        "expansion_arr": cust["expansion_arr"].to_numpy(float)})
    return CrmData(frame, customers_frame, start, days, STAGES, str(deals))
