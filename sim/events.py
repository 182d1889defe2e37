"""The event log: one flat record per thing that happened, stored column by column.

Columns: ``time`` (days), ``buyer``, ``event``, ``role``, ``activity``, ``value``. Appending
is a handful of list appends; :meth:`EventLog.frame` turns the log into a tidy DataFrame
once the run is over, sorted by time with ties kept in the order they were recorded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["EVENTS", "EventLog"]

#: Every kind of event and what its ``value`` column holds.
EVENTS: dict[str, str] = {
    "arrive": "-",
    "contact": "-",  # the buyer asks sales for contact
    "nurture_return": "research round",
    "trial": "-",  # starts a self-serve trial
    "activated": "-",  # reached first value in the trial
    "queue": "-",  # joins the queue of a role for an activity
    "start": "wait in queue, days",
    "end": "occupied working time, days",
    "renege": "wait before leaving, days",
    "handoff": "-",
    "context_loss": "-",
    "pass": "-",  # advanced past a gate or stage
    "lost": "-",  # reason in the buyers table
    "won": "ACV, $",
    "onboarded": "time to value from signature, days",
    "renewed": "ARR, $",
    "expanded": "ARR added, $",
    "churned": "ARR lost, $",
}
_CODES = {name: i for i, name in enumerate(EVENTS)}


class EventLog:
    """Columnar, append-only event log of one replication."""

    __slots__ = ("time", "buyer", "event", "role", "activity", "value", "enabled", "codes")

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.codes = _CODES
        self.time: list[float] = []
        self.buyer: list[int] = []
        self.event: list[int] = []
        self.role: list[str] = []
        self.activity: list[str] = []
        self.value: list[float] = []

    def record(self, time: float, buyer: int, event: str, role: str = "", activity: str = "",
               value: float = np.nan) -> None:
        """Append one event."""
        if self.enabled:
            self.time.append(time)
            self.buyer.append(buyer)
            self.event.append(_CODES[event])
            self.role.append(role)
            self.activity.append(activity)
            self.value.append(value)

    def __len__(self) -> int:
        return len(self.time)

    def frame(self) -> pd.DataFrame:
        """The log as a DataFrame sorted by time (stable, so recording order breaks ties)."""
        df = pd.DataFrame({
            "time": np.asarray(self.time, dtype=float),
            "buyer": np.asarray(self.buyer, dtype=np.int64),
            "event": pd.Categorical.from_codes(np.asarray(self.event, dtype=np.int16),
                                               categories=list(EVENTS)),
            "role": pd.Categorical(self.role),
            "activity": pd.Categorical(self.activity),
            "value": np.asarray(self.value, dtype=float),
        })
        return df.sort_values("time", kind="stable", ignore_index=True)
