"""Will a role keep up? A rough load estimate, to warn before a run whose queues would grow
without bound (and the buyers in flight with them).

For each role: the work that reaches it a week (buyers arriving, times the share that goes
on to each acquisition activity routed to it, times that activity's mean work in occupied
time) against what its people can do in a week of their calendar. Gates pass the share
of a sample of the segment's fit that clears the threshold; nobody leaves for lack of
patience, so the load is an upper estimate: a warning, not a refusal.
"""

from __future__ import annotations

import numpy as np

from .schema import Scenario

__all__ = ["overloaded_roles", "OVERLOAD", "working_days"]


def _weekly_hours(scn: Scenario, calendar: str) -> float:
    if calendar == "always" or calendar not in scn.calendars:
        return 168.0
    cal = scn.calendars[calendar]
    return 24.0 * (cal.close - cal.open) * len(cal.days)


def working_days(scn: Scenario, calendar: str) -> int:
    """Working days a week of a role's calendar."""
    return 7 if calendar == "always" or calendar not in scn.calendars else len(scn.calendars[calendar].days)


def _segment_rates(scn: Scenario) -> dict[str, float]:
    """Buyers a week arriving in each segment, over every channel."""
    rates = dict.fromkeys(scn.market.segments, 0.0)
    for ch in scn.market.channels.values():
        mix = scn.market.segment_mix(ch.segment_tilt)
        for seg, share in mix.items():
            if seg in rates:
                rates[seg] += ch.rate_per_week * share
    return rates


def _mean(dist: object) -> float:
    try:
        value = dist.mean_value  # type: ignore[attr-defined]
        return float(value() if callable(value) else value)
    except (NotImplementedError, AttributeError, TypeError, ValueError, ZeroDivisionError):
        return 0.0


def _pass_share(scn: Scenario, fit: object, threshold: float, noise: float) -> float:
    """The share of buyers whose fit, as judged with ``noise``, clears a gate's threshold."""
    eff = scn.market.effects
    shift = eff.team_targets_threshold_shift if scn.kpi_alignment == "team_targets" else eff.north_star_threshold_shift
    rng = np.random.default_rng(0)
    try:
        seen = fit.sample(rng, 2000) + rng.normal(0.0, noise, 2000)  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return 1.0
    return float(np.mean(seen >= threshold + shift))


#: The estimate is generous (no one leaves, gates judged roughly): warn only well beyond
#: capacity. The shipped designs load their busiest role at up to ~1.4 x by this measure.
OVERLOAD = 2.0


def overloaded_roles(scn: Scenario, threshold: float = OVERLOAD) -> list[str]:
    """One line per role whose estimated load exceeds ``threshold`` x its capacity."""
    m = scn.market
    load: dict[str, float] = {}  # person-hours a week of occupied time
    arrivals: dict[str, float] = {}  # buyers a week reaching the role
    slow = m.effects.generalist_slowdown
    for seg_name, rate in _segment_rates(scn).items():
        seg = m.segments[seg_name]
        flow = rate * seg.contact_probability
        for act in m.journey.acquisition:
            route = scn.routing.get(act)
            role = route if isinstance(route, str) else (route or {}).get(seg_name)
            activity = m.activities.get(act)
            if role not in scn.roles or activity is None:
                continue
            spec = scn.roles[role]
            per_work = spec.time_per_work(slow if spec.generalist else 1.0, working_days(scn, spec.calendar))
            load[role] = load.get(role, 0.0) + flow * _mean(activity.work) * seg.work_scale * per_work * 24.0
            arrivals[role] = arrivals.get(role, 0.0) + flow
            if activity.kind in ("stage", "close"):
                flow *= seg.stage_conversion.get(act, 1.0)
            elif activity.kind == "gate":
                flow *= _pass_share(scn, seg.fit, activity.threshold, spec.judgement_noise)
    out = []
    for role, hours in load.items():
        spec = scn.roles[role]
        # A headcount plan counts at its mean over the run (attrition's vacancies are not counted).
        heads = spec.mean_planned_headcount(scn.simulation.horizon) if spec.headcount_plan else spec.headcount
        people = f"{heads:,.1f} people (the mean of its plan)" if spec.headcount_plan else f"{spec.headcount} people"
        capacity = heads * _weekly_hours(scn, spec.calendar)
        if hours > threshold * capacity and hours > 0:
            out.append(f"role {role!r} looks overloaded: about {arrivals[role]:,.1f} buyers a week bring "
                       f"~{hours:,.0f} hours of work a week, and its {people} can do "
                       f"~{capacity:,.0f}; its queue (and the buyers in flight) would grow all run long "
                       f"(add people: roles.{role}.headcount, or route work elsewhere)")
    return out
