"""Customer life after signature: onboarding, check-ins, renewals with churn risk,
expansion, referrals and community.

A customer is *at risk* when onboarding missed its target, a check-in in the current
term waited past its SLA, or context was lost on the account. At-risk customers churn more
(``effects``), expand and refer less (``market.referrals.unhealthy_factor``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from .context import JourneyContext
from .handoff import context_factor, handoff, new_performer
from .market import Buyer
from .schema import Segment

__all__ = ["customer_life", "churn_probability"]


def churn_probability(ctx: JourneyContext, b: Buyer, seg: Segment, neglected: int) -> float:
    """P(churn) at a renewal: the segment's base rate for one term, times risk multipliers."""
    eff = ctx.scn.market.effects
    p = 1.0 - (1.0 - seg.base_churn_annual) ** (seg.contract_term / 365.0)
    if b.ttv_missed:
        p *= eff.ttv_missed_churn_multiplier
    p *= 1.0 + eff.context_loss_churn_uplift * b.context_losses
    p *= 1.0 + eff.neglect_churn_uplift * neglected
    if b.community:
        p *= eff.community_churn_factor
    return min(p, 1.0)


def _slot(ctx: JourneyContext, activity: str) -> int:
    m = ctx.scn.market
    return ctx.plan.activity_slot(len(m.journey.acquisition) + m.journey.retention.index(activity))


def _assist(ctx: JourneyContext, b: Buyer, name: str, work: float) -> Generator[Any, Any, None]:
    """A specialist named in ``assists`` joins the owner on this activity (escalator)."""
    assist = ctx.scn.assists.get(name)
    if assist is not None:
        role = ctx.roles[assist]
        yield from role.perform(b, name, work, ctx.log, new_performer(b, role))


def _onboard(ctx: JourneyContext, b: Buyer, seg: Segment, name: str) -> Generator[Any, Any, None]:
    role = ctx.role_for(name, b)
    pickup = new_performer(b, role)
    handoff(ctx, b, role, name, _slot(ctx, name))
    work = next(ctx.recurring_work[name]) * seg.work_scale
    yield from role.perform(b, name, work, ctx.log, pickup)
    yield from _assist(ctx, b, name, work)
    yield ctx.env.timeout(next(ctx.ttv[b.segment]))


def _refer(ctx: JourneyContext, b: Buyer) -> None:
    """A retained customer may bring a new buyer, who researches less and fits better."""
    ref = ctx.scn.market.referrals
    p = ref.probability_per_renewal
    if b.at_risk:
        p *= ref.unhealthy_factor
    if b.community:
        p *= ctx.scn.market.effects.community_referral_factor
    if next(ctx.uniform) < p:
        new = ctx.new_buyer("referral", None)
        new.research_time *= ref.research_factor
        new.fit = min(1.0, max(0.0, new.fit + ref.fit_bonus))
        ctx.admit(new)


def _expand(ctx: JourneyContext, b: Buyer, seg: Segment, name: str | None,
            renewer: str) -> Generator[Any, Any, None]:
    """An expansion opportunity at renewal, worked by the role routed to ``name`` if any."""
    p = seg.expansion_probability * (ctx.scn.market.referrals.unhealthy_factor if b.at_risk else 1.0)
    if next(ctx.uniform) >= p:
        return
    role_name = renewer
    if name is not None:
        role = ctx.role_for(name, b)
        role_name = role.name
        pickup = new_performer(b, role)
        handoff(ctx, b, role, name, _slot(ctx, name))
        work = next(ctx.recurring_work[name]) * seg.work_scale
        yield from role.perform(b, name, work, ctx.log, pickup)
        yield from _assist(ctx, b, name, work)
        if next(ctx.uniform) >= context_factor(ctx, b):
            return  # the opportunity was lost with the context
    added = b.arr * seg.expansion_uplift
    b.arr += added
    ctx.log.record(ctx.env.now, b.id, "expanded", role_name, name or "", added)


def customer_life(ctx: JourneyContext, b: Buyer) -> Generator[Any, Any, None]:
    """Onboarding, then check-ins and renewals until churn or the end of the run."""
    env, log, m = ctx.env, ctx.log, ctx.scn.market
    seg = m.segments[b.segment]
    kinds = ctx.retention_kinds
    if "onboarding" in kinds:
        yield from _onboard(ctx, b, seg, kinds["onboarding"])
        b.ttv = env.now - b.won_at
        b.ttv_missed = b.ttv > seg.ttv_target
        log.record(env.now, b.id, "onboarded", "", kinds["onboarding"], b.ttv)
    renewal = kinds.get("renewal")
    if renewal is None:
        return
    checkin = kinds.get("checkin")
    term = seg.contract_term
    k = 1
    while True:
        renew_at = b.won_at + k * term
        neglected = 0
        if checkin is not None:
            interval = m.journey.checkin_interval
            due = b.won_at + (k - 1) * term + interval
            while due < renew_at:
                if due > env.now:
                    yield env.timeout(due - env.now)
                role = ctx.role_for(checkin, b)
                started = yield from role.perform(b, checkin, next(ctx.recurring_work[checkin]) * seg.work_scale, log)
                if started - due > m.journey.checkin_sla:
                    neglected += 1
                due += interval
        b.at_risk = b.ttv_missed or neglected > 0 or b.context_losses > 0
        if renew_at > env.now:
            yield env.timeout(renew_at - env.now)
        role = ctx.role_for(renewal, b)
        # A renewal is never dropped at a handoff; a context loss there still adds churn risk.
        pickup = new_performer(b, role)
        handoff(ctx, b, role, renewal, _slot(ctx, renewal))
        yield from role.perform(b, renewal, next(ctx.recurring_work[renewal]) * seg.work_scale, log, pickup)
        if next(ctx.uniform) < churn_probability(ctx, b, seg, neglected):
            b.state = "churned"
            b.churned_at = env.now
            log.record(env.now, b.id, "churned", role.name, renewal, b.arr)
            return
        log.record(env.now, b.id, "renewed", role.name, renewal, b.arr)
        _refer(ctx, b)
        yield from _expand(ctx, b, seg, kinds.get("expansion"), role.name)
        k += 1
