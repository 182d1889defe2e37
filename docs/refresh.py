"""Regenerate every output the docs show: console blocks, tables derived from a run, shipped values, the screenshot.

    python docs/refresh.py            # re-run every command and rewrite its output in place
    python docs/refresh.py --check    # report the blocks that differ from what the commands print now; write nothing
    python docs/refresh.py --check --diff    # ... with a diff of each
    python docs/refresh.py README.md  # only these files

Covered: README.md, docs/*.md and scenarios/README.md (``DOCS``). What is generated is marked in the
page itself, four ways:

1. A fenced ``console`` block whose lines start with ``$ orgsim ...``: each ``$`` line is a command, and
   everything up to the next ``$`` line is what it prints (stdout and stderr, in order). Every console
   block of a covered page is generated; a block that shows only commands is written ``bash``.
   A command must exit with status 0; a block that shows a failing command (``orgsim validate`` on
   a bad file) says which status it expects with ``<!-- refresh: status N -->`` right before it.
2. ``<!-- refresh: results only -->`` right before a console block: the command runs, its output is
   not shown, and its results folder feeds the view that follows.
3. ``<!-- refresh: VIEW ARGS -->`` right before a fenced block or a Markdown table: the block is
   rendered by ``VIEWS[VIEW]`` from the results folder of the nearest console block above it
   (``paired-rows kpi,kpi,...``: rows of paired.csv; ``headline-table``: a design comparison table).
4. ``<!-- refresh: shipped KEY.PATH -->VALUE<!-- /refresh -->`` inline in prose: the value of
   KEY.PATH in the shipped ``scenarios/siloed.yaml`` (with its market).

``<!-- refresh: screenshot WxH orgsim ... -->`` right before a Markdown image retakes that image: the
command's report.html in headless Chromium at that window size (skipped by ``--check``).

How a command is run: in this process (``sim.cli.main``, so the golden test is cheap), from a fresh
temporary folder holding links to the repository's top-level folders and the files the pages
create (``<!-- file: PATH -->`` before a block), so ``results:`` folders land there, never in the
repository. A shell glob (``scenarios/*.yaml``) is expanded in sorted order, as the shell does. Flags
that change only side effects, never a printed line, are added (``SIDE_EFFECT_FLAGS``): ``--quiet``
(no progress bar), ``--no-charts`` (except for a screenshot's run) and ``--jobs N`` in place of the
page's own ``--jobs`` (the numbers do not depend on it; tests/test_determinism.py). Everything else is
exactly the command the page shows.

What varies between two runs of the same command is normalised, visibly (``NORMALISE``): the
results folder's time stamp is printed as ``<timestamp>``. No number is hidden.

Writing re-reads each file just before writing it and replaces only the generated blocks, so
edits made elsewhere in the page meanwhile are kept.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import glob
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")


def docs() -> list[Path]:
    """The pages whose shown outputs are generated."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "scenarios" / "README.md"]


#: Subcommands that write a results folder.
WRITERS = {"run", "compare", "sweep", "sensitivity", "optimize", "robustness"}
#: Subcommands that take --jobs.
PARALLEL = WRITERS | {"check"}

#: (pattern, replacement, why): what differs between two runs of one command, and how the page shows it.
NORMALISE: list[tuple[str, str, str]] = [
    (r"(results/)\d{8}-\d{6}-", r"\1<timestamp>-", "a results folder is named after the time it was written"),
]


def normalise(text: str) -> str:
    for pattern, replacement, _why in NORMALISE:
        text = re.sub(pattern, replacement, text)
    return text


def side_effect_flags(sub: str, jobs: int, charts: bool) -> list[str]:
    """Flags added to the page's command: they change what is written or how fast, never what is printed."""
    flags = []
    if sub in PARALLEL:
        flags += ["--jobs", str(jobs)]
    if sub in WRITERS:
        flags += ["--quiet"] + ([] if charts else ["--no-charts"])
    return flags


# ------------------------------------------------------------------------------------------ parsing


@dataclass
class Region:
    """One generated piece of a page: ``text[start:end]`` is what the page shows now."""

    doc: Path
    kind: str  # "command", "results", "view", "shipped", "screenshot"
    line: int
    start: int
    end: int
    shown: str
    commands: list[str] = field(default_factory=list)
    arg: str = ""  # the view and its arguments, the key path, or the screenshot's size

    @property
    def where(self) -> str:
        return f"{_rel(self.doc)}:{self.line}"

    @property
    def key(self) -> tuple[str, str, tuple[str, ...]]:
        return (self.kind, self.arg, tuple(self.commands))

    def label(self) -> str:
        if self.kind in ("command", "results"):
            return f"{self.where} $ {' | '.join(self.commands)}"
        return f"{self.where} {self.kind} {self.arg}".rstrip()


FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
MARKER = re.compile(r"<!--\s*refresh:\s*(?P<what>(?:(?!-->).)*?)\s*-->[ \t]*\n", re.S)
SHIPPED = re.compile(r"<!--\s*refresh:\s*shipped\s+(?P<key>[\w.<>\[\]-]+)\s*-->(?P<value>.*?)<!--\s*/refresh\s*-->")
FILE = re.compile(r"<!--\s*file:\s*(?P<path>\S+)\s*-->\s*\n```\w*\n(?P<body>.*?)^```", re.M | re.S)
IMAGE = re.compile(r"!\[[^\]]*\]\((?P<path>[^)\s]+)\)")


def _rel(doc: Path) -> str:
    """A page's name as messages give it: relative to the repository when it is inside it."""
    return doc.relative_to(ROOT).as_posix() if doc.is_relative_to(ROOT) else str(doc)


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _marker_before(text: str, pos: int) -> re.Match[str] | None:
    """The ``<!-- refresh: ... -->`` comment ending right before ``pos`` (the start of a line), if any."""
    for m in MARKER.finditer(text, max(0, pos - 2000), pos):
        if m.end() == pos:
            return m
    return None


def parse(doc: Path, text: str) -> list[Region]:
    """Every generated region of a page, in order. Raises ValueError on a malformed one."""
    regions: list[Region] = []
    fences = list(FENCE.finditer(text))
    for m in fences:
        lang, body = m.group("lang"), m.group("body")
        marker = _marker_before(text, m.start())
        what = marker.group("what") if marker else ""
        line = _line(text, m.start("body"))
        if lang == "console":
            lines = body.splitlines()
            if not lines or not lines[0].startswith("$ "):
                raise ValueError(f"{_rel(doc)}:{line}: a console block must start with a `$ orgsim` line")
            commands = [ln[2:].strip() for ln in lines if ln.startswith("$ ")]
            for c in commands:
                if not c.startswith("orgsim "):
                    raise ValueError(f"{_rel(doc)}:{line}: only orgsim commands are generated: {c}")
            status = re.fullmatch(r"status (\d+)", what)
            if status:
                regions.append(Region(doc, "command", line, m.start("body"), m.end("body"), body, commands,
                                      arg=status.group(0)))
            elif what == "results only":
                if len(lines) != len(commands):
                    raise ValueError(f"{_rel(doc)}:{line}: a 'results only' block shows commands only")
                regions.append(Region(doc, "results", line, m.start("body"), m.end("body"), body, commands))
            elif what:
                raise ValueError(f"{_rel(doc)}:{line}: unknown marker before a console block: {what}")
            else:
                regions.append(Region(doc, "command", line, m.start("body"), m.end("body"), body, commands))
        elif what.split(" ")[0] in VIEWS:
            regions.append(Region(doc, "view", line, m.start("body"), m.end("body"), m.group("body"), arg=what))
        elif what:
            raise ValueError(f"{_rel(doc)}:{line}: unknown marker: {what}")
    inside = [(m.start(), m.end()) for m in fences]
    for marker in MARKER.finditer(text):
        what = marker.group("what")
        if any(a <= marker.start() < b for a, b in inside):
            continue
        name = what.split(" ")[0]
        after = marker.end()
        if what == "results only" or re.fullmatch(r"status \d+", what) or (name in VIEWS and text.startswith("```", after)):
            continue  # belongs to the fenced block that follows, parsed above
        if name in VIEWS:
            # A Markdown table: the consecutive lines starting with "|".
            end = after
            while text.startswith("|", end):
                nl = text.find("\n", end)
                end = len(text) if nl < 0 else nl + 1
            if end == after:
                raise ValueError(f"{_rel(doc)}:{_line(text, after)}: '{what}' must precede a table or a block")
            regions.append(Region(doc, "view", _line(text, after), after, end, text[after:end], arg=what))
        elif name == "screenshot":
            size, _, command = what.partition(" ")[2].partition(" ")
            image = IMAGE.match(text, after)
            if not re.fullmatch(r"\d+x\d+", size) or not command.startswith("orgsim ") or not image:
                raise ValueError(f"{_rel(doc)}:{_line(text, after)}: expected "
                                 "'screenshot WxH orgsim ...' right before a Markdown image")
            regions.append(Region(doc, "screenshot", _line(text, after), image.start("path"), image.end("path"),
                                  image.group("path"), [command], size))
        else:
            raise ValueError(f"{_rel(doc)}:{_line(text, after)}: unknown marker: {what}")
    for m in SHIPPED.finditer(text):
        regions.append(Region(doc, "shipped", _line(text, m.start()), m.start("value"), m.end("value"),
                              m.group("value"), arg=m.group("key")))
    regions.sort(key=lambda r: r.start)
    return regions


def page_files(texts: dict[Path, str]) -> dict[str, str]:
    """The files the pages ask the reader to create (``<!-- file: PATH -->`` before a block)."""
    files: dict[str, str] = {}
    for text in texts.values():
        for m in FILE.finditer(text):
            files[m.group("path")] = m.group("body")
    return files


# ------------------------------------------------------------------------------------------ running


@dataclass
class Run:
    command: str
    status: int
    output: str  # stdout and stderr as a terminal shows them, normalised
    folder: Path | None  # the results folder, if the command wrote one
    cpu: float


class Runner:
    """Runs page commands in a scratch folder, each distinct command once."""

    def __init__(self, workdir: Path, files: dict[str, str], jobs: int = 1) -> None:
        self.workdir = workdir
        self.jobs = jobs
        self.cache: dict[tuple[str, bool], Run] = {}
        #: Commands whose report a screenshot needs: run once, with charts (same printed output).
        self.with_charts: set[str] = set()
        for entry in ROOT.iterdir():
            if entry.name.startswith(".") or entry.name == "results" or (workdir / entry.name).exists():
                continue
            (workdir / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
        for name, body in files.items():
            path = workdir / name
            if ROOT in path.resolve().parents:
                raise ValueError(f"a page's file {name} would be written into the repository")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")

    def argv(self, command: str, charts: bool) -> list[str]:
        words = shlex.split(command)
        assert words[0] == "orgsim", command
        args: list[str] = []
        skip = False
        for w in words[1:]:
            if skip:
                skip = False
                continue
            if w == "--jobs":
                skip = True
                continue
            if any(c in w for c in "*?["):
                matches = sorted(glob.glob(w, root_dir=self.workdir))
                args += matches or [w]
            else:
                args.append(w)
        return args + side_effect_flags(args[0], self.jobs, charts)

    def run(self, command: str, charts: bool = False) -> Run:
        key = (command, charts or command in self.with_charts)
        if key not in self.cache:
            self.cache[key] = self._run(command, charts)
        return self.cache[key]

    def _run(self, command: str, charts: bool) -> Run:
        from sim.cli import main

        args = self.argv(command, charts)
        terminal = io.StringIO()
        here = os.getcwd()
        cpu = time.process_time()
        os.chdir(self.workdir)
        try:
            with warnings.catch_warnings(record=True) as caught, \
                    contextlib.redirect_stdout(terminal), contextlib.redirect_stderr(terminal):
                try:
                    status = main(args)
                except SystemExit as exc:  # argparse errors
                    status = exc.code if isinstance(exc.code, int) else 1
        finally:
            os.chdir(here)
        for w in caught:
            print(f"refresh: {command}: warning: {w.category.__name__}: {w.message}", file=sys.stderr)
        raw = terminal.getvalue()
        folder = re.search(r"^results: (.+)$", raw, re.M)
        lines = [ln.rstrip() for ln in normalise(raw).splitlines()]
        while lines and not lines[-1]:
            lines.pop()
        return Run(command, status, "\n".join(lines), self.workdir / folder.group(1) if folder else None,
                   time.process_time() - cpu)


# ------------------------------------------------------------------------------------------ views


def _csv(folder: Path | None, name: str) -> Any:
    import pandas as pd

    if folder is None or not (folder / name).is_file():
        raise ValueError(f"the command above wrote no {name}")
    return pd.read_csv(folder / name)


def _sig(x: float, digits: int = 3) -> str:
    """A number rounded to ``digits`` significant digits, as the page shows it."""
    if x != x:
        return "-"
    if x == 0:
        return "0"
    text = f"{x:.{digits}g}"
    if "e" in text:
        text = f"{x:.0f}"
    return text


def view_paired_rows(folder: Path | None, args: str) -> str:
    """Rows of paired.csv for the KPIs named (comma-separated), every design, numbers to 3 significant digits."""
    paired = _csv(folder, "paired.csv")
    kpis = [k.strip() for k in args.split(",") if k.strip()]
    missing = sorted(set(kpis) - set(paired["kpi"]))
    if missing:
        raise ValueError(f"paired.csv has no KPI {', '.join(missing)}")
    header = ["scenario", "baseline", "kpi", "diff_mean", "diff_ci_low", "diff_ci_high", "n"]
    rows = [header]
    for scenario in dict.fromkeys(paired["scenario"]):
        for kpi in kpis:
            r = paired[(paired["scenario"] == scenario) & (paired["kpi"] == kpi)].iloc[0]
            rows.append([r.scenario, r.baseline, r.kpi, _sig(r.diff_mean), _sig(r.diff_ci_low), _sig(r.diff_ci_high),
                         str(int(r.n))])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    out = []
    for row in rows:
        cells = [c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out) + "\n"


def _fmt(kpi: str, x: float) -> str:
    if x != x:
        return "-"
    if kpi in ("conversion_rate", "never_answered_share", "logo_churn_annual", "nrr"):
        return f"{x * 100:.1f}%"
    if kpi.endswith("_hours"):
        return f"{x:.2f} h"
    if kpi.endswith("cost"):
        return f"${x / 1e6:.2f}M"
    return f"{x:.2f}"


def _pp(x: float) -> str:
    return f"{x * 100:+.2f}"


#: The headline table's columns: (heading, KPI).
HEADLINE = [("conversion", "conversion_rate"), ("first response p50", "first_response_p50_hours"),
            ("never answered", "never_answered_share"), ("logo churn/yr", "logo_churn_annual"), ("NRR", "nrr"),
            ("LTV:CAC", "ltv_to_cac")]


def view_headline_table(folder: Path | None, args: str) -> str:
    """Designs as rows: conversion with its paired difference against the baseline, then headline KPIs and cost."""
    summary, paired = _csv(folder, "summary.csv"), _csv(folder, "paired.csv")
    mean = summary.set_index(["scenario", "kpi"])["mean"]
    diffs = paired.set_index(["scenario", "kpi"])
    names = list(dict.fromkeys(summary["scenario"]))
    baseline = names[0]
    head = ["design", "conversion", f"Δ conversion vs {baseline} (95% CI)", *[h for h, _ in HEADLINE[1:]],
            "people + AI cost/yr"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in names:
        if name == baseline:
            delta = "—"
        else:
            d = diffs.loc[(name, "conversion_rate")]
            delta = f"{_pp(d.diff_mean)} pp ({_pp(d.diff_ci_low)}, {_pp(d.diff_ci_high)})"
        cost = mean.get((name, "people_cost"), float("nan")) + mean.get((name, "ai_cost"), 0.0)
        cells = [name, _fmt("conversion_rate", mean[(name, "conversion_rate")]), delta,
                 *[_fmt(k, mean.get((name, k), float("nan"))) for _, k in HEADLINE[1:]], _fmt("cost", cost)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


VIEWS: dict[str, Callable[[Path | None, str], str]] = {
    "paired-rows": view_paired_rows,
    "headline-table": view_headline_table,
}


def shipped(key: str) -> str:
    """The value of KEY.PATH in the shipped scenarios/siloed.yaml (and the market it extends)."""
    from sim.scenario import load_scenario

    value: Any = load_scenario(ROOT / "scenarios" / "siloed.yaml").model_dump()
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ValueError(f"the shipped scenario has no {key}")
        value = value[part]
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ------------------------------------------------------------------------------------------ refreshing


@dataclass
class Result:
    region: Region
    wanted: str

    @property
    def stale(self) -> bool:
        return self.region.shown != self.wanted

    def diff(self) -> str:
        return "".join(difflib.unified_diff(self.region.shown.splitlines(True), self.wanted.splitlines(True),
                                            f"{self.region.where} (page)", "(command now)"))


def render(regions: list[Region], runner: Runner) -> Iterator[Result]:
    """What each region should show now (screenshots are left to ``screenshot``)."""
    last: Run | None = None
    for r in regions:
        if r.kind in ("command", "results"):
            runs = [runner.run(c) for c in r.commands]
            last = runs[-1]
            expected = int(r.arg.split()[1]) if r.arg.startswith("status ") else 0
            for run in runs:
                if run.status != expected:
                    raise RuntimeError(f"{r.where}: {run.command} exited with status {run.status}, not {expected} "
                                       f"(a page shows a failing command only after <!-- refresh: status N -->):\n"
                                       f"{run.output[-3000:]}")
                if run.folder is None and run.command.split()[1] in WRITERS:
                    raise RuntimeError(f"{r.where}: {run.command} wrote no results folder:\n{run.output[-3000:]}")
            if r.kind == "command":
                yield Result(r, "\n\n".join(f"$ {run.command}\n{run.output}".rstrip() for run in runs) + "\n")
            else:
                yield Result(r, r.shown)
        elif r.kind == "view":
            name, _, args = r.arg.partition(" ")
            if last is None:
                raise ValueError(f"{r.where}: '{r.arg}' has no console block above it")
            yield Result(r, VIEWS[name](last.folder, args))
        elif r.kind == "shipped":
            yield Result(r, shipped(r.arg))


def screenshot(region: Region, runner: Runner) -> Path:
    """Retake a page's image: the report.html of the marker's command, in headless Chromium."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run .ci/install-report-deps.sh")
    run = runner.run(region.commands[0], charts=True)
    if run.status != 0 or run.folder is None or not (run.folder / "report.html").is_file():
        raise RuntimeError(f"{region.where}: {region.commands[0]} wrote no report.html")
    width, height = region.arg.split("x")
    target = (region.doc.parent / region.shown).resolve()
    with tempfile.TemporaryDirectory() as profile:
        shot = Path(profile) / "shot.png"
        subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--force-device-scale-factor=1", f"--user-data-dir={profile}/p", f"--screenshot={shot}",
                        f"--window-size={width},{height}", (run.folder / "report.html").resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)
        if not shot.is_file() or shot.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
            raise RuntimeError(f"{region.where}: chromium took no screenshot")
        shutil.copyfile(shot, target)
    return target


def write(doc: Path, results: list[Result]) -> int:
    """Replace the stale regions of ``doc``, re-reading it first; return how many were replaced."""
    wanted: dict[tuple[Any, ...], list[str]] = {}
    for res in results:
        wanted.setdefault(res.region.key, []).append(res.wanted)
    text = doc.read_text(encoding="utf-8")  # now, not the copy the commands were read from
    seen: dict[tuple[Any, ...], int] = {}
    out, pos, changed = [], 0, 0
    for r in parse(doc, text):
        if r.kind == "screenshot" or r.key not in wanted:
            continue
        i = seen[r.key] = seen.get(r.key, -1) + 1
        if i >= len(wanted[r.key]) or wanted[r.key][i] == r.shown:
            continue
        out += [text[pos:r.start], wanted[r.key][i]]
        pos = r.end
        changed += 1
    if changed:
        out.append(text[pos:])
        doc.write_text("".join(out), encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="*", type=Path, help="pages to refresh (default: every covered page)")
    p.add_argument("--check", action="store_true", help="report the blocks that differ; write nothing")
    p.add_argument("--diff", action="store_true", help="with --check: show how each differs")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes per command")
    p.add_argument("--no-screenshot", action="store_true", help="leave the images alone")
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    pages = [f.resolve() for f in args.files] or docs()
    texts = {d: d.read_text(encoding="utf-8") for d in docs()}
    stale = 0
    with tempfile.TemporaryDirectory(prefix="orgsim-refresh-") as tmp:
        runner = Runner(Path(tmp), page_files(texts), jobs=args.jobs)
        parsed = {doc: parse(doc, texts[doc]) for doc in pages}  # every page's markers, before anything runs
        if not (args.check or args.no_screenshot):
            runner.with_charts = {r.commands[0] for regions in parsed.values() for r in regions if r.kind == "screenshot"}
        for doc, regions in parsed.items():
            results = list(render(regions, runner))
            for res in results:
                mark = "differs" if res.stale else "ok"
                if res.stale:
                    stale += 1
                print(f"{mark:8} {res.region.label()}")
                if res.stale and args.diff:
                    print(res.diff())
            if not args.check:
                n = write(doc, results)
                if n:
                    print(f"wrote {n} block(s) in {_rel(doc)}")
                if not args.no_screenshot:
                    for r in regions:
                        if r.kind == "screenshot":
                            print(f"retook  {r.label()} -> {screenshot(r, runner).relative_to(ROOT)}")
    cpu = sum(run.cpu for run in runner.cache.values())
    print(f"{len(runner.cache)} commands, {cpu:.0f} s of CPU in this process")
    if args.check and stale:
        print(f"{stale} block(s) differ from what their commands print now: run python docs/refresh.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
