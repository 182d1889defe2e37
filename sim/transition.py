"""The reorganization: a run starts as one design and becomes another at a date.

A design with ``transition: {from_design: siloed.yaml, at: 6mo}`` runs as ``from_design``'s
organization (its roles, routing and levers, on this file's market) until ``at``, and as its
own from then on. The loader combines the two (:func:`combine`) into one scenario whose roles
are both designs' roles, each with its headcount over time:

- a role only the design before has goes to no one at ``at`` (people finish their job in hand);
- a role only the new design has starts at ``at``;
- a role both have keeps the old headcount until ``at`` and the new one from then on; it
  behaves as the design in force says (its queue order, productive share, pickup delay).

At the switch (:func:`switch`) the people who leave a human role move to the human roles
that grow, in the new design's order of roles, and re-ramp (``reramp_start`` rising to 1
over ``reramp_time``); growth beyond them is hired and ramps as any new hire. Work waiting
for a role that has no one from then on goes to the role the new design routes it to
(``reassign``, then ``queue`` in the new role), and a buyer's next activity with the new
structure is a handoff, with its context-loss risk, as any other (:mod:`sim.handoff`); a
customer's new owner counts as one more owner for churn. ``one_off_cost`` is booked at the
switch.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

from .schema import HeadcountStep, Role, Scenario

if TYPE_CHECKING:
    from .context import JourneyContext
    from .market import Buyer
    from .org import Performer, RoleQueue
    from .staffing import Job, Team

__all__ = ["combine", "problems", "moved_in", "switch", "reassign_accounts", "DESIGN_FIELDS", "REASSIGNMENT"]

#: What a design is, besides its roles: these come from the design before until the switch.
DESIGN_FIELDS = ("routing", "assists", "bridges", "data_integration", "kpi_alignment", "north_star",
                 "community_participation", "self_serve", "fallback")
#: The purpose of a customer's keyed draws at its reassignment (sim.streams.Streams.keyed; the
#: customer's other purposes are in sim.context and sim.customer).
REASSIGNMENT = 5
#: What a role both designs have must keep: its queues and clock are built once.
_KEPT = ("kind", "teams", "calendar")


def _headcount_at(role: Role, t: float) -> int:
    """The plan's headcount at ``t`` (the last step at or before it)."""
    n = 0
    for at, count in role.steps():
        if at <= t:
            n = count
    return n


def _plan(before: Role | None, after: Role | None, at: float) -> list[tuple[float, int]]:
    """The combined headcount over time, equal steps merged."""
    steps = [(t, n) for t, n in before.steps() if t < at] if before is not None else [(0.0, 0)]
    steps.append((at, _headcount_at(after, at) if after is not None else 0))
    if after is not None:
        steps += [(t, n) for t, n in after.steps() if t > at]
    out: list[tuple[float, int]] = []
    for t, n in steps:
        if not out or out[-1][1] != n:
            out.append((t, n))
    return out


def _with_plan(role: Role, plan: list[tuple[float, int]]) -> Role:
    steps = [HeadcountStep(at=t, n=n) for t, n in plan] if len(plan) > 1 else []
    return role.model_copy(update={"headcount": plan[0][1], "headcount_plan": steps})


def problems(after: Scenario, before: Scenario) -> list[tuple[tuple[str | int, ...], str]]:
    """What makes the two designs impossible to join (key path in the new design, message)."""
    t = after.transition
    assert t is not None
    out: list[tuple[tuple[str | int, ...], str]] = []
    if before.transition is not None:
        out.append((("transition", "from_design"), f"{t.from_design} has a transition of its own; "
                                                   "expected a design without one (one reorganization per run)"))
    if not t.at < after.simulation.horizon:
        out.append((("transition", "at"), f"expected a date inside the horizon ({after.simulation.horizon:g} d), "
                                          f"got {t.at:g} d"))
    for name in sorted(set(before.roles) & set(after.roles)):
        for key in _KEPT:
            old, new = getattr(before.roles[name], key), getattr(after.roles[name], key)
            if old != new:
                out.append((("roles", name, key), f"role {name!r} is in both designs with {key} {old!r} before the "
                                                  f"switch and {new!r} after; expected the same (or a new role name)"))
    for name in sorted(set(before.calendars) & set(after.calendars)):
        if before.calendars[name] != after.calendars[name]:
            out.append((("calendars", name), f"calendar {name!r} differs between {t.from_design} and this design; "
                                             "expected the same (or another name)"))
    return out


def combine(after: Scenario, before: Scenario) -> Scenario:
    """The runnable scenario: ``after`` with both designs' roles over time, and
    ``transition.before`` the design before on the same roles, calendars, market and simulation."""
    t = after.transition
    assert t is not None
    names = list(after.roles) + [n for n in before.roles if n not in after.roles]
    plans = {n: _plan(before.roles.get(n), after.roles.get(n), t.at) for n in names}
    calendars = {**before.calendars, **after.calendars}
    roles_after = {n: _with_plan(after.roles.get(n) or before.roles[n], plans[n]) for n in names}
    roles_before = {n: _with_plan(before.roles.get(n) or after.roles[n], plans[n]) for n in names}
    design = {f: getattr(before, f) for f in DESIGN_FIELDS}
    old = after.model_copy(update={"name": before.name, "description": before.description, "roles": roles_before,
                                   "calendars": calendars, "transition": None, **design})
    return after.model_copy(update={"roles": roles_after, "calendars": calendars,
                                    "transition": t.joined(old)})


def moved_in(roles: dict[str, Role], at: float) -> dict[str, int]:
    """People who move into each human role at the switch ``at``: those the human roles lose
    then, given to the roles that grow in the order of ``roles`` (the new design's first)."""
    change = {n: _headcount_at(r, at) - _headcount_at(r, _just_before(r, at))
              for n, r in roles.items() if r.kind == "human"}
    free = sum(-d for d in change.values() if d < 0)
    out: dict[str, int] = {}
    for name, d in change.items():
        if d > 0 and free > 0:
            out[name] = min(d, free)
            free -= out[name]
    return out


def _just_before(role: Role, at: float) -> float:
    """A time after every step before ``at`` and before ``at`` itself."""
    earlier = [s for s, _ in role.steps() if s < at]
    return max(earlier) if earlier else 0.0


def switch(ctx: JourneyContext, after: Scenario, buyers: Sequence[Buyer]) -> None:
    """The new design takes over: its routing and levers, its roles' ways of working; the work
    waiting for a role left without anyone goes where the new design routes it; and every
    customer whose owner changes is handed over to the new one (:func:`reassign_accounts`)."""
    from .org import pickup_stream

    owners = _owners(ctx, buyers)
    ctx.adopt(after)
    slow = after.market.effects.generalist_slowdown
    for name, role in ctx.roles.items():
        spec = after.roles[name]
        if spec != role.spec:
            # A new pickup delay draws from a stream of its own: the old one's draws go on elsewhere.
            same = spec.pickup_delay == role.spec.pickup_delay
            pickup = role.pickup if same else pickup_stream(ctx.streams, name, spec, "pickup_after_transition")
            role.adopt(spec, slow if spec.generalist else 1.0, pickup)
    for role in ctx.roles.values():
        if role.staffed is None or _headcount_at(role.spec, ctx.env.now) > 0:
            continue
        for team in role.staffed:
            team.successor = partial(_new_home, ctx, role)
            team.hand_over_waiting()
    reassign_accounts(ctx, owners)


def _account_activity(ctx: JourneyContext) -> str | None:
    """The activity that names a customer's owner: the check-in's role, else the renewal's."""
    kinds = ctx.retention_kinds
    return kinds.get("checkin") or kinds.get("renewal")


def _owners(ctx: JourneyContext, buyers: Sequence[Buyer]) -> list[tuple[Buyer, Performer]]:
    """Each customer and its owner under the design in force (before the switch)."""
    activity = _account_activity(ctx)
    if activity is None:
        return []
    out = []
    for b in buyers:
        if b.state == "active":
            role = ctx.role_for(activity, b)
            out.append((b, (role.name, role.team_of(b))))
    return out


def reassign_accounts(ctx: JourneyContext, owners: list[tuple[Buyer, Performer]]) -> None:
    """Hand every customer whose owner changes over to their new owner: a handoff, with the
    context-loss risk of any other (sim.handoff), on two draws keyed by the customer."""
    from .handoff import handoff

    activity = _account_activity(ctx)
    if activity is None:
        return
    for b, old in owners:
        role = ctx.role_for(activity, b)
        if (role.name, role.team_of(b)) == old:
            continue
        b.last_performer = old  # the owner the customer knows (an installed customer has met no one yet)
        u = ctx.streams.keyed(b.key, REASSIGNMENT).random(2).tolist()
        handoff(ctx, b, role, activity, u, 0)


def _new_home(ctx: JourneyContext, old: RoleQueue, job: Job) -> tuple[Team, float, float] | None:
    """Where waiting work of a role with no one left goes: the team the new design routes its
    activity to, the factor on its remaining time (the roles work at different speeds), and
    its place in that team's queue."""
    new = ctx.role_for(job.activity, job.buyer)
    if new is old or new.staffed is None:  # every role of a transition is staffed (sim.org): never None
        return None
    return new.staffed[new.team_of(job.buyer)], new.time_per_work / old.time_per_work, new.queue_key(job.buyer)
