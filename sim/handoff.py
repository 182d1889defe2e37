"""Handoffs: when the next activity is done by someone who did not do the last one.

A handoff may lose context (more work on the next activity, a lower chance of advancing,
more churn later) and, right before first response, drop the lead altogether. Unified
customer data scales both chances by ``1 - data_integration``; a handoff inside one
organizational unit loses less; a bridge (joint meeting) covers its seam.
"""

from __future__ import annotations

from collections.abc import Sequence

from .context import JourneyContext
from .market import Buyer
from .org import RoleQueue

__all__ = ["new_performer", "handoff", "bridge_for", "context_factor"]


def new_performer(b: Buyer, role: RoleQueue) -> bool:
    """True when ``role`` (or its team) did not do the buyer's previous activity."""
    return b.last_performer != (role.name, role.team_of(b))


def bridge_for(ctx: JourneyContext, sender: str, receiver: str):  # type: ignore[no-untyped-def]
    """The bridge covering the seam from ``sender`` to ``receiver``, if any."""
    for bridge in ctx.scn.bridges:
        if bridge.sender == sender and bridge.receiver == receiver:
            return bridge
    return None


def handoff(ctx: JourneyContext, b: Buyer, role: RoleQueue, activity: str, u: Sequence[float], slot: int) -> bool:
    """Record a handoff if the performer changes; True if the lead is dropped in it.

    ``u[slot]`` decides whether the lead is dropped, ``u[slot + 1]`` whether context is
    lost: the buyer's draws for this activity (and occurrence), whoever performs it.
    """
    performer = (role.name, role.team_of(b))
    previous = b.last_performer
    b.last_performer = performer
    if previous is None or previous == performer:
        return False
    scn = ctx.scn
    eff = scn.market.effects
    keep = 1.0 - scn.data_integration
    p_loss = eff.context_loss_probability * keep
    sender = scn.roles.get(previous[0])
    if sender is not None and sender.team is not None and sender.team == role.spec.team:
        p_loss *= eff.same_unit_context_factor
    bridge = bridge_for(ctx, previous[0], role.name)
    if bridge is not None:
        p_loss *= bridge.context_loss_factor
    now = ctx.env.now
    b.handoffs += 1
    ctx.log.record(now, b.id, "handoff", role.name, activity)
    if u[slot + 1] < p_loss:
        b.context_losses += 1
        b.context_lost = True
        ctx.log.record(now, b.id, "context_loss", role.name, activity)
    kind = scn.market.activities[activity].kind
    followed = role.spec.follows_up_every_lead  # a follow-up SLA: every handed-over lead is worked
    return kind == "contact" and bridge is None and not followed and u[slot] < eff.first_response_handoff_drop * keep


def context_factor(ctx: JourneyContext, b: Buyer) -> float:
    """The conversion penalty of a pending context loss (applied once, then cleared)."""
    if not b.context_lost:
        return 1.0
    b.context_lost = False
    return ctx.scn.market.effects.context_loss_conversion_factor
