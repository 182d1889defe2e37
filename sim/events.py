"""The event log: one flat record per thing that happened, stored column by column.

Columns: ``time`` (days), ``buyer``, ``event``, ``role``, ``activity``, ``value``. Each
column is a typed ``array.array`` (8 bytes a time, 2 bytes a role code...), so a log of
millions of events stays small; :meth:`EventLog.frame` turns it into a tidy DataFrame once
the run is over, sorted by time with ties kept in the order they were recorded.
"""

from __future__ import annotations

from array import array

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
_NAN = float("nan")


class EventLog:
    """Columnar, append-only event log of one replication."""

    __slots__ = ("time", "buyer", "event", "role", "activity", "value", "enabled", "_names", "_codes")

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.time = array("d")
        self.buyer = array("q")
        self.event = array("b")
        self.role = array("h")
        self.activity = array("h")
        self.value = array("d")
        # Role and activity names are stored as small codes; code 0 is "".
        self._names: list[str] = [""]
        self._codes: dict[str, int] = {"": 0}

    def _code(self, name: str) -> int:
        code = self._codes.get(name)
        if code is None:
            code = self._codes[name] = len(self._names)
            self._names.append(name)
        return code

    def record(self, time: float, buyer: int, event: str, role: str = "", activity: str = "",
               value: float = _NAN) -> None:
        """Append one event."""
        if self.enabled:
            codes = self._codes
            self.time.append(time)
            self.buyer.append(buyer)
            self.event.append(_CODES[event])
            self.role.append(codes[role] if role in codes else self._code(role))
            self.activity.append(codes[activity] if activity in codes else self._code(activity))
            self.value.append(value)

    def __len__(self) -> int:
        return len(self.time)

    def nbytes(self) -> int:
        """Memory held by the columns."""
        return sum(col.itemsize * len(col) for col in (self.time, self.buyer, self.event, self.role,
                                                       self.activity, self.value))

    def frame(self) -> pd.DataFrame:
        """The log as a DataFrame sorted by time (stable, so recording order breaks ties)."""
        names = self._names
        df = pd.DataFrame({
            "time": np.frombuffer(self.time, dtype=np.float64) if len(self.time) else np.zeros(0),
            "buyer": np.frombuffer(self.buyer, dtype=np.int64) if len(self.buyer) else np.zeros(0, np.int64),
            "event": pd.Categorical.from_codes(np.asarray(self.event, dtype=np.int16), categories=list(EVENTS)),
            "role": pd.Categorical.from_codes(np.asarray(self.role, dtype=np.int32), categories=names),
            "activity": pd.Categorical.from_codes(np.asarray(self.activity, dtype=np.int32), categories=names),
            "value": np.frombuffer(self.value, dtype=np.float64) if len(self.value) else np.zeros(0),
        })
        return df.sort_values("time", kind="stable", ignore_index=True)
