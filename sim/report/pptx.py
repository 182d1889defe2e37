"""``report.pptx``: the report as slides (python-pptx), from the same folder and catalogue.

Slides: title; executive summary; one chart per slide with its finding as the slide title
(PNG, the chart's own header removed); the headline KPI table; the assumptions (parameters
that differ between designs, model effects).
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
from ..locale import Catalogue, catalogue
from . import kpis as K
from .charts import close_charts, draw_charts
from .findings import findings, overview, sentence, summary_sentences, window_text
from .folder import ReportData, read_folder
from .params import differing, effects_rows
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
        rpr = run._r.get_or_add_rPr()
        ea = rpr.find(qn("a:ea"))
        if ea is None:
            ea = rpr.makeelement(qn("a:ea"), {})
            rpr.append(ea)
        ea.set("typeface", _EA_FONT)


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


def _slide(prs: Any, title: str, cat: Catalogue, subtitle: str = "") -> Any:
    slide = prs.slides.add_slide(prs.slide_layouts[6])  # blank
    _text(slide, Inches(0.5), Inches(0.3), Inches(12.3), Inches(1.0), [(title, 24, True, _NAVY)], cat)
    if subtitle:
        _text(slide, Inches(0.5), Inches(1.15), Inches(12.3), Inches(0.5), [(subtitle, 12, False, _MUTED)], cat)
    return slide


def _footer(slide: Any, data: ReportData, cat: Catalogue) -> None:
    text = cat.t("charts.footer", version=data.version, seed=data.seed, reps=data.reps, level=data.level)
    _text(slide, Inches(0.5), Inches(7.0), Inches(12.3), Inches(0.35), [(text, 9, False, _MUTED)], cat)


def _title_slide(prs: Any, data: ReportData, cat: Catalogue) -> None:
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    band = slide.shapes.add_shape(1, 0, 0, _W, Inches(4.6))  # rectangle
    band.fill.solid()
    band.fill.fore_color.rgb = _NAVY
    band.line.fill.background()
    title = cat.t("report.title") if len(data.names) > 1 else cat.t("report.title_single",
                                                                     design=cat.design(data.baseline))
    designs = cat.join([cat.design(n) for n in data.names])
    white = RGBColor(0xFF, 0xFF, 0xFF)
    _text(slide, Inches(0.8), Inches(1.6), Inches(11.7), Inches(1.6), [(title, 36, True, white)], cat)
    _text(slide, Inches(0.8), Inches(3.2), Inches(11.7), Inches(1.0),
          [(cat.t("pptx.title_sub", designs=designs, reps=data.reps, seed=data.seed), 16, False, white)], cat)
    colors = design_colors(data.names)
    for i, name in enumerate(data.names[:8]):
        chip = slide.shapes.add_shape(1, Inches(0.8 + (i % 4) * 3.0), Inches(5.0 + (i // 4) * 0.8),
                                      Inches(0.18), Inches(0.5))
        chip.fill.solid()
        chip.fill.fore_color.rgb = RGBColor.from_string(colors[name][1:])
        chip.line.fill.background()
        _text(slide, Inches(1.05 + (i % 4) * 3.0), Inches(4.98 + (i // 4) * 0.8), Inches(2.7), Inches(0.6),
              [(cat.design(name), 14, True, _INK)], cat)


def _summary_slides(prs: Any, data: ReportData, cat: Catalogue) -> None:
    lead = cat.t("summary.lead", reps=data.reps, window=window_text(data, cat), level=data.level)
    if data.paired is None or len(data.names) == 1:
        slide = _slide(prs, cat.t("pptx.summary"), cat)
        sentences = [(s, 15, False, _INK) for s in summary_sentences(data, data.baseline, cat)]
        _text(slide, Inches(0.6), Inches(1.3), Inches(12.1), Inches(5.6), sentences, cat)
        _footer(slide, data, cat)
        return
    others = data.names[1:]
    for start in range(0, len(others), 2):
        slide = _slide(prs, cat.t("pptx.summary") + (f" {cat.t('pptx.more')}" if start else ""), cat)
        lines: list[tuple[Any, ...]] = []
        colors = design_colors(data.names)
        for name in others[start:start + 2]:
            found = findings(data, name)
            color = RGBColor.from_string(colors[name][1:])
            lines.append((overview(name, found, data, cat), 15, True, _INK, color))
            clear = sorted((f for f in found if f.clear), key=lambda f: f.verdict != "better")[:4]
            lines += [("– " + sentence(f, data, cat), 12.5, False, _INK) for f in clear]
        _text(slide, Inches(0.6), Inches(1.3), Inches(12.1), Inches(5.4), lines, cat)
        _text(slide, Inches(0.6), Inches(6.55), Inches(12.1), Inches(0.5), [(lead, 9, False, _MUTED)], cat)


def _chart_slide(prs: Any, chart: Chart, data: ReportData, cat: Catalogue) -> None:
    subtitle = ""
    if len(chart.header) > 1:
        subtitle = chart.header[1].get_text().replace("\n", "" if cat.lang == "ja" else " ")
    slide = _slide(prs, chart.title, cat, subtitle)
    png = png_bytes(chart, cat, header=False)
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        w, h = im.size
    box_w, box_h = Inches(12.3), Inches(5.3)
    scale = min(box_w / w, box_h / h)
    pic_w, pic_h = int(w * scale), int(h * scale)
    slide.shapes.add_picture(io.BytesIO(png), Emu(int((_W - pic_w) / 2)), Inches(1.65), pic_w, pic_h)


def _table(slide: Any, rows: list[list[str]], widths: list[float], top: float, cat: Catalogue,
           bold: list[list[bool]] | None = None, size: float = 11) -> None:
    shape = slide.shapes.add_table(len(rows), len(rows[0]), Inches(0.5), Inches(top), Inches(sum(widths)),
                                   Inches(0.3 * len(rows)))
    table = shape.table
    for j, w in enumerate(widths):
        table.columns[j].width = Inches(w)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            cell = table.cell(i, j)
            cell.text = ""
            run = cell.text_frame.paragraphs[0].add_run()
            run.text = value
            _style(run, size, cat, bold=i == 0 or bool(bold and bold[i][j]),
                   color=RGBColor(0xFF, 0xFF, 0xFF) if i == 0 else _INK)


def _kpi_slide(prs: Any, data: ReportData, cat: Catalogue) -> None:
    slide = _slide(prs, cat.t("pptx.kpi_table", level=data.level), cat)
    names = data.names[:6]
    rows = [[cat.t("kpis.col_kpi"), *[cat.design(n) for n in names]]]
    bold = [[False] * (len(names) + 1)]
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
            rng = f"\n[{K.fmt(kpi, s.ci_low, cat)} – {K.fmt(kpi, s.ci_high, cat)}]" if s is not None and ci else ""
            cells.append(K.fmt_or_na(kpi, m, partial(data.mean, n), cat) + rng)
            marks.append(top is not None and math.isfinite(m) and m * direction == top)
        rows.append(cells)
        bold.append(marks)
    first = 3.3
    rest = (12.3 - first) / len(names)
    _table(slide, rows, [first] + [rest] * len(names), 1.3, cat, bold, size=10.5)
    _footer(slide, data, cat)


def _assumption_slides(prs: Any, data: ReportData, cat: Catalogue) -> None:
    names = data.names[:6]
    rows = [[r.label, *r.values[:len(names)]] for r in differing(data, cat)]
    header = [cat.t("assumptions.col_parameter"), *[cat.design(n) for n in names]]
    first = 4.3
    for start in range(0, len(rows), 14):
        title = cat.t("pptx.assumptions") + (f" {cat.t('pptx.more')}" if start else "")
        slide = _slide(prs, title, cat)
        _table(slide, [header, *rows[start:start + 14]], [first] + [(12.3 - first) / len(names)] * len(names),
               1.3, cat, size=10)
    effects = [[r.path, " / ".join(r.values), r.meaning] for r in effects_rows(data, cat)]
    header = [cat.t("assumptions.col_effect"), cat.t("assumptions.col_value"), cat.t("assumptions.col_meaning")]
    for start in range(0, len(effects), 9):
        title = cat.t("pptx.effects") + (f" {cat.t('pptx.more')}" if start else "")
        slide = _slide(prs, title, cat)
        _table(slide, [header, *effects[start:start + 9]], [3.6, 1.7, 7.0], 1.3, cat, size=10)


def render_pptx(folder: Path, lang: str = "en") -> Path:
    """Write ``report.pptx`` (``report.ja.pptx`` for Japanese) into a results folder; return its path."""
    folder = Path(folder)
    cat = catalogue(lang)
    data = read_folder(folder)
    prs = Presentation()
    prs.slide_width, prs.slide_height = _W, _H
    _title_slide(prs, data, cat)
    _summary_slides(prs, data, cat)
    charts = draw_charts(data, cat)
    try:
        for chart in charts:
            _chart_slide(prs, chart, data, cat)
    finally:
        close_charts(charts)
    _kpi_slide(prs, data, cat)
    _assumption_slides(prs, data, cat)
    target = folder / ("report.pptx" if lang == "en" else f"report.{lang}.pptx")
    return write_with(target, lambda tmp: prs.save(str(tmp)))
