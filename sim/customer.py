"""Customer life after signature: onboarding, check-ins, renewals with churn risk,
expansion, referrals and community.

A customer is *at risk* in a contract term when, in that term, a check-in waited past its
SLA or context was lost on the account, or (in the first term) onboarding missed its
target; a good term recovers. At-risk customers expand less
(``effects.expansion_at_risk_factor``) and refer less (``market.referrals.unhealthy_factor``);
churn has its own multipliers (:func:`churn_terms`): the customer's fit, the number of owners
(roles or teams) it has dealt with since signature, and the term's health. Customers of the
installed base (:func:`installed_customers`) start the run in their current term.

Every draw a customer meets is keyed by the customer and its purpose, and by the
occurrence where it repeats (the k-th renewal's churn draw, the i-th check-in of term k,
the expansion and the referral at renewal k), never by the order of events
(:meth:`sim.streams.Streams.keyed`): a customer won in two designs meets the same draws in
both. The draws of ``TERMS_PER_BLOCK`` terms are drawn together, in bulk, when the first
of them starts.
"""

from __future__ import annotations

import zlib
from collections.abc import Generator
from typing import Any

from .context import INSTALLED, REFERRAL, TERMS, JourneyContext
from .handoff import context_factor, handoff, new_performer
from .market import INSTALLED_ID_BASE, Buyer
from .org import RoleQueue
from .schema import Segment
from .streams import derive_key

__all__ = ["customer_life", "churn_probability", "churn_terms", "start_life", "Life", "TERMS_PER_BLOCK",
           "installed_customers", "start_installed", "INSTALLED_SOURCE"]

#: The ``source`` (and ``channel``) of a customer of the installed base.
INSTALLED_SOURCE = "installed"
#: Purpose of an installed customer's attribute draws (Streams.keyed).
_INSTALLED_ATTRIBUTES = 4

#: Contract terms whose draws are drawn together (one keyed generator per block).
TERMS_PER_BLOCK = 4
# The uniforms of one term, by column.
CHURN, REFER, EXPAND, EXPANSION_KEPT, RENEWAL_HANDOFF, EXPANSION_HANDOFF = 0, 1, 2, 3, 4, 6
_N_UNIFORMS = 8  # the two handoffs take two columns each (lead dropped, context lost)
_NAN = float("nan")


class Life:
    """A customer's keyed draws: the once-only ones, then per contract term ``k`` (from 1,
    at index ``k - 1``) its uniforms (see the column constants), the work of its renewal, of
    an expansion, and of each of its check-ins. Terms are drawn a block at a time."""

    __slots__ = ("community_u", "onboarding_work", "ttv", "losses_at_signature", "u", "renewal_work",
                 "expansion_work", "checkin_work", "offset", "owners")

    def __init__(self) -> None:
        self.community_u = self.onboarding_work = self.ttv = 0.0
        self.losses_at_signature = 0
        #: Contract terms completed before the run (a customer of the installed base): term k of
        #: the run ends at won_at + (offset + k) x contract_term.
        self.offset = 0
        #: The owners (role, team) the customer has dealt with since signature, the signing one included.
        self.owners: set[tuple[str, int]] = set()
        self.u: list[list[float]] = []
        self.renewal_work: list[float] = []
        self.expansion_work: list[float] = []
        self.checkin_work: list[list[float]] = []


def _checkins_per_term(ctx: JourneyContext, seg: Segment) -> int:
    """Check-in work columns per term: at least as many check-ins as a term can hold."""
    return int(seg.contract_term // ctx.scn.market.journey.checkin_interval) + 1


def _draw_block(ctx: JourneyContext, b: Buyer, life: Life, seg: Segment) -> None:
    """The draws of the next ``TERMS_PER_BLOCK`` terms (the first block also holds the
    once-only draws), in bulk, in a fixed order: what the market defines, whatever the design
    uses, so that the same customer gets the same numbers in every design."""
    m, kinds, n = ctx.scn.market, ctx.retention_kinds, TERMS_PER_BLOCK
    block = len(life.u) // n
    rng = ctx.streams.keyed(b.key, TERMS, block)
    first = block == 0
    u = rng.random(first + n * _N_UNIFORMS).tolist()
    if first:
        life.community_u = u[0]
        life.ttv = float(seg.time_to_value.sample(rng, 1)[0])

    def work(kind: str, size: int) -> list[float]:
        name = kinds.get(kind)
        if name is None:
            return [0.0] * size
        values: list[float] = (m.activities[name].work.sample(rng, size) * seg.work_scale).tolist()
        return values

    if first:
        life.onboarding_work = work("onboarding", 1)[0]
    life.u += [u[first + i * _N_UNIFORMS:first + (i + 1) * _N_UNIFORMS] for i in range(n)]
    life.renewal_work += work("renewal", n)
    life.expansion_work += work("expansion", n)
    per = _checkins_per_term(ctx, seg)
    checkins = work("checkin", n * per)
    life.checkin_work += [checkins[i * per:(i + 1) * per] for i in range(n)]


def start_life(ctx: JourneyContext, b: Buyer) -> None:
    """A buyer signs: decide community membership, on the first of its customer draws (the
    rest of the first block is drawn when its life first needs it: :func:`customer_life`)."""
    life = b.life = Life()
    life.losses_at_signature = b.context_losses
    if b.last_performer is not None:
        life.owners.add(b.last_performer)
    # The block's first uniform alone: the same number _draw_block reads first from this stream.
    life.community_u = float(ctx.streams.keyed(b.key, TERMS, 0).random())
    p = ctx.scn.community_participation
    b.community = life.community_u < p
    ctx.decide(b, "community", "", p, life.community_u, b.community)


def installed_customers(ctx: JourneyContext) -> list[Buyer]:
    """The customers of the market's installed base, active at time 0.

    Customer ``i`` of segment ``s`` is keyed by (INSTALLED, s, i): its ARR, tenure, fit and
    team, and every draw of its customer life, are the same in every design (and do not move
    when another segment's count changes). Its id numbers the installed base in segment order
    from ``INSTALLED_ID_BASE``. Signed ``tenure`` days before the start, it is in term
    ``floor(tenure / contract_term) + 1``; its next renewal falls at the end of that term.
    """
    m = ctx.scn.market
    out: list[Buyer] = []
    for sname, book in m.installed_base.segments.items():
        seg = m.segments[sname]
        tag = zlib.crc32(sname.encode("utf-8"))
        for i in range(book.customers):
            key = derive_key(INSTALLED, tag, i)
            rng = ctx.streams.keyed(key, _INSTALLED_ATTRIBUTES)
            arr = float(book.arr.sample(rng, 1)[0])
            tenure = float(book.tenure.sample(rng, 1)[0])
            fit = min(1.0, max(0.0, float(seg.fit.sample(rng, 1)[0])))
            team_u = float(rng.random())
            b = Buyer()
            b.id = INSTALLED_ID_BASE + len(out)
            b.key = key
            b.arrive_at = float("nan")  # did not arrive in the run: in no cohort of buyers
            b.channel = b.source = INSTALLED_SOURCE
            b.segment = sname
            b.acv = b.arr = arr
            b.fit = fit
            b.team_u = team_u
            b.rep_free = b.averse = False
            b.patience = b.research_time = 0.0
            b.u, b.z, b.work, b.deliberation = [], [], [], []
            b.state = "active"
            b.won_at = -tenure
            out.append(b)
    return out


def start_installed(ctx: JourneyContext, b: Buyer) -> None:
    """A customer of the installed base starts the run: its life continues from its current term."""
    start_life(ctx, b)
    seg = ctx.scn.market.segments[b.segment]
    b.life.offset = int(-b.won_at // seg.contract_term)
    ctx.log.record(ctx.env.now, b.id, "installed", "", "", b.arr)
    ctx.env.process(customer_life(ctx, b))


def churn_terms(ctx: JourneyContext, b: Buyer, seg: Segment, neglected: int) -> tuple[tuple[str, float], ...]:
    """What P(churn) at a renewal is made of: the segment's base rate for one term, then each
    risk multiplier that applies, as (label, factor) pairs."""
    eff = ctx.scn.market.effects
    terms = [("base, one term", 1.0 - (1.0 - seg.base_churn_annual) ** (seg.contract_term / 365.0))]
    fit = max(0.0, 1.0 - eff.fit_churn_elasticity * (b.fit - 0.5))
    if fit != 1.0:
        terms.append((f"fit {b.fit:.2f}: 1 - {eff.fit_churn_elasticity:g} x (fit - 0.5)", fit))
    owners = len(b.life.owners) if b.life is not None else 0
    if owners > 1 and eff.continuity_churn_uplift:
        terms.append((f"1 + {eff.continuity_churn_uplift:g} x {owners - 1} more owners since signature",
                      1.0 + eff.continuity_churn_uplift * (owners - 1)))
    if b.ttv_missed:
        terms.append(("onboarding missed its target", eff.ttv_missed_churn_multiplier))
    if b.context_losses:
        terms.append((f"1 + {eff.context_loss_churn_uplift:g} x {b.context_losses} context losses",
                      1.0 + eff.context_loss_churn_uplift * b.context_losses))
    if neglected:
        terms.append((f"1 + {eff.neglect_churn_uplift:g} x {neglected} neglected check-ins",
                      1.0 + eff.neglect_churn_uplift * neglected))
    if b.community:
        terms.append(("community member", eff.community_churn_factor))
    return tuple(terms)


def _product(terms: tuple[tuple[str, float], ...]) -> float:
    p = 1.0
    for _, factor in terms:
        p *= factor
    return min(p, 1.0)


def churn_probability(ctx: JourneyContext, b: Buyer, seg: Segment, neglected: int) -> float:
    """P(churn) at a renewal: the product of :func:`churn_terms`, at most 1."""
    return _product(churn_terms(ctx, b, seg, neglected))


def _served(b: Buyer, role: RoleQueue) -> None:
    """``role`` (its team of this customer) works for the customer: one of its owners."""
    b.life.owners.add((role.name, role.team_of(b)))


def _slot(ctx: JourneyContext, activity: str) -> int:
    m = ctx.scn.market
    return ctx.plan.activity_slot(len(m.journey.acquisition) + m.journey.retention.index(activity))


def _assist(ctx: JourneyContext, b: Buyer, name: str, work: float) -> Generator[Any, Any, None]:
    """A specialist named in ``assists`` joins the owner on this activity (escalator)."""
    assist = ctx.scn.assists.get(name)
    if assist is not None:
        role = ctx.roles[assist]
        yield from role.perform(b, name, work, ctx.log, new_performer(b, role))


def _onboard(ctx: JourneyContext, b: Buyer, life: Life, name: str) -> Generator[Any, Any, None]:
    role = ctx.role_for(name, b)
    _served(b, role)
    pickup = new_performer(b, role)
    handoff(ctx, b, role, name, b.u, _slot(ctx, name))
    work = life.onboarding_work
    yield from role.perform(b, name, work, ctx.log, pickup)
    yield from _assist(ctx, b, name, work)
    yield ctx.env.timeout(life.ttv)


def _refer(ctx: JourneyContext, b: Buyer, k: int, u: list[float]) -> None:
    """A retained customer may bring a new buyer, who researches less and fits better.

    The referred buyer is keyed by (this customer, renewal ``k``): the same person in every
    design where this customer renews for the k-th time and refers.
    """
    ref = ctx.scn.market.referrals
    terms = [("per renewal", ref.probability_per_renewal)]
    if b.at_risk:
        terms.append(("at risk this term", ref.unhealthy_factor))
    if b.community:
        terms.append(("community member", ctx.scn.market.effects.community_referral_factor))
    p = _product(tuple(terms))
    if u[REFER] >= p:
        ctx.decide(b, "refer", "", p, u[REFER], False, terms=tuple(terms))
        return
    new = ctx.new_buyer("referral", None, derive_key(b.key, REFERRAL, k))
    new.research_time *= ref.research_factor
    new.fit = min(1.0, max(0.0, new.fit + ref.fit_bonus))
    ctx.decide(b, "refer", "", p, u[REFER], True, new.id, tuple(terms))  # detail: the referred buyer's id
    ctx.admit(new)


def _expand(ctx: JourneyContext, b: Buyer, seg: Segment, name: str | None,
            renewer: str, life: Life, k: int) -> Generator[Any, Any, None]:
    """An expansion opportunity at renewal, worked by the role routed to ``name`` if any."""
    eff = ctx.scn.market.effects
    terms: tuple[tuple[str, float], ...] = ((b.segment, seg.expansion_probability),)
    if b.at_risk:
        terms += (("at risk this term", eff.expansion_at_risk_factor),)
    fit = max(0.0, 1.0 + eff.fit_expansion_elasticity * (b.fit - 0.5))
    if fit != 1.0:
        terms += ((f"fit {b.fit:.2f}: 1 + {eff.fit_expansion_elasticity:g} x (fit - 0.5)", fit),)
    p = _product(terms)
    u = life.u[k - 1]
    ctx.decide(b, "expansion_opportunity", name or "", p, u[EXPAND], u[EXPAND] < p, terms=terms)
    if u[EXPAND] >= p:
        return
    role_name = renewer
    if name is not None:
        role = ctx.role_for(name, b)
        role_name = role.name
        _served(b, role)
        pickup = new_performer(b, role)
        handoff(ctx, b, role, name, u, EXPANSION_HANDOFF)
        work = life.expansion_work[k - 1]
        yield from role.perform(b, name, work, ctx.log, pickup)
        yield from _assist(ctx, b, name, work)
        if b.context_lost:
            keep = context_factor(ctx, b)
            kept = u[EXPANSION_KEPT] < keep
            ctx.decide(b, "expansion_kept", name, keep, u[EXPANSION_KEPT], kept)
            if not kept:
                return  # the opportunity was lost with the context
    added = b.arr * seg.expansion_uplift
    b.arr += added
    ctx.log.record(ctx.env.now, b.id, "expanded", role_name, name or "", added)


def customer_life(ctx: JourneyContext, b: Buyer) -> Generator[Any, Any, None]:
    """Onboarding, then check-ins and renewals until churn or the end of the run."""
    env, log, m = ctx.env, ctx.log, ctx.scn.market
    seg = m.segments[b.segment]
    kinds = ctx.retention_kinds
    life: Life = b.life
    installed = b.source == INSTALLED_SOURCE  # already onboarded before the run
    if "onboarding" in kinds and not installed:
        if not life.u:  # onboarding reads the first block's once-only draws; the terms draw their own below
            _draw_block(ctx, b, life, seg)
        yield from _onboard(ctx, b, life, kinds["onboarding"])
        b.ttv = env.now - b.won_at
        b.ttv_missed = b.ttv > seg.ttv_target
        log.record(env.now, b.id, "onboarded", "", kinds["onboarding"], b.ttv)
    renewal = kinds.get("renewal")
    if renewal is None:
        return
    checkin = kinds.get("checkin")
    term_length = seg.contract_term
    k = 1
    # Context losses counted before this term's health (the first term counts from signature).
    losses_before = life.losses_at_signature
    while True:
        if len(life.u) < k:
            _draw_block(ctx, b, life, seg)
        u = life.u[k - 1]
        renew_at = b.won_at + (life.offset + k) * term_length
        neglected = 0
        if checkin is not None:
            interval = m.journey.checkin_interval
            due = b.won_at + (life.offset + k - 1) * term_length + interval
            i = 0
            while due < 0.0:  # check-ins of the current term done before the run
                due += interval
                i += 1
            while due < renew_at:
                if due > env.now:
                    yield env.timeout(due - env.now)
                role = ctx.role_for(checkin, b)
                _served(b, role)
                started = yield from role.perform(b, checkin, life.checkin_work[k - 1][i], log)
                late = started - due  # type: ignore[operator]  # no deadline: never None
                if late > m.journey.checkin_sla:
                    neglected += 1
                    ctx.decide(b, "checkin_neglected", checkin, _NAN, _NAN, True, late)
                due += interval
                i += 1
        # Health this term: a good term recovers.
        b.at_risk = (k == 1 and b.ttv_missed) or neglected > 0 or b.context_losses > losses_before
        losses_before = b.context_losses
        if renew_at > env.now:
            yield env.timeout(renew_at - env.now)
        role = ctx.role_for(renewal, b)
        _served(b, role)
        # A renewal is never dropped at a handoff; a context loss there still adds churn risk.
        pickup = new_performer(b, role)
        handoff(ctx, b, role, renewal, u, RENEWAL_HANDOFF)
        yield from role.perform(b, renewal, life.renewal_work[k - 1], log, pickup)
        terms = churn_terms(ctx, b, seg, neglected)
        p = _product(terms)
        churned = u[CHURN] < p
        ctx.decide(b, "churn", renewal, p, u[CHURN], churned, neglected, terms)
        if churned:
            b.state = "churned"
            b.churned_at = env.now
            log.record(env.now, b.id, "churned", role.name, renewal, b.arr)
            ctx.retire(b)
            return
        log.record(env.now, b.id, "renewed", role.name, renewal, b.arr)
        _refer(ctx, b, k, u)
        yield from _expand(ctx, b, seg, kinds.get("expansion"), role.name, life, k)
        k += 1
