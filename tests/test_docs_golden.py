"""Golden outputs: every output the docs show is what its command prints now.

The pages (README.md, docs/*.md, scenarios/README.md) mark their generated blocks as
docs/refresh.py describes: a ``console`` block's ``$ orgsim ...`` lines, ``<!-- refresh: VIEW -->``
tables and blocks derived from a run, ``<!-- refresh: shipped KEY -->`` values. This test re-runs
every command exactly as the page shows it (plus ``--jobs 1 --quiet --no-charts``, which change
no printed line) and compares, character for character, after the one visible normalisation
(the results folder's time stamp is shown as ``<timestamp>``). A block edited by hand, or left
behind by a change to the model, fails here: run ``python docs/refresh.py`` and commit the pages.
Nothing depends on the wall clock or on the results folder's name.

This module checks docs/model.md and any page not given a module of its own; README.md,
docs/tutorial.md and scenarios/README.md have theirs (test_docs_golden_*.py, golden_docs.MODULES),
so that two test processes check the long pages side by side. The shared machinery is in
golden_docs.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from golden_docs import MODULES, REGIONS, REST, TEXTS, page_tests, pages_of, refresh, rel

# The pages not checked by a module of their own (golden_docs.MODULES): docs/model.md and any page
# added later. README.md, docs/tutorial.md and scenarios/README.md: test_docs_golden_*.py.
runner, test_shown_output_is_what_the_command_prints_now, test_commands_that_write_results_leave_a_whole_folder = \
    page_tests(__name__)


def test_every_page_is_checked_by_exactly_one_module() -> None:
    assert set(MODULES) <= {rel(doc) for doc in TEXTS}, "a page named in golden_docs.MODULES is not covered"
    for module in {*MODULES.values(), REST}:
        path = ROOT / "tests" / f"{module}.py"
        assert path.is_file(), f"{path.name} is missing: its pages would go unchecked"
        assert "page_tests(__name__)" in path.read_text(encoding="utf-8"), path.name
    assert "docs/model.md" in {rel(d) for d in pages_of(__name__)}


def test_the_covered_pages_have_their_blocks() -> None:
    counts = {doc.relative_to(ROOT).as_posix(): len(regions) for doc, regions in REGIONS.items()}
    assert counts["README.md"] >= 4 and counts["docs/tutorial.md"] >= 12
    assert counts["docs/model.md"] >= 2 and counts["scenarios/README.md"] >= 2
    kinds = {r.kind for regions in REGIONS.values() for r in regions}
    assert kinds == {"command", "results", "view", "shipped", "screenshot"}


@pytest.mark.parametrize("doc", list(TEXTS), ids=lambda d: d.relative_to(ROOT).as_posix())
def test_every_console_block_is_generated(doc: Path) -> None:
    """A console block is always generated: a page that shows only commands writes them as ``bash``."""
    fences = len(re.findall(r"^ *```console[ \t]*$", TEXTS[doc], re.M))
    generated = sum(r.kind in ("command", "results") for r in REGIONS[doc])
    assert fences == generated, f"{doc.name}: {fences} console blocks, {generated} generated"


def test_a_results_only_block_feeds_a_view() -> None:
    for regions in REGIONS.values():
        for i, r in enumerate(regions):
            if r.kind == "results":
                assert any(later.kind == "view" for later in regions[i + 1:]), r.label()


# ------------------------------------------------------------------------ the mechanism itself (cheap)

PAGE = """# A page

Some prose with a number that is not generated: 42.

<!-- refresh: status 2 -->
```console
$ orgsim validate tests/data/bad/unknown_key.yaml
an output someone typed by hand
```

More prose.
"""


def test_a_hand_edited_block_is_caught_and_refreshed_in_place(tmp_path: Path, runner: Any) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    regions = refresh.parse(page, PAGE)
    assert [r.kind for r in regions] == ["command"]
    results = list(refresh.render(regions, runner))
    assert results[0].stale and "an output someone typed by hand" in results[0].diff()
    # Someone edits the prose while the commands run: the write keeps their edit.
    page.write_text(PAGE.replace("More prose.", "More prose, edited meanwhile."), encoding="utf-8")
    assert refresh.write(page, results) == 1
    text = page.read_text(encoding="utf-8")
    assert "More prose, edited meanwhile." in text and "42." in text
    assert "unknown_key.yaml:5: roles.inside_sales.headcont: unknown key" in text
    assert not any(r.stale for r in refresh.render(refresh.parse(page, text), runner))


def test_normalisation_touches_only_the_folder_time_stamp() -> None:
    raw = "won   311 [302, 320]\n\nresults: results/20261124-150948-compare-siloed-plg"
    assert refresh.normalise(raw) == "won   311 [302, 320]\n\nresults: results/<timestamp>-compare-siloed-plg"


def test_markers_are_explicit() -> None:
    bad = "<!-- refresh: paired-rowz cac -->\n```text\n```\n"
    with pytest.raises(ValueError, match="unknown marker"):
        refresh.parse(ROOT / "x.md", bad)
    with pytest.raises(ValueError, match="must start with"):
        refresh.parse(ROOT / "x.md", "```console\noutput without its command\n```\n")
    shipped = "the drop is <!-- refresh: shipped market.effects.first_response_handoff_drop -->0.9<!-- /refresh -->."
    region, = refresh.parse(ROOT / "x.md", shipped)
    assert region.shown == "0.9" and refresh.shipped(region.arg) != "0.9"
