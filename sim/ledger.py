"""The buyers' ledger: the row of the buyers table of each buyer whose journey is over, kept
in typed columns instead of the buyer's object.

Two buyers in three leave after research and most of the rest are lost on the way; their
outcome is final when they are lost (or a customer churns). Keeping only their row (about
150 bytes) instead of the object, its attributes and its draws (2-3 KB) until the run ends
is what keeps a replication's memory small. The buyers still in the journey or on contract
at the horizon are written at the end, and the table comes out sorted by buyer id.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .memory import release

if TYPE_CHECKING:
    from .market import Buyer

__all__ = ["BUYER_COLUMNS", "BuyerLedger"]

#: Columns of the buyers table, one row per buyer who arrived.
BUYER_COLUMNS = (
    "id", "arrive_at", "channel", "segment", "acv", "fit", "state", "reason", "lost_at",
    "lost_activity", "contact_at", "first_response_wait", "won_at", "churned_at", "arr",
    "handoffs", "context_losses", "ttv", "ttv_missed", "source", "score", "community", "at_risk",
)
#: The numeric columns' dtypes, given so that pandas need not infer them value by value
#: (the rest hold strings).
_NUMERIC_DTYPES: dict[str, type] = {
    "id": np.int64, "handoffs": np.int64, "context_losses": np.int64,
    "ttv_missed": np.bool_, "community": np.bool_, "at_risk": np.bool_,
    **dict.fromkeys(("arrive_at", "acv", "fit", "lost_at", "contact_at", "first_response_wait",
                     "won_at", "churned_at", "arr", "ttv", "score"), np.float64),
}
# One attrgetter call per buyer (a tuple of every column): a fifth less time than one getattr
# per buyer and column (measured).
_ROW = attrgetter(*BUYER_COLUMNS)
# Rows wait as tuples until this many, then become typed columns (as the event log does).
_FLUSH = 8192


class BuyerLedger:
    """Rows of the buyers table, added buyer by buyer, stored column by column."""

    __slots__ = ("_pending", "_columns", "_codes", "rows")

    def __init__(self) -> None:
        self._pending: list[tuple[Any, ...]] = []
        # Per column, its flushed pieces as numpy arrays; a text column's hold codes of _codes
        # (4 bytes a row where a reference to the string takes 8).
        self._columns: list[list[np.ndarray]] = [[] for _ in BUYER_COLUMNS]
        self._codes: dict[str, int] = {}
        #: Rows added so far.
        self.rows = 0

    def add(self, b: Buyer) -> None:
        """Write ``b``'s row as it stands now (its outcome must be final)."""
        self._pending.append(_ROW(b))
        self.rows += 1
        if len(self._pending) >= _FLUSH:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        codes = self._codes
        for pieces, name, values in zip(self._columns, BUYER_COLUMNS, zip(*self._pending)):
            dtype = _NUMERIC_DTYPES.get(name)
            if dtype is None:
                for text in set(values).difference(codes):
                    codes[text] = len(codes)
                pieces.append(np.fromiter(map(codes.__getitem__, values), dtype=np.int32, count=len(values)))
            else:
                pieces.append(np.array(values, dtype=dtype))
        self._pending = []

    def table(self, rest: Iterable[Buyer] = ()) -> pd.DataFrame:
        """The buyers table: every row added, then ``rest`` (the buyers still in the run), one
        row per buyer sorted by id. The ledger is emptied as the table is built."""
        for b in rest:
            self.add(b)
        self._flush()
        columns: dict[str, Any] = {}
        if self.rows == 0:  # an empty table keeps the untyped columns pandas makes of empty lists
            self._columns = [[] for _ in BUYER_COLUMNS]
            return pd.DataFrame({c: [] for c in BUYER_COLUMNS})
        ids = np.concatenate(self._columns[0])
        order = np.argsort(ids, kind="stable")
        in_order = bool(np.all(order[1:] > order[:-1]))
        texts = np.array(list(self._codes), dtype=object)
        for i, name in enumerate(BUYER_COLUMNS):
            pieces, self._columns[i] = self._columns[i], []
            values = np.concatenate(pieces)
            del pieces
            if not in_order:
                values = values[order]
            columns[name] = values if name in _NUMERIC_DTYPES else texts[values].tolist()
            release(8 * self.rows)
        self.rows = 0
        self._codes = {}
        return pd.DataFrame(columns, copy=False)  # the columns are new: no second copy of the table
