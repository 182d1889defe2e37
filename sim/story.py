"""The story of one buyer, step by step, read from a replication's event log.

Each step is told with its time (day, weekday and clock; time 0 is Monday 00:00), the queue
and the role that served, the wait, handoffs and context losses, and every decision with
the probability it was drawn against. For buyers who came through a market channel the
story also shows the buyer's own draw: the market's streams are re-drawn from the seed
(common random numbers, :mod:`sim.market`), so the draw that decided each step is known.
Decisions after signature and in trials (community, check-in neglect, churn, referral,
expansion) are not re-derived here: the model records each with the terms of its
probability and its draw (``simulate(..., decisions=True)``, :class:`sim.context.Decision`)
and the story formats that record. :mod:`sim.trace` selects the buyers and prints their
stories.
"""

from __future__ import annotations

import itertools
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .calendar import build_calendar
from .market import (
    ENDOGENOUS_ID_BASE,
    Buyer,
    MarketPlan,
    buyer_chunks,
    plan_for,
    scheduled_buyers,
)
from .metrics import LOST_REASONS
from .schema import Scenario
from .streams import Streams

__all__ = ["REASONS", "WEEKDAYS", "Step", "ending", "format_story", "header", "market_buyers", "money", "span", "story",
           "when"]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

#: What each way of losing a buyer means, for the end of a story.
REASONS = {
    "left_after_research": "researched on their own and left without asking anyone",
    "never_followed_up": "the lead was dropped in the handoff before first response: nobody ever answered",
    "no_response": "gave up waiting for a first response (their patience ran out)",
    "bot_averse": "refused to deal with an AI agent",
    "went_cold": "the first response came too late: the buyer was no longer engaged",
    "disqualified": "judged not to fit: the observed fit was below the bar",
    "dropped_out": "dropped out between sales stages",
    "no_decision": "the buying group never decided",
    "lost_to_competitor": "chose another vendor",
    "trial_not_converted": "tried the product and did not buy",
}
assert set(REASONS) == set(LOST_REASONS)


@dataclass
class Step:
    """One step of a buyer's story (a row of ``--csv``)."""

    time: float
    step: str
    text: str
    role: str = ""
    activity: str = ""
    wait: float = float("nan")  # days
    probability: float = float("nan")
    draw: float = float("nan")
    outcome: str = ""
    consistent: bool | None = None  # the trace's reading of the draw agrees with the run


# ---------------------------------------------------------------- formatting


def when(t: float) -> str:
    """``day 11 Fri 19:40`` for a time in days (0 = Monday 00:00)."""
    minutes = round(t * 1440)
    day, minute = divmod(minutes, 1440)
    return f"day {day} {WEEKDAYS[day % 7]} {minute // 60:02d}:{minute % 60:02d}"


def span(d: float) -> str:
    """A length of time for people: ``under a minute``, ``35 min``, ``4 h 10 min``, ``2 d 15 h``."""
    minutes = d * 1440
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes:.0f} min"
    if d < 1:
        h, m = divmod(round(minutes), 60)
        return f"{h} h {m:02d} min" if m else f"{h} h"
    days, hours = divmod(round(d * 24), 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def money(x: float) -> str:
    return f"${x / 1e6:.2f}M" if x >= 1e6 else f"${x / 1e3:.1f}K"


def _chance(label: str, formula: str, p: float, u: float | None, yes: str, no: str,
            observed: bool | None = None) -> tuple[str, bool | None]:
    """``P(label) = formula = p; draw u -> yes`` and whether the draw agrees with ``observed``.

    A draw below ``p`` means yes. Without a draw the arrow shows what the run observed.
    """
    text = f"P({label}) = {formula}" + ("" if formula == f"{p:g}" else f" = {p:.3f}")
    if u is None:
        return text + ("" if observed is None else f" -> {yes if observed else no}"), None
    text += f"; draw {u:.3f} -> {yes if u < p else no}"
    return text, None if observed is None else (u < p) == observed


def _hours(cal: Any) -> str:
    if cal.always:
        return "24/7"
    days = sorted(cal.days)
    span_ = f"{WEEKDAYS[days[0]]}-{WEEKDAYS[days[-1]]}" if days == list(range(days[0], days[-1] + 1)) \
        else ",".join(WEEKDAYS[d] for d in days)
    return f"{span_} {_clock(cal.open_at)}-{_clock(cal.close_at)}"


def _clock(day_fraction: float) -> str:
    h, m = divmod(round(day_fraction * 1440), 60)
    return f"{h:02d}:{m:02d}"


# ---------------------------------------------------------------- the market's draws


def market_buyers(scn: Scenario, seed: int, ids: Sequence[int]) -> dict[int, Buyer]:
    """The buyers ``ids`` as the market drew them (attributes and every journey draw).

    Only buyers who came through a market channel can be re-drawn; buyers the organization
    created (outbound meetings, referrals) are left out.
    """
    wanted = {i for i in ids if i < ENDOGENOUS_ID_BASE}
    found: dict[int, Buyer] = {}
    if not wanted:
        return found
    streams, plan = Streams(seed), plan_for(scn)
    scheduled = scheduled_buyers(scn, streams, plan)
    last = max(wanted)
    for chunk in itertools.chain([scheduled], buyer_chunks(scn, streams, plan, len(scheduled))):
        for b in chunk:
            if b.id in wanted:
                b.engage()
                found[b.id] = b
        if len(found) == len(wanted) or (chunk and chunk is not scheduled and chunk[-1].id >= last):
            break
    return found


# ---------------------------------------------------------------- one buyer's story


class _Reader:
    """Walks one buyer's events and turns them into steps (see :func:`story`)."""

    def __init__(self, scn: Scenario, row: Any, buyer: Buyer | None):
        self.scn, self.row, self.b = scn, row, buyer
        self.m = scn.market
        self.eff = self.m.effects
        self.seg = self.m.segments[row.segment]
        self.plan: MarketPlan = plan_for(scn)
        self.acq = list(self.m.journey.acquisition)
        self.ret = list(self.m.journey.retention)
        self.cal = {n: build_calendar(c, scn.simulation) for n, c in scn.calendars.items()}
        self.steps: list[Step] = []
        self.pending_ctx = False
        self.rework_for: str | None = None
        self.losses = 0
        self.performer: str | None = None
        self.round = 0
        self.research_end: float | None = None
        self.trial_end: float | None = None
        self.activated = False
        #: The model's decisions for this buyer, by kind, in order (see sim.context.Decision).
        self.records: dict[str, list[Any]] = {}
        self.open_start: Step | None = None
        self.lazy = False
        #: The time of the event being read, and a reorganization's design before its switch
        #: (sim.transition): routing, bridges and levers are the design in force at that time.
        self.now = -math.inf
        change = scn.transition
        self.before = change.before if change is not None else None
        self.switch_at = change.at if change is not None else math.inf

    # -- helpers
    def u(self, slot: int) -> float | None:
        return None if self.b is None else self.b.u[slot]

    def design(self, at: float | None = None) -> Scenario:
        """The design in force at the event being read (or at ``at``)."""
        t = self.now if at is None else at
        return self.before if self.before is not None and t < self.switch_at else self.scn

    @property
    def shift(self) -> float:
        """The qualification bar's shift under the design's KPI alignment."""
        team = self.design().kpi_alignment == "team_targets"
        return self.eff.team_targets_threshold_shift if team else self.eff.north_star_threshold_shift

    def routed(self, activity: str, design: Scenario | None = None, at: float | None = None) -> str:
        route = (design or self.design(at)).routing.get(activity, "")
        return route if isinstance(route, str) else route[self.row.segment]

    def slot(self, activity: str) -> int:
        index = self.acq.index(activity) if activity in self.acq else len(self.acq) + self.ret.index(activity)
        return self.plan.activity_slot(index)

    def is_ai(self, role: str) -> bool:
        return role in self.design().roles and self.design().roles[role].kind == "ai"

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        return step

    def deliberates(self, activity: str) -> str:
        j = self.acq.index(activity)
        if self.b is None or self.b.deliberation[j] <= 0:
            return ""
        return f"; the buyer deliberates {span(self.b.deliberation[j])} before the next step"

    def consume_ctx(self) -> tuple[float, str]:
        if not self.pending_ctx:
            return 1.0, ""
        self.pending_ctx = False
        f = self.eff.context_loss_conversion_factor
        return f, f" x {f:g} (context lost)"

    # -- research and contact
    def decide_research(self, t: float, outcome: str) -> None:
        """The decision at the end of a research period; ``outcome`` is what the log shows."""
        seg, eff, ss = self.seg, self.eff, self.design().self_serve
        rep_free = None if self.b is None else self.b.rep_free
        u = self.u(self.plan.contact_slot(self.round))
        parts = []
        if ss is not None and rep_free:
            text, ok = _chance("start a self-serve trial", f"{ss.trial_probability:g}", ss.trial_probability, u,
                               "starts a trial", "no trial", None if u is None else outcome == "trial")
            parts.append(text)
            if u is not None and u < ss.trial_probability:
                self.add(Step(t, "research_ends", "research ends; " + "; ".join(parts), probability=ss.trial_probability,
                              draw=u, outcome="trial", consistent=ok))
                return
            u = None if u is None else (u - ss.trial_probability) / (1 - ss.trial_probability)
        p, formula = seg.contact_probability, f"{seg.contact_probability:g}"
        if rep_free:
            p *= eff.rep_free_contact_factor
            formula += f" x {eff.rep_free_contact_factor:g} (prefers a rep-free purchase)"
        nurture = next((a for a, act in self.m.activities.items() if act.kind == "nurture" and a in self.design().routing), None)
        if self.round > 0 and nurture is not None:
            p = min(1.0, p * eff.nurture_contact_uplift)
            formula += f" x {eff.nurture_contact_uplift:g} (nurtured)"
        if rep_free is None:
            formula += " (x the rep-free factor if the buyer prefers a rep-free purchase)"
        asked = outcome == "contact"
        text, ok = _chance("ask sales for contact", formula, p, u, "asks", "does not ask", asked)
        parts.append(text)
        decided, prob, draw = "contact", p, u
        if not (asked if u is None else u < p):
            keep = self.seg.keep_researching_probability if self.round < self.m.journey.max_nurture_rounds else 0.0
            uk = self.u(self.plan.keep_slot(self.round))
            text, ok2 = _chance("keep researching", f"{keep:g}", keep, uk, "keeps researching", "leaves",
                                outcome == "nurture")
            parts.append(text)
            ok = None if ok is None else bool(ok and ok2 is not False)
            decided, prob, draw = ("nurture" if (uk < keep if uk is not None else outcome == "nurture") else "leaves"), keep, uk
        label = "research ends" if self.round == 0 else f"research round {self.round} ends"
        self.add(Step(t, "research_ends", f"{label}; " + "; ".join(parts), probability=prob,
                      draw=np.nan if draw is None else draw, outcome=decided,
                      consistent=None if self.b is None else decided == outcome))

    def contact(self, t: float) -> None:
        end = self.research_end
        hours = build_calendar(self.m.buyer_hours, self.scn.simulation)
        if end is not None and t > end + 1e-9:
            share = self.m.contact_in_buyer_hours
            u = self.u(self.plan.hours_slot)
            self.add(Step(end, "waits_for_own_hours",
                          f"research ended outside the buyer's own working hours ({_hours(hours)}); "
                          f"P(wait for them to ask) = {share:g}" + ("" if u is None else f"; draw {u:.3f}")
                          + f" -> waits, asks at {when(t)}", probability=share, draw=np.nan if u is None else u,
                          outcome="waits", consistent=None if u is None else u < share))
        self.add(Step(t, "contact", "asks sales for contact"))
        self.research_end = None

    # -- handoffs and queues
    def handoff(self, t: float, role: str, activity: str, lost_ctx: bool, dropped: bool) -> None:
        sender, self.performer = self.performer, role
        scn, eff = self.design(), self.eff
        reorganized = t == self.switch_at and self.before is not None
        if reorganized and sender is None:  # the customer's owner under the design before
            sender = self.routed(activity, self.before)
        keep = 1.0 - scn.data_integration
        p, formula = eff.context_loss_probability * keep, f"{eff.context_loss_probability:g}"
        if scn.data_integration:
            formula += f" x (1 - {scn.data_integration:g} data integration)"
        spec = scn.roles.get(sender or "")
        if spec is not None and spec.team is not None and spec.team == scn.roles[role].team:
            p *= eff.same_unit_context_factor
            formula += f" x {eff.same_unit_context_factor:g} (same unit: {spec.team})"
        bridge = next((br for br in scn.bridges if br.sender == sender and br.receiver == role), None)
        if bridge is not None:
            p *= bridge.context_loss_factor
            formula += f" x {bridge.context_loss_factor:g} (bridge meeting)"
        slot = self.slot(activity)
        # A renewal's or an expansion's handoff is drawn from the customer's term draws, not
        # the market's: shown with its probability only.
        # So is the handover of a reorganization (its own keyed draws, sim.transition).
        repeats = self.m.activities[activity].kind in ("renewal", "expansion") or reorganized
        u = None if repeats else self.u(slot + 1)
        text = "the reorganization hands the account over: " if reorganized else ""
        text += f"handoff {sender} -> {role} for {activity}: P(context lost) = {formula}"
        text += (f" = {p:.3f}" if formula != f"{p:g}" else "")
        text += "" if u is None else f"; draw {u:.3f}"
        text += " -> context LOST (more work, lower odds next)" if lost_ctx else " -> context kept"
        consistent = None if u is None else (u < p) == lost_ctx
        kind = self.m.activities[activity].kind
        if kind == "contact" and bridge is None:
            drop = eff.first_response_handoff_drop * keep
            ud = self.u(slot)
            text += f"; P(lead dropped, never followed up) = {drop:.3f}" + ("" if ud is None else f"; draw {ud:.3f}")
            text += " -> DROPPED" if dropped else " -> picked up"
            consistent = consistent if ud is None else bool(consistent is not False and (ud < drop) == dropped)
        if lost_ctx:
            self.pending_ctx = True
            self.rework_for = activity  # rework on this activity only
            self.losses += 1
        self.add(Step(t, "handoff", text, role=role, activity=activity, probability=p,
                      draw=np.nan if u is None else u, outcome="context lost" if lost_ctx else "kept",
                      consistent=consistent))

    def start(self, t: float, queued: float, role: str, activity: str, wait: float, main_done: bool) -> None:
        spec = self.design().roles[role]
        cal = self.cal.get(spec.calendar)
        who = role
        if role != self.routed(activity):
            who = (f"{role} joins as a specialist (assist)" if self.design().assists.get(activity) == role and main_done
                   else f"{role} joins the first meeting (bridge)")
        text = f"{who} starts {activity}" if who == role else f"{who}: {activity}"
        text += f" after {span(wait)} in the queue" if wait > 0 else ", no wait"
        notes = []
        if cal is not None and cal.next_open(queued) > queued + 1e-9 and wait > 0:
            notes.append(f"queued outside {role}'s working hours ({_hours(cal)})")
        if spec.pickup_delay is not None and wait > 0 and role == self.routed(activity):
            notes.append(f"a person takes a while to pick up new work (pickup_delay mean {span(spec.pickup_delay.mean_value)})")
        if self.rework_for == activity and activity in self.acq and role == self.routed(activity):
            self.rework_for = None
            notes.append(f"context lost: +{self.eff.context_loss_rework_fraction:.0%} rework")
        if spec.kind == "ai":
            notes.append("an AI agent, 24/7" if spec.calendar == "always" else "an AI agent")
        if notes:
            text += " (" + "; ".join(notes) + ")"
        self.open_start = self.add(Step(t, "start", text, role=role, activity=activity, wait=wait))

    # -- decisions at an activity
    def contact_decision(self, t: float, role: str, activity: str, outcome: str) -> None:
        wait = float(self.row.first_response_wait)
        if self.is_ai(role):
            averse = None if self.b is None else self.b.averse
            p = self.seg.automation_aversion
            said = "averse" if averse else "not averse"
            text = f"an AI agent answers; P(buyer averse to bots) = {p:g} in {self.row.segment}"
            text += "" if averse is None else f": this buyer is {said}"
            if outcome == "bot_averse":
                self.add(Step(t, "decision", text + " -> refuses the bot", role=role, activity=activity,
                              probability=p, outcome="bot_averse", consistent=None if averse is None else bool(averse)))
                return
            self.add(Step(t, "decision", text, role=role, activity=activity, probability=p, outcome="accepts",
                          consistent=None if averse is None else not averse))
        d = self.eff.lead_decay
        engage = d.floor + (1 - d.floor) * 2.0 ** (-wait / d.half_life)
        factor, why = self.consume_ctx()
        p = engage * factor
        u = self.u(self.slot(activity) + 2)
        formula = f"{d.floor:g} + {1 - d.floor:g} x 2^(-wait / {span(d.half_life)}){why}"
        text, ok = _chance("still engaged", formula, p, u, "engages", "WENT COLD", outcome == "pass")
        self.add(Step(t, "decision", f"first response {span(wait)} after asking: {text}", role=role,
                      activity=activity, wait=wait, probability=p, draw=np.nan if u is None else u,
                      outcome="engages" if outcome == "pass" else outcome, consistent=ok))

    def gate_decision(self, t: float, role: str, activity: str, outcome: str) -> None:
        spec, act = self.design().roles[role], self.m.activities[activity]
        noise = self.eff.ai_judgement_noise if spec.kind == "ai" else spec.judgement_noise
        bar = act.threshold + self.shift
        fit = float(self.row.fit)
        p = 1.0 if noise == 0 and fit >= bar else 0.0 if noise == 0 else 0.5 * math.erfc((bar - fit) / (noise * math.sqrt(2)))
        why = "team targets" if self.design().kpi_alignment == "team_targets" else "north star"
        text = (f"{role} judges fit: true fit {fit:.2f}")
        observed = None
        if self.b is not None:
            observed = fit + noise * self.b.z[self.acq.index(activity)]
            text += f", observed {observed:.2f}"
        text += (f" (judgement noise sd {noise:g}) against the bar {bar:.2f} (threshold {act.threshold:g} "
                 f"{'-' if self.shift < 0 else '+'} {abs(self.shift):g} under {why}): P(pass) = {p:.3f}")
        passed = outcome == "pass"
        text += " -> passes" + self.deliberates(activity) if passed else " -> DISQUALIFIED"
        if any(r.discipline == "predicted_value" for r in self.design().roles.values()) and self.row.score == self.row.score:
            text += f"; predicted deal value {money(self.row.score)}"
        self.add(Step(t, "decision", text, role=role, activity=activity, probability=p, outcome=outcome,
                      consistent=None if observed is None else (observed >= bar - 1e-12) == passed))

    def stage_decision(self, t: float, role: str, activity: str, outcome: str) -> None:
        base = self.seg.stage_conversion.get(activity, 1.0)
        el, fit = self.eff.fit_elasticity, float(self.row.fit)
        factor, why = self.consume_ctx()
        p = min(base * max(0.0, 1.0 + el * (fit - 0.5)) * factor, 1.0)
        slot = self.slot(activity)
        u = self.u(slot + 2)
        text = (f"P(advance) = {base:g} ({self.row.segment} {activity}) x (1 + {el:g} x (fit {fit:.2f} - 0.5)){why}"
                f" = {p:.3f}")
        text += "" if u is None else f"; draw {u:.3f}"
        consistent = None if u is None else (u < p) == (outcome == "pass")
        if outcome == "pass":
            text += " -> advances" + self.deliberates(activity)
        else:
            text += f" -> LOST ({outcome})"
            if self.m.activities[activity].kind == "close":
                share = self.seg.no_decision_share
                ur = self.u(slot + 3)
                text += f"; P(no decision rather than a competitor) = {share:g}" + ("" if ur is None else f"; draw {ur:.3f}")
                if ur is not None:
                    consistent = bool(consistent and (ur < share) == (outcome == "no_decision"))
        self.add(Step(t, "decision", text, role=role, activity=activity, probability=p,
                      draw=np.nan if u is None else u, outcome=outcome, consistent=consistent))

    # -- decisions the model recorded (customer life, trials)
    def made(self, kind: str) -> Any:
        """The model's next recorded decision of ``kind`` for this buyer, or None."""
        queue = self.records.get(kind)
        return queue.pop(0) if queue else None

    def recorded(self, t: float, step: str, label: str, d: Any, yes: str, no: str, observed: bool | None,
                 role: str = "", activity: str = "") -> Step:
        """A step for a recorded decision ``d``: its terms, probability and draw, and whether
        the model's outcome agrees with what the event log shows (``observed``)."""
        formula = " x ".join(f"{f:.3g} ({why})" if why else f"{f:g}" for why, f in d.terms) or f"{d.probability:g}"
        text = f"P({label}) = {formula}" + ("" if len(d.terms) <= 1 else f" = {d.probability:.3f}")
        text += f"; draw {d.draw:.3f} -> {yes if d.outcome else no}"
        ok = bool(d.outcome == (d.draw < d.probability)) and (observed is None or bool(d.outcome) == observed)
        return self.add(Step(t, step, text, role=role, activity=activity, probability=d.probability, draw=d.draw,
                             outcome=yes if d.outcome else no, consistent=ok))

    def churn_step(self, t: float, role: str, activity: str, churned: bool, arr: float) -> None:
        d = self.made("churn")
        verdict = f"CHURNS, ARR {money(arr)} lost" if churned else f"renews at ARR {money(arr)}"
        if d is None:  # no record (a run made without decisions=True)
            self.add(Step(t, "renewal", f"renewal -> {verdict}", role=role, activity=activity,
                          outcome="churned" if churned else "renewed"))
            return
        step = self.recorded(t, "renewal", "churn", d, "churned", "renewed", churned, role, activity)
        step.text = "renewal: " + step.text.rsplit(" -> ", 1)[0] + f" -> {verdict}"
        if not churned:
            ref = self.made("refer")
            if ref is not None:
                who = f"refers buyer {int(ref.detail)}" if ref.outcome else "refers nobody"
                self.recorded(t, "referral", "refers a new buyer", ref, who, "refers nobody", None)
            exp = self.made("expansion_opportunity")
            if exp is not None:
                self.recorded(t, "expansion", "expansion opportunity", exp, "an opportunity", "no opportunity", None)

    def checkin_done(self, t: float, role: str) -> None:
        """A check-in ended: the model's record (made then) says whether it was neglect, having
        started later than the SLA after it was due."""
        queue = self.records.get("checkin_neglected")
        if queue and abs(queue[0].time - t) < 1e-9:
            d = queue.pop(0)
            self.add(Step(t, "checkin", f"the check-in started {span(d.detail)} after it was due, more than the "
                                        f"{span(self.m.journey.checkin_sla)} SLA: neglect, which adds churn risk "
                                        "at this term's renewal", role=role, outcome="neglected"))

    def trial_step(self, t: float, kind: str, observed: bool) -> None:
        d = self.made(kind)
        if d is None:
            text = ("trial ends: " + ("activated" if observed else "not activated")) if kind == "trial_activated" \
                else ("pays" if observed else "does not buy")
            self.add(Step(t, "trial", text))
        elif kind == "trial_activated":
            step = self.recorded(t, "trial", "reaches first value", d, "activated", "not activated", observed)
            step.text = "trial ends: " + step.text
        else:
            self.recorded(t, "trial", f"pays | {'activated' if self.activated else 'not activated'}", d, "pays",
                          "does not buy", observed)


def story(scn: Scenario, row: Any, events: pd.DataFrame, buyer: Buyer | None,
          decisions: pd.DataFrame | None = None) -> list[Step]:
    """The steps of one buyer (``row`` of the buyers table, ``events`` its own events in order).

    ``buyer``, when given, holds the market's draws for this buyer (see :func:`market_buyers`),
    so decisions show the draw as well as the probability.
    """
    r = _Reader(scn, row, buyer)
    if decisions is not None:
        for d in decisions.itertuples(index=False):
            r.records.setdefault(str(d.decision), []).append(d)
    m = scn.market
    evs = list(events[["time", "event", "role", "activity", "value"]].itertuples(index=False))
    queued: dict[tuple[str, str], float] = {}
    main_done: set[str] = set()
    i = 0
    while i < len(evs):
        t, event, role, activity, value = evs[i]
        role, activity, event = str(role), str(activity), str(event)
        r.now = t
        nxt = evs[i + 1] if i + 1 < len(evs) else None
        if r.lazy and event != "arrive":  # a buyer whose research time is not known: decided now
            r.research_end, r.lazy = t, False
        if r.research_end is not None and event != "arrive" and t >= r.research_end - 1e-9:
            outcome = {"trial": "trial", "contact": "contact", "nurture_return": "nurture",
                       "lost": "leaves"}.get(event, "nurture" if activity and m.activities[activity].kind == "nurture" else "?")
            r.decide_research(r.research_end, outcome)
            if outcome != "contact":
                r.research_end = None
        if event == "arrive":
            if role:  # an outbound meeting booked by a prospector
                r.performer = role
                r.add(Step(t, "arrive", f"a meeting booked by {role} through outbound prospecting "
                                        f"({row.segment}); joins the journey after first response", role=role))
            else:
                src = "referred by a customer" if row.source == "referral" else f"arrives through {row.channel}"
                text = f"{src} ({row.segment})"
                if buyer is not None:
                    text += (f"; researches on their own for {span(buyer.research_time)}" if buyer.research_time > 0
                             else "; no research of their own")
                    r.research_end = t + buyer.research_time
                else:
                    text += "; researches on their own"
                    r.lazy = True
                r.add(Step(t, "arrive", text))
        elif event == "nurture_return":
            r.round = int(value)
            r.add(Step(t, "research", f"after another research period, decides again (round {r.round})"))
            r.research_end = t  # decided at the next event, at this same moment
        elif event == "contact":
            r.contact(t)
        elif event == "trial":
            ss = r.design().self_serve
            r.trial_end = t + (ss.trial_length if ss else 0.0)
            r.add(Step(t, "trial", f"starts a {span(ss.trial_length if ss else 0)} self-serve trial"))
        elif event == "activated":
            r.activated = True
            r.trial_step(t, "trial_activated", True)
            if nxt is not None and str(nxt.event) == "contact":
                r.add(Step(t, "trial", f"ACV {money(row.acv)} >= {money(r.design().self_serve.pql_acv_threshold)}: "  # type: ignore[union-attr]
                                       f"a product-qualified lead, goes to sales at {r.design().self_serve.pql_entry}"))  # type: ignore[union-attr]
                r.performer = None
        elif event == "handoff":
            lost = nxt is not None and str(nxt.event) == "context_loss" and str(nxt.activity) == activity
            after = evs[i + 2] if lost and i + 2 < len(evs) else nxt
            dropped = after is not None and str(after.event) == "lost" and str(after.activity) == activity \
                and m.activities[activity].kind == "contact" and row.reason == "never_followed_up"
            r.handoff(t, role, activity, lost, dropped)
        elif event == "queue":
            queued[(role, activity)] = t
            kind: str = m.activities[activity].kind
            if role == r.routed(activity) and kind not in ("nurture", "checkin"):
                r.performer = role
        elif event == "start":
            since = queued.get((role, activity), t)
            r.start(t, since, role, activity, float(value), activity in main_done)
            if role == r.routed(activity, at=since):  # work in hand across a reorganization: its design then
                main_done.add(activity)
        elif event == "end":
            if r.open_start is not None and r.open_start.activity == activity:
                r.open_start.text += f"; done {when(t)} ({span(float(value))} of working time)"
            if m.activities[activity].kind == "checkin":
                r.checkin_done(t, role)
            since = queued.get((role, activity), t)
            if m.activities[activity].kind == "expansion" and role == r.routed(activity, at=since) and r.pending_ctx:
                r.pending_ctx = False
                kept = r.made("expansion_kept")
                if kept is not None:
                    step = r.recorded(t, "decision", "the expansion survives it", kept, "kept", "LOST with the context",
                                      None, role, activity)
                    step.text = "context was lost on this account: " + step.text
        elif event == "reassign" and nxt is not None and str(nxt.event) == "queue" and str(nxt.role) != role:
            r.add(Step(t, "reassign", f"the reorganization left {role} without anyone: the work on {activity} goes "
                                      f"to {nxt.role}", role=role, activity=activity))
        elif event == "reassign":
            r.add(Step(t, "reassign", f"the {role} person on {activity} leaves the company; what is left of the "
                                      f"work goes back to {role}'s queue, ahead of later work", role=role,
                       activity=activity))
        elif event == "renege":
            patience = "" if buyer is None else f" (patience {span(buyer.patience)})"
            r.add(Step(t, "renege", f"gives up after waiting {span(float(value))}{patience}: nobody had started "
                                    f"on {activity}", role=role, activity=activity, wait=float(value), outcome="no_response"))
        elif event in ("pass", "lost"):
            outcome = "pass" if event == "pass" else str(row.reason)
            kind = m.activities[activity].kind if activity else ""
            routed = r.routed(activity) if activity else ""
            if event == "lost" and outcome in ("left_after_research", "never_followed_up", "no_response",
                                               "trial_not_converted"):
                if outcome == "trial_not_converted":
                    if not r.activated:
                        r.trial_step(t, "trial_activated", False)
                    r.trial_step(t, "trial_paid", False)
            elif kind == "contact":
                r.contact_decision(t, routed, activity, outcome)
            elif kind == "gate":
                r.gate_decision(t, routed, activity, outcome)
            elif kind in ("stage", "close"):
                r.stage_decision(t, routed, activity, outcome)
        elif event == "won":
            if r.trial_end is not None and row.source == "trial":
                if not r.activated:
                    r.trial_step(t, "trial_activated", False)
                r.trial_step(t, "trial_paid", True)
            r.add(Step(t, "won", f"SIGNS: a customer at ACV {money(float(value))}", outcome="won"))
            joined = r.made("community")
            if joined is not None and joined.probability > 0:  # a design with a customer community
                r.recorded(t, "community", "joins the customer community", joined, "joins", "does not join",
                           bool(row.community))
        elif event == "onboarded":
            target = r.seg.ttv_target
            late = "MISSED" if bool(row.ttv_missed) else "within"
            r.add(Step(t, "onboarded", f"onboarded: time to value {span(float(value))}, {late} the {span(target)} "
                                       "target" + (" (a churn risk at every renewal)" if late == "MISSED" else "")))
        elif event in ("renewed", "churned"):
            r.churn_step(t, role, activity, event == "churned", float(value))
        elif event == "expanded":
            r.add(Step(t, "expanded", f"expands: ARR + {money(float(value))}", role=role, outcome="expanded"))
        i += 1
    if r.research_end is not None:
        r.add(Step(r.research_end, "research", "still researching when the run ended"))
    return r.steps


def _renewal(m: Any) -> str | None:
    return next((a for a in m.journey.retention if m.activities[a].kind == "renewal"), None)


def ending(scn: Scenario, row: Any) -> str:
    """The end state of a buyer, in one line."""
    if row.state == "lost":
        at = f" at {row.lost_activity}" if row.lost_activity else ""
        return f"END: lost, {row.reason}{at} ({when(row.lost_at)}): {REASONS.get(row.reason, '')}"
    if row.state == "active":
        return f"END: a customer when the run ended, ARR {money(row.arr)}"
    if row.state == "churned":
        return f"END: churned {when(row.churned_at)}, after {span(row.churned_at - row.won_at)} as a customer"
    return f"END: still in the journey when the run ended ({when(scn.simulation.horizon)})"


def header(scn: Scenario, row: Any, buyer: Buyer | None) -> str:
    if row.source == "installed":
        return (f"customer {row.id} in {scn.name}: {row.segment}, of the installed base (a customer for "
                f"{span(-row.won_at)} at the start), ARR {money(row.acv)}, fit {row.fit:.2f} (its draws are "
                "keyed by segment and index: probabilities only)")
    text = (f"buyer {row.id} in {scn.name}: {row.segment}, {row.source} via {row.channel}, ACV {money(row.acv)}, "
            f"fit {row.fit:.2f}")
    if buyer is not None:
        text += (f", prefers a rep-free purchase: {'yes' if buyer.rep_free else 'no'}, averse to bots: "
                 f"{'yes' if buyer.averse else 'no'}, patience {span(buyer.patience)}")
    else:
        text += " (created by the organization: its draws are not re-drawn, probabilities only)"
    return text


def format_story(scn: Scenario, row: Any, steps: list[Step], buyer: Buyer | None, width: int = 110) -> str:
    """A story as text: a header, one line per step (wrapped), and the end."""
    lines = [header(scn, row, buyer)]
    for s in steps:
        stamp = f"  {when(s.time):<17} "
        body = s.text + ("  [the trace's reading of this draw disagrees with the run]" if s.consistent is False else "")
        lines += textwrap.wrap(body, width=width, initial_indent=stamp, subsequent_indent=" " * len(stamp))
    lines.append(f"  {ending(scn, row)}")
    return "\n".join(lines)
