"""The report: report.html (English and Japanese), charts, report.pptx, and a real browser.

One short comparison (1-year horizon, 3 replications) is simulated once for the module; the
report is then built only from the files it wrote, as ``orgsim report DIR`` does.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import sim
from sim.locale import LANGUAGES, catalogue, flat_keys
from sim.output import write_results
from sim.report import read_folder, render_pptx, render_report
from sim.report.charts import close_charts, draw_charts
from sim.report.findings import finding, sentence
from sim.report.folder import ReportData
from sim.report.style import japanese_font

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
SHORT = ["simulation.horizon=1y", "simulation.warmup=60d"]
HOSTILE = "<script>alert(1)</script>"
HOSTILE_TEXT = '<img src=x onerror=alert(2)> & "quoted" <b>bold</b>'
SECTIONS = ("summary", "kpis", "paired", "funnel", "retention", "economics", "assumptions", "method")
CHARTS = ("forest", "funnel", "lost_reasons", "retention", "arr", "ltv_cac", "people_cost", "roles")
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A compare results folder: siloed (baseline), a design with a hostile name, ai_automated."""
    siloed = sim.load_scenario(SCENARIOS / "siloed.yaml", SHORT)
    pods = sim.load_scenario(SCENARIOS / "cross_functional.yaml", SHORT).model_copy(
        update={"name": HOSTILE, "description": HOSTILE_TEXT})
    ai = sim.load_scenario(SCENARIOS / "ai_automated.yaml", SHORT)
    results = sim.compare([siloed, pods, ai], reps=3, jobs=1)
    return write_results(results, tmp_path_factory.mktemp("results"), "compare", argv=["orgsim", "compare"])


@pytest.fixture(scope="module")
def pages(folder: Path) -> dict[str, str]:
    return {lang: render_report(folder, lang).read_text(encoding="utf-8") for lang in LANGUAGES}


def _section(page: str, sid: str) -> str:
    match = re.search(rf'<section id="{sid}">(.*?)</section>', page, re.S)
    assert match, f"section {sid} missing"
    return match.group(1)


def test_write_charts_keeps_its_files(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    for stem in CHARTS:
        assert f"{stem}.svg" in manifest["charts"] and f"{stem}.png" not in manifest["charts"]
        assert (folder / "charts" / f"{stem}.svg").stat().st_size > 10_000


_REPORT_ONLY = """
import sys
from sim.cli import main
status = main(["report", *sys.argv[1:]])
heavy = ("pptx", "simpy", "sim.model", "sim.experiment", "sim.metrics", "sim.timeline")
print(status, sorted(m for m in heavy if m in sys.modules))
"""


def test_png_charts_only_when_asked_for_and_never_stale(folder: Path, tmp_path: Path) -> None:
    """`orgsim report DIR --png` writes each chart as PNG beside its SVG; a later rendering
    without it removes them (they would show the earlier drawing). Neither loads the model,
    SimPy or the deck's library: a report reads files."""
    copy = shutil.copytree(folder, tmp_path / "copy")
    for argv, pngs in (([str(copy), "--png"], True), ([str(copy)], False)):
        out = subprocess.run([sys.executable, "-c", _REPORT_ONLY, *argv], capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines()[-1] == "0 []", out.stdout
        for stem in CHARTS:
            png = copy / "charts" / f"{stem}.png"
            assert png.is_file() == pngs, png
            if pngs:
                assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
            assert (copy / "charts" / f"{stem}.svg").stat().st_size > 10_000


def test_an_interrupted_report_names_the_pngs_it_removed(folder: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    """Ctrl-C after the charts are written (here: as their part of the page is put together): the message
    counts the stale PNGs removed beside the SVGs rewritten, so that "run it again" is not a
    surprise."""
    import sim.report.html
    from sim.cli import main

    copy = shutil.copytree(folder, tmp_path / "copy")
    assert main(["report", str(copy), "--png"]) == 0
    capsys.readouterr()

    def interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.report.html, "_charts_context", interrupted)
    assert main(["report", str(copy)]) == 130
    err = capsys.readouterr().err
    removed = len(CHARTS)  # one PNG a chart; each SVG rewritten too, and kpis.xlsx
    assert f"interrupted; {2 * removed + 1} files of {copy} had been rewritten or removed (charts/arr.png, " in err, err
    assert not list((copy / "charts").glob("*.png"))


_ENCODE_BOTH_WAYS = """
import os, sys, time
from pathlib import Path
import sim.report.files as F
from sim.locale import catalogue
from sim.report import read_folder
from sim.report.charts import builders, close_charts, draw_charts, drawn_by

folder, out, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
kind = sys.argv[4] if len(sys.argv) > 4 else "drawn"
cat, data, parent = catalogue("en"), read_folder(folder), os.getpid()
forks, mine = [], []
log = out / "writes.log"
real_fork, real_write, real_waitpid = os.fork, F._write, os.waitpid
def fork():
    forks.append(1)
    if mode == "no_fork":
        raise OSError(11, "Resource temporarily unavailable")
    return real_fork()
def write(chart, where, cat, png):
    if os.getpid() == parent:
        if where.name == "two" and mode in ("child_fails", "not_waitable"):
            for _ in range(600):  # until the child has taken a chart, so that it has work to lose
                if log.exists():
                    break
                time.sleep(0.05)
        mine.append(chart.stem)
    else:
        with log.open("a") as fh:  # what the child wrote, for the parent to check
            fh.write(f"{where.name} {chart.stem}\\n")
        if mode == "child_fails":
            raise OSError(28, "No space left on device")
    return real_write(chart, where, cat, png)
def waitpid(pid, options):
    if mode == "not_waitable":
        real_waitpid(pid, options)
        raise ChildProcessError(10, "No child processes")
    return real_waitpid(pid, options)
os.fork, os.waitpid, F._write = fork, waitpid, write
texts, wrote = {}, {}
for name, parallel in (("one", False), ("two", True)):
    # Charts drawn beforehand (a compare's), or drawn by whichever process writes them (a report's).
    charts = draw_charts(data, cat)
    jobs = charts if kind == "drawn" else [drawn_by(b, data, cat) for b in builders(data)]
    # A report's jobs are taken in an order of their own (the costliest first); here, backwards.
    order = None if kind == "drawn" else list(reversed(range(len(jobs))))
    mine.clear()
    texts[name] = F.write_chart_files(jobs, out / name, cat, parallel=parallel, png=True, order=order)
    wrote[name] = list(mine)
    close_charts(charts)
    stems = [c.stem for c in charts]
assert texts["one"] == texts["two"], "different SVG texts"
assert [w.stem for w in texts["two"]] == stems, "order"
assert [w.title for w in texts["two"]] == [c.title for c in charts], "titles"
taken = stems if kind == "drawn" else stems[::-1]
assert wrote["one"] == taken, "the order taken"
theirs = [line.split()[1] for line in log.read_text().splitlines()] if log.exists() else []
assert len(set(wrote["two"])) == len(wrote["two"]), ("the parent wrote a chart twice", wrote["two"])
if mode == "works":  # each chart written once, by one of the two
    assert sorted(wrote["two"] + theirs) == sorted(stems), (wrote["two"], theirs)
elif mode == "no_fork":
    assert wrote["two"] == taken and not theirs
else:  # the child's work is not trusted: the parent writes what the child took too
    assert sorted(wrote["two"]) == sorted(stems) and theirs, (wrote["two"], theirs)
print(len(forks), len(stems), int(F.can_fork()))
"""


@pytest.mark.parametrize("kind", ["drawn", "jobs"])
@pytest.mark.parametrize("mode", ["works", "child_fails", "no_fork", "not_waitable"])
def test_charts_encoded_on_two_cores_are_the_same_files(folder: Path, tmp_path: Path, mode: str, kind: str) -> None:
    """A forked child writes every other chart (sim.report.files) and the parent the rest,
    whether the charts come drawn (a compare's) or the child draws its own (a report's, which
    learns their titles through a pipe); the files, SVG texts and titles are the same as one
    process writes. A child that fails, that cannot be made or that cannot be waited for
    leaves its charts to the parent."""
    out = subprocess.run([sys.executable, "-c", _ENCODE_BOTH_WAYS, str(folder), str(tmp_path), mode, kind],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    forks, charts, can = map(int, out.stdout.split())
    assert (forks, charts) == (1, len(CHARTS))
    assert can == (len(os.sched_getaffinity(0)) > 1)  # a process of one thread may fork
    one = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert one == sorted(f"{stem}.{ext}" for stem in CHARTS for ext in ("png", "svg"))
    assert one == sorted(p.name for p in (tmp_path / "two").iterdir())
    for name in one:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_ctrl_c_while_a_child_encodes_stops_the_child_and_leaves_no_process(folder: Path, tmp_path: Path) -> None:
    """Ctrl-C to the parent alone while the child encodes (a terminal's would reach both, and the
    child dies of it): the command ends with KeyboardInterrupt, and the child, stopped by the
    parent, is gone, not even a zombie."""
    code = _ENCODE_BOTH_WAYS.split("texts, wrote = {}, {}")[0] + textwrap.dedent("""
        import signal, time
        # As orgsim's own start does: a shell that starts a job in the background starts it
        # with SIGINT ignored, and Python then leaves it so.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        real_write_child = F._write
        def slow(chart, where, cat, png):
            if os.getpid() != parent:
                time.sleep(30)
            return real_write_child(chart, where, cat, png)
        F._write = slow
        charts = draw_charts(data, cat)
        print(os.getpid(), flush=True)
        try:
            F.write_chart_files(charts, out / "two", cat, parallel=True)
        except KeyboardInterrupt:
            try:
                os.waitpid(-1, os.WNOHANG)
                print("interrupted, a child is left", flush=True)
            except ChildProcessError:  # no child at all, running or a zombie
                print("interrupted, no child", flush=True)
        """)
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder), str(tmp_path), "works"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        time.sleep(3)  # the parent's half is done in about a second; the child sleeps
        os.kill(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of its session
    assert stdout.strip() == "interrupted, no child", stderr


@pytest.mark.parametrize("order", [[0, 0], [1], [0, 2], [-1, 0]])
def test_an_order_that_is_not_the_charts_is_refused(tmp_path: Path, order: list[int]) -> None:
    """Every chart is taken exactly once: an order missing one, repeating one or naming one
    that is not there is a programming error, said before any file is written."""
    from sim.locale import catalogue
    from sim.report.files import write_chart_files

    with pytest.raises(ValueError, match="not a permutation"):
        write_chart_files([lambda: None, lambda: None], tmp_path / "charts", catalogue("en"), order=order)
    assert not (tmp_path / "charts").exists()


def test_no_fork_while_another_thread_runs() -> None:
    """A thread holding a lock at a fork would leave the child stuck: with one running, the
    charts are encoded in this process."""
    import threading

    from sim.report.files import can_fork

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not can_fork()
    finally:
        stop.set()
        thread.join()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_report_has_every_section_and_chart(pages: dict[str, str], lang: str) -> None:
    page = pages[lang]
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in page
        assert f'href="#{sid}"' in page
    for stem in CHARTS:
        figure = re.search(rf'<figure id="chart-{stem}">(.*?)</figure>', page, re.S)
        assert figure and "<svg" in figure.group(1) and "<path" in figure.group(1), stem
    assert "sweep" not in re.findall(r'<section id="(\w+)"', page)
    summary = _section(page, "summary")
    assert summary.count('class="card"') == 2  # one per design compared with the baseline
    kpis = _section(page, "kpis")
    assert kpis.count('class="num best"') >= 10  # best value per row marked


class _Links(HTMLParser):
    """Every tag, every src / href / xlink:href value, and every url(...) in styles."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.refs: list[str] = []
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "srcset", "action", "poster", "data"):
                self.refs.append(value or "")
            self.urls += re.findall(r"url\(\s*['\"]?([^)'\"]*)", value or "", re.I)

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += re.findall(r"url\(\s*['\"]?([^)'\"]*)", data, re.I)
            assert "@import" not in data

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False


@pytest.mark.parametrize("lang", LANGUAGES)
def test_report_is_self_contained(pages: dict[str, str], lang: str) -> None:
    page = pages[lang]
    links = _Links()
    links.feed(page)
    assert links.refs and all(r.startswith("#") for r in links.refs), [r for r in links.refs if r[:1] != "#"][:5]
    assert links.urls and all(u.startswith("#") for u in links.urls), [u for u in links.urls if u[:1] != "#"][:5]
    assert not links.tags & {"script", "link", "iframe", "object", "embed", "img", "base", "meta http-equiv"}
    without_ns = re.sub(r'xmlns(:\w+)?="[^"]*"', "", page)
    assert "http://" not in without_ns and "https://" not in without_ns
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "charts on one page share an id"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_scenario_strings_are_escaped(pages: dict[str, str], lang: str) -> None:
    page = pages[lang]
    assert HOSTILE not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt; &amp; &#34;quoted&#34; &lt;b&gt;bold&lt;/b&gt;" in page


def test_summary_states_uncertainty_honestly(pages: dict[str, str], folder: Path) -> None:
    summary = _section(pages["en"], "summary")
    assert "95% CI" in summary
    data = read_folder(folder)
    cat = catalogue("en")
    for name in data.names[1:]:
        for kpi in ("conversion_rate", "logo_churn_annual", "win_rate", "nrr"):
            f = finding(data, name, kpi)
            if f is None:  # a one-year run: no renewal is due, no trailing-year cohort (n/a, below)
                assert kpi in ("logo_churn_annual", "nrr")
                continue
            text = sentence(f, data, cat)
            if f.verdict == "same":  # identical in every replication (e.g. no churn in a short run)
                assert "the same" in text
                continue
            crosses = f.low <= 0 <= f.high
            assert ("no clear difference" in text) == crosses, text
            assert f.significant != crosses


@pytest.mark.parametrize("lang", LANGUAGES)
def test_kpi_table_says_why_a_retention_kpi_is_missing(pages: dict[str, str], lang: str) -> None:
    """A one-year run has no renewal due and no trailing-year cohort: n/a with the reason."""
    kpis = _section(pages[lang], "kpis")
    cat = catalogue(lang)
    assert cat.t("kpis.na_only", n="0", noun=cat.t("kpis.nouns.renewals")) in kpis
    assert cat.t("kpis.na_window") in kpis


def _data(diff: float, low: float, high: float, kpi: str = "logo_churn_annual") -> ReportData:
    summary = pd.DataFrame([("a", kpi, 0.15, 0.14, 0.16, 5), ("b", kpi, 0.15 + diff, 0.1, 0.2, 5)],
                           columns=["scenario", "kpi", "mean", "ci_low", "ci_high", "n"])
    paired = pd.DataFrame([("b", "a", kpi, diff, low, high, 5)],
                          columns=["scenario", "baseline", "kpi", "diff_mean", "diff_ci_low", "diff_ci_high", "n"])
    empty = pd.DataFrame()
    return ReportData(["a", "b"], {"a": {}, "b": {}}, {"reps": 5, "seed": 1}, summary, paired, empty, empty, empty)


@pytest.mark.parametrize(("diff", "low", "high", "verdict", "words"), [
    (-0.044, -0.051, -0.037, "better",
     "lowers Logo churn a year from 15.0% to 10.6% (−4.4 pp, 95% CI −5.1 pp to −3.7 pp)"),
    (0.02, 0.01, 0.03, "worse", "raises Logo churn a year"),
    (-0.01, -0.03, 0.01, "unclear", "no clear difference"),
    (0.0, 0.0, 0.0, "same", "the same"),
])
def test_sentences_follow_the_interval(diff: float, low: float, high: float, verdict: str, words: str) -> None:
    data = _data(diff, low, high)
    f = finding(data, "b", "logo_churn_annual")
    assert f.verdict == verdict
    assert words in sentence(f, data, catalogue("en"))


def test_catalogues_have_the_same_keys() -> None:
    english = flat_keys(catalogue("en").entries)
    for lang in LANGUAGES[1:]:
        other = catalogue(lang).entries
        assert english - flat_keys(other) == set(), f"{lang} lacks keys"
    from sim.metrics import KPI_DOCS
    from sim.report.params import _effect_fields
    from sim.schema import Effects

    ja = catalogue("ja")
    assert set(KPI_DOCS) <= set(ja.mapping("kpi_docs"))
    assert {p for p, _ in _effect_fields(Effects)} <= set(ja.mapping("effects"))


def test_japanese_report_is_in_japanese(pages: dict[str, str]) -> None:
    page = pages["ja"]
    assert '<html lang="ja">' in page
    for term in ("エグゼクティブサマリー", "マーケティング", "インサイドセールス", "フィールドセールス",
                 "カスタマーサクセス", "年間解約率", "LTV", "受注", "分業型（THE MODEL）", "AI自動化型",
                 "信頼区間", "前提条件"):
        assert term in page, term
    for english in ("Executive summary", "Assumptions", "no clear difference", "Field sales", "Siloed"):
        assert english not in page, english


def test_japanese_charts_have_their_glyphs(folder: Path) -> None:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    name = japanese_font()
    path = font_manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False)
    charmap = FT2Font(path).get_charmap()
    for ch in "解約率受注フィールドセールス顧客万ドル（）":
        assert ord(ch) in charmap, ch
    data = read_folder(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)"
        charts = draw_charts(data, catalogue("ja"))
        try:
            for chart in charts:
                chart.fig.canvas.draw()
        finally:
            close_charts(charts)
    assert {c.stem for c in charts} >= set(CHARTS)
    assert all(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", c.title) for c in charts)
    assert (folder / "charts" / "ja" / "forest.svg").is_file()  # written by the ja page


def test_pptx_has_the_slides(folder: Path) -> None:
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    for lang in LANGUAGES:
        deck = Presentation(str(render_pptx(folder, lang)))
        slides = list(deck.slides)
        texts = [" ".join(s.text_frame.text for s in slide.shapes if s.has_text_frame) for slide in slides]
        cat = catalogue(lang)
        assert cat.t("report.title") in texts[0]
        from sim.report.scorecard import scorecard

        card = scorecard(read_folder(folder), cat)
        assert card is not None and card.recommendation in texts[1]  # the answer first: the scorecard
        assert cat.t("pptx.summary") in texts[2]
        pictures = [i for i, slide in enumerate(slides)
                    if any(s.shape_type == MSO_SHAPE_TYPE.PICTURE for s in slide.shapes)]
        native = [i for i, slide in enumerate(slides) if any(s.has_chart for s in slide.shapes)]
        assert len(pictures) + len(native) == len(CHARTS) and native  # bar and line charts are editable
        titles = [texts[i] for i in pictures + native]
        assert any(cat.design("ai_automated") in t for t in titles)  # findings as titles
        tables = [i for i, slide in enumerate(slides) if any(s.has_table for s in slide.shapes)]
        assert any(cat.t("pptx.kpi_table", level=95) in texts[i] for i in tables)
        assert any(cat.t("pptx.assumptions") in texts[i] for i in tables)
        assert any(cat.t("pptx.effects") in texts[i] for i in tables)


def _with_whatif(folder: Path, target: Path, two_keys: bool = False) -> Path:
    shutil.copytree(folder, target)
    key = "roles.inside_sales.headcount"
    rows = []
    points = [(h, d) for h in (4, 6, 8) for d in ((0.0, 0.5) if two_keys else (None,))]
    for p, (h, d) in enumerate(points):
        for kpi, base in (("conversion_rate", 0.01), ("logo_churn_annual", 0.15), ("ltv_to_cac", 2.0),
                          ("total_cost", 5e6)):
            mean = base * (1 + 0.05 * h + (d or 0))
            row = {"point": p, key: h, "kpi": kpi, "mean": mean, "ci_low": mean * 0.95, "ci_high": mean * 1.05, "n": 3}
            if two_keys:
                row["data_integration"] = d
            rows.append(row)
    pd.DataFrame(rows).to_csv(target / "sweep_summary.csv", index=False)
    sens = [("roles.inside_sales.headcount", 5, 4, 6, -0.02, -0.03, -0.01, 0.015, 0.005, 0.025),
            ("data_integration", 0.0, 0.0, 0.2, 0.0, 0.0, 0.0, -0.03, -0.04, -0.02),
            ("market.effects.context_loss_probability", 0.25, 0.2, 0.3, -0.004, -0.01, 0.002, 0.005, -0.001, 0.011)]
    pd.DataFrame([(p, "logo_churn_annual", b, lo, hi, 0.15, *d, 3) for p, b, lo, hi, *d in sens], columns=[
        "parameter", "kpi", "base_value", "low_value", "high_value", "base_mean", "low_diff_mean", "low_diff_ci_low",
        "low_diff_ci_high", "high_diff_mean", "high_diff_ci_low", "high_diff_ci_high", "n"]).to_csv(
        target / "sensitivity.csv", index=False)
    return target


@pytest.mark.parametrize("lang", LANGUAGES)
def test_sweep_and_sensitivity_sections(folder: Path, tmp_path: Path, lang: str) -> None:
    page = render_report(_with_whatif(folder, tmp_path / "whatif"), lang).read_text(encoding="utf-8")
    cat = catalogue(lang)
    for sid in ("sweep", "sensitivity"):
        assert f'<section id="{sid}">' in page
        assert cat.t(f"sections.{sid}") in page
    for stem in ("sweep", "tornado"):
        assert re.search(rf'<figure id="chart-{stem}">\s*<svg', page), stem
    sens = _section(page, "sensitivity")
    assert sens.index(cat.name("fields", "data_integration")) < sens.index("context_loss_probability")


def test_sweep_of_two_keys_draws_a_heatmap(folder: Path, tmp_path: Path) -> None:
    data = read_folder(_with_whatif(folder, tmp_path / "whatif2", two_keys=True))
    charts = draw_charts(data, catalogue("en"))
    try:
        sweep = next(c for c in charts if c.stem == "sweep")
        assert sweep.fig.axes[0].images, "expected a heatmap"
    finally:
        close_charts(charts)


def test_a_sweep_report_shows_only_what_a_sweep_has(tmp_path: Path) -> None:
    """A sweep folder has no single design's KPIs: no empty design sections, every link lands."""
    from sim.output import write_sweep

    res = sim.sweep(SCENARIOS / "siloed.yaml", {"data_integration": [0.2, 0.8]}, reps=1, seed=3, jobs=1,
                    overrides=["simulation.horizon=120d", "simulation.warmup=10d"])
    out = write_sweep(res, tmp_path, argv=["orgsim", "sweep"], charts=False)
    page = render_report(out, "en").read_text(encoding="utf-8")
    assert re.findall(r'<section id="(\w+)">', page) == ["sweep", "assumptions", "method"]
    assert re.findall(r'<li><a href="#(\w+)">', page) == ["sweep", "assumptions", "method"]


def test_single_design_run(tmp_path: Path) -> None:
    results = sim.run(SCENARIOS / "siloed.yaml", reps=2, jobs=1, overrides=SHORT)
    out = write_results(results, tmp_path, "run", argv=["orgsim", "run"], charts=False)
    page = render_report(out, "en").read_text(encoding="utf-8")
    assert '<section id="paired">' not in page
    assert "Logo churn a year" in _section(page, "summary")
    assert '<figure id="chart-funnel">' in page and '<figure id="chart-forest">' not in page


class DevTools:
    """Chromium's DevTools protocol over --remote-debugging-pipe (fd 3 in, fd 4 out)."""

    def __init__(self, user_dir: Path):
        self.to_child_r, self.to_child = os.pipe()
        self.from_child, self.from_child_w = os.pipe()
        cmd = (f"exec {CHROMIUM} --headless --no-sandbox --disable-gpu --disable-background-networking "
               f"--disable-component-update --no-first-run --hide-scrollbars --user-data-dir={user_dir} "
               f"--remote-debugging-pipe 3<&{self.to_child_r} 4>&{self.from_child_w} "
               f"{self.to_child_r}<&- {self.from_child_w}>&-")
        self.proc = subprocess.Popen(["/bin/bash", "-c", cmd], pass_fds=(self.to_child_r, self.from_child_w),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(self.to_child_r)
        os.close(self.from_child_w)
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read(self, deadline: float) -> dict[str, Any] | None:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_child], [], [], left)[0]:
                return None
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                return None
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: str | None = None, timeout: float = 30, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            assert reply is not None, f"no reply to {method}"
            if reply.get("id") == self.next_id:
                assert "error" not in reply, reply
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            event = self._read(deadline)
            assert event is not None, f"no {method}"
            self.events.append(event)

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (event := self._read(deadline)) is not None:
            self.events.append(event)

    def close(self) -> None:
        with contextlib.suppress(AssertionError, OSError):  # the browser may be gone already
            self.call("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_child)
        os.close(self.from_child)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/install-report-deps.sh)")
@pytest.mark.parametrize("lang", LANGUAGES)
def test_report_loads_in_headless_chromium(folder: Path, pages: dict[str, str], tmp_path: Path, lang: str) -> None:
    page = folder / ("report.html" if lang == "en" else f"report.{lang}.html")
    url = page.resolve().as_uri()
    browser = DevTools(tmp_path / "profile")
    try:
        target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable", session)
        browser.call("Emulation.setDeviceMetricsOverride", session, width=1280, height=900, deviceScaleFactor=1,
                     mobile=False)
        browser.call("Page.navigate", session, url=url)
        browser.wait_for("Page.loadEventFired")
        browser.drain(1.0)
        height = browser.call("Runtime.evaluate", session, expression="document.documentElement.scrollHeight",
                              returnByValue=True)["result"]["value"]
        charts = browser.call("Runtime.evaluate", session, returnByValue=True,
                              expression="document.querySelectorAll('figure svg.chart').length")["result"]["value"]
        shot = browser.call("Page.captureScreenshot", session, format="png", captureBeyondViewport=True,
                            clip={"x": 0, "y": 0, "width": 1280, "height": min(height, 6000), "scale": 1})
    finally:
        browser.close()
    requests = {e["params"]["request"]["url"] for e in browser.events if e.get("method") == "Network.requestWillBeSent"}
    assert requests <= {url}, requests
    errors = [e for e in browser.events
              if e.get("method") == "Runtime.exceptionThrown"
              or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
              or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
    assert errors == []
    assert charts == len(CHARTS)
    assert height > 5000
    import base64

    png = base64.b64decode(shot["data"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    (tmp_path / f"report-{lang}.png").write_bytes(png)
    keep = os.environ.get("ORGSIM_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / f"report-{lang}.png").write_bytes(png)
    assert not math.isnan(height)
