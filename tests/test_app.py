"""orgsim app: the live what-if page, in a real browser, and the parts it is made of.

The browser tests start ``orgsim app`` on a free localhost port (the real command, in a
subprocess) and drive Debian's headless chromium through Playwright (``executable_path``: no
browser is downloaded). Runs are tiny (a six-month horizon, two replications) so the file
takes well under a minute. In CI (``CI`` set) a missing browser or framework fails the tests
instead of skipping them: ``.ci/install-app-deps.sh`` and the ``test`` extra bring both.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import sim
from sim.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
CHROMIUM = Path("/usr/bin/chromium")
#: The live view of the browser tests: a six-month run, two replications.
TINY = ("simulation.horizon=6mo", "simulation.warmup=1mo")
REPS = 2
IN_CI = bool(os.environ.get("CI"))


def _need(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        if IN_CI:
            raise
        pytest.skip(f"{module} is not installed (pip install -e '.[test]')")


def _lever_id(key: str) -> str:
    return "lv_" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


# ---------------------------------------------------------------- levers, view, cache, runner (no browser)


def test_levers_come_from_the_schema_with_its_bounds() -> None:
    from sim.app.levers import AI_AGENT_ROLE, levers

    scn = load_scenario(SCENARIOS / "siloed.yaml")
    found = {lv.key: lv for lv in levers(scn)}
    head = found["roles.inside_sales.headcount"]
    assert (head.kind, head.default, head.bounds) == ("int", 5, (0.0, 100_000.0))
    assert head.unit == "people"
    first = found["routing.first_response"]
    assert first.default == "inside_sales" and AI_AGENT_ROLE in dict(first.choices)
    assert found["data_integration"].kind == "percent" and found["data_integration"].bounds == (0.0, 1.0)
    assert found["market.segments.ent.automation_aversion"].note  # its plausible range, from sim.assumptions
    assert {"market.segments.smb.share", "simulation.horizon", "roles.inside_sales.pickup_delay"} <= set(found)
    # Every lever's setting is a --set string the loader takes.
    sets = [s for lv in found.values() if lv.kind in ("int", "percent") for s in lv.sets(lv.default)]
    assert load_scenario(SCENARIOS / "siloed.yaml", sets).roles["inside_sales"].headcount == 5
    # Bringing in an AI agent for the first response is a valid design.
    ai = load_scenario(SCENARIOS / "siloed.yaml", first.sets(AI_AGENT_ROLE))
    assert ai.roles[AI_AGENT_ROLE].kind == "ai" and ai.routing["first_response"] == AI_AGENT_ROLE
    ai_levers = {lv.key for lv in levers(load_scenario(SCENARIOS / "ai_automated.yaml"))}
    assert "roles.ai_agent.scoring_accuracy" in ai_levers and "roles.ai_agent.pickup_delay" not in ai_levers


def test_a_value_out_of_bounds_is_refused_with_the_command_lines_message() -> None:
    from sim.app.live import View

    view = View(SCENARIOS / "siloed.yaml", SCENARIOS / "siloed.yaml", sets=("roles.inside_sales.headcount=-1",))
    with pytest.raises(ScenarioError) as page:
        view.scenarios()
    with pytest.raises(ScenarioError) as cli:
        load_scenario(SCENARIOS / "siloed.yaml", ["roles.inside_sales.headcount=-1"])
    assert [str(p) for p in page.value.problems] == [str(p) for p in cli.value.problems]
    assert "greater than or equal to 0" in str(page.value)


def test_split_sets_keeps_what_a_control_cannot_show_as_a_line() -> None:
    from sim.app.levers import levers
    from sim.app.server import lever_sets, split_sets

    scn = load_scenario(SCENARIOS / "siloed.yaml")
    all_levers = levers(scn)
    sets = ["roles.inside_sales.headcount=7", "market.segments.smb.share=1.5", "simulation.warmup=30d",
            "roles.inside_sales.pickup_delay={dist: lognormal, mean: 5min, sd: 5min}"]
    values, more = split_sets(all_levers, sets)
    assert values["roles.inside_sales.headcount"] == 7 and "market.segments.smb.share" not in values
    assert more == ["market.segments.smb.share=1.5", "simulation.warmup=30d"]
    out = lever_sets(all_levers, {**values, "roles.inside_sales.pickup_delay": "5min"})
    assert "roles.inside_sales.headcount=7" in out
    assert load_scenario(SCENARIOS / "siloed.yaml", out).roles["inside_sales"].pickup_delay is not None
    # Shares are normalized to sum to 1 exactly, whatever the sliders say.
    mix = lever_sets(all_levers, {"market.segments.smb.share": 0.5, "market.segments.mm.share": 0.5,
                                  "market.segments.ent.share": 0.5})
    shares = load_scenario(SCENARIOS / "siloed.yaml", mix).market.segments
    assert math.isclose(sum(s.share for s in shares.values()), 1.0) and math.isclose(shares["smb"].share, 1 / 3,
                                                                                     abs_tol=1e-6)


def test_live_results_are_those_of_compare_and_come_from_the_cache() -> None:
    from sim.app.live import Cache, Runner, View, assemble

    view = View(SCENARIOS / "siloed.yaml", SCENARIOS / "siloed.yaml",
                sets=("roles.inside_sales.headcount=3", "simulation.horizon=200d", "simulation.warmup=30d"), reps=2)
    scenarios = view.scenarios()
    assert [s.name for s in scenarios] == ["siloed", "siloed_whatif"]
    cache = Cache()
    runner = Runner(cache, jobs=1)
    job = runner.start(scenarios, 2)
    _wait(lambda: not job.running)
    assert job.error == "" and job.done == 2 and job.first_answer is not None
    live = assemble(scenarios, cache, job.seed, 2)
    full = sim.compare(scenarios, reps=2, jobs=1)
    assert live is not None and full.paired is not None
    pd.testing.assert_frame_equal(live.paired, full.paired)
    pd.testing.assert_frame_equal(live.summary, full.summary)
    # The same view again is answered from the cache at once; one more replication runs only that one.
    again = runner.start(scenarios, 2)
    assert again.done == 2 and not again.running
    more = runner.start(scenarios, 3)
    assert more.done == 2
    _wait(lambda: not more.running)
    assert more.done == 3 and len(cache) == 6


def test_a_new_view_cancels_the_runs_of_the_old_one() -> None:
    from sim.app.live import Cache, Runner, View

    cache = Cache()
    runner = Runner(cache, jobs=1)
    slow = View(SCENARIOS / "siloed.yaml", SCENARIOS / "ai_automated.yaml", sets=TINY, reps=50).scenarios()
    old = runner.start(slow, 50)
    _wait(lambda: old.done >= 1)
    new = runner.start(View(SCENARIOS / "siloed.yaml", SCENARIOS / "siloed.yaml",
                            sets=("simulation.horizon=200d", "simulation.warmup=30d"), reps=1).scenarios(), 1)
    _wait(lambda: not old.running and not new.running)
    assert old.cancelled.is_set() and old.done < 50
    assert new.done == 1


def test_orgsim_help_does_not_import_the_web_framework() -> None:
    code = ("import sys, contextlib\nimport sim.cli\nwith contextlib.suppress(SystemExit):\n"
            "    sim.cli.main(['app', '--help'])\nprint('shiny' in sys.modules, 'uvicorn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "False False", out.stderr


def test_the_designs_are_the_files_given_or_the_shipped_ones(tmp_path: Path, monkeypatch: Any) -> None:
    from sim.app import find_designs

    monkeypatch.chdir(ROOT)
    shipped = find_designs([])
    assert "siloed" in shipped and "market" not in shipped  # a market to extend is not a design
    given = find_designs([SCENARIOS / "siloed.yaml", SCENARIOS / "siloed.yaml"])
    assert list(given) == ["siloed", "siloed-2"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nroles: {x: {headcount: -1}}\n", encoding="utf-8")
    with pytest.raises(ScenarioError):
        find_designs([bad])
    with pytest.raises(ScenarioError, match="abstract"):
        find_designs([SCENARIOS / "market.yaml"])


def test_another_host_is_warned_about_and_a_busy_port_refused(capsys: Any) -> None:
    import argparse
    import socket

    _need("shiny")
    from sim.app import main

    busy = socket.socket()
    busy.bind(("127.0.0.2", 0))  # the loopback range: nothing leaves this machine
    busy.listen(1)
    try:
        args = argparse.Namespace(scenarios=[SCENARIOS / "siloed.yaml"], host="127.0.0.2",
                                  port=busy.getsockname()[1], out=ROOT / "results", jobs=None, lang="en")
        assert main(args) == 2
    finally:
        busy.close()
    err = capsys.readouterr().err
    assert "warning: --host 127.0.0.2" in err and "cannot listen on 127.0.0.2" in err


def _wait(done: Any, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not done():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.05)


# ---------------------------------------------------------------- the page in headless chromium


class Server:
    """``orgsim app`` in a subprocess, on a free port of 127.0.0.1."""

    def __init__(self, out: Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sim", "app", str(SCENARIOS / "siloed.yaml"), str(SCENARIOS / "ai_automated.yaml"),
             "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.url = ""
        ready = threading.Event()

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.append(line)
                found = re.search(r"http://127\.0\.0\.1:\d+/", line)
                if found:
                    self.url = found.group(0)
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(60) or not self.url:
            self.stop()
            raise AssertionError(f"orgsim app did not start: {self.lines} {self.proc.stderr.read() if self.proc.stderr else ''}")

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err or ""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not CHROMIUM.exists():
        if IN_CI:
            raise AssertionError("Debian's chromium is missing: .ci/install-app-deps.sh installs it")
        pytest.skip("Debian's chromium is not installed")
    _need("shiny")
    _need("playwright")
    srv = Server(tmp_path_factory.mktemp("app-out"))
    yield srv
    err = srv.stop()
    assert "Traceback" not in err, err


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield b
        b.close()


def _status(page: Any) -> tuple[int, bool]:
    el = page.locator("#rep-status")
    return int(el.get_attribute("data-done")), el.get_attribute("data-running") == "1"


def _settle(page: Any, target: int, timeout: float = 60.0) -> list[int]:
    """Wait until the page has ``target`` replications and runs no more; the counts seen on the way."""
    seen: list[int] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if page.locator("#rep-status").count():
            done, running = _status(page)
            if not seen or seen[-1] != done:
                seen.append(done)
            if done >= target and not running:
                return seen
        time.sleep(0.05)
    raise AssertionError(f"the page did not reach {target} replications: saw {seen}")


def test_the_page_answers_a_headcount_change_and_reproduces(server: Server, browser: Any, tmp_path: Path) -> None:
    from sim.locale import catalogue
    from sim.report import kpis as K

    page = browser.new_page(viewport={"width": 1300, "height": 900})
    query = "&".join(f"set={s.replace('=', '%3D')}" for s in TINY)
    page.goto(f"{server.url}?b=siloed&d=siloed&reps={REPS}&{query}")
    seen = _settle(page, REPS)
    assert seen[-1] == REPS and len(seen) >= 2, seen  # counted up as replications finished
    cell = page.locator("td.diff[data-kpi=conversion_rate]")
    before = cell.inner_text()
    assert page.locator("td[data-verdict=same]").count() > 0  # the what-if is the baseline unchanged

    # Fewer SDRs: the paired difference moves, and the count starts again from the cache's.
    box = "#" + _lever_id("roles.inside_sales.headcount")
    page.fill(box, "2")
    page.press(box, "Tab")
    page.wait_for_function("() => document.querySelector('#rep-status')?.dataset.running === '1'", timeout=20_000)
    seen = _settle(page, REPS)
    assert seen[0] < REPS and seen[-1] == REPS, seen
    after = cell.inner_text()
    assert after != before
    assert "set=roles.inside_sales.headcount%3D2" in page.url  # the view is a link

    # Save as scenario: the file extends the design, holds the changed keys, and orgsim compare
    # (here sim.compare) reproduces the page's numbers.
    page.click("#save")
    page.wait_for_selector("#saved-command", timeout=20_000)
    saved = Path(page.get_attribute("#saved-command", "data-path"))
    text = saved.read_text(encoding="utf-8")
    assert "extends:" in text and "headcount: 2" in text
    assert "orgsim compare" in page.inner_text("#saved-command")
    again = sim.compare([SCENARIOS / "siloed.yaml", saved], reps=REPS, overrides=list(TINY))
    assert again.paired is not None
    diff = again.paired.set_index("kpi").loc["conversion_rate", "diff_mean"]
    assert K.fmt_diff("conversion_rate", float(diff), catalogue("en")) == after

    # Export: the normal results folder, whose paired.csv holds those same numbers.
    page.click("#export")
    page.wait_for_selector("#exported", timeout=60_000)
    folder = Path(page.get_attribute("#exported", "data-path"))
    assert (folder / "report.html").is_file() and (folder / "report.pptx").is_file()
    exported = pd.read_csv(folder / "paired.csv")
    ours = again.paired.reset_index(drop=True)
    for column in ("diff_mean", "diff_ci_low", "diff_ci_high"):
        assert exported[column].to_numpy() == pytest.approx(ours[column].to_numpy(), rel=1e-12, nan_ok=True)

    # The link opens the same view, answered from the cache.
    second = browser.new_page()
    second.goto(page.url)
    _settle(second, REPS, timeout=20)
    assert second.input_value(box) == "2"
    assert second.locator("td.diff[data-kpi=conversion_rate]").inner_text() == after
    second.close()

    # Japanese.
    page.select_option("#lang", "ja")
    page.wait_for_function("() => document.body.innerText.includes('経営層のwhat-if')", timeout=20_000)
    assert "試行" in page.inner_text("#rep-status")
    assert "lang=ja" in page.url
    page.close()


def test_a_bad_value_shows_the_loaders_message(server: Server, browser: Any) -> None:
    page = browser.new_page()
    hostile = "<img src=x onerror=alert(1)>"
    page.goto(f"{server.url}?b=siloed&d=siloed&reps=1&set=roles.inside_sales.headcount%3D-1"
              f"&set=description%3D{hostile}")
    page.wait_for_selector("#problems", timeout=20_000)
    text = page.inner_text("#problems")
    assert "--set roles.inside_sales.headcount=-1" in text and "greater than or equal to 0" in text
    assert page.locator("img[src=x]").count() == 0  # a string from the page is text, never markup
    page.close()
