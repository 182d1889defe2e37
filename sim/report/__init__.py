"""Reports drawn from a results folder's tables: charts (PNG, SVG), report.html and report.pptx.

The report never runs a simulation: :func:`render_report` and :func:`render_pptx` read only
the files a run wrote (see :mod:`sim.report.folder`).
"""

from .charts import write_charts
from .folder import ReportData, read_folder
from .html import render_report
from .pptx import render_pptx

__all__ = ["write_charts", "render_report", "render_pptx", "read_folder", "ReportData"]
