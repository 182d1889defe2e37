"""The buyer's journey from first research to signature: a SimPy process per buyer.

arrive -> research on their own -> contact sales, start a self-serve trial (where the
design offers one), keep researching (nurture), or leave -> the acquisition activities in
order, each queued at the role routed to it -> won (see :mod:`sim.customer` for what
follows).

What each activity does depends on its ``kind``:

- ``contact``: first response. The buyer waits with limited patience (renege:
  ``no_response``); an AI responder loses automation-averse buyers (``bot_averse``); the
  chance of engaging decays with the wait (``went_cold``).
- ``gate``: the role judges fit with noise; below the activity's threshold (moved by the
  design's KPI alignment) the buyer is ``disqualified``. The role also predicts the deal's
  value, which queues with ``discipline: predicted_value`` serve first.
- ``stage`` / ``close``: the buyer advances with the segment's stage conversion, scaled by
  fit and by any context loss; a lost close is ``no_decision`` or ``lost_to_competitor``.

Every loss has a reason. Handoff rules live in :mod:`sim.handoff`.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import simpy

from .context import JourneyContext
from .customer import customer_life, start_life
from .handoff import bridge_for, context_factor, handoff, new_performer
from .market import Buyer

__all__ = ["arrive", "journey", "lose", "research_ended", "trial"]


def lose(ctx: JourneyContext, b: Buyer, reason: str, activity: str = "") -> None:
    """The buyer leaves the journey for ``reason``."""
    b.state = "lost"
    b.reason = reason
    b.lost_at = ctx.env.now
    b.lost_activity = activity
    # A lost buyer draws nothing more: let go of the chunk's table (most buyers leave after
    # research and never read it), so it is freed once its last buyer is done with it.
    b._draws = None
    ctx.log.record(ctx.env.now, b.id, "lost", "", activity)
    ctx.retire(b)


def arrive(ctx: JourneyContext, b: Buyer) -> None:
    """A buyer arrives and starts researching on their own; no process is needed until
    the research ends, so most buyers (who never talk to sales) cost one timer each."""
    ctx.log.record(b.arrive_at, b.id, "arrive")
    b.research_until(b.arrive_at + b.research_time)
    # The timer carries the buyer as its value and one callback serves every timer: no
    # closure per buyer, so less to allocate and for the garbage collector to track.
    timer = ctx.env.timeout(b.arrive_at + b.research_time - ctx.env.now, b)
    timer.callbacks.append(ctx.research_ended)  # type: ignore[arg-type]  # set by the model before any arrival


def research_ended(ctx: JourneyContext, timer: simpy.Event) -> None:
    """Callback of the timer that ends a buyer's first research period (its value is the buyer)."""
    _researched(ctx, timer.value, 0)  # type: ignore[arg-type]  # the timer's value is always the buyer


def _researched(ctx: JourneyContext, b: Buyer, round_: int) -> None:
    """End of a research period: trial, contact sales, keep researching (nurture), or leave."""
    scn = ctx.scn
    seg = scn.market.segments[b.segment]
    eff = scn.market.effects
    u = b.u[ctx.plan.contact_slot(round_)]
    if b.rep_free and scn.self_serve is not None:
        p_trial = scn.self_serve.trial_probability
        if u < p_trial:
            ctx.env.process(trial(ctx, b))
            return
        u = (u - p_trial) / (1.0 - p_trial)  # the rest of the draw decides the other ways
    p = seg.contact_probability
    if b.rep_free:
        p *= eff.rep_free_contact_factor
    if round_ > 0 and ctx.nurture is not None:
        p = min(1.0, p * eff.nurture_contact_uplift)
    if u < p:
        ctx.env.process(journey(ctx, b, _contact_delay(ctx, b)))
    elif (round_ < scn.market.journey.max_nurture_rounds
          and b.u[ctx.plan.keep_slot(round_)] < seg.keep_researching_probability):
        ctx.env.process(_nurture(ctx, b, round_))
    else:
        lose(ctx, b, "left_after_research")


def _contact_delay(ctx: JourneyContext, b: Buyer) -> float:
    """Time until the buyer asks for contact: most wait for their own working hours.

    A buyer who waits asks at a uniform moment of their next working day (the draw that
    decided to wait, rescaled, places them in the day).
    """
    now = ctx.env.now
    hours = ctx.buyer_hours
    opens = hours.next_open(now)
    share = ctx.scn.market.contact_in_buyer_hours
    u = b.u[ctx.plan.hours_slot]
    if opens > now and u < share:
        return hours.finish_at(opens, (u / share) * (hours.close_at - hours.open_at)) - now  # type: ignore[operator]
    return 0.0


def _nurture(ctx: JourneyContext, b: Buyer, round_: int) -> Generator[Any, Any, None]:
    """A nurture touch (if a role does nurture), then another research period."""
    b.detach()
    if ctx.nurture is not None:
        role = ctx.role_for(ctx.nurture, b)
        work = b.work_at(ctx.plan.nurture_work_col(ctx.nurture, round_))
        yield from role.perform(b, ctx.nurture, work, ctx.log)
    # Another research period as long as the first (an assumption).
    yield ctx.env.timeout(b.research_time)
    ctx.log.record(ctx.env.now, b.id, "nurture_return", "", "", round_ + 1)
    _researched(ctx, b, round_ + 1)


def trial(ctx: JourneyContext, b: Buyer) -> Generator[Any, Any, None]:
    """A self-serve trial: activation, then paid, a product-qualified lead, or gone."""
    env, ss, eff = ctx.env, ctx.scn.self_serve, ctx.scn.market.effects
    assert ss is not None
    b.engage()
    b.source = "trial"
    ctx.log.record(env.now, b.id, "trial")
    yield env.timeout(ss.trial_length)
    p_active = min(1.0, ss.activation_probability * max(0.0, 1.0 + eff.fit_elasticity * (b.fit - 0.5)))
    u = b.u[ctx.plan.trial_slot]
    activated = u < p_active
    ctx.decide(b, "trial_activated", "", p_active, u, activated)
    if activated:
        ctx.log.record(env.now, b.id, "activated")
        if b.acv >= ss.pql_acv_threshold:
            b.source = "pql"
            start = ctx.scn.market.journey.acquisition.index(ss.pql_entry)
            yield from journey(ctx, b, start=start)
            return
    p_paid = ss.paid_if_activated if activated else ss.paid_if_not_activated
    u = b.u[ctx.plan.trial_slot + 1]
    ctx.decide(b, "trial_paid", "", p_paid, u, u < p_paid)
    if u < p_paid:
        yield from _won(ctx, b)
    else:
        lose(ctx, b, "trial_not_converted")


def _won(ctx: JourneyContext, b: Buyer) -> Generator[Any, Any, None]:
    env = ctx.env
    b.state = "active"
    b.won_at = env.now
    b.arr = b.acv
    start_life(ctx, b)
    ctx.log.record(env.now, b.id, "won", "", "", b.acv)
    yield from customer_life(ctx, b)


def journey(ctx: JourneyContext, b: Buyer, delay: float = 0.0, start: int = 0) -> Generator[Any, Any, None]:
    """A buyer in the sales journey, from asking for contact (after ``delay``) to churn.

    ``start`` skips the first activities: outbound meetings and product-qualified leads
    join the journey part way.
    """
    env, log, plan, m = ctx.env, ctx.log, ctx.plan, ctx.scn.market
    seg = m.segments[b.segment]
    b.engage()
    if delay > 0:
        yield env.timeout(delay)
    b.contact_at = env.now
    log.record(env.now, b.id, "contact")
    for step in ctx.steps[start:]:
        j, name, kind, slot = step.index, step.name, step.kind, step.slot
        role = ctx.role_for(name, b)
        pickup = new_performer(b, role)
        previous = b.last_performer
        losses = b.context_losses
        if handoff(ctx, b, role, name, b.u, slot):
            lose(ctx, b, "never_followed_up", name)
            return
        if pickup and previous is not None:
            bridge = bridge_for(ctx, previous[0], role.name)
            if bridge is not None:  # the sender joins the receiver's first meeting
                yield from ctx.roles[bridge.sender].perform(b, name, bridge.sender_work, log)
        work = b.work[j]
        if b.context_losses > losses:  # context lost at this handoff: rework on this activity only
            work *= 1.0 + m.effects.context_loss_rework_fraction
        if kind == "contact":
            started = yield from role.perform(b, name, work, log, pickup, deadline=b.contact_at + b.patience)
            if started is None:
                lose(ctx, b, "no_response", name)
                return
            # What the buyer experiences: from asking for contact to a first response.
            wait = b.first_response_wait = started - b.contact_at
            if role.is_ai and b.averse:
                if ctx.scn.fallback is None:
                    lose(ctx, b, "bot_averse", name)
                    return
                engaged = yield from _fallback(ctx, b, name, slot, work)
                if not engaged:
                    lose(ctx, b, "went_cold", name)
                    return
                log.record(env.now, b.id, "pass", ctx.scn.fallback.role, name)
                continue
            decay = m.effects.lead_decay
            engage = decay.floor + (1 - decay.floor) * 2.0 ** (-wait / decay.half_life)
            if b.u[slot + 2] >= engage * context_factor(ctx, b):
                lose(ctx, b, "went_cold", name)
                return
        elif kind == "gate":
            yield from role.perform(b, name, work, log, pickup)
            noise = m.effects.ai_judgement_noise if role.is_ai else role.spec.judgement_noise
            # Predicted deal value: exact for a perfect scorer, noisier as accuracy falls.
            error = (1.0 - role.spec.scoring_accuracy) * b.z[len(plan.activities) + j]
            b.score = b.acv * (0.5 + b.fit) * math.exp(error)
            if b.fit + noise * b.z[j] < step.threshold + ctx.threshold_shift:
                lose(ctx, b, "disqualified", name)
                return
        else:  # stage or close
            yield from role.perform(b, name, work, log, pickup)
            p = _advance_probability(ctx, b, seg.stage_conversion.get(name, 1.0))
            if b.u[slot + 2] >= p:
                if kind == "close":
                    reason = "no_decision" if b.u[slot + 3] < seg.no_decision_share else "lost_to_competitor"
                else:
                    reason = "dropped_out"
                lose(ctx, b, reason, name)
                return
        assist = ctx.steps[j].assist  # the design in force now (a reorganization may have changed it)
        if assist is not None:  # a specialist joins the owner on this activity
            helper = ctx.roles[assist]
            yield from helper.perform(b, name, work, log, new_performer(b, helper))
        log.record(env.now, b.id, "pass", role.name, name)
        if b.deliberation[j] > 0:
            yield env.timeout(b.deliberation[j])
    yield from _won(ctx, b)


def _fallback(ctx: JourneyContext, b: Buyer, name: str, slot: int, work: float) -> Generator[Any, Any, bool]:
    """A buyer who refused the AI agent is passed to a person (``scn.fallback``): after the
    fallback's delay the person answers from their queue; the buyer is still engaged with the
    lead decay of the whole wait since asking, times the fallback's penalty (and a context
    loss at this handoff, if any), on the buyer's own engagement draw."""
    fb = ctx.scn.fallback
    assert fb is not None
    env = ctx.env
    if fb.delay > 0:
        yield env.timeout(fb.delay)
    person = ctx.roles[fb.role]
    pickup = new_performer(b, person)
    handoff(ctx, b, person, name, b.u, slot)  # an escalation is never dropped; context may be lost
    started = yield from person.perform(b, name, work, ctx.log, pickup)
    decay = ctx.scn.market.effects.lead_decay
    wait = started - b.contact_at  # type: ignore[operator]  # no deadline: never None
    engage = decay.floor + (1 - decay.floor) * 2.0 ** (-wait / decay.half_life)
    terms: tuple[tuple[str, float], ...] = ((f"lead decay after {wait * 24:.1f} h", engage),
                                            ("fallback penalty", fb.penalty))
    factor = context_factor(ctx, b)
    if factor != 1.0:
        terms += (("context lost at the handoff", factor),)
    p = min(1.0, engage * fb.penalty * factor)
    u = b.u[slot + 2]
    engaged = bool(u < p)
    ctx.decide(b, "fallback_engaged", name, p, u, engaged, wait, terms)
    return engaged


def _advance_probability(ctx: JourneyContext, b: Buyer, base: float) -> float:
    """P(advance) at a stage: base rate scaled by fit and any context loss."""
    eff = ctx.scn.market.effects
    p = base * max(0.0, 1.0 + eff.fit_elasticity * (b.fit - 0.5))
    return min(p * context_factor(ctx, b), 1.0)
