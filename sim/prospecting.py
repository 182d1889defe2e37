"""Outbound prospecting: roles that spend part of their time booking meetings with target
accounts, instead of waiting for inbound buyers.

A role with ``prospecting_share`` > 0 makes attempts at the rate its prospecting time
allows (``market.outbound.work_per_attempt``); each books a meeting with
``meeting_probability`` (times ``ai_meeting_factor`` for AI agents), falling as the pool of
target accounts is used up. A booked buyer joins the journey after first response, with
the prospector as their last contact, so the meeting's handoff rules apply as usual.
The time spent prospecting is taken from the role's capacity (see :mod:`sim.org`).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from .context import JourneyContext
from .journey import journey
from .org import RoleQueue

__all__ = ["start_prospecting", "meetings_per_day", "outbound_entry"]


def meetings_per_day(ctx: JourneyContext, role: RoleQueue, remaining: int) -> float:
    """Meetings a role books per calendar day with ``remaining`` accounts left in the pool."""
    out = ctx.scn.market.outbound
    if out.target_accounts == 0 or remaining <= 0:
        return 0.0
    spec = role.spec
    working_days_per_day = role.calendar.hours_per_week / 24.0 / 7.0
    attempts = role.effective_heads() * working_days_per_day * spec.productive_share * spec.prospecting_share / out.work_per_attempt
    p = out.meeting_probability * (out.ai_meeting_factor if role.is_ai else 1.0)
    return attempts * min(1.0, p) * remaining / out.target_accounts


def outbound_entry(ctx: JourneyContext) -> int:
    """Index of the first acquisition activity after first response (where meetings start)."""
    m = ctx.scn.market
    kinds = [m.activities[a].kind for a in m.journey.acquisition]
    return kinds.index("contact") + 1 if "contact" in kinds else 0


def _prospect(ctx: JourneyContext, role: RoleQueue, pool: list[int]) -> Generator[Any, Any, None]:
    env = ctx.env
    gaps = ctx.streams.rng(f"outbound.{role.name}")
    entry = outbound_entry(ctx)
    tilt = ctx.scn.market.outbound.segment_tilt
    while True:
        rate = meetings_per_day(ctx, role, pool[0])
        if rate <= 0 and role.staffed is not None and pool[0] > 0:
            yield env.timeout(1.0)  # nobody there to prospect today: look again tomorrow
            continue
        if rate <= 0:
            return
        # The rate is constant between bookings, so an exponential gap is exact (where people join
        # and leave, it is the rate when the last booking was made).
        yield env.timeout(float(gaps.exponential(1.0 / rate)))
        pool[0] -= 1
        b = ctx.new_buyer("outbound", tilt, ctx.outbound_key(role.name))
        b.research_time = 0.0
        b.last_performer = (role.name, role.team_of(b))
        ctx.log.record(env.now, b.id, "arrive", role.name)
        ctx.admit_booked(b)
        env.process(journey(ctx, b, start=entry))


def start_prospecting(ctx: JourneyContext) -> None:
    """Start a prospecting process for every role that prospects, sharing one pool."""
    pool = [ctx.scn.market.outbound.target_accounts]
    for role in ctx.roles.values():
        if role.spec.prospecting_share > 0 and role.spec.peak_headcount > 0:
            ctx.env.process(_prospect(ctx, role, pool))
