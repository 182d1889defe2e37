"""The golden docs test's machinery, shared by its modules (not a test module itself).

The long pages are checked by modules of their own (``MODULES``), so that pytest-xdist, which runs
one test file per process at a time (``--dist loadfile``), runs them side by side instead of one
after the other in a single file; test_docs_golden.py checks every other page (and any page added
later) and that every module named here exists. Each module builds its own scratch folder and
runs its pages' commands once; a command shown on two pages checked by different modules runs
once in each.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("docs_refresh", ROOT / "docs" / "refresh.py")
assert _spec is not None and _spec.loader is not None
refresh: Any = importlib.util.module_from_spec(_spec)
sys.modules["docs_refresh"] = refresh
_spec.loader.exec_module(refresh)

TEXTS = {doc: doc.read_text(encoding="utf-8") for doc in refresh.docs()}
REGIONS = {doc: refresh.parse(doc, text) for doc, text in TEXTS.items()}
HINT = "the page no longer shows what its command prints: run python docs/refresh.py (and commit the page)"

#: Page (relative to the repository) -> the test module that checks it; every other page is
#: checked by REST.
MODULES = {
    "README.md": "test_docs_golden_readme",
    "docs/tutorial.md": "test_docs_golden_tutorial",
    "scenarios/README.md": "test_docs_golden_scenarios",
}
REST = "test_docs_golden"


def rel(doc: Path) -> str:
    return doc.relative_to(ROOT).as_posix()


def pages_of(module: str) -> list[Path]:
    """The pages the module named ``module`` (its ``__name__``) checks."""
    name = module.rpartition(".")[2]
    return [doc for doc in TEXTS if MODULES.get(rel(doc), REST) == name]


@contextlib.contextmanager
def _untraced() -> Iterator[None]:
    """Line coverage paused while the pages' commands run. This test checks the pages, not the
    code: every path their commands take is exercised (and measured) by the CLI and unit tests,
    and tracing would double the suite's longest files (about 400 of its 1,000 CPU-seconds)."""
    try:
        import coverage
    except ImportError:  # pragma: no cover - coverage is a test dependency
        yield
        return
    cov = coverage.Coverage.current()
    if cov is None:
        yield
        return
    cov.stop()
    try:
        yield
    finally:
        cov.start()


@cache
def rendered(doc: Path, runner: Any) -> dict[int, Any]:
    """Every region of a page as its commands render it now, by position (views need the runs above them)."""
    with _untraced():
        return {res.region.start: res for res in refresh.render(REGIONS[doc], runner)}


def page_tests(module: str) -> tuple[Callable[..., Any], Callable[..., None], Callable[..., None]]:
    """The page tests of the module named ``module``, for its pages: its ``runner`` fixture (one
    scratch folder per module), the check of every shown output, and the check of the results
    folders its pages' commands write. A module assigns them to names of its own, so pytest
    collects them there."""
    pages = pages_of(module)
    checked = [r for doc in pages for r in REGIONS[doc] if r.kind != "screenshot"]

    @pytest.fixture(scope="module")
    def runner(tmp_path_factory: pytest.TempPathFactory) -> Any:
        return refresh.Runner(tmp_path_factory.mktemp("refresh"), refresh.page_files(TEXTS), jobs=1)

    @pytest.mark.parametrize("region", checked, ids=lambda r: f"{r.where}-{r.kind}")
    def test_shown_output_is_what_the_command_prints_now(region: Any, runner: Any) -> None:
        result = rendered(region.doc, runner)[region.start]
        assert not result.stale, f"{region.label()}: {HINT}\n{result.diff()}"

    def test_commands_that_write_results_leave_a_whole_folder(runner: Any) -> None:
        for doc in pages:
            rendered(doc, runner)
        shown = {c for doc in pages for r in REGIONS[doc] if r.kind in ("command", "results")
                 for c in r.commands if c.split()[1] in refresh.WRITERS}
        writers = [run for run in runner.cache.values() if run.command.split()[1] in refresh.WRITERS]
        assert {run.command for run in writers} == shown
        for run in writers:
            assert run.folder is not None and (run.folder / "manifest.json").is_file(), run.command
            assert run.status == 0, run.command
            if run.command.split()[1] == "compare":
                header = (run.folder / "paired.csv").read_text(encoding="utf-8").splitlines()[0]
                assert header == "scenario,baseline,kpi,diff_mean,diff_ci_low,diff_ci_high,n"

    return runner, test_shown_output_is_what_the_command_prints_now, test_commands_that_write_results_leave_a_whole_folder
