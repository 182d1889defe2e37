"""The look shared by every chart: palette, fonts, the titled frame, and saving.

One colour per design, by its position in the comparison, from the Okabe-Ito colourblind-safe
palette extended to 15 colours. Japanese text is set in IPAexGothic, which the ``japanize-matplotlib`` wheel ships
(a dependency of orgsim, so a fresh ``pip install`` has it); a system Noto Sans CJK JP or
IPAexGothic is used when the wheel is absent. SVG text is drawn as paths, so an SVG shows the
same glyphs on any machine, with or without the font.
"""

from __future__ import annotations

import html
import importlib.util
import io
import logging
import re
import textwrap
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

from ..locale import Catalogue

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = ["PALETTE", "design_colors", "tint", "japanese_font", "chart_style", "Chart", "frame",
           "style_axes", "save_chart", "svg_text", "svg_markup", "png_bytes", "INK", "MUTED", "GRID", "BETTER"]

#: Okabe-Ito's eight, then seven more from Paul Tol's palettes, each far enough from the others
#: to tell apart: 15 designs get 15 colours (charts that draw many designs also label them).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
           "#882255", "#332288", "#999933", "#44AA99", "#AA4499", "#8C564B", "#7F7F7F"]
INK = "#1f2933"
MUTED = "#6b7280"
GRID = "#e5e7eb"
BETTER = "#e8f4ec"
_JA_SYSTEM_FONTS = ("IPAexGothic", "Noto Sans CJK JP", "IPAGothic", "TakaoGothic", "Noto Sans JP")
_DPI = 200


def design_colors(names: list[str]) -> dict[str, str]:
    """A fixed colour per design, by its position in the comparison."""
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


def tint(color: str, amount: float) -> str:
    """``color`` mixed with white: 0 keeps it, 1 is white."""
    r, g, b = matplotlib.colors.to_rgb(color)
    return matplotlib.colors.to_hex((r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount))


@cache
def japanese_font() -> str:
    """Name of a font with Japanese glyphs, registered with matplotlib."""
    spec = importlib.util.find_spec("japanize_matplotlib")  # located, not imported
    for base in (spec.submodule_search_locations or []) if spec else []:
        path = Path(base) / "fonts" / "ipaexg.ttf"
        if path.is_file():
            font_manager.fontManager.addfont(str(path))
            return font_manager.FontProperties(fname=str(path)).get_name()
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in _JA_SYSTEM_FONTS:
        if name in installed:
            return name
    raise RuntimeError("no Japanese font for the charts: pip install japanize-matplotlib "
                       "(or install IPAexGothic / Noto Sans CJK JP)")


@contextmanager
def chart_style(cat: Catalogue) -> Iterator[None]:
    """Matplotlib settings for drawing and saving charts in the catalogue's language."""
    family = [japanese_font(), "DejaVu Sans"] if cat.lang == "ja" else ["DejaVu Sans"]
    rc: dict[RcKeyType, Any] = {
        "font.family": family,
        "font.size": 10,
        "axes.edgecolor": "#9ca3af",
        "axes.labelcolor": INK,
        "axes.titlecolor": INK,
        "xtick.color": "#374151",
        "ytick.color": "#374151",
        "axes.unicode_minus": True,
        "text.parse_math": False,
        "svg.fonttype": "path",
        "svg.hashsalt": "orgsim",
        "figure.dpi": 100,
    }
    quiet = logging.getLogger("matplotlib.font_manager")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # IPAexGothic has no bold face: titles fall back to regular
    try:
        with matplotlib.rc_context(rc):
            yield
    finally:
        quiet.setLevel(level)


@dataclass
class Chart:
    """A drawn chart: ``title`` states its finding (also drawn in the figure's header)."""

    stem: str
    title: str
    fig: Figure
    header: list[Text] = field(default_factory=list)
    section: str = ""
    #: The designs drawn, when a chart shows only some (baseline and the best few); empty: all.
    designs: list[str] = field(default_factory=list)


def _width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _wrap(text: str, cat: Catalogue, width: int) -> str:
    """Wrap at ``width`` half-width columns; Japanese lines break after punctuation or a space
    near the end of a line rather than inside a word or number."""
    if cat.lang != "ja":
        return textwrap.fill(text, width)
    lines, line = [], ""
    for ch in text:
        line += ch
        if sum(map(_width, line)) >= width:
            cut = max(line.rfind(p) for p in ("、", "。", "）", "：", ": ", " ", "（"))
            if cut > len(line) * 0.6:
                keep = cut if line[cut] == "（" else cut + 1
                lines.append(line[:keep])
                line = line[keep:]
            else:
                lines.append(line)
                line = ""
    return "\n".join([*lines, line] if line else lines)


def frame(title: str, subtitle: str, footer: str, cat: Catalogue, legend: dict[str, str] | None = None,
          nrows: int = 1, ncols: int = 1, bottom: float = 0.13, left: float = 0.08, gap: float = 0.035,
          figsize: tuple[float, float] = (11, 6.1875), **grid: Any) -> tuple[Figure, Any, list[Text]]:
    """A 16:9 figure with a title (the finding), a subtitle (what is shown), an optional design
    legend, the axes (``gap`` below the header), and a footer; returns (figure, axes, header texts)."""
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)  # measures text while drawing (no pyplot: its figure manager is not needed)
    wrapped = _wrap(title, cat, 92 if cat.lang != "ja" else 100)
    lines = wrapped.count("\n") + 1
    header = [fig.text(0.02, 0.965, wrapped, fontsize=14.5, fontweight="bold", color=INK, va="top",
                       linespacing=1.15)]
    y = 0.965 - 0.052 * lines - 0.006
    sub = _wrap(subtitle, cat, 135)
    header.append(fig.text(0.02, y, sub, fontsize=10, color=MUTED, va="top", linespacing=1.2))
    y -= 0.036 * (sub.count("\n") + 1) + 0.012
    if legend:
        handles = [Line2D([], [], color=c, marker="s", linestyle="", markersize=10) for c in legend.values()]
        fig.legend(handles, list(legend), loc="upper left", bbox_to_anchor=(0.012, y), ncol=min(len(legend), 5),
                   frameon=False, fontsize=10, handletextpad=0.3, columnspacing=1.6, borderaxespad=0)
        y -= 0.05 * ((len(legend) - 1) // 5 + 1)
    fig.text(0.02, 0.018, footer, fontsize=7.5, color=MUTED)
    axes = fig.subplots(nrows, ncols, squeeze=True, **grid)
    fig.subplots_adjust(top=y - gap, bottom=bottom, left=left, right=0.975)
    for ax in (axes.flat if hasattr(axes, "flat") else [axes]):
        style_axes(ax)
    return fig, axes, header


def style_axes(ax: Any, grid_axis: str = "y") -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis=grid_axis, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=9.5, length=3)


def save_chart(chart: Chart, folder: Path, cat: Catalogue, png: bool = False) -> str:
    """Write the chart as ``<stem>.svg`` (for the page) into ``folder``, an existing folder,
    and as ``<stem>.png`` (for slides) if ``png``; return the SVG's text (the page inlines it).

    Without ``png`` an earlier ``<stem>.png`` is removed: it would show the earlier drawing.
    """
    svg = svg_text(chart, cat)
    (folder / f"{chart.stem}.svg").write_text(svg, encoding="utf-8")
    target = folder / f"{chart.stem}.png"
    if png:
        with chart_style(cat):
            chart.fig.savefig(target, dpi=_DPI, metadata=_metadata("png"))
    else:
        target.unlink(missing_ok=True)
    return svg


def svg_text(chart: Chart, cat: Catalogue) -> str:
    """The chart as an SVG file's text."""
    buf = io.BytesIO()
    with chart_style(cat):
        chart.fig.savefig(buf, format="svg", metadata=_metadata("svg"))
    return buf.getvalue().decode("utf-8")


def _metadata(ext: str) -> dict[str, Any]:
    if ext == "svg":
        return {"Creator": None, "Date": None, "Format": None, "Type": None}
    return {"Software": None}


def png_bytes(chart: Chart, cat: Catalogue, header: bool = True) -> bytes:
    """The chart as PNG; without its header for a slide whose title already states the finding."""
    buf = io.BytesIO()
    for t in chart.header:
        t.set_visible(header)
    try:
        with chart_style(cat):
            chart.fig.savefig(buf, format="png", dpi=_DPI, metadata=_metadata("png"),
                              bbox_inches=None if header else "tight", pad_inches=0.15)
    finally:
        for t in chart.header:
            t.set_visible(True)
    return buf.getvalue()


_SVG_DROP = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->|<metadata>.*?</metadata>", re.S)


def svg_markup(stem: str, title: str, svg: str) -> str:
    """An SVG file's text as an ``<svg>`` element to inline in HTML: no prolog, comments or
    metadata, ids prefixed with the chart's name so that charts on one page never share an id."""
    svg = _SVG_DROP.sub("", svg).strip()
    p = f"{stem}-"
    label = html.escape(title, quote=True)
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{p}{m.group(1)}"', svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{p}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{p}{m.group(1)})", svg)
    svg = svg.replace("*{", f"#{p}svg *{{", 1)
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
                 lambda m: f'<svg id="{p}svg" class="chart" role="img" aria-label="{label}"{m.group(1)}',
                 svg, count=1)
    return svg
