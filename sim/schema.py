"""The scenario schema: market, organization and model effects, validated by pydantic v2.

Every field carries its meaning in ``description``; ``orgsim schema`` prints them as JSON
Schema. Times are days (units accepted, see :mod:`sim.units`); money is US dollars a year
unless a name says otherwise; probabilities are in [0, 1].
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator

from .distributions import Distribution, Quantity
from .kpis import COHORT_NAMES

__all__ = [
    "Probability",
    "Simulation",
    "Segment",
    "Channel",
    "LeadDecay",
    "Activity",
    "Journey",
    "Effects",
    "Market",
    "InstalledBase",
    "InstalledSegment",
    "COHORT_NAMES",
    "Calendar",
    "Role",
    "HeadcountStep",
    "HiringRule",
    "Seasonality",
    "Scenario",
    "Fallback",
    "Transition",
    "ACTIVITY_KINDS",
]


def _not_bool(value: object) -> object:
    if isinstance(value, bool):  # YAML's true would otherwise count as 1
        raise ValueError("expected a number, not a boolean")
    return value


#: Numbers in a scenario. A boolean is not one (pydantic would read ``true`` as 1).
Int = Annotated[int, BeforeValidator(_not_bool)]
Float = Annotated[float, BeforeValidator(_not_bool)]
Probability = Annotated[Float, Field(ge=0, le=1)]
NonNegative = Annotated[Float, Field(ge=0, le=1e6)]
Duration = Annotated[Quantity, Field(ge=0)]
PositiveDuration = Annotated[Quantity, Field(gt=0)]

#: What each kind of activity does in the journey (see :mod:`sim.journey`).
ACTIVITY_KINDS = ("gate", "contact", "stage", "close", "onboarding", "checkin", "renewal", "expansion", "nurture")


class _Strict(BaseModel):
    # A default is given as Field(default=...): mypy reads a positional one as no default, and then
    # wants the argument wherever the model is built without it (Calendar(), default_factory=Effects).
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Simulation(_Strict):
    """Length of a run and how many replications an experiment makes."""

    horizon: PositiveDuration = Field(
        default=1095.0, le=36_500,
        description="Simulated time from an empty organization, days (at most 100 years: curves are kept by month).",
    )
    warmup: Duration = Field(default=182.5, description="Initial period excluded from the KPIs, days.")
    reps: Int = Field(default=10, ge=1, description="Replications per scenario.")
    seed: Int = Field(default=20261124, ge=0, description="Root seed; each replication derives its own.")
    max_buyers: Int = Field(
        default=2_000_000, ge=1, description="Refuse to run a replication expected to create more buyers."
    )
    max_customer_years: Float = Field(
        default=5_000_000, ge=1, description="Refuse to run a replication expected to simulate more customer-years."
    )
    start_date: datetime.date = Field(
        default=datetime.date(2027, 1, 4),
        description="The calendar date of time 0, a Monday (YYYY-MM-DD): where calendars' holidays fall in the run.",
    )

    @model_validator(mode="after")
    def _warmup_inside_horizon(self) -> Simulation:
        if self.warmup >= self.horizon:
            raise ValueError(f"horizon {self.horizon:g} d must exceed warmup {self.warmup:g} d")
        return self


class Segment(_Strict):
    """A kind of buyer (e.g. SMB, mid-market, enterprise) and what they are worth."""

    share: Probability = Field(description="Share of inbound buyers in this segment (shares sum to 1).")
    acv: Distribution = Field(description="Annual contract value at signature, $.")
    fit: Distribution = Field(description="Product fit in [0, 1]; drives qualification and conversion.")
    contact_probability: Probability = Field(
        description="P(buyer contacts sales after self-directed research)."
    )
    keep_researching_probability: Probability = Field(
        0.0, description="P(buyer who did not contact goes on researching: a nurture candidate)."
    )
    rep_free_preference: Probability = Field(
        description="P(buyer prefers a rep-free purchase); they contact sales less (effects.rep_free_contact_factor)."
    )
    automation_aversion: Probability = Field(
        description="P(buyer refuses an interaction with an AI agent and disengages)."
    )
    patience: Distribution = Field(description="How long a buyer waits for a first response before leaving, days.")
    research_time: Distribution = Field(description="Self-directed research before the first decision, days.")
    stage_conversion: dict[str, Probability] = Field(
        default_factory=dict,
        description="Base P(advance) after each stage/close activity, for a buyer of average fit.",
    )
    no_decision_share: Probability = Field(0.5, description="Share of lost deals lost to 'no decision'.")
    deliberation_scale: Float = Field(1.0, gt=0, description="Multiplier on every buyer deliberation time.")
    work_scale: Float = Field(1.0, gt=0, description="Multiplier on the work content of every activity.")
    time_to_value: Distribution = Field(description="Buyer-side onboarding time after the kickoff, days.")
    ttv_target: PositiveDuration = Field(description="Onboarding later than this after signature counts as missed.")
    contract_term: PositiveDuration = Field(365.0, description="Length of each contract term, days.")
    base_churn_annual: Probability = Field(description="P(churn) in a year for a healthy customer.")
    expansion_probability: Probability = Field(0.0, description="P(expansion) at a renewal.")
    expansion_uplift: Float = Field(0.0, ge=0, description="ARR increase when a customer expands (fraction).")
    gross_margin: Probability = Field(0.78, description="Gross margin on ARR.")


class Channel(_Strict):
    """An inbound source of buyers: a Poisson stream."""

    rate_per_week: Float = Field(0.0, ge=0, le=1e7, description="Mean buyers arriving per week (24/7).")
    arrivals_at: list[Duration] = Field(
        default_factory=list, max_length=100_000,
        description="Fixed arrival times (e.g. an event's leads), days from the start; added to the Poisson stream.",
    )
    segment_tilt: dict[str, NonNegative] | None = Field(
        None, description="How much more (or less) of each segment this channel brings than the market's "
        "shares: its buyers' segments are the shares times these weights, renormalized; 1 for a segment not named.",
    )


class LeadDecay(_Strict):
    """P(engage) after a wait w: floor + (1 - floor) * 2 ** (-w / half_life)."""

    half_life: PositiveDuration = Field(default=1 / 24, description="Wait that halves the decaying part, days.")
    floor: Probability = Field(default=0.3, description="Engagement that never decays.")


class Activity(_Strict):
    """A piece of work done for a buyer by the role routed to it."""

    kind: Literal["gate", "contact", "stage", "close", "onboarding", "checkin", "renewal", "expansion", "nurture"] = Field(
        description="What the activity does in the journey."
    )
    work: Distribution = Field(description="Work content in productive role time, days (units accepted: 30min, 2h).")
    deliberation: Distribution | None = Field(
        None, description="Buyer's own time after the activity before the next step, days."
    )
    threshold: Probability = Field(
        0.0, description="For gates: a buyer passes when the observed fit is at least this."
    )


class Journey(_Strict):
    """Which activities a buyer goes through, in order."""

    acquisition: list[str] = Field(description="Activities from first touch to signature, in order.")
    retention: list[str] = Field(
        default_factory=list, description="Customer-life activities used (onboarding, checkin, renewal)."
    )
    checkin_interval: PositiveDuration = Field(91.25, description="Time between customer check-ins, days.")
    checkin_sla: PositiveDuration = Field(14.0, description="A check-in waiting longer than this is neglect.")
    max_nurture_rounds: Int = Field(1, ge=0, le=20, description="Times a buyer can be nurtured back.")


class Effects(_Strict):
    """Model effects: each a named assumption with a documented source."""

    lead_decay: LeadDecay = Field(default_factory=LeadDecay)
    rep_free_contact_factor: Float = Field(
        default=0.6, ge=0, le=1, description="Multiplier on contact_probability for rep-free-preferring buyers."
    )
    context_loss_probability: Probability = Field(
        default=0.25, description="P(context lost) at a handoff between roles or teams, with no data integration."
    )
    context_loss_conversion_factor: Probability = Field(
        default=0.6, description="Multiplier on the next P(advance) when context was lost."
    )
    context_loss_rework_fraction: Float = Field(
        default=0.5, ge=0, le=10, description="Extra work (fraction) on the activity after a context loss."
    )
    first_response_handoff_drop: Probability = Field(
        default=0.23, description="P(lead never followed up) when first response comes after a handoff."
    )
    fit_elasticity: Float = Field(
        default=1.0, ge=0, le=10, description="P(advance) multiplier slope: 1 + elasticity * (fit - 0.5)."
    )
    nurture_contact_uplift: Float = Field(
        default=1.0, ge=0, le=10, description="Multiplier on contact_probability after a nurture touch."
    )
    ttv_missed_churn_multiplier: Float = Field(
        default=2.0, ge=0, le=100, description="Churn multiplier for customers whose onboarding missed its target."
    )
    context_loss_churn_uplift: Float = Field(
        default=0.1, ge=0, le=10, description="Churn multiplier increment per context loss on the account."
    )
    neglect_churn_uplift: Float = Field(
        default=0.15, ge=0, le=10, description="Churn multiplier increment per neglected check-in in the term."
    )
    generalist_slowdown: Float = Field(
        default=1.15, ge=1, le=10, description="Work multiplier for generalist roles (specialists are faster)."
    )
    ai_judgement_noise: Float = Field(
        default=0.2, ge=0, le=5, description="SD of the error in an AI agent's view of buyer fit."
    )
    ltv_max_years: Float = Field(default=10.0, gt=0, le=100, description="Cap on expected customer lifetime in LTV.")
    same_unit_context_factor: Probability = Field(
        default=0.3, description="Multiplier on P(context lost) at a handoff inside one organizational unit."
    )
    team_targets_threshold_shift: Float = Field(
        default=-0.1, ge=-1, le=1, description="Gate thresholds move by this under separate team targets (MQL, meetings)."
    )
    north_star_threshold_shift: Float = Field(
        default=0.05, ge=-1, le=1, description="Gate thresholds move by this under a shared north-star KPI."
    )
    community_churn_factor: Float = Field(default=0.8, ge=0, le=10, description="Churn multiplier for community members.")
    community_referral_factor: Float = Field(default=1.5, ge=0, le=10, description="Referral multiplier for community members.")
    expansion_at_risk_factor: Probability = Field(
        default=0.3, description="Multiplier on expansion_probability for a customer at risk this term "
                         "(assumption; plausible range 0.1-0.8)."
    )
    fit_churn_elasticity: Float = Field(
        default=1.0, ge=0, le=10,
        description="Churn multiplier slope on the customer's fit: max(0, 1 - elasticity * (fit - 0.5)), so a "
                    "weak deal (fit 0.3) churns 1.2x as often at 1.",
    )
    fit_expansion_elasticity: Float = Field(
        default=1.0, ge=0, le=10,
        description="Expansion multiplier slope on the customer's fit: max(0, 1 + elasticity * (fit - 0.5)).",
    )
    continuity_churn_uplift: Float = Field(
        default=0.1, ge=0, le=10,
        description="Churn multiplier increment per owner beyond the first: 1 + uplift * (distinct owners since "
                    "signature - 1), an owner being a role, or a team of a role split into teams.",
    )



class Outbound(_Strict):
    """Accounts the organization can prospect; how prospecting turns into meetings."""

    target_accounts: Int = Field(default=5000, ge=0, description="Accounts in the prospecting pool.")
    work_per_attempt: PositiveDuration = Field(
        default=0.0104166667, description="Productive time per prospecting attempt, days (15 min)."
    )
    meeting_probability: Probability = Field(
        default=0.02, description="P(an attempt books a meeting) with a fresh pool, human prospector."
    )
    ai_meeting_factor: Float = Field(
        default=0.65, ge=0, le=5,
        description="Meeting-booked multiplier for AI prospectors (0.7% vs 1.1%: docs/sources.md#S-ai-sdr-email-study-2026).",
    )
    segment_tilt: dict[str, NonNegative] | None = Field(
        default=None, description="Weights on the market's segment shares for the accounts outbound books "
        "(as a channel's segment_tilt); 1 for a segment not named.",
    )


class Referrals(_Strict):
    """Customers who bring other buyers: the flywheel."""

    probability_per_renewal: Probability = Field(
        default=0.15, description="P(a healthy customer refers a buyer at each renewal)."
    )
    unhealthy_factor: Probability = Field(default=0.3, description="Multiplier on that P for customers at risk.")
    research_factor: Float = Field(default=0.5, ge=0, le=10, description="Referred buyers research this much as long.")
    fit_bonus: Float = Field(default=0.1, ge=-1, le=1, description="Added to a referred buyer's fit.")


class Finance(_Strict):
    """How money later is valued now."""

    discount_rate: Float = Field(
        default=0.0, ge=0, le=1,
        description="Annual discount rate on future gross margin in LTV (0: undiscounted; assumption, "
                    "plausible range 0.08-0.15 for a software company's cost of capital).",
    )


class InstalledSegment(_Strict):
    """The customers of one segment the company already has when the run starts."""

    customers: Int = Field(default=0, ge=0, le=1_000_000, description="Customers of this segment at the start.")
    arr: Distribution = Field(description="ARR of each at the start, $.")
    tenure: Distribution = Field(
        description="How long each has been a customer at the start, days: its renewals fall every contract_term "
                    "from its signature, so tenure spreads them through the window."
    )


class InstalledBase(_Strict):
    """Customers on contract when the run starts, served by the design's customer-side roles from day one."""

    segments: dict[str, InstalledSegment] = Field(
        default_factory=dict, description="Segment -> its installed customers (none: the company starts empty)."
    )




class Market(_Strict):
    """The world every design in a comparison shares."""

    segments: dict[str, Segment] = Field(min_length=1)
    channels: dict[str, Channel] = Field(min_length=1)
    activities: dict[str, Activity] = Field(min_length=1)
    journey: Journey
    effects: Effects = Field(default_factory=Effects)
    outbound: Outbound = Field(default_factory=Outbound)
    referrals: Referrals = Field(default_factory=Referrals)
    finance: Finance = Field(default_factory=Finance)
    installed_base: InstalledBase = Field(
        default_factory=InstalledBase,
        description="Customers the company already has at the start (a design may declare its own).",
    )
    seasonality: Seasonality | None = Field(
        default=None, description="Demand over the year: multipliers on every channel's Poisson rate by month (and "
                                  "weekday), a non-homogeneous Poisson stream drawn by thinning (none: a constant rate).",
    )
    marketing_program_cost_annual: Float = Field(
        0.0, ge=0, description="Non-people marketing spend a year (acquisition cost), $."
    )
    job_costs: dict[str, Float] = Field(
        default_factory=dict,
        description="Loaded cost a year of one person in each job (sdr, ae, csm...), $: a role's mix is costed from it.",
    )
    job_ramp_times: dict[str, PositiveDuration] = Field(
        default_factory=dict,
        description="Time a new hire in each job takes to reach full productivity, days: a role's mix gives its ramp_time.",
    )
    buyer_hours: Calendar = Field(
        default_factory=lambda: Calendar(), description="The buyers' own working hours."
    )
    contact_in_buyer_hours: Probability = Field(
        0.0, description="P(a buyer whose research ends outside buyer_hours waits for them to ask for contact)."
    )

    def segment_mix(self, tilt: Mapping[str, float] | None = None) -> dict[str, float]:
        """The segments of a stream of buyers: the market's shares times ``tilt`` (1 for a segment
        it does not name), renormalized. One rule for channels, outbound and referrals, so a change
        of the market's shares reaches every stream (all zero where the tilt leaves nothing)."""
        weights = {s: seg.share * (tilt or {}).get(s, 1.0) for s, seg in self.segments.items()}
        total = sum(weights.values())
        return {s: w / total for s, w in weights.items()} if total > 0 else weights


#: A day of the week, as a calendar names it.
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _workweek() -> list[Weekday]:
    return ["mon", "tue", "wed", "thu", "fri"]


class Calendar(_Strict):
    """When a role works. Time 0 is Monday 00:00."""

    days: list[Weekday] = Field(default_factory=_workweek, min_length=1)
    open: Duration = Field(default=0.375, le=1, description="Opening time of day (e.g. 9h), days.")
    close: Duration = Field(default=0.7083333333333334, le=1, description="Closing time of day (e.g. 17h), days.")
    country: str | None = Field(
        default=None, min_length=2, max_length=3,
        description="Closed on this country's public holidays (ISO code: JP, US, GB, ...), from the holidays package.",
    )
    holidays: list[datetime.date] = Field(
        default_factory=list, max_length=10_000,
        description="More days off (YYYY-MM-DD): company holidays, a summer or year-end shutdown.",
    )

    @model_validator(mode="after")
    def _open_before_close(self) -> Calendar:
        if not self.open < self.close:
            raise ValueError(f"expected open < close (open {self.open * 24:g} h, close {self.close * 24:g} h)")
        return self


#: A month of the year, as seasonality names it.
Month = Literal["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


class Seasonality(_Strict):
    """Demand that varies over the year and the week: multipliers on every channel's rate.

    A month is 365/12 days, counted from ``start_month``; a weekday is a calendar day (time 0
    is Monday 00:00). Scheduled arrivals (``arrivals_at``) are not scaled.
    """

    months: dict[Month, NonNegative] = Field(
        description="Multiplier on the arrival rate in each month, jan ... dec (every month named; 1 = the channel's rate)."
    )
    weekdays: dict[Weekday, NonNegative] | None = Field(
        default=None, description="Multiplier on the arrival rate on each weekday, mon ... sun (every day named; none: 1)."
    )
    start_month: Month = Field(default="jan", description="The month the run starts in (time 0).")


class HeadcountStep(_Strict):
    """One step of a headcount plan: ``n`` people from time ``at`` on."""

    at: Duration = Field(description="From when, days from the start (units accepted: 6mo); the first step is at 0.")
    n: Int = Field(ge=0, le=100_000, description="People in the role from then on.")


class HiringRule(_Strict):
    """Hire when the role stays busy: at each review, if its utilization over the period just
    ended was above ``above``, open a requisition for one more person (one open at a time),
    who joins ``time_to_hire`` later and ramps up."""

    above: Float = Field(gt=0, le=1, description="Utilization over a review period that opens a requisition.")
    review: PositiveDuration = Field(
        default=30.416666666666668, description="How often utilization is reviewed, over the period just ended, days.",
    )
    max_headcount: Int = Field(ge=1, le=100_000, description="The rule hires no one beyond this many people in the role.")


class Role(_Strict):
    """A staffed queue: headcount servers working to a calendar."""

    headcount: Int = Field(
        ge=0, le=100_000, description="People (or AI agent instances) in the role; written as a list of steps "
                                      "[{at: 0, n: 5}, {at: 6mo, n: 8}], the headcount at the start (see headcount_plan).",
    )
    headcount_plan: list[HeadcountStep] = Field(
        default_factory=list, max_length=1000,
        description="The headcount over time, steps {at, n} in time order from at: 0 (what headcount: [...] writes; "
                    "empty: headcount throughout). People joining at a step ramp up; people leaving finish their job in hand.",
    )
    ramp_time: PositiveDuration | None = Field(
        default=None, description="Time a new hire takes to reach full productivity, linearly from ramp_start, days "
                                  "(none: its mix's market.job_ramp_times, else productive at once). Cost runs from day one.",
    )
    ramp_start: Float = Field(
        default=0.25, gt=0, le=1, description="A new hire's productivity on their first day, as a share of a ramped person's.",
    )
    attrition_annual: Float = Field(
        default=0.0, ge=0, lt=1, description="P(a person leaves within a year); a leaver's job in hand returns to the "
                                             "queue, and the seat is refilled after time_to_hire by a new hire, who ramps.",
    )
    time_to_hire: Duration = Field(
        default=60.0, le=3650, description="Time from a leaver's departure until their backfill starts, days.",
    )
    kind: Literal["human", "ai"] = Field("human", description="AI agents trigger automation aversion.")
    calendar: str = Field("business_hours", description="Name of a calendar, or 'always' for 24/7.")
    loaded_cost_annual: Float = Field(0.0, ge=0, description="Fully loaded cost per head a year, $.")
    cost_per_task: Float = Field(0.0, ge=0, description="Cost per activity performed (AI usage), $.")
    productive_share: Float = Field(
        1.0, ge=0.01, le=1, description="Share of working time spent on modelled activities."
    )
    generalist: bool = Field(False, description="Does many kinds of work (effects.generalist_slowdown).")
    judgement_noise: Float = Field(0.15, ge=0, le=5, description="SD of the error in judging buyer fit.")
    teams: Int = Field(
        1, ge=1, le=10_000,
        description="Split the headcount into this many pinned teams (= headcount: one named owner per buyer).",
    )
    team: str | None = Field(
        None, description="Organizational unit; handoffs inside a unit lose less context (effects.same_unit_context_factor)."
    )
    pickup_delay: Distribution | None = Field(
        None, description="Working time before a free person picks up newly queued work, days."
    )
    discipline: Literal["fifo", "predicted_value"] = Field(
        "fifo", description="Queue order: first come first served, or highest predicted deal value first."
    )
    scoring_accuracy: Probability = Field(
        0.5, description="How well this role predicts deal value when it scores leads (1 = perfectly)."
    )
    prospecting_share: Float = Field(
        0.0, ge=0, le=0.95, description="Share of productive time spent prospecting outbound (see market.outbound)."
    )
    mix: dict[str, Float] = Field(
        default_factory=dict,
        description="The jobs a head of this role stands for, as counts or shares (a pod: {sdr: 1, ae: 2, csm: 1}); "
                    "without a stated loaded_cost_annual, the cost per head is their mean market.job_costs.",
    )
    platform_cost_annual: Float = Field(
        0.0, ge=0, description="Fixed cost a year of the role's platform (AI licence, infrastructure), $, whatever the headcount."
    )
    operations_cost_annual: Float = Field(
        0.0, ge=0, description="Cost a year of the people who tend the role's agents (upkeep, review, escalations), $."
    )
    follows_up_every_lead: bool = Field(
        False, description="A follow-up SLA: no lead handed to this role before first response is dropped in the handoff."
    )
    hiring: HiringRule | None = Field(
        None, description="Hire on demand: one more person whenever the role stays busier than a target (none by default).",
    )
    vacation_days: Float = Field(
        0.0, ge=0, le=200, description="Working days a year each person is away (vacation, training, sick leave), "
                                       "spread evenly: the role's capacity shrinks by that share of its working days.",
    )

    @model_validator(mode="before")
    @classmethod
    def _plan_from_headcount(cls, data: object) -> object:
        # headcount: [{at, n}, ...] is the plan; headcount itself then holds the first step's n.
        if isinstance(data, dict) and isinstance(data.get("headcount"), list) and data["headcount"]:
            data = dict(data)
            plan = data.pop("headcount")
            data["headcount_plan"] = plan
            first = plan[0] if plan and isinstance(plan[0], dict) else {}
            n = first.get("n", 0)
            data["headcount"] = n if isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 100_000 else 0
        return data

    def time_per_work(self, slowdown: float, days_per_week: float) -> float:
        """Occupied time per unit of work: specialists 1, generalists ``slowdown``, and only part of a
        person's working time goes to the journey's activities (the rest is unmodelled work,
        prospecting, and the days away), on a calendar of ``days_per_week`` working days."""
        away = self.vacation_days / (days_per_week * 365.0 / 7.0)
        return slowdown / (self.productive_share * (1.0 - self.prospecting_share) * (1.0 - away))

    def steps(self) -> list[tuple[float, int]]:
        """The headcount plan as (from when, people); one step at 0 for a constant headcount."""
        return [(s.at, s.n) for s in self.headcount_plan] or [(0.0, self.headcount)]

    @property
    def peak_headcount(self) -> int:
        """The most people the role ever has."""
        return max(n for _, n in self.steps())

    @property
    def capacity_changes(self) -> bool:
        """Do people join or leave during a run (a plan that changes, attrition, or hiring on demand)?"""
        return self.attrition_annual > 0 or len({n for _, n in self.steps()}) > 1 or self.hiring is not None

    def mean_planned_headcount(self, horizon: float) -> float:
        """The plan's headcount averaged over [0, horizon) (attrition's vacancies not counted)."""
        steps = self.steps()
        if len(steps) == 1:
            return steps[0][1]
        ends = [at for at, _ in steps[1:]] + [horizon]
        return sum(n * max(0.0, min(end, horizon) - min(at, horizon)) for (at, n), end in zip(steps, ends)) / horizon


class Bridge(_Strict):
    """A joint meeting across a seam: the sender stays on the receiver's first activity."""

    sender: str = Field(description="Role handing the buyer over.")
    receiver: str = Field(description="Role taking the buyer over.")
    context_loss_factor: Probability = Field(
        0.1, description="Multiplier on P(context lost) at this seam (10% -> 2-3%: docs/sources.md#A-bridge-sales)."
    )
    sender_work: Duration = Field(
        0.03125, description="Sender's time in the joint meeting, days (0.75 h: docs/sources.md#A-bridge-sales)."
    )


class SelfServe(_Strict):
    """A product trial for buyers who prefer a rep-free purchase (product-led growth)."""

    trial_probability: Probability = Field(0.8, description="P(rep-free buyer starts a trial after research).")
    trial_length: PositiveDuration = Field(14.0, description="Trial length, days (62% of products: 14 d).")
    activation_probability: Probability = Field(0.4, description="P(trial user reaches first value), at average fit.")
    paid_if_activated: Probability = Field(0.3, description="P(activated trial converts to paid).")
    paid_if_not_activated: Probability = Field(0.06, description="P(non-activated trial converts to paid).")
    pql_acv_threshold: Float = Field(
        20000, ge=0, description="Activated trials at or above this ACV go to sales as product-qualified leads, $."
    )
    pql_entry: str = Field("discovery", description="Acquisition activity where a PQL joins the sales journey.")


class Fallback(_Strict):
    """A person who takes over a buyer who refuses an AI agent at first response."""

    role: str = Field(description="A human role that answers the buyers who refuse the bot.")
    delay: Duration = Field(
        default=1.0, description="Time from the refusal until the buyer joins that role's queue, days."
    )
    penalty: Probability = Field(
        default=0.8, description="Multiplier on P(still engaged) at the person's first response (the buyer "
                                 "already met a bot they did not want).",
    )


class Transition(_Strict):
    """The reorganization: a run starts as another design and becomes this one at ``at``.

    Until ``at`` the organization is ``from_design``'s (its roles, routing and levers, on this
    file's market); from then on it is this file's. The roles of the design before go to no one
    at ``at`` (finishing their job in hand); its people move to the roles that grow and re-ramp;
    waiting work goes to the role the new design routes it to; a buyer's next activity with the
    new structure is a handoff. See :mod:`sim.transition`.
    """

    from_design: str = Field(
        description="Path of the design the organization starts as (relative to this file); its market is not used.",
    )
    at: PositiveDuration = Field(description="When the new design takes over, days from the start (units accepted: 6mo).")
    one_off_cost: Float = Field(
        default=0.0, ge=0, le=1e12, description="Cost of the reorganization itself (project, training, severance), $, "
                                                "booked in the month of the switch.",
    )
    reramp_start: Float = Field(
        default=0.7, gt=0, le=1, description="Productivity of a person moved into a new role on the day of the switch, "
                                             "as a share of a ramped person's.",
    )
    reramp_time: PositiveDuration = Field(
        default=60.0, description="Time a moved person takes to be fully productive in their new role, linearly from "
                                  "reramp_start, days.",
    )
    # The design before, resolved: set by the loader (sim.scenario), never written by the user,
    # so neither validated from a file nor dumped into one.
    _before: Scenario | None = PrivateAttr(default=None)

    @property
    def before(self) -> Scenario | None:
        """The design before the switch, on this scenario's roles (None until the loader joins it)."""
        return self._before

    def joined(self, before: Scenario) -> Transition:
        """This transition with ``before`` as the design it starts from."""
        out = self.model_copy()
        out._before = before
        return out


class Scenario(_Strict):
    """A complete scenario: a market and an organization design."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    extends: str | None = Field(None, description="Path of a scenario this one overrides.")
    abstract: bool = Field(
        False, description="A market to extend, not a design to run (not inherited by extensions)."
    )
    simulation: Simulation = Field(default_factory=Simulation)
    market: Market
    calendars: dict[str, Calendar] = Field(default_factory=lambda: {"business_hours": Calendar()})
    roles: dict[str, Role] = Field(default_factory=dict, description="Roles by name.")
    routing: dict[str, str | dict[str, str]] = Field(
        default_factory=dict,
        description="Activity -> role that performs it, or a mapping segment -> role (routing by segment).",
    )
    assists: dict[str, str] = Field(
        default_factory=dict, description="Activity -> specialist role that joins the routed role on it."
    )
    bridges: list[Bridge] = Field(default_factory=list, description="Joint meetings across handoff seams.")
    data_integration: Probability = Field(
        0.0, description="Unified customer data: scales every handoff's context loss and drop by (1 - this)."
    )
    kpi_alignment: Literal["team_targets", "north_star"] = Field(
        "team_targets", description="Separate team targets lower the qualification bar; a shared north star raises it."
    )
    north_star: str = Field("ltv_to_cac", description="The KPI the organization is steered by (reported as north_star).")
    community_participation: Probability = Field(
        0.0, description="Share of new customers who join the customer community."
    )
    self_serve: SelfServe | None = Field(None, description="A self-serve trial path (none by default).")
    fallback: Fallback | None = Field(
        None, description="Route buyers who refuse an AI agent to a person instead of losing them (none by default)."
    )
    transition: Transition | None = Field(
        None, description="Start as another design and reorganize into this one at a date (none by default)."
    )


Market.model_rebuild()
Scenario.model_rebuild()
