"""The live page (Shiny for Python): controls, polling, and the answer drawn from the report's code.

Everything the page computes comes from the rest of orgsim: the levers from
:mod:`sim.app.levers` (the schema), the runs from :mod:`sim.app.live` (:func:`sim.compare`),
the verdicts from :mod:`sim.report.scorecard` and :mod:`sim.report.findings`, the numbers'
formats and labels from :mod:`sim.report.kpis` and the catalogues (:mod:`sim.locale`), the
charts from :mod:`sim.report.charts`. Every string from a scenario file or the page is put in
the page as text (htmltools escapes it); charts are PNG images.

The view is in the URL's query string (``b``, ``d``, ``c``, ``reps``, ``lang`` and one ``set``
per ``--set`` string), kept up to date as the controls move, so every view is a link.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import math
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import yaml
from htmltools import Tag, TagList, tags
from shiny import App, Inputs, Outputs, Session, reactive, render, ui

from ..assumptions import DEFAULT_ROBUSTNESS, RANGES, acts_in, value_of
from ..experiment import Results
from ..locale import LANGUAGES, Catalogue, catalogue
from ..report import kpis as K
from ..report.findings import finding
from ..report.folder import from_results
from ..report.scorecard import scorecard
from ..scenario import ScenarioError, load_scenario, parse_set
from ..schema import Scenario
from .levers import AI_AGENT_ROLE, SLAS, Lever, is_shared, levers, normalize_shares, set_keys
from .live import WHATIF_SUFFIX, Cache, Job, Runner, View, assemble

__all__ = ["Config", "make_app"]

#: KPIs of the differences table (the scorecard ranks on the report's priorities).
TABLE_KPIS = ("conversion_rate", "won", "arr_end", "nrr", "logo_churn_annual", "first_response_p50_hours",
              "never_answered_share", "cac", "ltv_to_cac", "total_cost")
POLL_SECONDS = 0.25
MAX_REPS = 200


@dataclass
class Config:
    """What ``orgsim app`` was given: the designs it may show (id -> file), where to write."""

    designs: dict[str, Path]
    out: Path
    jobs: int | None = None
    lang: str = "en"
    cache: Cache = field(default_factory=Cache)
    #: The command that starts orgsim, for the reproduce lines.
    program: str = "orgsim"


def _id(key: str) -> str:
    return "lv_" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def _cwd_relative(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)


@dataclass
class Settings:
    """The view as the URL holds it."""

    baseline: str
    design: str
    others: list[str]
    reps: int
    lang: str
    sets: list[str]


def parse_query(query: str, config: Config) -> Settings:
    """The view of a query string; names not among the designs fall back to the first."""
    q = parse_qs(query.lstrip("?"), keep_blank_values=False)
    ids = list(config.designs)

    def one(name: str, default: str) -> str:
        values = q.get(name) or [default]
        return values[0] if values[0] in ids else default

    baseline = one("b", ids[0])
    design = one("d", baseline)
    others = [o for o in q.get("c", []) if o in ids and o not in (baseline, design)]
    try:
        reps = min(MAX_REPS, max(1, int((q.get("reps") or ["0"])[0])))
    except ValueError:
        reps = 0
    if not reps:
        reps = _load(config.designs[baseline]).simulation.reps if baseline else 10
    lang = (q.get("lang") or [config.lang])[0]
    lang = lang if lang in LANGUAGES else "en"
    return Settings(baseline, design, others, reps, lang, [s for s in q.get("set", []) if "=" in s][:200])


def query_of(s: Settings) -> str:
    pairs: list[tuple[str, str]] = [("b", s.baseline), ("d", s.design)]
    pairs += [("c", o) for o in s.others]
    pairs += [("reps", str(s.reps)), ("lang", s.lang)]
    pairs += [("set", x) for x in s.sets]
    return "?" + urlencode(pairs)


_LOADED: dict[tuple[str, float], Scenario] = {}


def _load(path: Path) -> Scenario:
    """A design file as written (no overrides), read again when the file changes."""
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = 0.0
    key = (str(path.resolve()), mtime)
    if key not in _LOADED:
        _LOADED[key] = load_scenario(path)
    return _LOADED[key]


# ---------------------------------------------------------------- lever values <-> --set strings


def _lever_value(lever: Lever, sets: dict[str, Any]) -> Any:
    """The scenario value a lever shows, given the parsed --set values of the view."""
    if lever.key not in sets:
        return lever.default
    value = sets[lever.key]
    if lever.is_sla:
        mean = value.get("mean") if isinstance(value, dict) else None
        return str(mean) if str(mean) in SLAS else lever.default
    if lever.kind == "choice":
        return str(value)
    return value


def split_sets(all_levers: list[Lever], sets: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The --set strings of a view as lever values (key -> value) and the rest ("more" lines)."""
    keys = {lv.key: lv for lv in all_levers}
    values: dict[str, Any] = {}
    more: list[str] = []
    for s in sets:
        try:
            parts, value = parse_set(s)
        except ScenarioError:
            more.append(s)
            continue
        key = ".".join(parts)
        lever = keys.get(key)
        if lever is not None and lever.accepts(value):
            values[key] = value
        elif key == f"roles.{AI_AGENT_ROLE}" and any(
                x.replace(" ", "") == f"routing.first_response={AI_AGENT_ROLE}" for x in sets):
            continue  # comes with the first-response choice
        else:
            more.append(s)
    return values, more


def lever_sets(all_levers: list[Lever], values: dict[str, Any]) -> list[str]:
    """The --set strings of the levers that differ from the design's (values: key -> scenario value)."""
    out: list[str] = []
    shares = {lv.segment: float(values.get(lv.key, lv.default)) for lv in all_levers if lv.group == "mix"}
    mix_changed = any(lv.changed(values.get(lv.key, lv.default)) for lv in all_levers if lv.group == "mix")
    normal = normalize_shares(shares) if mix_changed else {}
    for lv in all_levers:
        if lv.group == "mix":
            if mix_changed:
                out += lv.sets(normal[lv.segment])
            continue
        value = values.get(lv.key, lv.default)
        if lv.changed(value):
            out += lv.sets(value)
    return out


# ---------------------------------------------------------------- pieces of the page


def _label(lever: Lever, cat: Catalogue) -> str:
    text = cat.t(lever.label, role=cat.role(lever.role) if lever.role else "",
                 segment=cat.name("segments", lever.segment) if lever.segment else "")
    if lever.unit and lever.kind in ("int", "float"):
        text += f" ({cat.t('app.unit.' + lever.unit)})"
    if lever.note:
        text += f" · {cat.t('app.plausible', range=lever.note)}"
    return text


def _control(lever: Lever, value: Any, cat: Catalogue) -> Tag:
    lid, label = _id(lever.key), _label(lever, cat)
    if lever.kind == "int":
        return ui.input_numeric(lid, label, value=int(value), min=lever.bounds[0] if math.isfinite(lever.bounds[0])
                                else None, max=lever.bounds[1] if math.isfinite(lever.bounds[1]) else None, step=1)
    if lever.kind == "percent":
        return ui.input_slider(lid, label, min=lever.low, max=lever.high, value=lever.ui_value(value),
                               step=lever.step, post="%")
    if lever.kind == "float":
        return ui.input_slider(lid, label, min=lever.low, max=max(lever.high, float(value)),
                               value=float(value), step=lever.step)
    if lever.kind == "bool":
        return ui.input_checkbox(lid, label, value=bool(value))
    choices = {} if str(value) in {v for v, _ in lever.choices} else {str(value): str(value)}
    for v, text in lever.choices:
        if text.startswith("app."):
            choices[v] = cat.t(text)
        elif lever.group == "first_response":
            choices[v] = cat.role(text)
        else:
            choices[v] = text
    return ui.input_select(lid, label, choices=choices, selected=str(value))


class PageCatalogue(Catalogue):
    """The catalogue of a language, which also names the edited design ("Siloed, what-if")."""

    def design(self, key: str) -> str:
        if key.endswith(WHATIF_SUFFIX) and len(key) > len(WHATIF_SUFFIX):
            return self.t("app.whatif_of", design=super().design(key[: -len(WHATIF_SUFFIX)]))
        return super().design(key)


def page_catalogue(lang: str) -> PageCatalogue:
    base = catalogue(lang)
    return PageCatalogue(base.lang, base.entries, base.fallback)


def design_label(name: str, cat: Catalogue) -> str:
    return cat.design(name)


def _table(head: list[str], rows: list[list[Any]], cls: str = "") -> Tag:
    return tags.table(
        tags.thead(tags.tr(*[tags.th(h) for h in head])),
        tags.tbody(*[tags.tr(*[c if isinstance(c, Tag) else tags.td(str(c)) for c in r]) for r in rows]),
        class_=f"table table-sm {cls}",
    )


def _verdict_cell(verdict: str, word: str) -> Tag:
    return tags.td(tags.span(word, class_=f"verdict verdict-{verdict}"), **{"data-verdict": verdict})


def scorecard_html(results: Results, cat: Catalogue) -> TagList:
    """The report's scorecard (priorities, verdicts, recommendation) as page elements."""
    data = from_results(results)
    card = scorecard(data, cat)
    if card is None:
        return TagList()
    head = [cat.t("scorecard.col_rank"), cat.t("scorecard.col_design")]
    head += [f"{label} ({th})" for label, th in zip(card.labels, card.thresholds)]
    rows = []
    for r in card.rows:
        cells: list[Any] = [r.rank, tags.td(design_label(r.design, cat), class_="design")]
        for c in r.cells:
            if c.verdict == "baseline":
                cells.append(tags.td(c.value, " ", tags.span(c.word, class_="verdict verdict-baseline")))
            else:
                cells.append(tags.td(c.value, tags.br(), tags.span(f"{c.diff} {c.ci}", class_="diff"), " ",
                                     tags.span(c.word, class_=f"verdict verdict-{c.verdict}"),
                                     **{"data-verdict": c.verdict}))
        rows.append(cells)
    return TagList(tags.p(card.recommendation, class_="recommendation", id="recommendation"),
                   _table(head, rows, "scorecard"))


def differences_html(results: Results, cat: Catalogue) -> TagList:
    """Paired differences of the headline KPIs, each design against the baseline."""
    data = from_results(results)
    out = TagList()
    for name in data.names[1:]:
        rows = []
        for kpi in TABLE_KPIS:
            f = finding(data, name, kpi)
            base = K.fmt(kpi, data.mean(data.baseline, kpi), cat)
            value = K.fmt(kpi, data.mean(name, kpi), cat)
            if f is None:
                rows.append([K.label(kpi, cat), base, value, "–", "–", _verdict_cell("na", cat.t("scorecard.na"))])
                continue
            if f.low == f.high == f.diff:
                ci = cat.t("units.fixed")
            elif math.isfinite(f.low) and math.isfinite(f.high):
                low, high = K.fmt_ends(kpi, f.low, f.high, cat, diff=True)
                ci = cat.t("units.range", low=low, high=high)
            else:
                ci = "–"
            verdict = f.verdict if f.verdict in ("better", "worse", "immaterial", "unclear", "same", "no_ci") \
                else "unclear"
            rows.append([K.label(kpi, cat), base, value,
                         tags.td(K.fmt_diff(kpi, f.diff, cat), class_="diff", **{"data-kpi": kpi}), ci,
                         _verdict_cell(verdict, cat.t(f"scorecard.{verdict}"))])
        head = [cat.t("app.col_kpi"), design_label(data.baseline, cat), design_label(name, cat),
                cat.t("app.col_diff"), cat.t("app.col_ci"), cat.t("app.col_verdict")]
        out.append(tags.h4(cat.t("app.differences", baseline=design_label(data.baseline, cat), n=results.meta["reps"],
                                 level=data.level)))
        out.append(_table(head, rows, "differences"))
    return out


def charts_html(results: Results, cat: Catalogue) -> TagList:
    """ARR over time, the funnel and the cost by role: the report's charts, as PNG images."""
    from ..report.charts import arr_chart, close_charts, funnel_chart, people_cost_chart
    from ..report.style import chart_style

    data = from_results(results)
    with chart_style(cat):
        charts = [c for c in (arr_chart(data, cat), funnel_chart(data, cat), people_cost_chart(data, cat))
                  if c is not None]
    images = []
    try:
        for chart in charts:
            buf = io.BytesIO()
            with chart_style(cat):
                chart.fig.savefig(buf, format="png", dpi=72)
            src = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
            images.append(tags.img(src=src, alt=chart.title, class_="chart", **{"data-chart": chart.stem}))
    finally:
        close_charts(charts)
    return TagList(*images)


def assumptions_html(scenarios: list[Scenario], sets: list[str], cat: Catalogue, command: str) -> TagList:
    """The default assumptions that act in these designs, their values and plausible ranges."""
    changed = [s.partition("=")[0].strip() for s in sets]
    rows = []
    for path in DEFAULT_ROBUSTNESS:
        if not any(acts_in(path, s) for s in scenarios):
            continue
        r = RANGES.get(path)
        value = next((v for v in (value_of(path, s) for s in scenarios) if v is not None), None)
        if r is not None and r.relative:
            span, shown = f"×{r.low:g} – ×{r.high:g}", cat.t("app.as_designed")
        else:
            span = "" if r is None else f"{r.low:g} – {r.high:g}"
            shown = "–" if value is None else f"{value:g}"
        pattern = re.compile(re.escape(path).replace(re.escape("<segment>"), "[^.]+")
                             .replace(re.escape("<role>"), "[^.]+") + r"(\..*)?")
        mark = cat.t("app.assumption_changed") if any(pattern.fullmatch(c) for c in changed) else ""
        rows.append([tags.td(tags.code(path)), shown, span, mark])
    head = [cat.t("app.col_param"), cat.t("app.col_default"), cat.t("app.col_range"), ""]
    return TagList(tags.p(cat.t("app.assumptions_intro")), tags.pre(command, class_="command"),
                   _table(head, rows, "assumptions"))


# ---------------------------------------------------------------- save and export


def _nest(sets: list[str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for s in sets:
        parts, value = parse_set(s)
        node = tree
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return tree


def reproduce_command(config: Config, baseline: Path, design: Path, others: list[Path], shared: list[str],
                      reps: int, seed: int | None = None) -> str:
    words = [config.program, "compare", _cwd_relative(baseline), _cwd_relative(design)]
    words += [_cwd_relative(p) for p in others]
    for s in shared:
        words += ["--set", s]
    words += ["--reps", str(reps)]
    if seed is not None:
        words += ["--seed", str(seed)]
    return shlex.join(words)


def save_scenario(config: Config, view: View, name: str, lang: str) -> tuple[Path, str, str]:
    """Write the YAML that reproduces the edited design of ``view``: a file that ``extends:``
    the design and holds the changed keys. Returns (path, its text, the command to reproduce)."""
    folder = config.out / "app-scenarios"
    folder.mkdir(parents=True, exist_ok=True)
    stem, n = name, 2
    while (folder / f"{stem}.yaml").exists():
        stem = f"{name}_{n}"
        n += 1
    path = folder / f"{stem}.yaml"
    others = [p for p in view.others if p.resolve() not in (view.baseline.resolve(), view.design.resolve())]
    command = reproduce_command(config, view.baseline, path, others, view.shared_sets, view.reps)
    tree = {"extends": os.path.relpath(view.design.resolve(), folder.resolve()), "name": stem,
            "description": f"What-if of {view.design.stem} saved by orgsim app against {view.baseline.stem}.",
            **_nest(list(view.sets))}
    head = (f"# Saved by orgsim app on {datetime.date.today().isoformat()}: the design {view.design.stem} with the "
            f"keys changed on the page.\n# Keys under market. and simulation. are the common market: the command "
            f"below sets them for every design.\n# Reproduce the page's numbers:\n#   {command}\n")
    text = head + yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)
    load_scenario_text_check(path, text)
    return path, text, command


def load_scenario_text_check(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` and check that it loads (removing it if it does not)."""
    path.write_text(text, encoding="utf-8")
    try:
        load_scenario(path)
    except ScenarioError:
        path.unlink()
        raise


def export(config: Config, results: Results, command: str, lang: str) -> Path:
    """The normal results folder of the view (the CSV files, report.html, the deck)."""
    from ..output import write_results
    from ..report import render_pptx, render_report

    folder = write_results(results, config.out, "compare", argv=shlex.split(command))
    if lang != "en":
        render_report(folder, lang)
    render_pptx(folder, lang)
    return folder


# ---------------------------------------------------------------- the app

_CSS = """
body { font-size: 14px; }
.verdict { padding: 1px 6px; border-radius: 8px; font-size: 12px; white-space: nowrap; }
.verdict-better { background: #dcfce7; color: #166534; }
.verdict-worse { background: #fee2e2; color: #991b1b; }
.verdict-baseline { background: #e5e7eb; color: #374151; }
.verdict-unclear, .verdict-immaterial, .verdict-same, .verdict-no_ci, .verdict-na { background: #f3f4f6; color: #4b5563; }
.diff { color: #374151; font-size: 12px; }
td.diff { font-size: 14px; font-variant-numeric: tabular-nums; }
#status { font-weight: 600; }
.note { color: #92400e; background: #fef3c7; padding: 4px 8px; border-radius: 4px; }
.errors { color: #991b1b; background: #fee2e2; padding: 6px 10px; border-radius: 4px; white-space: pre-wrap; }
.chart { max-width: 100%; margin: 6px 0 14px 0; border: 1px solid #e5e7eb; }
.recommendation { font-size: 15px; }
pre.command { white-space: pre-wrap; font-size: 12px; background: #f3f4f6; padding: 6px; }
.group-title { font-weight: 600; margin-top: 10px; border-top: 1px solid #e5e7eb; padding-top: 6px; }
"""

_JS = """
Shiny.addCustomMessageHandler('orgsim-url', function(m) {
  if (window.location.search !== m.query) { history.replaceState(null, '', m.query); }
});
"""


def make_app(config: Config) -> App:
    """The Shiny application for the designs of ``config``."""
    page = ui.page_sidebar(
        ui.sidebar(ui.output_ui("controls"), width=380, open="always"),
        ui.head_content(tags.style(_CSS), tags.script(_JS)),
        ui.div(
            ui.input_select("lang", None, choices={"en": "English", "ja": "日本語"}, selected=config.lang, width="140px"),
            style="position: absolute; top: 10px; right: 16px; z-index: 10;",
        ),
        ui.output_ui("header"),
        ui.output_ui("status"),
        ui.output_ui("answer"),
        ui.output_ui("differences"),
        ui.output_ui("charts"),
        ui.output_ui("assumptions"),
        title="orgsim",
        lang="en",
    )

    def server(input: Inputs, output: Outputs, session: Session) -> None:
        with reactive.isolate():
            first = parse_query(session.clientdata.url_search(), config)
        lang = reactive.value(first.lang)
        structure = reactive.value((first.baseline, first.design))
        pending: dict[str, Any] = {"sets": list(first.sets), "others": first.others, "reps": first.reps}
        runner = Runner(config.cache, config.jobs)
        job_rv: reactive.Value[Job | None] = reactive.value(None)
        progress_rv: reactive.Value[tuple[Any, ...]] = reactive.value(())
        done_rv: reactive.Value[tuple[int, int]] = reactive.value((0, 0))
        problems_rv: reactive.Value[list[str]] = reactive.value([])
        message_rv: reactive.Value[TagList] = reactive.value(TagList())
        saved_rv: reactive.Value[tuple[str, str]] = reactive.value(("", ""))
        view_rv: reactive.Value[View | None] = reactive.value(None)

        if first.lang != config.lang:
            ui.update_select("lang", selected=first.lang)

        @reactive.effect
        @reactive.event(input.lang, ignore_init=True)
        def _lang() -> None:
            if input.lang() in LANGUAGES:
                lang.set(input.lang())

        def cat() -> Catalogue:
            return page_catalogue(lang())

        @reactive.calc
        def lever_list() -> list[Lever]:
            b, d = structure()
            try:
                return levers(_load(config.designs[d]), _load(config.designs[b]))
            except ScenarioError:
                return []

        @render.ui
        def header() -> Tag:
            c = cat()
            return ui.div(tags.h2(c.t("app.title")), tags.p(c.t("app.tagline")))

        @render.ui
        def controls() -> TagList:
            c = cat()
            b, d = structure()
            with reactive.isolate():
                values, more = split_sets(lever_list(), pending["sets"])
                others, reps = pending["others"], pending["reps"]
            names = {i: c.design(_load(p).name) for i, p in config.designs.items()}
            out = TagList(
                ui.input_select("baseline", c.t("app.baseline"), choices=names, selected=b),
                ui.input_select("design", c.t("app.design"), choices=names, selected=d),
                ui.input_checkbox_group("others", c.t("app.others"),
                                        choices={i: n for i, n in names.items() if i not in (b, d)},
                                        selected=[o for o in others if o not in (b, d)]),
                ui.input_numeric("reps", c.t("app.reps"), value=reps, min=1, max=MAX_REPS, step=1),
            )
            group = ""
            for lv in lever_list():
                if lv.group != group:
                    group = lv.group
                    out.append(ui.div(c.t(f"app.group.{group}"), class_="group-title"))
                out.append(_control(lv, _lever_value(lv, values), c))
            out.append(ui.div(c.t("app.group.more"), class_="group-title"))
            out.append(ui.input_text_area("more", c.t("app.more_help"), value="\n".join(more), rows=3, width="100%"))
            keys = set_keys(_load(config.designs[d]))
            out.append(tags.details(tags.summary(c.t("app.more_keys", n=len(keys))),
                                    tags.pre("\n".join(f"{k}={v}" for k, v in keys), style="max-height: 240px;"
                                                                                          " font-size: 11px;")))
            out.append(ui.div(ui.input_action_button("save", c.t("app.save"), class_="btn-primary btn-sm"), " ",
                              ui.input_action_button("export", c.t("app.export"), class_="btn-sm"),
                              style="margin-top: 10px;"))
            out.append(ui.output_ui("saved"))
            return out

        @reactive.effect
        @reactive.event(input.baseline, input.design, ignore_init=True)
        def _structure() -> None:
            b, d = input.baseline(), input.design()
            if b not in config.designs or d not in config.designs or (b, d) == structure():
                return
            old_d = structure()[1]
            with reactive.isolate():
                current = settings()
            if current is not None:
                # A lever of the old design means nothing in another: keep the common market only.
                keep = current.sets if d == old_d else [s for s in current.sets if is_shared(s.split("=", 1)[0])]
                pending.update(sets=keep, others=current.others, reps=current.reps)
            structure.set((b, d))

        @reactive.calc
        def settings() -> Settings | None:
            b, d = structure()
            values: dict[str, Any] = {}
            for lv in lever_list():
                lid = _id(lv.key)
                if lid not in input:
                    return None  # the controls of this design are not drawn yet
                raw = input[lid]()
                if raw is None or raw == "":
                    values[lv.key] = lv.default
                    continue
                try:
                    values[lv.key] = lv.from_ui(raw)
                except (TypeError, ValueError):
                    values[lv.key] = raw  # refused by the loader, with its message
            sets = lever_sets(lever_list(), values)
            more = input.more() if "more" in input else "\n".join(split_sets(lever_list(), pending["sets"])[1])
            sets += [line.strip() for line in (more or "").splitlines() if line.strip()]
            others = [o for o in (input.others() if "others" in input else pending["others"]) if o not in (b, d)]
            try:
                reps = int(input.reps()) if "reps" in input and input.reps() is not None else pending["reps"]
            except (TypeError, ValueError):
                reps = pending["reps"]
            reps = min(MAX_REPS, max(1, reps))
            return Settings(b, d, list(others), reps, lang(), sets)

        @reactive.effect
        async def _url() -> None:
            s = settings()
            if s is not None:
                await session.send_custom_message("orgsim-url", {"query": query_of(s)})

        @reactive.effect
        def _start() -> None:
            s = settings()
            if s is None:
                return
            with reactive.isolate():
                view = View(config.designs[s.baseline], config.designs[s.design],
                            tuple(config.designs[o] for o in s.others), tuple(s.sets), s.reps)
                if view == view_rv():
                    return
                view_rv.set(view)
                try:
                    scenarios = view.scenarios()
                except ScenarioError as exc:
                    if runner.job is not None:
                        runner.job.cancel()
                    problems_rv.set([str(p) for p in exc.problems])
                    job_rv.set(None)
                    return
                problems_rv.set([])
                job_rv.set(runner.start(scenarios, view.reps))
                message_rv.set(TagList())

        @reactive.effect
        def _poll() -> None:
            job = job_rv()
            if job is None:
                progress_rv.set(())
                return
            if job.running:
                reactive.invalidate_later(POLL_SECONDS)
            progress_rv.set((id(job), job.done, job.reps, job.running, job.step, job.error, job.first_answer,
                             job.finished, job.cancelled.is_set()))
            done_rv.set((id(job), job.done))

        @reactive.calc
        def results() -> Results | None:
            done_rv()
            job = job_rv()
            if job is None or job.done < 1:
                return None
            return assemble(job.scenarios, config.cache, job.seed, job.done)

        @render.ui
        def status() -> TagList:
            c = cat()
            problems = problems_rv()
            if problems:
                return TagList(tags.div(c.t("app.errors"), "\n" + "\n".join(problems), class_="errors",
                                        id="problems"))
            state = progress_rv()
            job = job_rv()
            if not state or job is None:
                return TagList()
            _, done, target, running, _step, error, first_answer, finished, cancelled = state
            if running:
                text = c.t("app.status_running", done=done, target=target, next=done + 1)
            elif cancelled and done < target:
                text = c.t("app.status_cancelled", done=done, target=target)
            else:
                text = c.t("app.status_done", done=done, target=target)
            parts: list[Any] = [tags.span(text, id="rep-status", **{"data-done": str(done), "data-target": str(target),
                                                                 "data-running": "1" if running else "0"})]
            if job.cached:
                parts.append(tags.span(" · " + c.t("app.cached", n=min(job.cached, target))))
            if first_answer is not None and job.cached < min(2, target):
                parts.append(tags.span(" · " + c.t("app.first_answer", s=f"{first_answer:.1f}")))
            if finished is not None and done >= target and job.cached < target:
                parts.append(tags.span(" · " + c.t("app.all_done", n=target, s=f"{finished:.1f}")))
            out = TagList(tags.p(*parts))
            if error:
                out.append(tags.div(error, class_="errors", id="run-error"))
            base, edited = job.scenarios[0], job.scenarios[1]
            own = _load(config.designs[structure()[1]]).simulation.horizon
            if edited.simulation.horizon < own:
                out.append(tags.p(c.t("app.short_horizon", horizon=_duration(edited.simulation.horizon, c),
                                      design=_duration(own, c)), class_="note", id="horizon-note"))
            if not edited.name.endswith(WHATIF_SUFFIX) or (
                    edited.model_dump(exclude={"name", "description"}) == base.model_dump(exclude={"name", "description"})):
                out.append(tags.p(c.t("app.no_change"), class_="note"))
            return out

        @render.ui
        def answer() -> TagList:
            res = results()
            if res is None:
                return TagList()
            return TagList(tags.h3(cat().t("app.answer")), scorecard_html(res, cat()))

        @render.ui
        def differences() -> TagList:
            res = results()
            return TagList() if res is None else differences_html(res, cat())

        @render.ui
        def charts() -> TagList:
            res = results()
            if res is None:
                return TagList()
            return TagList(tags.h3(cat().t("app.charts")), charts_html(res, cat()))

        @render.ui
        def assumptions() -> TagList:
            job = job_rv()
            view = view_rv()
            if job is None or view is None:
                return TagList()
            design = view.design if not view.own_sets else Path(cat().t("app.saved_placeholder"))
            command = reproduce_command(config, view.baseline, design, list(view.others), view.shared_sets,
                                        view.reps) + " --robust"
            return TagList(tags.h3(cat().t("app.assumptions")),
                           assumptions_html(job.scenarios, list(view.sets), cat(), command))

        @render.ui
        def saved() -> TagList:
            return message_rv()

        @reactive.effect
        @reactive.event(input.save)
        def _save() -> None:
            view, job = view_rv(), job_rv()
            c = cat()
            if view is None or job is None:
                return
            try:
                path, text, command = save_scenario(config, view, job.scenarios[1].name, lang())
            except (OSError, ScenarioError) as exc:
                message_rv.set(TagList(tags.div(str(exc), class_="errors")))
                return
            saved_rv.set((path.name, text))
            message_rv.set(TagList(tags.p(c.t("app.saved", path=_cwd_relative(path))),
                                   tags.pre(command, class_="command", id="saved-command",
                                            **{"data-path": str(path.resolve())})))

        @reactive.effect
        @reactive.event(input.export)
        def _export() -> None:
            res, view = results(), view_rv()
            c = cat()
            if res is None or view is None:
                message_rv.set(TagList(tags.p(c.t("app.export_none"))))
                return
            try:
                design = view.design
                if view.own_sets or view.design.resolve() == view.baseline.resolve():
                    # The what-if design is a file of its own, so that the folder's command reproduces it.
                    design = save_scenario(config, view, res.scenarios[1].name, lang())[0]
                others = [p for p in view.others if p.resolve() not in (view.baseline.resolve(), view.design.resolve())]
                command = reproduce_command(config, view.baseline, design, others, view.shared_sets,
                                            int(res.meta["reps"]))
                folder = export(config, res, command, lang())
            except (OSError, ScenarioError) as exc:
                message_rv.set(TagList(tags.div(str(exc), class_="errors")))
                return
            message_rv.set(TagList(tags.p(c.t("app.exported", path=_cwd_relative(folder)), id="exported",
                                          **{"data-path": str(folder.resolve())})))

        session.on_ended(lambda: runner.job.cancel() if runner.job is not None else None)

    return App(page, server)


def _duration(days: float, cat: Catalogue) -> str:
    if days >= 730 and math.isclose(days / 365, round(days / 365, 1)):
        return cat.t("units.years", v=f"{days / 365:g}")
    if days >= 60:
        return cat.t("units.months", v=f"{days / (365 / 12):.0f}")
    return cat.t("units.days", v=f"{days:g}")
