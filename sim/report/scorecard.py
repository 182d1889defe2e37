"""The answer first: every design ranked on the KPIs the user cares about, and one recommendation.

A cell is a paired difference against the baseline with its verdict (:mod:`sim.report.findings`):
*better* or *worse* only when its interval excludes zero **and** it is material (at least the
KPI's threshold, :func:`sim.kpis.threshold`). Designs are ranked by a score that weighs the
priorities by their order (the first counts most): +weight for a material better, -weight for a
material worse, nothing for the rest; ties go to the larger gain on the first priority that
differs. The recommendation names the top design only when it is materially better on some
priority, and states its trade-offs and, when the folder holds a robustness analysis
(``robustness.csv``), the assumption its lead rests on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..locale import Catalogue
from . import kpis as K
from .findings import Finding, finding, fmt_threshold
from .folder import ReportData
from .style import design_colors

__all__ = ["Cell", "Row", "Scorecard", "scorecard", "priorities_of", "robustness_table"]


@dataclass
class Cell:
    """One design on one priority KPI."""

    kpi: str
    value: str
    diff: str = ""
    ci: str = ""
    verdict: str = ""  # better / worse / immaterial / unclear / same / no_ci / baseline / na
    word: str = ""
    rests_on: str = ""  # the assumption the verdict leans on most (robustness), in words
    robust: bool | None = None


@dataclass
class Row:
    design: str
    label: str
    color: str
    baseline: bool
    rank: int
    score: float
    cells: list[Cell] = field(default_factory=list)
    better: list[str] = field(default_factory=list)
    worse: list[str] = field(default_factory=list)


@dataclass
class Scorecard:
    kpis: list[str]
    labels: list[str]
    thresholds: list[str]
    rows: list[Row]
    recommendation: str
    best: str | None
    robustness: bool


def priorities_of(data: ReportData, given: list[str] | None = None) -> list[str]:
    """The priority KPIs that the folder measured (``given``, else the folder's own)."""
    wanted = list(given) if given else data.priorities
    known = set(data.kpis())
    return [k for k in dict.fromkeys(wanted) if k in known] or [k for k in K.HEADLINE if k in known][:3]


def robustness_table(data: ReportData) -> pd.DataFrame | None:
    """``robustness.csv`` of the folder (what each conclusion rests on), if there is one."""
    if data.folder is None:
        return None
    path = Path(data.folder) / "robustness.csv"
    if not path.is_file():
        return None
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError):
        return None
    return table if {"design", "kpi", "robust"} <= set(table.columns) else None


_WORDS = {"better": "scorecard.better", "worse": "scorecard.worse", "immaterial": "scorecard.immaterial",
          "unclear": "scorecard.unclear", "same": "scorecard.same", "no_ci": "scorecard.no_ci",
          "up": "scorecard.unclear", "down": "scorecard.unclear"}


def _cell(data: ReportData, name: str, kpi: str, cat: Catalogue, robust: pd.DataFrame | None) -> tuple[Cell, Finding | None]:
    from functools import partial

    value = K.fmt_or_na(kpi, data.mean(name, kpi), partial(data.mean, name), cat)
    if name == data.baseline:
        return Cell(kpi, value, verdict="baseline", word=cat.t("report.baseline_badge")), None
    f = finding(data, name, kpi)
    if f is None:
        return Cell(kpi, value, verdict="na", word=cat.t("scorecard.na")), None
    if f.low == f.high == f.diff:
        ci = ""  # the same in every replication: the difference is exact
    else:
        low, high = K.fmt_ends(kpi, f.low, f.high, cat, diff=True)
        ci = f"[{cat.t('units.range', low=low, high=high)}]"
    verdict = f.verdict if f.verdict in _WORDS else "unclear"
    if verdict in ("up", "down"):
        verdict = "unclear"
    cell = Cell(kpi, value, K.fmt_diff(kpi, f.diff, cat), ci, verdict, cat.t(_WORDS[verdict]))
    if robust is not None:
        hit = robust[(robust.design == name) & (robust.kpi == kpi)]
        if len(hit):
            r = hit.iloc[0]
            cell.robust = bool(r.robust) if not pd.isna(r.robust) else None
            leans = str(r.leans_on) if "leans_on" in hit.columns and not pd.isna(r.leans_on) else ""
            cell.rests_on = leans
    return cell, f


def scorecard(data: ReportData, cat: Catalogue, given: list[str] | None = None) -> Scorecard | None:
    """The ranked designs on the priority KPIs, or None without a comparison."""
    if data.paired is None or len(data.names) < 2:
        return None
    kpis = priorities_of(data, given)
    if not kpis:
        return None
    robust = robustness_table(data)
    weights = {k: float(len(kpis) - i) for i, k in enumerate(kpis)}
    colors = design_colors(data.names)
    rows = []
    for name in data.names:
        row = Row(name, cat.design(name), colors[name], name == data.baseline, 0, 0.0)
        tie = 0.0
        for kpi in kpis:
            cell, f = _cell(data, name, kpi, cat, robust)
            row.cells.append(cell)
            if f is None:
                continue
            if f.verdict == "better":
                row.score += weights[kpi]
                row.better.append(kpi)
            elif f.verdict == "worse":
                row.score -= weights[kpi]
                row.worse.append(kpi)
            if tie == 0.0 and f.threshold > 0 and math.isfinite(f.diff) and f.clear:
                tie = f.diff * K.spec(kpi).better / f.threshold
        rows.append((row, tie))
    rows.sort(key=lambda rt: (-rt[0].score, -rt[1], data.names.index(rt[0].design)))
    ordered = [r for r, _ in rows]
    for i, r in enumerate(ordered):
        r.rank = i + 1
    labels = [K.label(k, cat) for k in kpis]
    base = data.baseline
    thresholds = [fmt_threshold(k, _limit(data, k), cat) for k in kpis]
    best, text = _recommend(data, ordered, kpis, cat, robust is not None)
    return Scorecard(kpis, labels, thresholds, ordered, text, best, robust is not None) if base else None


def _limit(data: ReportData, kpi: str) -> float:
    from ..kpis import threshold

    return threshold(kpi, data.mean(data.baseline, kpi), data.materiality)


def _recommend(data: ReportData, rows: list[Row], kpis: list[str], cat: Catalogue,
               robust: bool) -> tuple[str | None, str]:
    names = lambda ks: cat.join([K.label(k, cat) for k in ks])  # noqa: E731
    base = cat.design(data.baseline)
    top = next((r for r in rows if not r.baseline), None)
    if top is None or top.score <= 0 or not top.better:
        return None, cat.t("scorecard.keep", baseline=base, kpis=names(kpis))
    values = {"design": top.label, "baseline": base, "better": names(top.better), "worse": names(top.worse)}
    text = cat.t("scorecard.recommend_tradeoff" if top.worse else "scorecard.recommend", **values)
    rests = [c for c in top.cells if c.kpi in top.better and c.rests_on]
    if rests:
        from .params import param_label

        text += " " + cat.t("scorecard.condition", assumption=param_label(rests[0].rests_on, cat))
    elif robust:
        text += " " + cat.t("scorecard.see_rests_on")
    return top.design, text


def context(card: Scorecard | None) -> dict[str, Any] | None:
    """The scorecard as plain values for the template."""
    if card is None:
        return None
    return {"kpis": card.labels, "thresholds": card.thresholds, "recommendation": card.recommendation,
            "robustness": card.robustness,
            "rows": [{"label": r.label, "color": r.color, "baseline": r.baseline, "rank": r.rank,
                      "best": r.design == card.best,
                      "cells": [vars(c) for c in r.cells]} for r in card.rows]}
