"""What a replication keeps in memory: a finished buyer as its row only, a chunk's draws only
while its buyers need them, the event log in one copy, and the tables they make unchanged."""

from __future__ import annotations

import gc
from operator import attrgetter

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
import sim.events
import sim.ledger
from sim.events import EVENTS, EventLog
from sim.ledger import BUYER_COLUMNS, BuyerLedger
from sim.market import SHARED_DRAWS_DAYS, Buyer, buyer_chunks, plan_for
from sim.streams import Streams

from conftest import SCENARIOS


def _table_of_objects(buyers: list[Buyer]) -> pd.DataFrame:
    """The buyers table built the plain way, from every object, sorted by id."""
    rows = [attrgetter(*BUYER_COLUMNS)(b) for b in sorted(buyers, key=lambda b: b.id)]
    columns = {c: list(col) for c, col in zip(BUYER_COLUMNS, zip(*rows))}
    dtypes = sim.ledger._NUMERIC_DTYPES
    return pd.DataFrame({c: np.array(v, dtype=dtypes[c]) if c in dtypes else v for c, v in columns.items()})


def _buyer(i: int, draw: st.DataObject) -> Buyer:
    b = Buyer()
    b.id = i
    b.arrive_at = draw.draw(st.floats(0, 100))
    b.channel = draw.draw(st.sampled_from(["inbound", "events"]))
    b.segment = draw.draw(st.sampled_from(["smb", "mid", "enterprise"]))
    b.acv, b.fit = draw.draw(st.floats(1, 1e6)), draw.draw(st.floats(0, 1))
    b.state = draw.draw(st.sampled_from(["lost", "churned", "active", "in_flight"]))
    b.handoffs = draw.draw(st.integers(0, 5))
    b.community = draw.draw(st.booleans())
    return b


@settings(max_examples=40, deadline=None)
@given(ids=st.lists(st.integers(0, 10**9), min_size=1, max_size=60, unique=True),
       flush=st.integers(1, 9), retired=st.integers(0, 60), data=st.data())
def test_the_ledger_gives_the_table_of_the_objects_whatever_the_order_rows_come(ids, flush, retired, data):
    """Rows written in any order, flushed in batches of any size, the rest given at the end:
    the same table as one built from every object, sorted by id, value for value and dtype for dtype."""
    buyers = [_buyer(i, data) for i in ids]
    old = sim.ledger._FLUSH
    sim.ledger._FLUSH = flush
    try:
        ledger = BuyerLedger()
        for b in buyers[:retired]:
            ledger.add(b)
        table = ledger.table(buyers[retired:])
    finally:
        sim.ledger._FLUSH = old
    pd.testing.assert_frame_equal(table, _table_of_objects(buyers), check_exact=True)
    assert ledger.rows == 0 and ledger.table().empty  # emptied as the table was built


def test_an_empty_ledger_gives_the_empty_table_of_no_buyers():
    table = BuyerLedger().table()
    assert list(table.columns) == list(BUYER_COLUMNS) and table.empty


def test_a_buyer_whose_journey_is_over_is_kept_as_its_row_and_nothing_else(monkeypatch):
    """At the horizon the only buyer objects alive are those still in the journey or on
    contract (and the chunk being set on its way): every lost or churned buyer went to the
    ledger as it finished and was freed then, by reference counting alone (no collection ran)."""
    scn = sim.load_scenario(SCENARIOS / "siloed.yaml", ["simulation.horizon=1y", "simulation.warmup=30d"])
    seen: dict[str, object] = {}
    real_add, real_table = BuyerLedger.add, BuyerLedger.table
    finished: list[str] = []

    def add(self: BuyerLedger, b: Buyer) -> None:
        if "rest" not in seen:
            finished.append(b.state)
        real_add(self, b)

    def table(self: BuyerLedger, rest: object = ()) -> pd.DataFrame:
        rest = list(rest)  # type: ignore[call-overload]
        seen["rest"] = [b.state for b in rest]
        seen["alive"] = sum(isinstance(o, Buyer) for o in gc.get_objects())
        return real_table(self, rest)

    monkeypatch.setattr(BuyerLedger, "add", add)
    monkeypatch.setattr(BuyerLedger, "table", table)
    gc.collect()
    gc.disable()
    try:
        res = sim.simulate(scn, 3)
    finally:
        gc.enable()
    rest = seen["rest"]
    assert set(finished) == {"lost", "churned"} and set(rest) <= {"in_flight", "active"}  # type: ignore[arg-type]
    assert len(finished) + len(rest) == len(res.buyers)  # type: ignore[arg-type]
    assert len(finished) > 5 * len(rest)  # type: ignore[arg-type]
    assert seen["alive"] <= len(rest) + 2048  # type: ignore[arg-type, operator]


def test_a_long_researcher_takes_its_own_row_so_its_chunk_can_go():
    """A buyer whose first research ends after its chunk's sharing window keeps its own copy of
    its row (the same numbers); one who is done within it shares the chunk's table."""
    scn = sim.load_scenario(SCENARIOS / "siloed.yaml")
    plan = plan_for(scn)
    chunk = next(buyer_chunks(scn, Streams(4), plan))
    table = chunk[0]._draws.table  # type: ignore[union-attr]
    shared_until = chunk[0]._draws.shared_until  # type: ignore[union-attr]
    assert shared_until == max(b.arrive_at for b in chunk) + SHARED_DRAWS_DAYS
    short, long = chunk[3], chunk[4]
    short.research_until(shared_until - 0.5)
    long.research_until(shared_until + 0.5)
    assert short._draws.table is table  # type: ignore[union-attr]
    assert long._draws.table is not table and long._draws.table.tolist() == [table[4].tolist()]  # type: ignore[union-attr]
    long.research_until(1e9)  # its own row is never copied again
    assert long._draws.table.shape[0] == 1  # type: ignore[union-attr]


@settings(max_examples=40, deadline=None)
@given(events=st.lists(st.tuples(st.sampled_from([0.0, 1.0, 2.5, 7.0, 30.0]), st.integers(0, 50),
                                 st.sampled_from(list(EVENTS)), st.sampled_from(["", "sdr", "ae"]),
                                 st.sampled_from(["", "qualify", "demo"]), st.floats(-1e6, 1e6)),
                       max_size=80),
       batch=st.integers(1, 9))
def test_the_log_comes_out_sorted_by_time_with_ties_in_recording_order(events, batch):
    """Whatever the packing, the frame is the events sorted by time, stably, with the roles and
    activities coded in order of first appearance."""
    old = sim.events._BATCH
    sim.events._BATCH = batch
    try:
        log = EventLog()
        for e in events:
            log.record(*e)
        frame = log.frame()
    finally:
        sim.events._BATCH = old
    names = [""]
    for e in events:
        names += [n for n in (e[3], e[4]) if n not in names]
    expected = pd.DataFrame(events, columns=["time", "buyer", "event", "role", "activity", "value"])
    expected = expected.astype({"time": np.float64, "buyer": np.int64, "value": np.float64})
    expected["event"] = pd.Categorical(expected.event, categories=list(EVENTS))
    expected["role"] = pd.Categorical(expected.role, categories=names)
    expected["activity"] = pd.Categorical(expected.activity, categories=names)
    expected = expected.sort_values("time", kind="stable", ignore_index=True)
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    assert len(log) == 0  # emptied as the frame was built


def test_freed_pieces_are_handed_back_only_when_it_is_worth_it(monkeypatch):
    """sim.memory.release asks the allocator to return free pages after a megabyte or more was
    freed, and not for less (a trim costs about a millisecond)."""
    import sim.memory

    calls: list[int] = []
    monkeypatch.setattr(sim.memory, "_TRIM", lambda pad: calls.append(pad) or 1)
    sim.memory.release(sim.memory.WORTH_TRIMMING - 1)
    assert calls == []
    sim.memory.release(sim.memory.WORTH_TRIMMING)
    assert calls == [0]
    monkeypatch.setattr(sim.memory, "_TRIM", None)  # not glibc: nothing to ask
    sim.memory.release(10**9)


def test_a_large_table_hands_back_its_pieces_as_it_is_built(monkeypatch):
    """Building a buyers table of 200,000 rows frees its ledger's pieces column by column, and
    asks for the pages back as it goes (the peak of a large run is here)."""
    import sim.memory

    freed: list[int] = []
    monkeypatch.setattr(sim.ledger, "release", lambda n: freed.append(n))
    ledger = BuyerLedger()
    b = Buyer()
    b.id, b.arrive_at, b.channel, b.segment, b.acv, b.fit = 0, 0.0, "inbound", "smb", 1.0, 0.5
    for i in range(200_000):
        b.id = i
        ledger.add(b)
    table = ledger.table()
    assert len(table) == 200_000 and table.id.is_monotonic_increasing
    assert len(freed) == len(BUYER_COLUMNS) and min(freed) >= sim.memory.WORTH_TRIMMING
