"""``report.html``: one self-contained page built from a results folder.

Charts are inline SVG, styles inline, no script and no address outside the file, so the page
reads offline and prints to PDF. Every string from a scenario goes through Jinja's
autoescaping; the only markup inserted as is are the SVGs that matplotlib drew (text as paths,
comments stripped).
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, Template
from markupsafe import Markup

from ..atomic import write_text
from ..kpis import threshold
from ..locale import Catalogue, catalogue
from . import kpis as K
from .charts import COSTLIEST, builders, drawn_by, funnel_means, lost_means, role_costs, roles_of
from .explore import sensitivity_kpi, sweep_keys, sweep_kpis
from .files import write_chart_files
from .findings import Finding, balanced, findings, fmt_threshold, overview, sentence, summary_sentences, window_text
from .folder import ReportData, read_folder, scenario_hash
from .params import differing, effects_rows, market_rows, param_label
from .robustness import rests_on_section
from .scorecard import context as scorecard_context
from .scorecard import priorities_of, scorecard
from .style import design_colors, svg_markup

__all__ = ["render_report", "SECTIONS"]

#: Section ids in page order; sweep and sensitivity appear only with their tables.
SECTIONS = ("summary", "kpis", "paired", "funnel", "retention", "economics", "sweep", "sensitivity",
            "robustness", "assumptions", "method")
_TEMPLATES = Path(__file__).resolve().parent / "templates"


def _designs(data: ReportData, cat: Catalogue) -> list[dict[str, Any]]:
    colors = design_colors(data.names)
    return [{"name": n, "label": cat.design(n), "color": colors[n], "baseline": i == 0,
             "description": _description(data, n, cat)} for i, n in enumerate(data.names)]


def _description(data: ReportData, name: str, cat: Catalogue) -> str:
    """The scenario's description; a shipped design's own wording is translated."""
    text = str(data.scenarios.get(name, {}).get("description", "") or "")
    english = catalogue("en").mapping("names.descriptions").get(name)
    return cat.mapping("names.descriptions").get(name, text) if english == text.strip() else text


def _summary(data: ReportData, cat: Catalogue) -> dict[str, Any]:
    window = window_text(data, cat)
    out: dict[str, Any] = {"lead": cat.t("summary.lead", reps=data.reps, window=window, level=data.level),
                           "warnings": [], "blocks": []}
    if data.reps < 2:
        out["warnings"].append(cat.t("summary.one_rep"))
    elif data.reps < 10:
        out["warnings"].append(cat.t("summary.few_reps", reps=data.reps))
    colors = design_colors(data.names)
    if len(data.names) == 1 or data.paired is None:
        for name in data.names:
            out["blocks"].append({"label": cat.design(name), "color": colors[name],
                                  "overview": cat.t("summary.single_lead", design=cat.design(name), reps=data.reps,
                                                    window=window),
                                  "items": [{"text": s, "verdict": ""} for s in summary_sentences(data, name, cat)]})
        return out
    for name in data.names[1:]:
        found = findings(data, name)
        out["blocks"].append({"label": cat.design(name), "color": colors[name],
                              "overview": overview(name, found, data, cat),
                              "items": [{"text": sentence(f, data, cat), "verdict": f.verdict,
                                         "badge": _badge(f.verdict, cat)} for f in balanced(found)],
                              "rest": _rest(found, cat)})
    return out


def _badge(verdict: str, cat: Catalogue) -> str:
    return {"better": cat.t("report.better"), "worse": cat.t("report.worse")}.get(verdict, "")


def _rest(found: list[Finding], cat: Catalogue) -> str:
    """The headline KPIs with no material difference, in one sentence."""
    rest = [f for f in found if not f.clear]
    if not rest:
        return ""
    return cat.t("summary.rest", kpis=cat.join([K.label(f.kpi, cat) for f in rest]))


def _best(data: ReportData, kpi: str, cat: Catalogue) -> str | None:
    """The design with the best mean, if it is alone there once the values are rounded for display."""
    direction = K.spec(kpi).better
    means = {n: data.mean(n, kpi) for n in data.names}
    finite = {n: v for n, v in means.items() if math.isfinite(v)}
    if not direction or len(finite) < 2:
        return None
    best = max(finite, key=lambda n: finite[n] * direction)
    shown = K.fmt(kpi, finite[best], cat)
    return None if sum(K.fmt(kpi, v, cat) == shown for v in finite.values()) > 1 else best


def _kpi_table(data: ReportData, cat: Catalogue) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for kpi in data.kpis():
        if kpi.startswith("lost."):
            continue  # shown in the funnel section
        best = _best(data, kpi, cat)
        cells = []
        for name in data.names:
            row = data.stat(name, kpi)
            mean = float("nan") if row is None else float(row["mean"])
            ci = "" if row is None else K.fmt_ci(kpi, row.ci_low, row.ci_high, data.level, cat)
            rng = ""
            if row is not None and ci and row.ci_low != row.ci_high:
                rng = K.fmt_range(kpi, row.ci_low, row.ci_high, cat)
            cells.append({"value": K.fmt_or_na(kpi, mean, partial(data.mean, name), cat),
                          "ci": rng, "best": name == best})
        if all(c["value"] == "–" for c in cells):
            continue
        better = K.spec(kpi).better
        hint = {1: "report.higher_better", -1: "report.lower_better"}.get(better, "report.neutral")
        groups.setdefault(K.group_of(kpi), []).append(
            {"kpi": kpi, "label": K.label(kpi, cat), "definition": K.definition(kpi, cat), "cells": cells,
             "direction": {1: "↑", -1: "↓"}.get(better, ""), "hint": cat.t(hint)})
    order = ["funnel", "retention", "economics", "handoffs", "roles", "other"]
    return [{"title": cat.t(f"kpis.groups.{g}"), "rows": groups[g]} for g in order if g in groups]


def _paired_table(data: ReportData, cat: Catalogue) -> list[dict[str, Any]]:
    if data.paired is None:
        return []
    rows = []
    for kpi in K.HEADLINE + ("won", "new_arr_annual", "ltv", "grr", "never_answered_share", "handoffs_per_won",
                             "context_losses_per_won"):
        cells: list[dict[str, str] | None] = []
        for name in data.names[1:]:
            found = findings(data, name, (kpi,))
            if not found:
                cells.append(None)
                continue
            f = found[0]
            verdict = {"better": "report.better", "worse": "report.worse",
                       "immaterial": "scorecard.immaterial"}.get(f.verdict, "report.no_clear")
            cells.append({"diff": K.fmt_diff(kpi, f.diff, cat),
                          "ci": (cat.t("units.fixed") if f.low == f.high == f.diff
                                 else K.fmt_ci(kpi, f.low, f.high, data.level, cat, diff=True)),
                          "verdict": f.verdict if f.significant else "unclear",
                          "word": cat.t(verdict) if f.verdict not in ("up", "down") else ""})
        if any(cells):
            rows.append({"label": K.label(kpi, cat), "cells": cells})
    return rows


def _funnel_table(data: ReportData, cat: Catalogue) -> dict[str, Any]:
    if data.funnel.empty:
        return {"steps": [], "lost": []}
    means = funnel_means(data)
    steps = []
    previous = None
    for step, row in means.iterrows():
        cells = []
        for name in data.names:
            v = row.get(name, float("nan"))
            conv = ""
            if previous is not None and previous.get(name) and math.isfinite(v):
                conv = f"{v / previous[name] * 100:.0f}%"
            cells.append({"value": f"{v:,.0f}" if math.isfinite(v) else "–", "conversion": conv})
        steps.append({"label": cat.name("steps", str(step)), "cells": cells})
        previous = row
    lost = []
    for reason, row in lost_means(data).iterrows():
        if not any(math.isfinite(v) and v > 0 for v in row):
            continue
        lost.append({"label": cat.name("reasons", str(reason)),
                     "cells": [f"{v:,.0f}" if math.isfinite(v) else "–" for v in row]})
    return {"steps": steps, "lost": lost}


def _roles_table(data: ReportData, cat: Catalogue) -> list[dict[str, Any]]:
    rows = []
    for role in roles_of(data):
        cells: list[dict[str, str] | None] = []
        for name in data.names:
            spec = (data.scenarios.get(name, {}).get("roles") or {}).get(role)
            if spec is None:
                cells.append(None)
                continue
            cells.append({"headcount": f"{spec.get('headcount', 0):,}",
                          "cost": K.fmt_money(role_costs(data, name)[role], cat),
                          "utilization": K.fmt(f"utilization.{role}", data.mean(name, f"utilization.{role}"), cat),
                          "wait": K.fmt(f"queue_wait_mean_hours.{role}",
                                        data.mean(name, f"queue_wait_mean_hours.{role}"), cat)})
        rows.append({"label": cat.role(role), "cells": cells})
    return rows


def _sweep_table(data: ReportData, cat: Catalogue) -> dict[str, Any] | None:
    sweep = data.sweep
    if sweep is None or sweep.empty:
        return None
    keys = sweep_keys(sweep)
    kpis = sweep_kpis(sweep)
    id_cols = [c for c in ("scenario", "point") if c in sweep.columns] + keys
    rows = []
    for ident, part in sweep.groupby(id_cols, sort=False):
        ident = ident if isinstance(ident, tuple) else (ident,)
        by_kpi = part.set_index("kpi")
        cells = []
        for kpi in kpis:
            if kpi not in by_kpi.index:
                cells.append("–")
                continue
            r = by_kpi.loc[kpi]
            ci = K.fmt_range(kpi, r.ci_low, r.ci_high, cat)
            cells.append(f"{K.fmt(kpi, r['mean'], cat)} [{ci}]")
        shown = [cat.design(str(v)) if c == "scenario" else f"{v:g}" if isinstance(v, float) else str(v)
                 for c, v in zip(id_cols, ident)]
        rows.append({"ids": shown, "cells": cells})
    headers = [cat.t("paired.col_design") if c == "scenario" else cat.t("sweep.col_point") if c == "point"
               else param_label(c, cat) for c in id_cols]
    return {"headers": headers + [K.label(k, cat) for k in kpis], "rows": rows[:60]}


def _sensitivity_table(data: ReportData, cat: Catalogue) -> dict[str, Any] | None:
    sens = data.sensitivity
    if sens is None or sens.empty:
        return None
    kpi = sensitivity_kpi(sens)
    rows = sens[sens.kpi == kpi].copy()
    rows["span"] = rows[["low_diff_mean", "high_diff_mean"]].abs().max(axis=1)
    out = []
    for r in rows.sort_values("span", ascending=False).itertuples():
        effects = {}
        for side in ("low", "high"):
            ci = K.fmt_ci(kpi, getattr(r, f"{side}_diff_ci_low"), getattr(r, f"{side}_diff_ci_high"), data.level, cat,
                          True)
            effects[f"{side}_effect"] = f"{K.fmt_diff(kpi, getattr(r, f'{side}_diff_mean'), cat)} ({ci})"
        out.append({"label": param_label(str(r.parameter), cat), "low": f"{r.low_value:g}",
                    "high": f"{r.high_value:g}", **effects})
    return {"kpi": K.label(kpi, cat), "rows": out}


def _method(data: ReportData, cat: Catalogue, priorities: list[str] | None = None) -> dict[str, Any]:
    sim = data.scenarios.get(data.baseline, {}).get("simulation", {})
    m = data.manifest
    seeds = m.get("replication_seeds") or []
    rows = [
        (cat.t("method.reps"), str(data.reps)),
        (cat.t("method.seed"), str(data.seed)),
        (cat.t("method.replication_seeds"), ", ".join(str(s) for s in seeds[:20]) + (" …" if len(seeds) > 20 else "")),
        (cat.t("method.crn"), cat.t("method.crn_value")),
        (cat.t("method.ci_method"), cat.t("method.ci_value", level=data.level)),
        (cat.t("method.horizon"), cat.t("units.days", v=f"{float(sim.get('horizon', 0)):,.1f}")),
        (cat.t("method.warmup"), cat.t("units.days", v=f"{float(sim.get('warmup', 0)):,.1f}")),
        (cat.t("method.window"), window_text(data, cat)),
        (cat.t("method.version"), data.version),
        (cat.t("method.versions"), ", ".join(f"{k} {v}" for k, v in (m.get("versions") or {}).items())),
        (cat.t("method.command"), " ".join(str(a) for a in (m.get("argv") or [])[1:]) or str(m.get("command", ""))),
        (cat.t("method.created"), str(m.get("created", ""))),
    ]
    hashes = m.get("scenario_hashes") or {n: scenario_hash(data.scenarios[n]) for n in data.names
                                          if n in data.scenarios}
    glossary = [{"label": K.label(k, cat), "kpi": k, "definition": K.definition(k, cat),
                 "interval": cat.t("method.interval", method=cat.t(f"method.intervals.{K.spec(k).interval_method}"))}
                for k in data.kpis() if K.definition(k, cat) and not k.startswith(("lost.", "utilization.",
                                                                                  "queue_wait_mean_hours.",
                                                                                  "role_cost."))]
    kinds = sorted({K.spec(k).interval_method for k in data.kpis()})
    rows.insert(5, (cat.t("method.ci_method"), " · ".join(cat.t(f"method.intervals.{m}") for m in kinds)))
    if data.paired is not None and len(data.names) > 1:
        limits = cat.join([f"{K.label(k, cat)} {fmt_threshold(k, threshold(k, data.mean(data.baseline, k), data.materiality), cat)}"
                           for k in priorities_of(data, priorities)])
        rows.insert(6, (cat.t("method.materiality"), cat.t("method.materiality_value", limits=limits)))
    return {"rows": rows, "hashes": [(cat.design(n), h) for n, h in hashes.items()], "glossary": glossary}


def _charts_context(charts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What the template shows of the charts (``charts``: stem → svg, title, section)."""
    return {"has_charts": bool(charts), "charts": charts, "chart_sections": {c["section"] for c in charts.values()}}


def _page_context(data: ReportData, cat: Catalogue, priorities: list[str] | None = None) -> dict[str, Any]:
    """Everything the template shows but the charts, as plain values (strings are escaped by
    the template)."""
    sections = [s for s in SECTIONS if s not in ("sweep", "sensitivity", "robustness")
                or (s == "sweep" and data.sweep is not None) or (s == "sensitivity" and data.sensitivity is not None)
                or (s == "robustness" and data.robustness is not None)]
    if len(data.names) == 1:
        sections = [s for s in sections if s != "paired"]
    if data.summary.empty:  # a sweep: its points are the subject, not one design's KPIs
        sections = [s for s in sections if s in ("sweep", "assumptions", "method")]
    designs = _designs(data, cat)
    title = (cat.t("report.title") if len(data.names) > 1
             else cat.t("report.title_single", design=cat.design(data.baseline)))
    segments, channels = market_rows(data, cat)
    market = data.scenarios.get(data.baseline, {}).get("market", {})
    return {
        "lang": cat.lang, "t": cat.t, "title": title,
        "subtitle": cat.t("report.subtitle", designs=cat.join([d["label"] for d in designs]), reps=data.reps,
                          window=window_text(data, cat)),
        "generated": cat.t("report.generated", version=data.version,
                           folder=data.folder_name or (data.folder.name if data.folder else ""),
                           created=data.manifest.get("created", "")),
        "scorecard": scorecard_context(scorecard(data, cat, priorities)),
        "sections": [(s, cat.t(f"sections.{s}")) for s in sections], "shown": set(sections),
        "designs": designs,
        "level": data.level, "baseline": cat.design(data.baseline),
        "summary": _summary(data, cat), "kpi_groups": _kpi_table(data, cat), "paired": _paired_table(data, cat),
        "funnel": _funnel_table(data, cat), "roles": _roles_table(data, cat),
        "sweep": _sweep_table(data, cat), "sensitivity": _sensitivity_table(data, cat),
        "robustness": rests_on_section(data, cat),
        "differing": differing(data, cat), "effects": effects_rows(data, cat),
        "segments": segments, "channels": channels,
        "marketing_spend": K.fmt_money(float(market.get("marketing_program_cost_annual", 0.0)), cat),
        "method": _method(data, cat, priorities),
        "css": Markup((_TEMPLATES / "report.css").read_text(encoding="utf-8")),
    }


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(_TEMPLATES)), autoescape=True, trim_blocks=True,
                       lstrip_blocks=True, keep_trailing_newline=True)


def render_report(folder: Path, lang: str = "en", charts: bool = True, priorities: list[str] | None = None,
                  name: str | None = None, png: bool = False) -> Path:
    """Write ``report.html`` (``report.ja.html`` for Japanese) into a results folder and its
    charts as SVG into ``charts/`` (``charts/ja/``); return the report's path.

    Reads only the folder's files. ``charts=False`` renders the page without charts;
    ``priorities``: the KPIs the scorecard ranks on (default: the folder's, see
    :attr:`ReportData.priorities`); ``name``: the folder's name as the reader will see it (when
    the report is rendered in a temporary folder renamed afterwards); ``png``: write each
    chart as PNG beside its SVG too, for slides and documents (the page inlines the SVGs).
    """
    folder = Path(folder)
    cat = catalogue(lang)
    data = read_folder(folder)
    data.folder_name = name or folder.name
    chart_dir = folder / "charts" if lang == "en" else folder / "charts" / lang
    xlsx = lang == "en" and not data.summary.empty
    page: dict[str, Any] = {}
    template: list[Template] = []

    def meanwhile() -> None:
        # This process's own work while a forked child starts on the charts (sim.report.files):
        # kpis.xlsx, the page's text and tables, the template.
        if xlsx:
            write_xlsx(data, folder / "kpis.xlsx")
        page.update(_page_context(data, cat, priorities))
        template.append(_environment().get_template("report.html.j2"))

    built = builders(data) if charts else ()
    jobs = [drawn_by(build, data, cat) for build in built]
    # The costliest charts first, so that the child starts on them while this process is busy.
    order = sorted(range(len(jobs)), key=lambda i: built[i] not in COSTLIEST)
    written = write_chart_files(jobs, chart_dir, cat, png=png, also=meanwhile, order=order) if jobs else []
    if not jobs:
        meanwhile()
    inline = {w.stem: {"svg": Markup(svg_markup(w.stem, w.title, w.svg)), "title": w.title, "section": w.section}
              for w in written}
    html = template[0].render(**page, **_charts_context(inline))
    target = folder / ("report.html" if lang == "en" else f"report.{lang}.html")
    return write_text(target, html)


def write_xlsx(data: ReportData, target: Path) -> Path:
    """``kpis.xlsx``: the KPI table (mean, interval and n per design) and the paired differences
    with their verdicts, as numbers, for those who work in Excel."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from ..atomic import write_with

    cat = catalogue("en")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "KPIs"
    head = ["KPI", "label", "unit", "interval"]
    for name in data.names:
        head += [f"{name} mean", f"{name} ci_low", f"{name} ci_high", f"{name} n"]
    sheet.append(head)
    for kpi in data.kpis():
        spec = K.spec(kpi)
        row: list[Any] = [kpi, K.label(kpi, cat), spec.unit.value, spec.interval_method]
        for name in data.names:
            r = data.stat(name, kpi)
            row += [None, None, None, None] if r is None else [_cell(r["mean"]), _cell(r.ci_low), _cell(r.ci_high),
                                                              int(r.n)]
        sheet.append(row)
    paired = book.create_sheet("Paired differences")
    paired.append(["design", "baseline", "KPI", "label", "diff_mean", "diff_ci_low", "diff_ci_high", "n",
                   "materiality", "verdict"])
    for name in data.names[1:]:
        for kpi in data.kpis():
            d = data.diff(name, kpi)
            if d is None:
                continue
            f = findings(data, name, (kpi,))
            paired.append([name, data.baseline, kpi, K.label(kpi, cat), _cell(d.diff_mean), _cell(d.diff_ci_low),
                           _cell(d.diff_ci_high), int(d.n), f[0].threshold if f else None,
                           f[0].verdict if f else None])
    for ws in (sheet, paired):
        for c in ws[1]:
            c.font = Font(bold=True)
        ws.freeze_panes = "B2"
    return write_with(target, lambda tmp: book.save(str(tmp)))


def _cell(x: Any) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None
