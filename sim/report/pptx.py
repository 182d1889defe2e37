"""``report.pptx``: the report as slides (python-pptx), from the same folder and catalogue.

Slides: title; the answer (the scorecard, its recommendation as the slide title); executive
summary (better and worse findings side by side); one chart per slide with its finding as the
slide title (a native, editable chart for the funnel, lost reasons and cost; a picture of the
chart, its header removed, for the others); the headline KPI table; the assumptions (parameters
that differ between designs, model effects); sources and assumptions. Every slide has its
title in the layout's title placeholder (the outline view lists them), a slide number, and
speaker notes with the numbers and the caveats. ``template`` takes a client's slide master.
"""

from __future__ import annotations

import io
import math
from functools import partial
from pathlib import Path
from typing import Any

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from ..atomic import write_with
from ..kpis import LostReason
from ..locale import Catalogue, catalogue
from . import kpis as K
from .charts import close_charts, draw_charts
from .findings import balanced, findings, fmt_threshold, overview, sentence, summary_sentences, window_text
from .folder import ReportData, read_folder
from .params import differing, effects_rows
from .scorecard import scorecard
from .style import Chart, design_colors, png_bytes

__all__ = ["render_pptx", "SLIDE_KPIS"]

#: Rows of the KPI table slide.
SLIDE_KPIS = ("won", "conversion_rate", "win_rate", "first_response_p50_hours", "sales_cycle_p50_days",
              "logo_churn_annual", "nrr", "ltv", "cac", "ltv_to_cac", "cac_payback_months", "total_cost")
_W, _H = Inches(13.333), Inches(7.5)
_NAVY = RGBColor(0x0B, 0x3D, 0x66)
_INK = RGBColor(0x1F, 0x29, 0x33)
_MUTED = RGBColor(0x6B, 0x72, 0x80)
_EA_FONT = "Yu Gothic"


def _style(run: Any, size: float, cat: Catalogue, bold: bool = False, color: RGBColor = _INK) -> None:
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.color.rgb = color
    if cat.lang == "ja":  # East Asian typeface, which python-pptx does not expose
        _style_ea(run)


def _text(slide: Any, left: int, top: int, width: int, height: int, lines: list[tuple[Any, ...]],
          cat: Catalogue) -> Any:
    """A text box; each line is (text, size, bold, colour[, colour of a square marker before it])."""
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    for i, (text, size, bold, color, *marker) in enumerate(lines):
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        if marker:
            square = para.add_run()
            square.text = "■ "
            _style(square, size, cat, bold, marker[0])
        run = para.add_run()
        run.text = text
        _style(run, size, cat, bold, color)
        para.space_after = Pt(6)
    return box


def _layout(prs: Any, *names: str) -> Any:
    """The first layout called one of ``names``, else the first with a title placeholder."""
    for name in names:
        for layout in prs.slide_layouts:
            if layout.name == name:
                return layout
    for layout in prs.slide_layouts:
        if any(ph.placeholder_format.type in (1, 3) for ph in layout.placeholders):  # TITLE, CENTER_TITLE
            return layout
    return prs.slide_layouts[0]


def _slide_number(slide: Any, prs: Any, own: bool) -> None:
    """The layout's slide-number placeholder, copied onto the slide (PowerPoint fills it in)."""
    import copy

    for ph in slide.slide_layout.placeholders:
        if ph.placeholder_format.type == 13:  # SLIDE_NUMBER
            sp = copy.deepcopy(ph._element)
            slide.shapes._spTree.append(sp)
            shape = slide.shapes[-1]
            if own:  # the built-in master is 4:3: put the number in the 16:9 corner
                shape.left, shape.top, shape.width, shape.height = (prs.slide_width - Inches(1.3), Inches(6.95),
                                                                     Inches(0.9), Inches(0.4))
            frame = shape.text_frame
            if not any(p._p.findall(qn("a:fld")) for p in frame.paragraphs):
                para = frame.paragraphs[0]
                fld = para._p.makeelement(qn("a:fld"), {"id": "{B6F15528-21DE-4FAA-801E-634DDDAF4B2B}",
                                                       "type": "slidenum"})
                t = fld.makeelement(qn("a:t"), {})
                t.text = "‹#›"
                fld.append(t)
                para._p.append(fld)
            return


def _notes(slide: Any, lines: list[str]) -> None:
    """Speaker notes: the numbers behind the slide and its caveats."""
    slide.notes_slide.notes_text_frame.text = "\n".join(line for line in lines if line)


def _slide(prs: Any, title: str, cat: Catalogue, subtitle: str = "", size: float = 24) -> Any:
    """A slide of the Title Only layout: the title in the title placeholder (so it shows in the
    outline view), a subtitle, the slide number."""
    slide = prs.slides.add_slide(_layout(prs, "Title Only"))
    own = getattr(prs, "_orgsim_own", True)
    shape = slide.shapes.title
    if shape is None:
        _text(slide, Inches(0.5), Inches(0.3), Inches(12.3), Inches(1.0), [(title, size, True, _NAVY)], cat)
    else:
        shape.text = title
        if own:
            shape.left, shape.top, shape.width, shape.height = Inches(0.5), Inches(0.25), Inches(12.3), Inches(0.95)
            frame = shape.text_frame
            frame.word_wrap = True
            para = frame.paragraphs[0]
            para.alignment = 1  # left
            for run in para.runs:
                _style(run, size, cat, True, _NAVY)
        elif cat.lang == "ja":
            for run in shape.text_frame.paragraphs[0].runs:
                _style_ea(run)
    if subtitle:
        _text(slide, Inches(0.5), Inches(1.15), Inches(12.3), Inches(0.5), [(subtitle, 12, False, _MUTED)], cat)
    _slide_number(slide, prs, own)
    return slide


def _style_ea(run: Any) -> None:
    _ea(run._r.get_or_add_rPr())


def _ea(rpr: Any) -> None:
    """Set the East Asian typeface of a run's (or a chart's) properties."""
    ea = rpr.find(qn("a:ea"))
    if ea is None:
        ea = rpr.makeelement(qn("a:ea"), {})
        rpr.append(ea)
    ea.set("typeface", _EA_FONT)


def _footer(slide: Any, data: ReportData, cat: Catalogue) -> None:
    text = cat.t("charts.footer", version=data.version, seed=data.seed, reps=data.reps, level=data.level)
    _text(slide, Inches(0.5), Inches(7.0), Inches(11.0), Inches(0.35), [(text, 9, False, _MUTED)], cat)


def _caveats(data: ReportData, cat: Catalogue) -> list[str]:
    out = [cat.t("summary.lead", reps=data.reps, window=window_text(data, cat), level=data.level)]
    if data.reps < 2:
        out.append(cat.t("summary.one_rep"))
    elif data.reps < 10:
        out.append(cat.t("summary.few_reps", reps=data.reps))
    return out


def _title_slide(prs: Any, data: ReportData, cat: Catalogue) -> None:
    own = getattr(prs, "_orgsim_own", True)
    slide = prs.slides.add_slide(_layout(prs, "Title Slide"))
    title = cat.t("report.title") if len(data.names) > 1 else cat.t("report.title_single",
                                                                     design=cat.design(data.baseline))
    designs = cat.join([cat.design(n) for n in data.names])
    sub = cat.t("pptx.title_sub", designs=designs, reps=data.reps, seed=data.seed)
    white = RGBColor(0xFF, 0xFF, 0xFF)
    if own:
        band = slide.shapes.add_shape(1, 0, 0, _W, Inches(4.6))  # rectangle
        band.fill.solid()
        band.fill.fore_color.rgb = _NAVY
        band.line.fill.background()
        slide.shapes._spTree.remove(band._element)
        slide.shapes._spTree.insert(2, band._element)  # behind the placeholders
    placeholders = {ph.placeholder_format.type: ph for ph in slide.placeholders}
    for kind, text, size, box in ((3, title, 36, (0.8, 1.4, 11.7, 1.7)), (4, sub, 16, (0.8, 3.2, 11.7, 1.2))):
        ph = placeholders.get(kind) or (placeholders.get(1) if kind == 3 else placeholders.get(2))
        if ph is None:
            _text(slide, Inches(box[0]), Inches(box[1]), Inches(box[2]), Inches(box[3]),
                  [(text, size, kind == 3, white if own else _INK)], cat)
            continue
        ph.text = text
        if own:
            ph.left, ph.top, ph.width, ph.height = (Inches(v) for v in box)
            ph.text_frame.word_wrap = True
            ph.text_frame.paragraphs[0].alignment = 1
            for run in ph.text_frame.paragraphs[0].runs:
                _style(run, size, cat, kind == 3, white)
    colors = design_colors(data.names)
    per_row = 5
    for i, name in enumerate(data.names[:15]):
        x, y = 0.8 + (i % per_row) * 2.45, 4.9 + (i // per_row) * 0.6
        chip = slide.shapes.add_shape(1, Inches(x), Inches(y), Inches(0.14), Inches(0.42))
        chip.fill.solid()
        chip.fill.fore_color.rgb = RGBColor.from_string(colors[name][1:])
        chip.line.fill.background()
        _text(slide, Inches(x + 0.2), Inches(y - 0.04), Inches(2.2), Inches(0.5), [(cat.design(name), 11, True, _INK)],
              cat)
    _slide_number(slide, prs, own)
    _notes(slide, [title, sub, *_caveats(data, cat)])


def _scorecard_slide(prs: Any, data: ReportData, cat: Catalogue, priorities: list[str] | None) -> None:
    card = scorecard(data, cat, priorities)
    if card is None:
        return
    slide = _slide(prs, card.recommendation, cat, size=18)
    rows = [[cat.t("scorecard.col_rank"), cat.t("scorecard.col_design"),
             *[f"{k}\n{cat.t('scorecard.threshold', v=t)}" for k, t in zip(card.labels, card.thresholds)]]]
    fills: list[list[RGBColor | None]] = [[None] * len(rows[0])]
    for r in card.rows:
        cells = [str(r.rank), r.label + (f" ({cat.t('report.baseline_badge')})" if r.baseline else "")]
        fill: list[RGBColor | None] = [None, None]
        for c in r.cells:
            cells.append(c.value if c.verdict in ("baseline", "na") else f"{c.diff}  {c.word}")
            fill.append(_FILLS.get(c.verdict))
        rows.append(cells)
        fills.append(fill)
    n = len(card.kpis)
    size = 10.5 if len(rows) <= 8 else 9
    _table(slide, rows, [0.7, 3.0] + [8.6 / n] * n, 1.35, cat, size=size, fills=fills,
           row_height=0.28 if len(rows) > 8 else 0.34)
    _footer(slide, data, cat)
    notes = [card.recommendation, cat.t("scorecard.intro", baseline=cat.design(data.baseline), level=data.level)]
    for r in card.rows:
        if r.baseline:
            continue
        parts = [f"{lab}: {c.diff} ({c.ci}) {c.word}" for lab, c in zip(card.labels, r.cells)
                 if c.verdict not in ("na", "baseline")]
        notes.append(f"{r.rank}. {r.label}: " + "; ".join(parts))
    _notes(slide, notes + _caveats(data, cat))


def _summary_slides(prs: Any, data: ReportData, cat: Catalogue) -> None:
    lead = cat.t("summary.lead", reps=data.reps, window=window_text(data, cat), level=data.level)
    if data.paired is None or len(data.names) == 1:
        slide = _slide(prs, cat.t("pptx.summary"), cat)
        found_lines = summary_sentences(data, data.baseline, cat)
        sentences = [(s, 15, False, _INK) for s in found_lines]
        _text(slide, Inches(0.6), Inches(1.3), Inches(12.1), Inches(5.6), sentences, cat)
        _footer(slide, data, cat)
        _notes(slide, found_lines + _caveats(data, cat))
        return
    others = data.names[1:]
    colors = design_colors(data.names)
    for start in range(0, len(others), 2):
        slide = _slide(prs, cat.t("pptx.summary") + (f" {cat.t('pptx.more')}" if start else ""), cat)
        lines: list[tuple[Any, ...]] = []
        notes: list[str] = []
        for name in others[start:start + 2]:
            found = findings(data, name)
            color = RGBColor.from_string(colors[name][1:])
            lines.append((overview(name, found, data, cat), 14, True, _INK, color))
            # Better and worse side by side: every material worse finding is kept.
            shown = balanced(found, limit=5)
            lines += [(("▲ " if f.verdict == "better" else "▼ " if f.verdict == "worse" else "– ")
                       + sentence(f, data, cat), 11.5, False, _INK) for f in shown]
            notes.append(overview(name, found, data, cat))
            notes += [sentence(f, data, cat) for f in found]
        _text(slide, Inches(0.6), Inches(1.3), Inches(12.1), Inches(5.4), lines, cat)
        _text(slide, Inches(0.6), Inches(6.55), Inches(11.0), Inches(0.5), [(lead, 9, False, _MUTED)], cat)
        _notes(slide, notes + _caveats(data, cat))


def _chart_notes(chart: Chart, data: ReportData, cat: Catalogue) -> list[str]:
    texts = [t.get_text().replace("\n", "" if cat.lang == "ja" else " ") for t in chart.header]
    return [*texts, *_caveats(data, cat)]


def _chart_slide(prs: Any, chart: Chart, data: ReportData, cat: Catalogue) -> None:
    subtitle = ""
    if len(chart.header) > 1:
        subtitle = chart.header[1].get_text().replace("\n", "" if cat.lang == "ja" else " ")
    slide = _slide(prs, chart.title, cat, subtitle, size=20)
    if not _native_chart(slide, chart, data, cat):
        png = png_bytes(chart, cat, header=False)
        from PIL import Image

        with Image.open(io.BytesIO(png)) as im:
            w, h = im.size
        box_w, box_h = Inches(12.3), Inches(5.2)
        scale = min(box_w / w, box_h / h)
        pic_w, pic_h = int(w * scale), int(h * scale)
        slide.shapes.add_picture(io.BytesIO(png), Emu(int((prs.slide_width - pic_w) / 2)), Inches(1.7), pic_w, pic_h)
    _notes(slide, _chart_notes(chart, data, cat))


def _native_chart(slide: Any, chart: Chart, data: ReportData, cat: Catalogue) -> bool:
    """An editable PowerPoint chart for the bar and line charts python-pptx supports; False
    for the others (a picture then)."""
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION

    from .charts import funnel_means, lost_means, role_costs

    colors = design_colors(data.names)
    shown = chart.designs or data.names
    cd = CategoryChartData()
    if chart.stem == "funnel" and not data.funnel.empty:
        means = funnel_means(data)
        cd.categories = [cat.name("steps", str(s)) for s in means.index]
        series = [(n, [float(v) for v in means[n].fillna(0)]) for n in shown if n in means.columns]
        kind = XL_CHART_TYPE.LINE_MARKERS
    elif chart.stem == "lost_reasons":
        table = lost_means(data).drop(index=LostReason.left_after_research.value, errors="ignore").fillna(0.0)
        table = table[table.max(axis=1) > 0]
        if table.empty:
            return False
        cd.categories = [cat.name("reasons", str(r)) for r in table.index]
        series = [(n, [float(v) for v in table[n]]) for n in shown]
        kind = XL_CHART_TYPE.BAR_CLUSTERED
    elif chart.stem == "people_cost":
        roles: dict[str, None] = {}
        costs = {n: role_costs(data, n) for n in data.names}
        for n in data.names:
            roles.update(dict.fromkeys(costs[n]))
        cd.categories = [cat.design(n) for n in data.names]
        series_r = [(cat.role(r), [costs[n].get(r, 0.0) for n in data.names]) for r in roles]
        ai = [data.mean(n, "ai_cost") for n in data.names]
        if any(math.isfinite(v) and v > 0 for v in ai):
            series_r.append((cat.t("charts.people_cost.ai_usage"), [v if math.isfinite(v) else 0.0 for v in ai]))
        for label, values in series_r:
            cd.add_series(label, values)
        frame = slide.shapes.add_chart(XL_CHART_TYPE.BAR_STACKED, Inches(0.5), Inches(1.7), Inches(12.3),
                                       Inches(5.2), cd)
        c = frame.chart
        c.has_legend = True
        c.legend.position = XL_LEGEND_POSITION.BOTTOM
        c.legend.include_in_layout = False
        c.category_axis.reverse_order = True
        c.value_axis.tick_labels.number_format = '"$"#,##0,"K"' if cat.lang == "en" else '#,##0,"千ドル"'
        c.value_axis.tick_labels.number_format_is_linked = False
        _chart_fonts(c, cat)
        return True
    else:
        return False
    for n, values in series:
        cd.add_series(cat.design(n), values)
    frame = slide.shapes.add_chart(kind, Inches(0.5), Inches(1.7), Inches(12.3), Inches(5.2), cd)
    c = frame.chart
    c.has_legend = True
    c.legend.position = XL_LEGEND_POSITION.BOTTOM
    c.legend.include_in_layout = False
    if chart.stem == "lost_reasons":
        c.category_axis.reverse_order = True
    for plot in c.plots:
        for s, (n, _) in zip(plot.series, series):
            rgb = RGBColor.from_string(colors[n][1:])
            if kind == XL_CHART_TYPE.LINE_MARKERS:
                s.format.line.color.rgb = rgb
                s.format.line.width = Pt(2.25)
                s.marker.format.fill.solid()
                s.marker.format.fill.fore_color.rgb = rgb
                s.smooth = False
            else:
                s.format.fill.solid()
                s.format.fill.fore_color.rgb = rgb
    if chart.stem == "funnel":
        from pptx.enum.chart import XL_TICK_LABEL_POSITION  # noqa: F401

        c.value_axis.has_major_gridlines = True
        c.value_axis.tick_labels.number_format = "#,##0"
        c.value_axis.tick_labels.number_format_is_linked = False
        axis = c.value_axis._element
        scaling = axis.find(qn("c:scaling"))
        log = scaling.makeelement(qn("c:logBase"), {"val": "10"})
        scaling.insert(0, log)
    _chart_fonts(c, cat)
    return True


def _chart_fonts(c: Any, cat: Catalogue) -> None:
    c.font.size = Pt(11)
    if cat.lang == "ja":
        _ea(c.font._rPr)


_FILLS = {"better": RGBColor(0xE3, 0xF2, 0xE8), "worse": RGBColor(0xFB, 0xE9, 0xE4)}


def _table(slide: Any, rows: list[list[str]], widths: list[float], top: float, cat: Catalogue,
           bold: list[list[bool]] | None = None, size: float = 11, fills: list[list[RGBColor | None]] | None = None,
           row_height: float = 0.3) -> None:
    shape = slide.shapes.add_table(len(rows), len(rows[0]), Inches(0.5), Inches(top), Inches(sum(widths)),
                                   Inches(row_height * len(rows)))
    table = shape.table
    for j, w in enumerate(widths):
        table.columns[j].width = Inches(w)
    for i, row in enumerate(rows):
        table.rows[i].height = Inches(row_height)
        for j, value in enumerate(row):
            cell = table.cell(i, j)
            cell.text = ""
            run = cell.text_frame.paragraphs[0].add_run()
            run.text = value
            _style(run, size, cat, bold=i == 0 or bool(bold and bold[i][j]),
                   color=RGBColor(0xFF, 0xFF, 0xFF) if i == 0 else _INK)
            fill = fills[i][j] if fills else None
            if fill is not None:
                cell.fill.solid()
                cell.fill.fore_color.rgb = fill


def _chunks(names: list[str], size: int) -> list[list[str]]:
    """Designs in slides of ``size``, the baseline first on each."""
    base, rest = names[:1], names[1:]
    step = max(size - 1, 1)
    return [base + rest[i:i + step] for i in range(0, len(rest), step)] or [base]


def _kpi_slide(prs: Any, data: ReportData, cat: Catalogue) -> None:
    pages = _chunks(data.names, 6)
    for page, names in enumerate(pages):
        title = cat.t("pptx.kpi_table", level=data.level) + (f" {cat.t('pptx.more')}" if page else "")
        slide = _slide(prs, title, cat)
        rows = [[cat.t("kpis.col_kpi"), *[cat.design(n) for n in names]]]
        bold = [[False] * (len(names) + 1)]
        notes = []
        for kpi in SLIDE_KPIS:
            stats = [data.stat(n, kpi) for n in names]
            if all(s is None for s in stats):
                continue
            direction = K.spec(kpi).better
            means = [s["mean"] if s is not None and math.isfinite(s["mean"]) else math.nan for s in stats]
            finite = [m * direction for m in means if math.isfinite(m)]
            top = max(finite) if direction and len(finite) > 1 else None
            cells, marks = [K.label(kpi, cat)], [False]
            for n, s, m in zip(names, stats, means):
                ci = "" if s is None else K.fmt_ci(kpi, s.ci_low, s.ci_high, data.level, cat)
                rng = f"\n[{K.fmt_range(kpi, s.ci_low, s.ci_high, cat)}]" if s is not None and ci else ""
                cells.append(K.fmt_or_na(kpi, m, partial(data.mean, n), cat) + rng)
                marks.append(top is not None and math.isfinite(m) and m * direction == top)
            rows.append(cells)
            bold.append(marks)
            notes.append(K.label(kpi, cat) + ": " + "; ".join(f"{cat.design(n)} {c.replace(chr(10), ' ')}"
                                                               for n, c in zip(names, cells[1:])))
        first = 3.3
        rest = (12.3 - first) / len(names)
        _table(slide, rows, [first] + [rest] * len(names), 1.3, cat, bold, size=10)
        _footer(slide, data, cat)
        _notes(slide, notes + _caveats(data, cat))


def _assumption_slides(prs: Any, data: ReportData, cat: Catalogue) -> None:
    table = differing(data, cat)
    for page, names in enumerate(_chunks(data.names, 6)):
        idx = [data.names.index(n) for n in names]
        rows = [[r.label, *[r.values[i] for i in idx]] for r in table
                if len({r.values[i] for i in idx}) > 1]
        header = [cat.t("assumptions.col_parameter"), *[cat.design(n) for n in names]]
        first = 4.3
        for start in range(0, len(rows), 14):
            title = cat.t("pptx.assumptions") + (f" {cat.t('pptx.more')}" if start or page else "")
            slide = _slide(prs, title, cat)
            _table(slide, [header, *rows[start:start + 14]], [first] + [(12.3 - first) / len(names)] * len(names),
                   1.3, cat, size=10)
            _notes(slide, [" · ".join(r) for r in rows[start:start + 14]])
    effects = [[r.path, " / ".join(r.values), r.meaning] for r in effects_rows(data, cat)]
    header = [cat.t("assumptions.col_effect"), cat.t("assumptions.col_value"), cat.t("assumptions.col_meaning")]
    for start in range(0, len(effects), 9):
        title = cat.t("pptx.effects") + (f" {cat.t('pptx.more')}" if start else "")
        slide = _slide(prs, title, cat)
        _table(slide, [header, *effects[start:start + 9]], [3.6, 1.7, 7.0], 1.3, cat, size=10)
        _notes(slide, [" · ".join(r) for r in effects[start:start + 9]])


def _sources_slide(prs: Any, data: ReportData, cat: Catalogue, priorities: list[str] | None) -> None:
    """Where the numbers come from and what they assume: the method, the intervals, the
    materiality thresholds and the published sources of the market."""
    import re

    from .. import assumptions
    from ..kpis import INTERVALS, threshold
    from .scorecard import priorities_of

    slide = _slide(prs, cat.t("pptx.sources"), cat)
    sim = data.scenarios.get(data.baseline, {}).get("simulation", {})
    lines: list[tuple[Any, ...]] = [
        (cat.t("pptx.sources_method", reps=data.reps, seed=data.seed, window=window_text(data, cat),
               horizon=cat.t("units.days", v=f"{float(sim.get('horizon', 0)):,.0f}"), level=data.level), 12, False,
         _INK),
        (cat.t("pptx.sources_intervals"), 12, False, _INK),
    ]
    kpis = priorities_of(data, priorities)
    limits = cat.join([f"{K.label(k, cat)} {fmt_threshold(k, threshold(k, data.mean(data.baseline, k), data.materiality), cat)}"
                       for k in kpis])
    lines.append((cat.t("pptx.sources_material", limits=limits), 12, False, _INK))
    lines.append((cat.t("pptx.sources_published"), 12, True, _INK))
    for cite in (assumptions.HBR, assumptions.FUNNEL, assumptions.DEALS, assumptions.RETENTION, assumptions.COSTS,
                 assumptions.HANDOFF):
        lines.append(("– " + re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", cite), 10, False, _MUTED))
    lines.append((cat.t("pptx.sources_more"), 10, False, _MUTED))
    _text(slide, Inches(0.6), Inches(1.3), Inches(12.1), Inches(5.6), lines, cat)
    methods = sorted({K.spec(k).interval_method for k in data.kpis()})
    _notes(slide, [str(line[0]) for line in lines] + [f"{m}: {INTERVALS[m]}" for m in methods if m in INTERVALS])


def render_pptx(folder: Path, lang: str = "en", template: Path | None = None,
                priorities: list[str] | None = None) -> Path:
    """Write ``report.pptx`` (``report.ja.pptx`` for Japanese) into a results folder; return its path.

    ``template``: a .pptx whose slide master and layouts the deck uses (a client's look; its
    own slides are dropped); ``priorities``: the KPIs the scorecard ranks on.
    """
    folder = Path(folder)
    cat = catalogue(lang)
    data = read_folder(folder)
    if template is not None:
        prs = Presentation(str(template))
        slides = prs.slides._sldIdLst
        for sld in list(slides):
            prs.part.drop_rel(sld.rId)
            slides.remove(sld)
        vars(prs)["_orgsim_own"] = False  # a client's master: keep its title styles and positions
    else:
        prs = Presentation()
        prs.slide_width, prs.slide_height = _W, _H
        vars(prs)["_orgsim_own"] = True
    _title_slide(prs, data, cat)
    _scorecard_slide(prs, data, cat, priorities)
    _summary_slides(prs, data, cat)
    charts = draw_charts(data, cat)
    try:
        for chart in charts:
            _chart_slide(prs, chart, data, cat)
    finally:
        close_charts(charts)
    _kpi_slide(prs, data, cat)
    _assumption_slides(prs, data, cat)
    _sources_slide(prs, data, cat, priorities)
    target = folder / ("report.pptx" if lang == "en" else f"report.{lang}.pptx")
    return write_with(target, lambda tmp: prs.save(str(tmp)))
