"""The ``sim`` package: its public names, whatever is imported first, and a light import.

Each check runs in a fresh interpreter, since import order is the point.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT

FIRST_IMPORTS = [
    "import sim",
    "import sim.sweep, sim.sensitivity",
    "from sim.sweep import SweepResults",
    "import sim.api",
    "import sim; sim.compare",
]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("first", FIRST_IMPORTS)
def test_public_names_are_the_functions_whatever_was_imported_first(first):
    code = (f"{first}\nimport sim, types\n"
            "for name in sim.__all__:\n"
            "    assert not isinstance(getattr(sim, name), types.ModuleType), name\n"
            "assert sim.sweep.__module__ == 'sim.sweep' and sim.sensitivity.__module__ == 'sim.sensitivity'\n"
            "import sys; assert isinstance(sys.modules['sim.sweep'], types.ModuleType)\n")
    out = _python(code)
    assert out.returncode == 0, out.stderr


def test_importing_sim_loads_no_heavy_library():
    out = _python("import sys, sim, sim.cli\n"
                  "print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'simpy', 'pydantic') if m in sys.modules))")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_statistics_load_no_scipy_stats():
    """A t-quantile is all sim.stats needs of scipy: scipy.stats alone cost 0.4 s of every
    command's start (compare, report, the live page)."""
    out = _python("import sys, sim.stats\nprint('scipy.stats' in sys.modules)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_the_progress_bar_starts_no_thread():
    """tqdm's monitor thread would stop the report encoding its charts on two cores
    (sim.report.files forks only without other threads)."""
    out = _python("import threading\nfrom sim.progress import progress_bar\nbar = progress_bar(3, 'rep')\n"
                  "bar.update(1)\nprint(threading.active_count())\nbar.close()")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"


def test_an_unknown_name_is_an_attribute_error():
    out = _python("import sim\ntry:\n    sim.nope\nexcept AttributeError as e:\n    print(e)")
    assert out.stdout.strip() == "module 'sim' has no attribute 'nope'"


def test_a_report_page_loads_no_deck_library_and_no_model():
    """`orgsim report` without --pptx needs neither python-pptx nor the simulation: sim.report
    loads its parts on first use and its KPI table reads the definitions from sim.kpis."""
    out = _python("import sys\nfrom sim.report import render_report\n"
                  "print(sorted(m for m in ('pptx', 'simpy', 'sim.model', 'sim.metrics') if m in sys.modules))")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
