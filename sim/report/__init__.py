"""Reports drawn from a results folder's tables: charts (SVG; PNG too if asked), report.html and report.pptx.

The report never runs a simulation: :func:`render_report` and :func:`render_pptx` read only
the files a run wrote (see :mod:`sim.report.folder`). The names below are imported on first
use (PEP 562): a report without a deck does not load python-pptx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

__all__ = ["write_charts", "render_report", "render_pptx", "read_folder", "ReportData"]

_EXPORTS = {"write_charts": "charts", "ReportData": "folder", "read_folder": "folder",
            "render_report": "html", "render_pptx": "pptx"}

if TYPE_CHECKING:
    from .charts import write_charts
    from .folder import ReportData, read_folder
    from .html import render_report
    from .pptx import render_pptx


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
