"""The progress bar of every long command: tqdm on stderr, shown after a second.

tqdm's monitor thread is turned off: it only retunes bars that stall, ours are updated as
work finishes, and a process without other threads can fork safely (the report draws its
charts on two cores that way, sim.report.files).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["progress_bar"]


def progress_bar(total: int, unit: str) -> Any:
    """A tqdm bar of ``total`` ``unit`` (0: unknown yet) that leaves no line behind."""
    from tqdm import tqdm

    tqdm.monitor_interval = 0
    return tqdm(total=total, unit=unit, file=sys.stderr, delay=1.0, leave=False)
