"""The event log: one flat record per thing that happened, stored column by column.

Columns: ``time`` (days), ``buyer``, ``event``, ``role``, ``activity``, ``value``. Events
are kept in typed numpy columns (8 bytes a time, 2 bytes a role code...), so a log of
millions of events stays small; :meth:`EventLog.frame` turns it into a tidy DataFrame once
the run is over, sorted by time with ties kept in the order they were recorded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .memory import release

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
    "installed": "ARR at the start, $",  # a customer of the installed base, at time 0
    "reassign": "-",  # the job in hand of a person who left goes back to the role's queue (sim.staffing)
}
_CODES = {name: i for i, name in enumerate(EVENTS)}
_NAN = float("nan")
#: Events held as plain Python values before they are packed into typed columns.
_BATCH = 8192


class EventLog:
    """Columnar, append-only event log of one replication.

    :meth:`record` only extends a flat pending list by the event's six fields, which is
    several times cheaper than appending to six typed arrays (``array.append`` parses each
    value); every ``_BATCH`` events numpy packs the pending list into one chunk of typed
    columns, so memory per event stays that of the columns.
    """

    __slots__ = ("_chunks", "_codes", "_names", "_pending", "enabled")

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        # Role and activity names are stored as small codes; code 0 is "".
        self._names: list[str] = [""]
        self._codes: dict[str, int] = {"": 0}
        # time, buyer, event, role, activity, value, time, buyer, ... (six fields an event).
        self._pending: list[float | int | str] = []
        # Packed batches: (time, buyer, event code, role code, activity code, value) columns.
        self._chunks: list[tuple[np.ndarray, ...]] = []

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
            pending = self._pending
            pending += (time, buyer, event, role, activity, value)
            if len(pending) >= 6 * _BATCH:
                self._pack()

    def _pack(self) -> None:
        """Move the pending events into a chunk of typed columns."""
        pending = self._pending
        if not pending:
            return
        self._pending = []
        n = len(pending) // 6
        roles, activities = pending[3::6], pending[4::6]
        codes = self._codes
        if not codes.keys() >= {*roles, *activities}:
            # New names get codes in order of first appearance (role before activity), as
            # if coded one event at a time: the categories do not depend on the batching.
            for role, activity in zip(roles, activities):
                self._code(role)  # type: ignore[arg-type]
                self._code(activity)  # type: ignore[arg-type]
        self._chunks.append((
            np.array(pending[0::6], dtype=np.float64),
            np.array(pending[1::6], dtype=np.int64),
            np.fromiter(map(_CODES.__getitem__, pending[2::6]), dtype=np.int8, count=n),  # type: ignore[arg-type]
            np.fromiter(map(codes.__getitem__, roles), dtype=np.int16, count=n),  # type: ignore[arg-type]
            np.fromiter(map(codes.__getitem__, activities), dtype=np.int16, count=n),  # type: ignore[arg-type]
            np.array(pending[5::6], dtype=np.float64),
        ))

    def __len__(self) -> int:
        return sum(len(chunk[0]) for chunk in self._chunks) + len(self._pending) // 6

    def nbytes(self) -> int:
        """Memory held by the columns."""
        self._pack()
        return sum(col.nbytes for chunk in self._chunks for col in chunk)

    def frame(self) -> pd.DataFrame:
        """The log as a DataFrame sorted by time (stable, so recording order breaks ties).

        The log is emptied as the frame is built: each column is put in time order and its
        packed pieces freed before the next, so the log is never held in two full copies at
        once (the peak memory of a large replication is here).
        """
        self._pack()
        by_column = [list(parts) for parts in zip(*self._chunks)] or [[] for _ in range(6)]
        self._chunks = []
        time = np.concatenate(by_column[0]) if by_column[0] else np.zeros(0)
        order = np.argsort(time, kind="stable")
        del time
        columns: list[np.ndarray] = []
        for k, dtype in enumerate((np.float64, np.int64, np.int8, np.int16, np.int16, np.float64)):
            parts, by_column[k] = by_column[k], []
            whole = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
            del parts
            columns.append(whole[order])
            release(whole.nbytes)
            del whole
        names = self._names
        return pd.DataFrame({
            "time": columns[0],
            "buyer": columns[1],
            "event": pd.Categorical.from_codes(columns[2].astype(np.int16), categories=list(EVENTS)),
            "role": pd.Categorical.from_codes(columns[3].astype(np.int32), categories=names),
            "activity": pd.Categorical.from_codes(columns[4].astype(np.int32), categories=names),
            "value": columns[5],
        }, copy=False)  # the columns are new: no second copy of the log
