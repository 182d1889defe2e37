"""What every buyer process reads: the design, the market's rules, the streams, the log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import simpy

from .calendar import WorkCalendar, build_calendar
from .events import EventLog
from .market import ENDOGENOUS_ID_BASE, Buyer, MarketPlan, endogenous_buyer
from .org import RoleQueue
from .schema import Scenario
from .streams import Bulk, Streams

__all__ = ["JourneyContext", "Step"]


def _uniforms(rng: Any, n: int) -> Any:
    return rng.random(n)


@dataclass(frozen=True, slots=True)
class Step:
    """One acquisition activity as the journey needs it, looked up once per replication."""

    index: int
    name: str
    kind: str
    threshold: float
    #: First of the activity's four uniforms in the buyer's draws.
    slot: int
    #: The role that joins the owner on this activity, if any.
    assist: str | None


@dataclass
class JourneyContext:
    """The shared, read-mostly state of one replication."""

    env: simpy.Environment
    scn: Scenario
    plan: MarketPlan
    roles: dict[str, RoleQueue]
    log: EventLog
    streams: Streams
    uniform: Bulk
    recurring_work: dict[str, Bulk]
    ttv: dict[str, Bulk]
    nurture: str | None
    buyer_hours: WorkCalendar
    threshold_shift: float
    #: Called with a new buyer who starts researching now (set by the model).
    admit: Callable[[Buyer], None] = lambda b: None
    #: Called with a new buyer who is already in a meeting (set by the model).
    admit_booked: Callable[[Buyer], None] = lambda b: None
    created: list[Buyer] = field(default_factory=list)
    #: Called by the timer that ends a buyer's first research period (set by the model).
    research_ended: Callable[[simpy.Event], None] | None = None
    #: The acquisition activities in journey order.
    steps: tuple[Step, ...] = ()
    #: Retention activity kind -> activity name.
    retention_kinds: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, env: simpy.Environment, scn: Scenario, plan: MarketPlan,
              roles: dict[str, RoleQueue], log: EventLog, streams: Streams) -> "JourneyContext":
        m = scn.market
        recurring = list(m.journey.retention) + [a for a, act in m.activities.items() if act.kind == "nurture"]
        work = {a: streams.bulk(f"work.{a}", m.activities[a].work.sample) for a in recurring}
        nurture = next((a for a, act in m.activities.items() if act.kind == "nurture" and a in scn.routing), None)
        ttv = {s: streams.bulk(f"life.ttv.{s}", seg.time_to_value.sample) for s, seg in m.segments.items()}
        eff = m.effects
        shift = eff.team_targets_threshold_shift if scn.kpi_alignment == "team_targets" else eff.north_star_threshold_shift
        steps = tuple(
            Step(j, name, m.activities[name].kind, m.activities[name].threshold, plan.activity_slot(j),
                 scn.assists.get(name))
            for j, name in enumerate(m.journey.acquisition)
        )
        kinds = {m.activities[a].kind: a for a in m.journey.retention}
        return cls(env, scn, plan, roles, log, streams, streams.bulk("life.uniform", _uniforms), work, ttv,
                   nurture, build_calendar(m.buyer_hours), shift, steps=steps, retention_kinds=kinds)

    def role_for(self, activity: str, b: Buyer) -> RoleQueue:
        """The role routed to ``activity`` for this buyer (routing may depend on the segment)."""
        route = self.scn.routing[activity]
        return self.roles[route if isinstance(route, str) else route[b.segment]]

    def new_buyer(self, channel: str, segment_mix: dict[str, float] | None) -> Buyer:
        """A buyer the organization brought in itself, arriving now."""
        b = endogenous_buyer(self.scn, self.streams.rng(f"market.{channel}"), self.plan, self.env.now,
                             channel, segment_mix, ENDOGENOUS_ID_BASE + len(self.created))
        self.created.append(b)
        return b
