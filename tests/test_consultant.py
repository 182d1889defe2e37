"""The consultant's answer (issue 15): the scorecard, balanced summaries, any number of designs,
honest intervals, the deck, complete Japanese, the footer and kpis.xlsx.

Fast: the results folders are synthetic (replications drawn at random around plausible values
for every KPI of the registry, for the shipped designs' resolved scenarios), summarised by
:mod:`sim.stats` as a real run is, and written as the files a run writes; nothing is simulated.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import sim
from sim.kpis import KPIS, LOST_REASONS, Unit, get
from sim.locale import catalogue
from sim.report import read_folder, render_pptx, render_report
from sim.report.charts import close_charts, draw_charts
from sim.report.findings import findings, sentence
from sim.report.folder import ReportData
from sim.report.scorecard import scorecard
from sim.report.style import PALETTE, chart_style, design_colors
from sim.stats import mean_ci, paired_differences, summarize

ROOT = Path(__file__).resolve().parent.parent
DESIGNS = ["siloed", "cross_functional", "ai_automated", "bridge_sales", "escalator", "plg", "cs_led_growth",
           "hybrid", "mini_business_units"]
STEPS = ["arrived", "contacted", "first_response", "qualify", "discovery", "demo", "proposal", "close", "won"]
SEGMENTS = ("smb", "mm", "ent")
REPS = 4


def _value(kpi: str, rng: np.random.Generator, shift: float) -> float:
    k = get(kpi)
    assert k is not None
    if k.unit == Unit.SHARE:
        centre = {"conversion_rate": 0.012, "never_answered_share": 0.15}.get(kpi.split(".")[0], 0.5)
        return float(np.clip(centre * (1 + shift) + rng.normal(0, 0.02), 0, 1))
    base = {Unit.MONEY: 5e4, Unit.HOURS: 2.0, Unit.DAYS: 30.0, Unit.MONTHS: 18.0, Unit.RATIO: 4.0,
            Unit.COUNT: 120.0, Unit.NUMBER: 1.5}[k.unit]
    if kpi == "total_cost":
        base = 5.3e6
    return float(max(0.0, base * (1 + shift) + rng.normal(0, base * 0.08)))


def _kpi_names(roles: list[str]) -> list[str]:
    names = []
    for k in KPIS:
        if k.family:
            items = {"lost": LOST_REASONS, "utilization": roles, "queue_wait_mean_hours": roles, "role_cost": roles,
                     "source_share": ("inbound", "outbound", "referral"),
                     "won_share": ("inbound", "outbound", "referral")}[k.prefix]
            names += [f"{k.prefix}.{i}" for i in items]
            continue
        names.append(k.name)
        if k.by_segment:
            names += [f"{k.name}.{s}" for s in SEGMENTS]
    return names


def synthetic_folder(root: Path, designs: list[str], seed: int = 1, worse: dict[tuple[str, str], float] | None = None,
                     manifest: dict[str, Any] | None = None) -> Path:
    """A results folder as ``orgsim compare`` writes it, for ``designs`` (the first the
    baseline), with random replications; ``worse``: (design, kpi) -> a shift of its mean."""
    rng = np.random.default_rng(seed)
    docs = [sim.load_scenario(ROOT / "scenarios" / f"{d}.yaml").model_dump(mode="json", exclude={"extends"})
            for d in designs]
    for d in docs:
        d["simulation"]["horizon"], d["simulation"]["warmup"] = 730.0, 60.0
    roles = list(dict.fromkeys(r for d in docs for r in d["roles"]))
    kpis = _kpi_names(roles)
    rows, funnel, survival, arr = [], [], [], []
    for i, name in enumerate(designs):
        shift = 0.0 if i == 0 else (i % 5 - 2) * 0.06
        for rep in range(REPS):
            row: dict[str, Any] = {"scenario": name, "replication": rep, "seed": 100 + rep}
            for kpi in kpis:
                row[kpi] = _value(kpi, rng, shift + (worse or {}).get((name, kpi), 0.0))
            rows.append(row)
            n = 3800.0
            for step in STEPS:
                funnel.append((name, rep, step, round(n)))
                n *= 0.55 + 0.05 * (i % 3)
            for month in range(25):
                survival.append((name, rep, month, max(0.0, 1 - month * (0.01 + 0.002 * i) + rng.normal(0, 0.01))))
                arr.append((name, rep, month, 1e5 * month * (1 + 0.05 * i) + rng.normal(0, 1e4)))
    reps = pd.DataFrame(rows)
    folder = root / "results"
    folder.mkdir(parents=True)
    summarize(reps).to_csv(folder / "summary.csv", index=False)
    paired_differences(reps, designs[0]).to_csv(folder / "paired.csv", index=False)
    reps.to_csv(folder / "replications.csv", index=False)
    pd.DataFrame(funnel, columns=["scenario", "replication", "step", "buyers"]).to_csv(folder / "funnel.csv",
                                                                                      index=False)
    pd.DataFrame(survival, columns=["scenario", "replication", "month", "share_active"]).to_csv(
        folder / "survival.csv", index=False)
    pd.DataFrame(arr, columns=["scenario", "replication", "month", "arr"]).to_csv(folder / "arr.csv", index=False)
    (folder / "scenario.yaml").write_text(yaml.safe_dump_all(docs, allow_unicode=True), encoding="utf-8")
    meta = {"command": "compare", "scenarios": designs, "seed": 7, "reps": REPS, "created": "2026-01-01T00:00:00",
            "versions": {"orgsim": "test"}, "argv": ["orgsim", "compare"], **(manifest or {})}
    (folder / "manifest.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_folder(tmp_path_factory.mktemp("three"), DESIGNS[:3],
                            worse={("cross_functional", "first_response_p50_hours"): 0.6,
                                   ("cross_functional", "conversion_rate"): 0.9})


@pytest.fixture(scope="module")
def nine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_folder(tmp_path_factory.mktemp("nine"), DESIGNS, seed=2)


# ---------------------------------------------------------------- 4. honest intervals


@pytest.mark.parametrize("method", ["t", "t0", "t01", "logit"])
def test_interval_holds_the_mean(method: str) -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        x = np.clip(rng.normal(rng.uniform(0, 1), rng.uniform(0, 0.5), size=rng.integers(2, 6)), 0, 1)
        mean, low, high, _ = mean_ci(x, method=method)
        assert low <= mean + 1e-12 and mean <= high + 1e-12
        if method != "t":
            assert low >= 0
        if method in ("t01", "logit"):
            assert high <= 1


def test_every_kpi_interval_inside_what_is_possible(three: Path, nine: Path) -> None:
    """Shares in [0, 1], everything else that cannot be negative at or above 0: every KPI of
    every shipped design (and extreme replications: a share of exactly 1, a wait near 0)."""
    for folder in (three, nine):
        summary = pd.read_csv(folder / "summary.csv")
        for r in summary.itertuples():
            k = get(str(r.kpi))
            assert k is not None
            if not math.isfinite(r.ci_low):
                continue
            assert r.ci_low <= r.mean <= r.ci_high, r
            if k.interval_method != "t":
                assert r.ci_low >= 0, r
            if k.unit == Unit.SHARE:
                assert r.ci_high <= 1, r
    extreme = pd.DataFrame({"scenario": "x", "replication": range(3), "seed": 0,
                            "source_share.inbound": [0.998, 1.0, 1.0], "queue_wait_mean_hours.ae": [10.0, 240.0, 120.0],
                            "utilization.ae": [0.864, 0.95, 1.0], "logo_churn_annual.ent": [0.0, 0.0, 0.29]})
    for r in summarize(extreme).itertuples():
        assert 0 <= r.ci_low <= r.mean <= r.ci_high, r
        if r.kpi != "queue_wait_mean_hours.ae":
            assert r.ci_high <= 1


def test_counts_print_whole_and_intervals_never_collapse() -> None:
    from sim.report import kpis as K

    en, ja = catalogue("en"), catalogue("ja")
    assert K.fmt("won", 97.0, en) == "97"
    assert K.fmt("won", 4.33, en) == "4"
    a, b = K.fmt_ends("total_cost", -1.32e5, -1.28e5, ja, diff=True)
    assert a != b
    a, b = K.fmt_ends("conversion_rate", 0.01201, 0.01204, en)
    assert a != b


def test_method_section_names_each_kpis_interval(three: Path) -> None:
    page = render_report(three, "en", charts=False).read_text(encoding="utf-8")
    method = page[page.index('id="method"'):]
    assert "logit scale" in method and "truncated at 0" in method and "truncated to 0-100%" in method


# ---------------------------------------------------------------- 1. the answer first


def test_scorecard_ranks_with_materiality(three: Path) -> None:
    data = read_folder(three)
    cat = catalogue("en")
    card = scorecard(data, cat, ["conversion_rate", "total_cost"])
    assert card is not None
    assert card.kpis == ["conversion_rate", "total_cost"]
    assert [r.rank for r in card.rows] == list(range(1, len(data.names) + 1))
    for row in card.rows:
        for cell in row.cells:
            if cell.verdict in ("better", "worse"):
                f = next(f for f in findings(data, row.design, (cell.kpi,)))
                assert abs(f.diff) >= f.threshold and not f.low <= 0 <= f.high
    assert card.recommendation.startswith(("Recommendation:", "Keep"))
    page = render_report(three, "en", charts=False, priorities=["conversion_rate", "total_cost"]).read_text("utf-8")
    summary = page[page.index('id="summary"'):page.index('id="kpis"')]
    assert 'class="scorecard"' in summary and card.recommendation.replace("'", "&#39;") in summary


def test_immaterial_is_never_clearly_worse(tmp_path: Path) -> None:
    """A cost 0.4% higher in every replication is clear but not material: never "worse"."""
    folder = synthetic_folder(tmp_path, DESIGNS[:2])
    reps = pd.read_csv(folder / "replications.csv")
    base = reps[reps.scenario == "siloed"].set_index("replication")
    other = reps.scenario == "cross_functional"
    reps.loc[other, "total_cost"] = base.loc[reps.loc[other, "replication"], "total_cost"].to_numpy() * 1.004
    paired_differences(reps, "siloed").to_csv(folder / "paired.csv", index=False)
    data = read_folder(folder)
    (f,) = findings(data, "cross_functional", ("total_cost",))
    assert f.low > 0 and f.verdict == "immaterial"
    text = sentence(f, data, catalogue("en"))
    assert "worse" not in text and "below" in text
    page = render_report(folder, "en", charts=False).read_text(encoding="utf-8")
    assert "clearly worse on 0" in page or "worse" not in _section_text(page, "summary").split("Total")[0]


def _section_text(page: str, sid: str) -> str:
    start = page.index(f'<section id="{sid}"')
    return page[start:page.index("</section>", start)]


# ---------------------------------------------------------------- 2. balanced findings


def _deck_text(path: Path) -> list[str]:
    from pptx import Presentation

    out = []
    for slide in Presentation(str(path)).slides:
        out.append("\n".join(sh.text_frame.text for sh in slide.shapes if sh.has_text_frame))
    return out


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_summary_shows_its_material_worse_findings(three: Path, nine: Path, lang: str) -> None:
    cat = catalogue(lang)
    for folder in (three, nine):
        data = read_folder(folder)
        page = render_report(folder, lang, charts=False).read_text(encoding="utf-8")
        summary = _plain(_section_text(page, "summary"))
        deck = "\n".join(_deck_text(render_pptx(folder, lang)))
        seen_worse = 0
        for name in data.names[1:]:
            for f in findings(data, name):
                if f.verdict == "worse":
                    seen_worse += 1
                    text = sentence(f, data, cat)
                    assert text in summary, (name, f.kpi)
                    assert text in deck, (name, f.kpi)
        if folder == three:
            assert seen_worse, "the synthetic three-design folder has a material worse finding"


def _plain(html: str) -> str:
    import html as h

    return h.unescape(re.sub(r"<[^>]+>", "", html))


# ---------------------------------------------------------------- 3. any number of designs


def test_palette_tells_fifteen_designs_apart() -> None:
    from matplotlib.colors import to_rgb

    names = [f"d{i}" for i in range(15)]
    colors = list(design_colors(names).values())
    assert len(set(colors)) == 15 and len(PALETTE) >= 15
    for a, b in itertools.combinations(colors, 2):
        assert sum((x - y) ** 2 for x, y in zip(to_rgb(a), to_rgb(b))) ** 0.5 > 0.12, (a, b)


def _drawn_texts(fig: Any) -> list[tuple[str, Any]]:
    """Each text the figure draws, with its box in pixels."""
    from matplotlib.text import Text

    renderer = fig.canvas.get_renderer()
    hidden = set()  # tick labels outside an axis's view: matplotlib keeps them but does not draw them
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            span = (high - low) * 1e-9
            for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
                if not low - span <= tick.get_loc() <= high + span:
                    hidden.update((id(tick.label1), id(tick.label2)))
    boxes = []
    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip() or id(t) in hidden:
            continue
        if t.axes is not None and not t.axes.get_visible():
            continue
        bb = t.get_window_extent(renderer)
        if bb.width > 0 and bb.height > 0:
            boxes.append((t.get_text(), bb))
    return boxes


def _overlaps(fig: Any) -> list[tuple[str, str]]:
    boxes = _drawn_texts(fig)
    bad = []
    for (ta, a), (tb, b) in itertools.combinations(boxes, 2):
        w = min(a.x1, b.x1) - max(a.x0, b.x0)
        h = min(a.y1, b.y1) - max(a.y0, b.y0)
        if w > 1.0 and h > 1.0:
            bad.append((ta, tb))
    return bad


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("which", ["three", "nine"])
def test_no_text_overlaps_in_any_chart(which: str, lang: str, request: pytest.FixtureRequest) -> None:
    data = read_folder(request.getfixturevalue(which))
    cat = catalogue(lang)
    charts = draw_charts(data, cat)
    try:
        assert len(charts) >= 7
        with chart_style(cat):
            for chart in charts:
                chart.fig.canvas.draw()
                assert not _overlaps(chart.fig), (chart.stem, _overlaps(chart.fig)[:5])
    finally:
        close_charts(charts)


def test_labels_are_names_not_ids(nine: Path) -> None:
    for lang in ("en", "ja"):
        page = render_report(nine, lang, charts=False).read_text(encoding="utf-8")
        text = _plain(page[page.index("<main>"):page.index('id="assumptions"')])
        for raw in ("trial_not_converted", "account_owner", "smb_ae", "key_accounts", "siloed_sla"):
            assert raw not in text, (lang, raw)
        assert 'class="scroll"' in page


# ---------------------------------------------------------------- 5. the deck


def test_deck_structure(three: Path, tmp_path: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    path = render_pptx(three, "en")
    prs = Presentation(str(path))
    slides = list(prs.slides)
    titles = [s.shapes.title.text if s.shapes.title is not None else "" for s in slides]
    assert all(titles), "every slide has its title in the title placeholder"
    assert titles[1].startswith(("Recommendation", "Keep")), titles[1]
    assert any(t == "Sources and assumptions" for t in titles)
    for s in slides:
        assert any(sh.is_placeholder and sh.placeholder_format.type == 13 for sh in s.shapes), "slide number"
        notes = s.notes_slide.notes_text_frame.text
        assert notes.strip(), "speaker notes"
    assert any(re.search(r"\d", s.notes_slide.notes_text_frame.text) for s in slides)
    assert sum(1 for s in slides for sh in s.shapes if sh.has_chart) >= 2, "native charts"
    # A client's master: its layouts are used and its own slides dropped.
    template = Presentation()
    template.slide_width, template.slide_height = Inches(13.333), Inches(7.5)
    template.slides.add_slide(template.slide_layouts[0])
    template.save(str(tmp_path / "client.pptx"))
    deck = Presentation(str(render_pptx(three, "ja", template=tmp_path / "client.pptx")))
    assert len(deck.slides) == len(slides)
    assert all(s.shapes.title is not None and s.shapes.title.text for s in deck.slides)


# ---------------------------------------------------------------- 6. Japanese complete


#: ASCII words a Japanese page may show: units, proper names and identifiers.
ALLOWED = {
    "THE", "MODEL", "AI", "SDR", "AE", "CSM", "CS", "SMB", "MQL", "PQL", "PLG", "KPI", "KPIs", "ARR", "ACV", "NRR",
    "GRR", "LTV", "CAC", "SLA", "CI", "SaaS", "orgsim", "ID", "reps", "pp", "B2B", "PDF", "Ctrl", "Cmd", "P",
    "docs", "md", "model", "sources", "priorities", "logit", "t", "SHA", "HBR", "MIT",
    # file and schema names, and the variables of the effects' formulas
    "scenario", "yaml", "sim", "schema", "py", "Effects", "floor", "half_life", "elasticity", "uplift", "max", "w",
    "expansion_probability",
}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.skip = 0
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "svg", "code", "script") or dict(attrs).get("class") in ("hash",):
            self.skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "svg", "code", "script") and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(data)


def test_japanese_page_has_no_english_words(nine: Path) -> None:
    page = render_report(nine, "ja", charts=False).read_text(encoding="utf-8")
    body = page[page.index("<main>"):page.index('<section id="method"')]
    parser = _Text()
    parser.feed(body)
    words = set(re.findall(r"(?<![\w/.-])[A-Za-z][A-Za-z_]+", " ".join(parser.out)))
    stray = sorted(w for w in words if w not in ALLOWED)
    assert not stray, stray
    assert "word-break: keep-all" in page and "line-break: strict" in page


# ---------------------------------------------------------------- 7. small fixes


def test_footer_names_the_final_folder_and_kpis_xlsx(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from sim.output import write_results

    scn = sim.load_scenario(ROOT / "scenarios" / "siloed.yaml", ["simulation.horizon=60d", "simulation.warmup=10d"])
    other = sim.load_scenario(ROOT / "scenarios" / "cross_functional.yaml",
                              ["simulation.horizon=60d", "simulation.warmup=10d"])
    results = sim.compare([scn, other], reps=2, jobs=1)
    folder = write_results(results, tmp_path, "compare", argv=["orgsim", "compare"], charts=False)
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert folder.name in page and ".tmp-" not in page
    book = load_workbook(folder / "kpis.xlsx", read_only=True)
    assert {"KPIs", "Paired differences"} <= set(book.sheetnames)
    rows = list(book["KPIs"].iter_rows(values_only=True))
    assert rows[0][:2] == ("KPI", "siloed") or "KPI" in rows[0]
    assert len(rows) > 10


def test_report_data_defaults() -> None:
    data = ReportData(["a"], {}, {}, pd.DataFrame(), None, pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    assert data.priorities[:3] == ["ltv_to_cac", "nrr", "conversion_rate"]
    assert data.materiality == {}


def test_charts_of_a_degenerate_run_stay_on_their_page(write_scenario, tmp_path: Path) -> None:
    """One replication of four weeks: survival has a value at month 0 only and no interval.
    Every drawn artist (end labels, ticks) stays within the figure, so the deck's pictures
    are page-sized (an end label once sat at month 30 of an axis 0.05 wide: 955M pixels)."""
    from sim.output import write_results

    scn = sim.load_scenario(write_scenario({"market.channels.web.rate_per_week": 20}))
    folder = write_results(sim.compare([scn], reps=1, jobs=1), tmp_path, "run", argv=["orgsim", "run"],
                           charts=False)
    data = read_folder(folder)
    assert data.survival.share_active.isna().any()
    cat = catalogue("en")
    charts = draw_charts(data, cat)
    try:
        assert charts
        with chart_style(cat):
            for chart in charts:
                fig = chart.fig
                fig.canvas.draw()
                tight = fig.get_tightbbox(fig.canvas.get_renderer())
                width, height = fig.get_size_inches()
                assert tight.width <= 1.2 * width and tight.height <= 1.2 * height, (chart.stem, tight)
    finally:
        close_charts(charts)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_no_text_runs_off_the_page(three: Path, lang: str) -> None:
    """Every drawn text of every chart lies inside its figure (end labels carry the longest
    design names with their values; a fixed right margin once cut them off)."""
    data = read_folder(three)
    cat = catalogue(lang)
    charts = draw_charts(data, cat)
    try:
        with chart_style(cat):
            for chart in charts:
                fig = chart.fig
                fig.canvas.draw()
                for text, bb in _drawn_texts(fig):
                    assert fig.bbox.x0 - 1 <= bb.x0 and bb.x1 <= fig.bbox.x1 + 1, (chart.stem, text)
    finally:
        close_charts(charts)
