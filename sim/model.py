"""One replication: build the SimPy world from a scenario, run it, return plain data."""

from __future__ import annotations

import gc
import math
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import pandas as pd
import simpy

from .context import Decision, JourneyContext
from .customer import installed_customers, start_installed
from .events import EventLog
from .journey import arrive, research_ended
from .ledger import BUYER_COLUMNS, BuyerLedger
from .market import Buyer, buyer_chunks, plan_for, scheduled_buyers
from .org import RoleQueue, build_roles
from .prospecting import start_prospecting
from .schema import Scenario
from .streams import Streams
from .transition import switch

__all__ = ["SimResult", "simulate", "BUYER_COLUMNS"]

@dataclass
class SimResult:
    """What one replication produced: the event log, the buyers and the roles."""

    scenario: Scenario
    seed: int
    events: pd.DataFrame
    buyers: pd.DataFrame
    roles: pd.DataFrame
    #: Every keyed decision after signature and in trials (sim.context.Decision columns), when
    #: asked for (``simulate(..., decisions=True)``); None otherwise.
    decisions: pd.DataFrame | None = None
    #: Everyone who worked in a role whose capacity changes (``role, joined, left, ramp_time,
    #: ramp_start``; ``left`` inf for those still there, ``ramp_time`` NaN: no ramp); None when
    #: no role's capacity changes. The monthly timeline (sim.timeline) counts heads from it.
    staff: pd.DataFrame | None = None


def _arrivals(env: simpy.Environment, ctx: JourneyContext, chunks: Iterable[list[Buyer]],
              out: dict[int, Buyer]) -> Generator[Any, Any, None]:
    # Each chunk's buyers are set on their way at once; the next chunk is drawn when the
    # clock reaches the last arrival of this one.
    for chunk in chunks:
        for b in chunk:
            out[b.id] = b
            arrive(ctx, b)
        if chunk and chunk[-1].arrive_at > env.now:
            yield env.timeout(chunk[-1].arrive_at - env.now)


@contextmanager
def _no_full_collections() -> Iterator[None]:
    """Defer Python's full garbage collections to the end of a replication.

    A full collection rescans every live object, and a replication keeps millions alive
    (buyers, their draws, the log) until it ends: the collections made the cost per buyer
    grow with the run (siloed, market and teams scaled together: 60 us per buyer at 100k
    buyers, 90 at 300k; 62 at 300k without them). Young collections still run, so short-lived
    reference cycles are freed as before, and the peak memory is unchanged (measured). The
    collector's thresholds are restored on the way out; results do not depend on them.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], 2**31 - 1)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def simulate(scn: Scenario, seed: int, events: bool = True, decisions: bool = False) -> SimResult:
    """Run one replication of ``scn`` with ``seed`` up to the horizon.

    Parameters
    ----------
    scn
        A validated scenario.
    seed
        The replication's seed; every random stream derives from it.
    events
        Keep the event log (the KPIs need it; turn off only to measure the bare model).
    decisions
        Also keep every decision made after signature and in trials, with its probability and
        draw (``SimResult.decisions``, for ``orgsim trace`` and tests).
    """
    with _no_full_collections():
        return _simulate(scn, seed, events, decisions)


def _simulate(scn: Scenario, seed: int, events: bool, decisions: bool = False) -> SimResult:
    env = simpy.Environment()
    streams = Streams(seed)
    log = EventLog(enabled=events)
    # A reorganization starts as the design before and switches at its date (sim.transition).
    change = scn.transition
    start = change.before if change is not None and change.before is not None else scn
    roles = build_roles(env, start, streams, change)
    plan = plan_for(scn)
    ctx = JourneyContext.build(env, start, plan, roles, log, streams)
    if decisions:
        ctx.decisions = []
    # The buyers still in the run, by id in the order they came; a buyer whose journey is
    # over (lost, churned) leaves it for the ledger, which keeps only its row (sim.ledger).
    buyers: dict[int, Buyer] = {}
    ledger = BuyerLedger()
    if start is not scn:
        env.timeout(change.at).callbacks.append(lambda _: switch(ctx, scn, list(buyers.values())))  # type: ignore[union-attr]

    def enter(b: Buyer) -> None:
        buyers[b.id] = b

    def admit(b: Buyer) -> None:
        enter(b)
        arrive(ctx, b)

    def retire(b: Buyer) -> None:
        del buyers[b.id]
        ledger.add(b)

    ctx.admit = admit
    ctx.research_ended = partial(research_ended, ctx)
    ctx.admit_booked = enter
    ctx.retire = retire
    start_prospecting(ctx)
    for customer in installed_customers(ctx):  # the installed base, on contract from day one
        enter(customer)
        start_installed(ctx, customer)
    scheduled = scheduled_buyers(scn, streams, plan)
    env.process(_arrivals(env, ctx, [scheduled], buyers))
    env.process(_arrivals(env, ctx, buyer_chunks(scn, streams, plan, len(scheduled)), buyers))
    env.run(until=scn.simulation.horizon)
    table = ledger.table(buyers.values())
    # The context holds this dict through its callbacks (a reference cycle): emptied here, the
    # buyers are freed at once instead of waiting for a full collection that scans them all.
    buyers.clear()
    role_rows = [
        {"role": r.name, "headcount": r.spec.headcount, "kind": r.spec.kind, "teams": r.teams,
         "loaded_cost_annual": r.spec.loaded_cost_annual, "cost_per_task": r.spec.cost_per_task,
         "working_days_per_week": r.calendar.hours_per_week / 24.0,
         "working_time_window": r.calendar.working_time(scn.simulation.warmup, scn.simulation.horizon),
         # Where people join and leave: their mean number and working time in the window.
         "heads_window": r.heads(scn.simulation.warmup, scn.simulation.horizon),
         "staffed_time_window": r.staffed_time(scn.simulation.warmup, scn.simulation.horizon)}
        for r in roles.values()
    ]
    made = None if ctx.decisions is None else pd.DataFrame(ctx.decisions, columns=list(Decision._fields))
    return SimResult(scn, seed, log.frame(), table, pd.DataFrame(role_rows), made, _staff_table(roles))


def _staff_table(roles: dict[str, RoleQueue]) -> pd.DataFrame | None:
    """One row per person of a role whose capacity changes (None: no such role)."""
    teams = [(r.name, team) for r in roles.values() if r.staffed is not None for team in r.staffed]
    if not teams:
        return None
    # The people there at the start are ramped (sim.staffing): only later joiners ramp up.
    rows = [(name, p.joined, p.left, math.nan if p.ramp_time is None or p.joined == 0.0 else p.ramp_time,
             p.ramp_start) for name, team in teams for p in team.people]
    return pd.DataFrame(rows, columns=["role", "joined", "left", "ramp_time", "ramp_start"])
