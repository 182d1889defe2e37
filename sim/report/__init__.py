"""Reports drawn from a results folder's tables: charts (PNG, SVG), report.html and report.pptx.

The report never runs a simulation: :func:`render_report` and :func:`render_pptx` read only
the files a run wrote (see :mod:`sim.report.folder`). The names below are imported on first
use (PEP 562): a report without a deck does not load python-pptx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["write_charts", "render_report", "render_pptx", "read_folder", "ReportData"]

_EXPORTS = {"write_charts": "charts", "ReportData": "folder", "read_folder": "folder",
            "render_report": "html", "render_pptx": "pptx"}

if TYPE_CHECKING:
    from .charts import write_charts
    from .folder import ReportData, read_folder
    from .html import render_report
    from .pptx import render_pptx


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sim.report' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
