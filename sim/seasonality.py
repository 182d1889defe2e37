"""Seasonality of demand: how much of a channel's rate arrives at a given time.

The arrival rate at time ``t`` is the channel's ``rate_per_week`` times the month's multiplier
times the weekday's. Months are 365/12 days (the month of the KPIs' curves), counted from the
scenario's ``start_month``; weekdays are calendar days, time 0 being Monday 00:00.
"""

from __future__ import annotations

from typing import get_args

import numpy as np

from .schema import Month, Seasonality, Weekday

__all__ = ["MONTHS", "WEEKDAYS", "MONTH_DAYS", "Season", "season_of"]

MONTHS: tuple[str, ...] = get_args(Month)
WEEKDAYS: tuple[str, ...] = get_args(Weekday)
#: The length of a month, days.
MONTH_DAYS = 365.0 / 12.0


class Season:
    """The multipliers of a :class:`~sim.schema.Seasonality`, ready for many times at once."""

    def __init__(self, spec: Seasonality):
        start = MONTHS.index(spec.start_month)
        given: dict[str, float] = {str(k): v for k, v in spec.months.items()}
        # Month k of the run (from 0) is calendar month (start + k) % 12.
        self.months = np.array([given[MONTHS[(start + k) % 12]] for k in range(12)], dtype=np.float64)
        days: dict[str, float] = {str(k): v for k, v in (spec.weekdays or {}).items()}
        self.weekdays = np.array([days.get(d, 1.0) for d in WEEKDAYS], dtype=np.float64)
        #: The largest multiplier anywhere: thinning draws candidates at the rate times this.
        self.peak = float(self.months.max() * self.weekdays.max())
        #: The mean multiplier over a whole year of whole weeks.
        self.mean = float(self.months.mean() * self.weekdays.mean())

    def factor(self, t: np.ndarray) -> np.ndarray:
        """The multiplier at each time of ``t`` (days from the start)."""
        month = (np.floor(t / MONTH_DAYS).astype(np.int64)) % 12
        day = np.floor(t).astype(np.int64) % 7
        out: np.ndarray = self.months[month] * self.weekdays[day]
        return out


def season_of(spec: Seasonality | None) -> Season | None:
    """The market's :class:`Season`, or None for a constant rate."""
    return None if spec is None else Season(spec)
