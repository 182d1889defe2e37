"""Reports: charts (and later the HTML report) drawn from an experiment's tables."""

from .charts import write_charts

__all__ = ["write_charts"]
