"""What every buyer process reads: the design, the market's rules, the streams, the log."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import simpy

from .calendar import WorkCalendar, build_calendar
from .events import EventLog
from .market import ENDOGENOUS_ID_BASE, Buyer, MarketPlan, endogenous_buyer
from .org import RoleQueue
from .schema import Scenario
from .streams import Streams, derive_key

__all__ = ["Decision", "JourneyContext", "Step", "TERMS", "ENDOGENOUS", "REFERRAL", "OUTBOUND", "INSTALLED"]

#: Purposes of keyed draws (Streams.keyed): a customer's draws (in blocks of contract terms),
#: and the attributes and journey draws of a buyer the organization created.
TERMS, ENDOGENOUS = 2, 3
#: How an organization-created buyer came about, in its derived key (sim.streams.derive_key);
#: INSTALLED keys a customer of the installed base by (segment, its index in the segment).
REFERRAL, OUTBOUND, INSTALLED = 1, 2, 3


class Decision(NamedTuple):
    """One random decision as the model made it (kept when ``JourneyContext.decisions`` is a
    list, for ``orgsim trace``): it came out ``outcome`` because ``draw < probability``.
    ``detail``: the neglected check-ins of the term at a renewal's churn, the referred buyer's id
    at a referral, how late a check-in started (days) at ``checkin_neglected`` (not drawn: its
    probability and draw are NaN)."""

    time: float
    buyer: int
    decision: str
    activity: str
    probability: float
    draw: float
    outcome: bool
    detail: float = float("nan")
    #: What made the probability: (label, factor) pairs whose product it is (before a cap at 1).
    terms: tuple[tuple[str, float], ...] = ()


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
    nurture: str | None
    buyer_hours: WorkCalendar
    threshold_shift: float
    #: Called with a new buyer who starts researching now (set by the model).
    admit: Callable[[Buyer], None] = lambda b: None
    #: Called with a new buyer who is already in a meeting (set by the model).
    admit_booked: Callable[[Buyer], None] = lambda b: None
    #: Called with a buyer whose journey is over (lost, churned): its row is final (set by the model).
    retire: Callable[[Buyer], None] = lambda b: None
    #: How many buyers the organization has brought in itself (numbers the next one).
    created: int = 0
    #: Called by the timer that ends a buyer's first research period (set by the model).
    research_ended: Callable[[simpy.Event], None] | None = None
    #: The acquisition activities in journey order.
    steps: tuple[Step, ...] = ()
    #: Retention activity kind -> activity name.
    retention_kinds: dict[str, str] = field(default_factory=dict)
    #: Every random decision made after signature and in trials, when a list (see Decision).
    decisions: list[Decision] | None = None
    #: Meetings booked so far by each prospecting role (keys their buyers).
    booked: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, env: simpy.Environment, scn: Scenario, plan: MarketPlan,
              roles: dict[str, RoleQueue], log: EventLog, streams: Streams) -> JourneyContext:
        ctx = cls(env, scn, plan, roles, log, streams, None, build_calendar(scn.market.buyer_hours, scn.simulation), 0.0)
        ctx.adopt(scn)
        return ctx

    def adopt(self, scn: Scenario) -> None:
        """Run as ``scn``'s design from now on (at the start, and at a reorganization)."""
        m = scn.market
        self.scn = scn
        self.nurture = next((a for a, act in m.activities.items() if act.kind == "nurture" and a in scn.routing), None)
        eff = m.effects
        self.threshold_shift = (eff.team_targets_threshold_shift if scn.kpi_alignment == "team_targets"
                                else eff.north_star_threshold_shift)
        self.steps = tuple(
            Step(j, name, m.activities[name].kind, m.activities[name].threshold, self.plan.activity_slot(j),
                 scn.assists.get(name))
            for j, name in enumerate(m.journey.acquisition)
        )
        self.retention_kinds = {m.activities[a].kind: a for a in m.journey.retention}

    def role_for(self, activity: str, b: Buyer) -> RoleQueue:
        """The role routed to ``activity`` for this buyer (routing may depend on the segment)."""
        route = self.scn.routing[activity]
        return self.roles[route if isinstance(route, str) else route[b.segment]]

    def new_buyer(self, channel: str, segment_tilt: dict[str, float] | None, key: int) -> Buyer:
        """A buyer the organization brought in itself, arriving now.

        Its draws are keyed by ``key`` (who created it and when, see sim.streams.derive_key),
        so it is the same buyer in every design that creates it; its id numbers the buyers
        this run created, in order.
        """
        b = endogenous_buyer(self.scn, self.streams.keyed(key, ENDOGENOUS), self.plan, self.env.now,
                             channel, segment_tilt, ENDOGENOUS_ID_BASE + self.created, key)
        self.created += 1
        return b

    def outbound_key(self, role: str) -> int:
        """The key of the next meeting ``role`` books: (role, its n-th booking), so the same
        role booking its n-th meeting meets the same buyer in every design."""
        n = self.booked.get(role, 0)
        self.booked[role] = n + 1
        return derive_key(OUTBOUND, zlib.crc32(role.encode("utf-8")), n)

    def decide(self, b: Buyer, decision: str, activity: str, probability: float, draw: float,
               outcome: bool, detail: float = float("nan"), terms: tuple[tuple[str, float], ...] = ()) -> None:
        """Note a decision for the trace (nothing unless ``decisions`` is a list)."""
        if self.decisions is not None:
            self.decisions.append(Decision(self.env.now, b.id, decision, activity, probability, draw, outcome, detail,
                                           terms))
