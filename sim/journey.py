"""The buyer's journey: a SimPy process per buyer, from first research to churn.

arrive -> research on their own -> contact sales (or keep researching, or leave) -> the
acquisition activities in order (each queued at the role routed to it) -> won -> onboarding
-> customer life (check-ins, renewals with churn risk, expansion).

What each activity does depends on its ``kind``:

- ``contact``: first response. The buyer waits with limited patience (renege:
  ``no_response``); an AI responder loses automation-averse buyers (``bot_averse``); the
  chance of engaging decays with the wait (``went_cold``).
- ``gate``: the role judges fit with noise; below the activity's threshold the buyer is
  ``disqualified``.
- ``stage`` / ``close``: the buyer advances with the segment's stage conversion, scaled by
  fit and by any context loss; a lost close is ``no_decision`` or ``lost_to_competitor``.

A handoff happens when an activity is done by another role, or another team, than the
previous one. It may lose context (extra work, lower conversion, more churn later) and,
before first response, drop the lead altogether (``never_followed_up``). Unified customer
data (``data_integration``) scales both chances by ``1 - data_integration``.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simpy

from .calendar import WorkCalendar, build_calendar
from .events import EventLog
from .market import Buyer, MarketPlan
from .org import RoleQueue
from .schema import Activity, Scenario, Segment
from .streams import Bulk, Streams

__all__ = ["JourneyContext", "arrive", "journey"]


def _uniforms(rng: Any, n: int) -> Any:
    return rng.random(n)


@dataclass
class JourneyContext:
    """Everything a buyer process reads: the design, the market's rules, the log."""

    env: simpy.Environment
    scn: Scenario
    plan: MarketPlan
    roles: dict[str, RoleQueue]
    log: EventLog
    uniform: Bulk
    recurring_work: dict[str, Bulk]
    ttv: dict[str, Bulk]
    nurture: str | None
    buyer_hours: WorkCalendar

    @classmethod
    def build(cls, env: simpy.Environment, scn: Scenario, plan: MarketPlan,
              roles: dict[str, RoleQueue], log: EventLog, streams: Streams) -> "JourneyContext":
        m = scn.market
        recurring = [a for a in m.journey.retention] + [a for a, act in m.activities.items() if act.kind == "nurture"]
        work = {a: streams.bulk(f"work.{a}", m.activities[a].work.sample) for a in recurring}
        nurture = next((a for a, act in m.activities.items() if act.kind == "nurture" and a in scn.routing), None)
        ttv = {s: streams.bulk(f"life.ttv.{s}", seg.time_to_value.sample) for s, seg in m.segments.items()}
        return cls(env, scn, plan, roles, log, streams.bulk("life.uniform", _uniforms), work, ttv, nurture,
                   build_calendar(m.buyer_hours))

    def role_for(self, activity: str) -> RoleQueue:
        return self.roles[self.scn.routing[activity]]


def _lose(ctx: JourneyContext, b: Buyer, reason: str, activity: str = "") -> None:
    b.state = "lost"
    b.reason = reason
    b.lost_at = ctx.env.now
    b.lost_activity = activity
    ctx.log.record(ctx.env.now, b.id, "lost", "", activity)


def _new_performer(b: Buyer, role: RoleQueue) -> bool:
    """True when ``role`` (or its team) did not do the buyer's previous activity."""
    return b.last_performer != (role.name, role.team_of(b))


def _handoff(ctx: JourneyContext, b: Buyer, role: RoleQueue, activity: str, slot: int) -> bool:
    """Record a handoff if the performer changes; True if the lead is dropped in it."""
    performer = (role.name, role.team_of(b))
    previous = b.last_performer
    b.last_performer = performer
    if previous is None or previous == performer:
        return False
    eff = ctx.scn.market.effects
    keep = 1.0 - ctx.scn.data_integration
    now = ctx.env.now
    b.handoffs += 1
    ctx.log.record(now, b.id, "handoff", role.name, activity)
    if b.u[slot + 1] < eff.context_loss_probability * keep:
        b.context_losses += 1
        b.context_lost = True
        ctx.log.record(now, b.id, "context_loss", role.name, activity)
    kind = ctx.scn.market.activities[activity].kind
    return kind == "contact" and b.u[slot] < eff.first_response_handoff_drop * keep


def _context_factor(ctx: JourneyContext, b: Buyer) -> float:
    """The conversion penalty of a pending context loss (applied once, then cleared)."""
    if not b.context_lost:
        return 1.0
    b.context_lost = False
    return ctx.scn.market.effects.context_loss_conversion_factor


def _advance_probability(ctx: JourneyContext, b: Buyer, base: float) -> float:
    """P(advance) at a stage: base rate scaled by fit and any context loss."""
    eff = ctx.scn.market.effects
    p = base * max(0.0, 1.0 + eff.fit_elasticity * (b.fit - 0.5))
    return min(p * _context_factor(ctx, b), 1.0)


def arrive(ctx: JourneyContext, b: Buyer) -> None:
    """A buyer arrives and starts researching on their own; no process is needed until
    the research ends, so most buyers (who never talk to sales) cost one timer each."""
    ctx.log.record(b.arrive_at, b.id, "arrive")
    timer = ctx.env.timeout(b.arrive_at + b.research_time - ctx.env.now)
    timer.callbacks.append(lambda _event: _researched(ctx, b, 0))


def _researched(ctx: JourneyContext, b: Buyer, round_: int) -> None:
    """End of a research period: contact sales, keep researching (nurture), or leave."""
    seg = ctx.scn.market.segments[b.segment]
    eff = ctx.scn.market.effects
    p = seg.contact_probability
    if b.rep_free:
        p *= eff.rep_free_contact_factor
    if round_ > 0 and ctx.nurture is not None:
        p = min(1.0, p * eff.nurture_contact_uplift)
    if b.u[ctx.plan.contact_slot(round_)] < p:
        ctx.env.process(journey(ctx, b, _contact_delay(ctx, b)))
    elif (round_ < ctx.scn.market.journey.max_nurture_rounds
          and b.u[ctx.plan.keep_slot(round_)] < seg.keep_researching_probability):
        ctx.env.process(_nurture(ctx, b, round_))
    else:
        _lose(ctx, b, "left_after_research")


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
    if ctx.nurture is not None:
        role = ctx.role_for(ctx.nurture)
        yield from role.perform(b, ctx.nurture, next(ctx.recurring_work[ctx.nurture]), ctx.log)
    # Another research period as long as the first (an assumption).
    yield ctx.env.timeout(b.research_time)
    ctx.log.record(ctx.env.now, b.id, "nurture_return", "", "", round_ + 1)
    _researched(ctx, b, round_ + 1)


def journey(ctx: JourneyContext, b: Buyer, delay: float = 0.0) -> Generator[Any, Any, None]:
    """The SimPy process of a buyer who asks sales for contact after ``delay``, to churn."""
    env, log, plan, m = ctx.env, ctx.log, ctx.plan, ctx.scn.market
    seg = m.segments[b.segment]
    if delay > 0:
        yield env.timeout(delay)
    b.contact_at = env.now
    log.record(env.now, b.id, "contact")
    for j, name in enumerate(m.journey.acquisition):
        act: Activity = m.activities[name]
        role = ctx.role_for(name)
        slot = plan.activity_slot(j)
        pickup = _new_performer(b, role)
        if _handoff(ctx, b, role, name, slot):
            _lose(ctx, b, "never_followed_up", name)
            return
        work = b.work[j]
        if b.context_lost:
            work *= 1.0 + m.effects.context_loss_rework_fraction
        if act.kind == "contact":
            start = yield from role.perform(b, name, work, log, pickup, deadline=b.contact_at + b.patience)
            if start is None:
                _lose(ctx, b, "no_response", name)
                return
            # What the buyer experiences: from asking for contact to a first response.
            wait = b.first_response_wait = start - b.contact_at
            if role.is_ai and b.averse:
                _lose(ctx, b, "bot_averse", name)
                return
            decay = m.effects.lead_decay
            engage = decay.floor + (1 - decay.floor) * 2.0 ** (-wait / decay.half_life)
            if b.u[slot + 2] >= engage * _context_factor(ctx, b):
                _lose(ctx, b, "went_cold", name)
                return
        elif act.kind == "gate":
            yield from role.perform(b, name, work, log, pickup)
            noise = m.effects.ai_judgement_noise if role.is_ai else role.spec.judgement_noise
            if b.fit + noise * b.z[j] < act.threshold:
                _lose(ctx, b, "disqualified", name)
                return
        else:  # stage or close
            yield from role.perform(b, name, work, log, pickup)
            p = _advance_probability(ctx, b, seg.stage_conversion.get(name, 1.0))
            if b.u[slot + 2] >= p:
                if act.kind == "close":
                    reason = "no_decision" if b.u[slot + 3] < seg.no_decision_share else "lost_to_competitor"
                else:
                    reason = "dropped_out"
                _lose(ctx, b, reason, name)
                return
        log.record(env.now, b.id, "pass", role.name, name)
        if b.deliberation[j] > 0:
            yield env.timeout(b.deliberation[j])
    b.state = "active"
    b.won_at = env.now
    b.arr = b.acv
    log.record(env.now, b.id, "won", "", "", b.acv)
    yield from _customer_life(ctx, b, seg)


def _churn_probability(ctx: JourneyContext, b: Buyer, seg: Segment, neglected: int) -> float:
    """P(churn) at a renewal: the segment's base rate for one term, times risk multipliers."""
    eff = ctx.scn.market.effects
    years = seg.contract_term / 365.0
    p = 1.0 - (1.0 - seg.base_churn_annual) ** years
    if b.ttv_missed:
        p *= eff.ttv_missed_churn_multiplier
    p *= 1.0 + eff.context_loss_churn_uplift * b.context_losses
    p *= 1.0 + eff.neglect_churn_uplift * neglected
    return min(p, 1.0)


def _customer_life(ctx: JourneyContext, b: Buyer, seg: Segment) -> Generator[Any, Any, None]:
    """Onboarding, then check-ins and renewals until churn or the end of the run."""
    env, log, m = ctx.env, ctx.log, ctx.scn.market
    retention = m.journey.retention
    base = len(m.journey.acquisition)
    onboarding = [a for a in retention if m.activities[a].kind == "onboarding"]
    checkin = next((a for a in retention if m.activities[a].kind == "checkin"), None)
    renewal = next((a for a in retention if m.activities[a].kind == "renewal"), None)
    for name in onboarding:
        role = ctx.role_for(name)
        pickup = _new_performer(b, role)
        _handoff(ctx, b, role, name, ctx.plan.activity_slot(base + retention.index(name)))
        work = next(ctx.recurring_work[name]) * seg.work_scale
        yield from role.perform(b, name, work, log, pickup)
        yield env.timeout(next(ctx.ttv[b.segment]))
    if onboarding:
        b.ttv = env.now - b.won_at
        b.ttv_missed = b.ttv > seg.ttv_target
        log.record(env.now, b.id, "onboarded", "", onboarding[-1], b.ttv)
    if renewal is None:
        return
    term = seg.contract_term
    k = 1
    while True:
        renew_at = b.won_at + k * term
        neglected = 0
        if checkin is not None:
            interval = m.journey.checkin_interval
            next_at = b.won_at + (k - 1) * term + interval
            while next_at < renew_at:
                if next_at > env.now:
                    yield env.timeout(next_at - env.now)
                role = ctx.role_for(checkin)
                start = yield from role.perform(b, checkin, next(ctx.recurring_work[checkin]) * seg.work_scale, log)
                if start - next_at > m.journey.checkin_sla:
                    neglected += 1
                next_at += interval
        if renew_at > env.now:
            yield env.timeout(renew_at - env.now)
        role = ctx.role_for(renewal)
        # A renewal is never dropped at a handoff; a context loss there still adds churn risk.
        _handoff(ctx, b, role, renewal, ctx.plan.activity_slot(base + retention.index(renewal)))
        yield from role.perform(b, renewal, next(ctx.recurring_work[renewal]) * seg.work_scale, log)
        if next(ctx.uniform) < _churn_probability(ctx, b, seg, neglected):
            b.state = "churned"
            b.churned_at = env.now
            log.record(env.now, b.id, "churned", role.name, renewal, b.arr)
            return
        log.record(env.now, b.id, "renewed", role.name, renewal, b.arr)
        if next(ctx.uniform) < seg.expansion_probability:
            added = b.arr * seg.expansion_uplift
            b.arr += added
            log.record(env.now, b.id, "expanded", role.name, renewal, added)
        k += 1
