"""Durations with units: the model's clock runs in days (floats).

A duration in a scenario may be a plain number (days) or a string with a unit:
``30min``, ``4h``, ``2d``, ``3w``, ``6mo``, ``1y``.
"""

from __future__ import annotations

import math
import re

__all__ = ["DAYS_PER_UNIT", "MONTH", "parse_duration", "format_duration"]

#: Length of each unit in days. A month is 1/12 of a 365-day year.
DAYS_PER_UNIT: dict[str, float] = {
    "s": 1 / 86400,
    "min": 1 / 1440,
    "h": 1 / 24,
    "d": 1.0,
    "w": 7.0,
    "mo": 365.0 / 12,
    "y": 365.0,
}

#: A month in days, the step of every monthly curve (timeline, survival, ARR).
MONTH = DAYS_PER_UNIT["mo"]

_PATTERN = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_duration(value: object) -> float:
    """Return ``value`` in days.

    Parameters
    ----------
    value
        A number (already days) or a string such as ``"4h"``.

    Raises
    ------
    ValueError
        With a message naming the accepted units.
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 4h or 2d, got a boolean")
    if isinstance(value, (int, float)):
        try:
            days = float(value)
        except OverflowError:
            raise ValueError("expected a duration, got a number too large to use") from None
        if not math.isfinite(days):
            raise ValueError(f"expected a finite duration, got {value}")
        return days
    if not isinstance(value, str):
        raise ValueError(f"expected a duration such as 4h or 2d, got {type(value).__name__}")
    match = _PATTERN.match(value)
    if not match:
        raise ValueError(f"expected a duration such as 4h or 2d, got {value!r}")
    number, unit = match.groups()
    if not math.isfinite(float(number)):  # float() of a digit string saturates to inf
        raise ValueError(f"expected a finite duration, got {value!r}")
    if unit == "":
        return float(number)
    if unit not in DAYS_PER_UNIT:
        units = ", ".join(DAYS_PER_UNIT)
        raise ValueError(f"unknown unit {unit!r} in {value!r}; expected one of {units}")
    return float(number) * DAYS_PER_UNIT[unit]


def format_duration(days: float) -> str:
    """Render ``days`` with the largest unit that keeps it readable (for reports)."""
    for unit, limit in (("y", 365.0), ("w", 7.0), ("d", 1.0), ("h", 1 / 24)):
        if abs(days) >= limit:
            return f"{days / DAYS_PER_UNIT[unit]:.3g}{unit}"
    return f"{days * 1440:.3g}min"
