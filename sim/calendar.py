"""Work calendars: when a role can work.

People work business hours (time 0 is Monday 00:00); AI agents work always. Work that does
not fit before closing time carries over to the next opening, so a lead arriving on Friday
evening waits for Monday in a business-hours role.
"""

from __future__ import annotations

import math

from .schema import Calendar

__all__ = ["WorkCalendar", "ALWAYS", "build_calendar"]

_DAY_INDEX = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class WorkCalendar:
    """Opening hours repeated every week.

    Parameters
    ----------
    days
        Working weekdays, 0 = Monday.
    open_at, close_at
        Time of day (in days) the role opens and closes; ``None`` for a 24/7 calendar.
    """

    def __init__(self, days: set[int], open_at: float | None, close_at: float | None):
        self.days = frozenset(days)
        self.open_at = open_at
        self.close_at = close_at
        self.always = open_at is None
        span = 0.0 if self.always else close_at - open_at  # type: ignore[operator]
        self.hours_per_week = 168.0 if self.always else 24.0 * span * len(self.days)
        # For each weekday, the day offsets 0..7 ahead that are working days: next_open
        # then looks only at working days.
        self._ahead = tuple(tuple(k for k in range(8) if (w + k) % 7 in self.days) for w in range(7))

    def next_open(self, t: float) -> float:
        """The first instant at or after ``t`` when the role works."""
        if self.always or math.isinf(t):
            return t
        day = int(t)
        for k in self._ahead[day % 7]:
            d = float(day + k)
            if t < d + self.close_at:  # type: ignore[operator]
                return max(t, d + self.open_at)  # type: ignore[operator]
        raise AssertionError("a calendar has at least one working day")  # pragma: no cover

    def finish_at(self, start: float, work: float) -> float:
        """When ``work`` days of working time begun at ``start`` are done."""
        if self.always or math.isinf(start + work):
            return start + work
        t = self.next_open(start)
        per_week = self.hours_per_week / 24.0
        while True:
            day_end = float(int(t)) + self.close_at  # type: ignore[operator]
            left = day_end - t
            if work <= left:
                return t + work
            work -= left
            if work > per_week:
                weeks = int(work // per_week)
                work -= weeks * per_week
                day_end += 7.0 * weeks
            t = self.next_open(day_end)

    def working_time(self, start: float, end: float) -> float:
        """Working time (days) inside [start, end)."""
        if self.always:
            return max(0.0, end - start)
        if not end > start:
            return 0.0
        if math.isinf(end):
            return math.inf
        # Day by day up to a Monday, whole weeks at once, then the last days: at most 14
        # steps, however long the span (a day-by-day loop hung on a work of 1e12 days).
        per_week = self.hours_per_week / 24.0
        total = 0.0
        d = float(math.floor(start))
        while d < end:
            if d >= start and int(d) % 7 == 0 and d + 7.0 <= end:
                weeks = math.floor((end - d) / 7.0)
                total += weeks * per_week
                d += 7.0 * weeks
                continue
            if int(d) % 7 in self.days:
                lo = max(start, d + self.open_at)  # type: ignore[operator]
                hi = min(end, d + self.close_at)  # type: ignore[operator]
                if hi > lo:
                    total += hi - lo
            d += 1.0
        return total


ALWAYS = WorkCalendar(set(range(7)), None, None)


def build_calendar(spec: Calendar) -> WorkCalendar:
    """A :class:`WorkCalendar` from its scenario description."""
    return WorkCalendar({_DAY_INDEX[d] for d in spec.days}, spec.open, spec.close)
