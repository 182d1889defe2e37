"""Work calendars: when a role can work.

People work business hours (time 0 is Monday 00:00); AI agents work always. Work that does
not fit before closing time carries over to the next opening, so a lead arriving on Friday
evening waits for Monday in a business-hours role. A calendar may close on holidays (a
country's public holidays, from the ``holidays`` package, and dates of its own), placed in
the run from ``simulation.start_date``: work due on a holiday waits for the next working day.
"""

from __future__ import annotations

import bisect
import datetime
import math
from collections.abc import Iterable
from functools import lru_cache

from .schema import Calendar, Simulation

__all__ = ["WorkCalendar", "ALWAYS", "build_calendar", "public_holidays", "closed_days"]

_DAY_INDEX = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class WorkCalendar:
    """Opening hours repeated every week.

    Parameters
    ----------
    days
        Working weekdays, 0 = Monday.
    open_at, close_at
        Time of day (in days) the role opens and closes; ``None`` for a 24/7 calendar.
    closed
        Days (0 = the first Monday) the role does not work although their weekday is a working
        day: holidays.
    """

    def __init__(self, days: set[int], open_at: float | None, close_at: float | None, closed: Iterable[int] = ()):
        self.days = frozenset(days)
        # Only holidays on working weekdays change anything.
        self.closed = frozenset(int(d) for d in closed if int(d) % 7 in self.days)
        self._closed = sorted(self.closed)
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
        while True:
            for k in self._ahead[day % 7]:
                if day + k in self.closed:
                    continue
                d = float(day + k)
                if t < d + self.close_at:  # type: ignore[operator]
                    return max(t, d + self.open_at)  # type: ignore[operator]
            day += 8  # a week of holidays: the offsets cover 8 days, look on from the next

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
                first = int(day_end) + 1
                # The holidays among the days jumped over gave no working time: still to do.
                held = bisect.bisect_left(self._closed, first + 7 * weeks) - bisect.bisect_left(self._closed, first)
                work -= weeks * per_week - held * (self.close_at - self.open_at)  # type: ignore[operator]
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
        return total - self._on_holidays(start, end)

    def _on_holidays(self, start: float, end: float) -> float:
        """Opening hours inside [start, end) that fall on holidays (days)."""
        lost = 0.0
        i = bisect.bisect_left(self._closed, math.floor(start))
        while i < len(self._closed) and self._closed[i] < end:
            d = self._closed[i]
            lost += max(0.0, min(end, d + self.close_at) - max(start, d + self.open_at))  # type: ignore[operator]
            i += 1
        return lost


ALWAYS = WorkCalendar(set(range(7)), None, None)


@lru_cache(maxsize=64)
def public_holidays(country: str, first: int, last: int) -> tuple[datetime.date, ...]:
    """A country's public holidays in the years ``first`` to ``last`` (the holidays package).

    Raises
    ------
    NotImplementedError
        The package does not know the country.
    """
    import holidays  # loaded only where a calendar names a country

    return tuple(sorted(holidays.country_holidays(country, years=range(first, last + 1))))


def closed_days(spec: Calendar, sim: Simulation) -> list[int]:
    """The holidays of ``spec`` as days of the run (0 = ``sim.start_date``), up to the horizon."""
    start = sim.start_date
    end = start + datetime.timedelta(days=math.ceil(sim.horizon) + 1)
    dates = list(spec.holidays)
    if spec.country is not None:
        dates += public_holidays(spec.country.upper(), start.year, end.year)
    return sorted({(d - start).days for d in dates if start <= d < end})


def build_calendar(spec: Calendar, sim: Simulation | None = None) -> WorkCalendar:
    """A :class:`WorkCalendar` from its scenario description (``sim``: where its holidays fall;
    none: no holidays, for a calendar that needs none, such as the buyers' hours)."""
    closed = closed_days(spec, sim) if sim is not None else ()
    return WorkCalendar({_DAY_INDEX[d] for d in spec.days}, spec.open, spec.close, closed)
