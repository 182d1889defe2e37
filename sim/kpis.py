"""The KPI registry: every KPI defined once, and the reasons a buyer is lost.

A :class:`Kpi` says what a KPI measures (its formula, written beside the code in
:mod:`sim.metrics`), its unit, which direction is better, the group it is shown in, and, for
a KPI computed from few events, the KPI that reports its denominator and the minimum count
below which the KPI is NaN. Tables (:mod:`sim.tables`), the report (:mod:`sim.report.kpis`),
``KPI_DOCS``, the docs generator and the catalogues (labels keyed by the registry's names)
all read these definitions.

Names are an interface: users and scripts read them. ``lost.<reason>`` and the like are
*families*, one KPI per reason, role or source; a KPI with ``by_segment`` is also reported
per segment as ``name.<segment>``, with the same unit and rule, over that segment's own
denominator (``renewals_due.<segment>``...). The retention KPIs of :data:`BY_COHORT` also say which
customers they cover: the plain name covers all, ``.installed`` the installed base, ``.new``
the customers won in the run.

**NaN with a reason.** A KPI whose denominator is below ``min_count`` in a replication is NaN
in that replication (:func:`undefined_reason` says why, e.g. "only 7 renewals"); across
replications its mean and interval use the replications where it is defined, and ``n`` says
how many (:mod:`sim.stats`). Tables show "n/a (only 7 renewals)" when no replication had
enough.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .locale import Catalogue

__all__ = ["KPI_DOCS", "Kpi", "Unit", "LostReason", "LOST_REASONS", "STAGE_LOSSES", "NEVER_ANSWERED", "KPIS", "REGISTRY",
           "GROUPS", "HEADLINE", "TERMINAL", "get", "docs", "label_keys", "undefined_reason", "na_text",
           "nan_reasons", "split_segment", "MIN_RENEWALS", "MIN_COHORT",
           "COHORTS", "BY_COHORT", "split_cohort", "INTERVALS", "MATERIAL_DEFAULTS",
           "threshold"]


class Unit(str, Enum):
    """What a KPI's number is: a share (0-1), money ($), a duration, a ratio or a count."""

    SHARE = "share"
    MONEY = "money"
    DAYS = "days"
    HOURS = "hours"
    MONTHS = "months"
    RATIO = "ratio"
    COUNT = "count"
    NUMBER = "number"  # a mean of counts (handoffs per customer) or anything else

    def __str__(self) -> str:
        return self.value


class LostReason(str, Enum):
    """Every way a buyer leaves the journey unwon (the buyers table's ``reason``)."""

    left_after_research = "left_after_research"
    never_followed_up = "never_followed_up"
    no_response = "no_response"
    bot_averse = "bot_averse"
    went_cold = "went_cold"
    disqualified = "disqualified"
    dropped_out = "dropped_out"
    no_decision = "no_decision"
    lost_to_competitor = "lost_to_competitor"
    trial_not_converted = "trial_not_converted"

    def __str__(self) -> str:
        return self.value


#: The reasons as plain strings, in order (for tables and ``lost.<reason>`` KPIs).
LOST_REASONS: tuple[str, ...] = tuple(r.value for r in LostReason)
#: Lost at a sales stage or the close.
STAGE_LOSSES: tuple[str, ...] = (LostReason.dropped_out.value, LostReason.no_decision.value,
                                 LostReason.lost_to_competitor.value)
#: Asked for contact and never answered: dropped at the handoff, or gave up waiting.
NEVER_ANSWERED: tuple[str, ...] = (LostReason.never_followed_up.value, LostReason.no_response.value)

#: Fewer renewals due than this in the window and a per-renewal KPI is NaN.
MIN_RENEWALS = 20
#: Fewer customers than this in a trailing-year cohort and GRR / NRR are NaN.
MIN_COHORT = 20

HIGHER, LOWER, NEUTRAL = 1, -1, 0

#: Interval methods of a KPI's mean across replications (:mod:`sim.stats` computes them);
#: paired differences between designs always take a t interval (they may be negative).
INTERVALS: dict[str, str] = {
    "logit": "Student-t on the logit scale, back-transformed (truncated t when a replication is 0% or 100%)",
    "t01": "Student-t, truncated to 0-100%",
    "t0": "Student-t, truncated at 0 (the KPI cannot be negative)",
    "t": "Student-t",
}
#: A difference smaller than this is not material, by unit: (absolute, relative to the
#: baseline's mean), the larger applies. 0.1 pp of a share; 1% of money; 5% of a duration.
MATERIAL_DEFAULTS: dict[Unit, tuple[float, float]] = {
    Unit.SHARE: (0.001, 0.0), Unit.MONEY: (0.0, 0.01), Unit.DAYS: (0.0, 0.05), Unit.HOURS: (0.0, 0.05),
    Unit.MONTHS: (0.0, 0.05), Unit.RATIO: (0.05, 0.02), Unit.COUNT: (0.0, 0.02), Unit.NUMBER: (0.0, 0.02),
}
_PP = (0.01, 0.0)  # one percentage point


@dataclass(frozen=True)
class Kpi:
    """One KPI.

    ``better``: +1 higher is better, -1 lower is better, 0 context. ``denominator``: the KPI
    (a count) that reports what this one divides by; below ``min_count`` of it this KPI is NaN.
    ``noun``: what the denominator counts (catalogue ``kpis.nouns.<noun>``). ``needs_year``:
    NaN when the window is shorter than a year (trailing-year cohorts).
    """

    name: str
    unit: Unit
    better: int
    group: str
    formula: str
    doc: str = ""
    denominator: str | None = None
    min_count: int = 0
    noun: str = ""
    by_segment: bool = False
    needs_year: bool = False
    headline: bool = False  # the report's executive summary and forest plot
    terminal: bool = False  # the terminal table of run / compare
    #: The smallest difference from the baseline that matters to a decision: (absolute, in the
    #: KPI's unit; relative, a share of the baseline's mean), the larger of the two; None takes
    #: the unit's default (:data:`MATERIAL_DEFAULTS`).
    material: tuple[float, float] | None = None
    #: How the interval of the mean across replications is computed (:data:`INTERVALS`); ""
    #: takes the unit's: ``t01`` for a share, ``t0`` for anything that cannot be negative.
    interval: str = ""

    @property
    def interval_method(self) -> str:
        """The key of :data:`INTERVALS` this KPI's mean uses."""
        return self.interval or ("t01" if self.unit == Unit.SHARE else "t0")

    @property
    def materiality(self) -> tuple[float, float]:
        """(absolute, relative) threshold of a material difference."""
        return self.material if self.material is not None else MATERIAL_DEFAULTS[self.unit]

    @property
    def kind(self) -> str:
        """The unit's name (what the report's formatting switches on)."""
        return self.unit.value

    @property
    def definition(self) -> str:
        """The formula, and the notes that go with it: the text of ``KPI_DOCS``."""
        return f"{self.formula}; {self.doc}" if self.doc else self.formula

    @property
    def family(self) -> bool:
        """One KPI per item (``lost.<reason>``): the name holds a placeholder."""
        return "<" in self.name

    @property
    def prefix(self) -> str:
        return self.name.split(".")[0]

    @property
    def by_cohort(self) -> bool:
        """Also reported as ``name.installed`` and ``name.new`` (:data:`BY_COHORT`)."""
        return self.name in BY_COHORT


_R: dict[str, Any] = {"denominator": "renewals_due", "min_count": MIN_RENEWALS, "noun": "renewals",
                      "by_segment": True}
_C: dict[str, Any] = {"denominator": "grr_cohort_customers", "min_count": MIN_COHORT, "noun": "customers",
                      "by_segment": True, "needs_year": True}

KPIS: tuple[Kpi, ...] = (
    # ------------------------------------------------------------ funnel and speed
    Kpi("buyers", Unit.COUNT, NEUTRAL, "funnel", "cohort buyers: arrived in the window", terminal=True),
    Kpi("contacted", Unit.COUNT, NEUTRAL, "funnel", "cohort buyers who asked sales for contact after research"),
    Kpi("won", Unit.COUNT, HIGHER, "funnel", "cohort buyers who signed (by the horizon), sales-assisted or self-serve",
        terminal=True),
    Kpi("conversion_rate", Unit.SHARE, HIGHER, "funnel", "won / buyers", headline=True, terminal=True,
        interval="logit"),
    Kpi("opportunities", Unit.COUNT, NEUTRAL, "funnel",
        "cohort buyers who reached the first sales stage (started the first acquisition activity of kind stage, "
        "or any later one) and whose journey ended by the horizon (won or lost)"),
    Kpi("win_rate", Unit.SHARE, HIGHER, "funnel",
        "sales-assisted wins among opportunities / opportunities, cohort",
        "self-serve trial wins are not opportunities (see self_serve_win_share)", denominator="opportunities",
        headline=True, terminal=True, material=_PP, interval="logit"),
    Kpi("self_serve_win_share", Unit.SHARE, NEUTRAL, "funnel",
        "cohort wins that never asked sales for contact (self-serve trials) / won"),
    Kpi("in_flight_share", Unit.SHARE, NEUTRAL, "funnel", "cohort buyers still in the journey at the horizon / buyers"),
    Kpi("first_response_p50_hours", Unit.HOURS, LOWER, "funnel",
        "median wait from contact to the start of first response (answered buyers), hours", headline=True,
        terminal=True),
    Kpi("first_response_p90_hours", Unit.HOURS, LOWER, "funnel", "90th percentile of the same wait, hours"),
    Kpi("answered_within_1h_share", Unit.SHARE, HIGHER, "funnel",
        "contacted buyers whose first response started within 1 hour / contacted"),
    Kpi("never_answered_share", Unit.SHARE, LOWER, "funnel",
        "contacted buyers never answered (dropped at a handoff or reneged) / contacted", terminal=True),
    Kpi("sales_cycle_p50_days", Unit.DAYS, LOWER, "funnel",
        "median time from contact to signature, sales-assisted wins in the window, days", headline=True,
        terminal=True),
    Kpi("lost.<reason>", Unit.COUNT, LOWER, "other", "cohort buyers lost for each reason"),
    # ------------------------------------------------------------ retention and revenue
    Kpi("new_customers", Unit.COUNT, HIGHER, "retention", "signatures in the window (flow)"),
    Kpi("new_arr_annual", Unit.MONEY, HIGHER, "retention", "ACV signed in the window / window years, $"),
    Kpi("renewals_due", Unit.COUNT, NEUTRAL, "retention",
        "renewals due in the window: renewed + churned events in the window (customers churn only at a "
        "renewal)", by_segment=True, terminal=True),
    Kpi("logo_churn_per_renewal", Unit.SHARE, LOWER, "retention", "churned / renewals_due, in the window",
        f"NaN below {MIN_RENEWALS} renewals due", material=_PP, **_R),
    Kpi("logo_churn_annual", Unit.SHARE, LOWER, "retention",
        "per segment 1 - (1 - logo_churn_per_renewal.<segment>)^(365 / contract_term days), "
        "then the mean over segments weighted by renewals_due.<segment>",
        "every segment with a renewal due enters the mix with its own rate, even below the minimum; "
        f"NaN below {MIN_RENEWALS} renewals due",
        headline=True, terminal=True, material=_PP, **_R),
    Kpi("grr_cohort_customers", Unit.COUNT, NEUTRAL, "retention",
        "customers active at t1 - 365 days (t1 = the horizon, the end of the window): signed at or "
        "before then and not churned by then; NaN when the window is shorter than a year",
        by_segment=True, needs_year=True, terminal=True),
    Kpi("grr", Unit.SHARE, HIGHER, "retention",
        "sum over the grr cohort of min(ARR at t1, ARR at t1 - 365 d) / sum of their ARR at t1 - 365 d "
        "(trailing 12 months; a churned customer's ARR at t1 is 0; expansion excluded)",
        f"NaN below {MIN_COHORT} cohort customers or when the window is shorter than a year",
        terminal=True, material=_PP, **_C),
    Kpi("nrr", Unit.SHARE, HIGHER, "retention",
        "sum over the grr cohort of ARR at t1 / sum of their ARR at t1 - 365 d (trailing 12 months, expansion "
        "included)",
        f"NaN below {MIN_COHORT} cohort customers or when the window is shorter than a year",
        headline=True, terminal=True, material=_PP, **_C),
    Kpi("expansion_rate_annual", Unit.SHARE, HIGHER, "retention", "expansion ARR a year / mean ARR in the window"),
    Kpi("at_risk_share", Unit.SHARE, LOWER, "retention",
        "active customers at the horizon who are at risk (onboarding missed, neglected or context lost) / active "
        "customers"),
    Kpi("arr_end", Unit.MONEY, HIGHER, "retention", "ARR of active customers at the horizon, $"),
    # ------------------------------------------------------------ unit economics and cost
    Kpi("ltv", Unit.MONEY, HIGHER, "economics",
        "sum over segments of wins_s / wins x ltv_s, wins signed in the window; ltv_s = gross_margin_s x ACV_s x "
        "T_s x (1 - r_s^K_s) / (1 - r_s) (= T_s x K_s when r_s = 1), with ACV_s the mean ACV of the segment's wins, "
        "T_s = contract_term / 365 years, r_s = (1 - p_s) x (1 + g_s) / (1 + market.finance.discount_rate)^T_s, "
        "p_s = logo_churn_per_renewal of the segment, g_s = expansion ARR / ARR renewed in the segment in the "
        "window (expected ARR growth per term), K_s = effects.ltv_max_years / T_s terms; $",
        "each term's margin counted at its start, the expected lifetime 1 / p_s terms truncated at "
        "ltv_max_years (the segment's raw p_s and g_s enter, even below the minimum; a segment with no renewal "
        f"due uses the pooled p and g); NaN below {MIN_RENEWALS} renewals due",
        terminal=True, **_R),
    Kpi("ltv_to_cac", Unit.RATIO, HIGHER, "economics", "ltv / cac", denominator="renewals_due",
        min_count=MIN_RENEWALS, noun="renewals", headline=True, terminal=True),
    Kpi("cac", Unit.MONEY, LOWER, "economics",
        "acquisition cost in the window / new customers; each role's cost is split by its share of busy time on "
        "acquisition work, $", headline=True, terminal=True),
    Kpi("cac_payback_months", Unit.MONTHS, LOWER, "economics",
        "cac / (mean monthly ACV x gross margin of new customers), months", terminal=True),
    Kpi("people_cost", Unit.MONEY, LOWER, "economics",
        "sum over roles of headcount (its mean over the window where people join and leave) x loaded cost, $ a year",
        terminal=True),
    Kpi("ai_cost", Unit.MONEY, LOWER, "economics",
        "cost per task x tasks done in the window / window years + each role's platform_cost_annual and "
        "operations_cost_annual while it has anyone, $ a year", terminal=True),
    Kpi("marketing_cost", Unit.MONEY, NEUTRAL, "economics", "market.marketing_program_cost_annual, $ a year"),
    Kpi("reorg_cost", Unit.MONEY, LOWER, "economics",
        "transition.one_off_cost when the switch falls in the window / window years (0 without a transition), $ a year"),
    Kpi("total_cost", Unit.MONEY, LOWER, "economics", "people_cost + ai_cost + marketing_cost + reorg_cost, $ a year",
        headline=True, terminal=True),
    # ------------------------------------------------------------ handoffs and onboarding
    Kpi("handoffs_per_won", Unit.NUMBER, LOWER, "handoffs",
        "mean handoffs per cohort won customer (to the end of the run)", terminal=True),
    Kpi("context_losses_per_won", Unit.NUMBER, LOWER, "handoffs",
        "mean context losses per cohort won customer (to the end of the run)", terminal=True),
    Kpi("onboarding_completion", Unit.SHARE, HIGHER, "handoffs",
        "onboarded within the segment's ttv_target / onboarded, in the window"),
    Kpi("time_to_value_p50_days", Unit.DAYS, LOWER, "handoffs", "median signature -> onboarded, in the window, days"),
    # ------------------------------------------------------------ mix, roles, north star
    Kpi("source_share.<source>", Unit.SHARE, NEUTRAL, "other",
        "cohort buyers by source (inbound, outbound, referral, trial, pql) / buyers"),
    Kpi("won_share.<source>", Unit.SHARE, NEUTRAL, "other", "cohort wins by source / won"),
    Kpi("north_star", Unit.NUMBER, NEUTRAL, "other", "the value of the KPI the scenario names in north_star",
        interval="t"),
    Kpi("utilization.<role>", Unit.SHARE, NEUTRAL, "roles",
        "occupied working time inside the window / (headcount x working time in the window; where people "
        "join and leave, their working time while there); NaN for a role whose plan has no one in the window"),
    Kpi("role_cost.<role>", Unit.MONEY, NEUTRAL, "roles",
        "the role's people on the payroll (their mean over the window) x its loaded cost, $ a year"),
    Kpi("queue_wait_mean_hours.<role>", Unit.HOURS, LOWER, "roles",
        "mean wait from joining a role's queue to the start of work, in the window, hours"),
)

#: Name (``lost.<reason>`` for a family) -> KPI.
REGISTRY: dict[str, Kpi] = {k.name: k for k in KPIS}
_FAMILIES: dict[str, Kpi] = {k.prefix: k for k in KPIS if k.family}
#: Group -> its KPIs' names, in registry order (families and per-segment KPIs find theirs with :func:`get`).
GROUPS: dict[str, tuple[str, ...]] = {}
for _k in KPIS:
    if not _k.family:
        GROUPS.setdefault(_k.group, ())
        GROUPS[_k.group] += (_k.name,)
#: The KPIs an executive summary and the forest plot speak about, in order.
HEADLINE: tuple[str, ...] = tuple(k.name for k in KPIS if k.headline)
#: The KPIs of the terminal table (every KPI is in the CSV files).
TERMINAL: tuple[str, ...] = tuple(k.name for k in KPIS if k.terminal)
#: Which customers a KPI of :data:`BY_COHORT` covers, as a qualifier of its name:
#: ``logo_churn_annual`` covers all customers, ``logo_churn_annual.installed`` those of the
#: installed base (``market.installed_base``, on contract at the start), ``logo_churn_annual.new``
#: those won in the run. Each over its own denominator (``renewals_due.installed``...).
#: The qualifiers themselves (:mod:`sim.schema` refuses them as segment names).
COHORT_NAMES: tuple[str, ...] = ("installed", "new")
COHORTS: tuple[str, ...] = COHORT_NAMES
BY_COHORT: tuple[str, ...] = ("renewals_due", "logo_churn_per_renewal", "logo_churn_annual", "grr_cohort_customers",
                              "grr", "nrr")
_COHORT_DOCS = {"installed": "the customers of the installed base (market.installed_base, on contract at the start)",
                "new": "the customers won in the run"}


def threshold(name: str, base: float, overrides: Mapping[str, float] | None = None) -> float:
    """The smallest material difference in ``name`` from a baseline whose mean is ``base``:
    ``overrides[name]`` (absolute) if given, else the registry's (absolute, relative) rule."""
    if overrides and name in overrides:
        return float(overrides[name])
    k = get(name)
    if k is None:
        return 0.0
    absolute, relative = k.materiality
    return max(absolute, relative * abs(base) if math.isfinite(base) else 0.0)


def split_segment(name: str) -> tuple[str, str | None]:
    """``("grr", "smb")`` for ``grr.smb`` when ``grr`` is reported by segment, else ``(name, None)``."""
    base, _, rest = name.partition(".")
    if rest and rest not in COHORTS and base in REGISTRY and REGISTRY[base].by_segment:
        return base, rest
    return name, None


def split_cohort(name: str) -> tuple[str, str | None]:
    """``("nrr", "installed")`` for ``nrr.installed``, else ``(name, None)``."""
    base, _, rest = name.partition(".")
    if rest in COHORTS and base in BY_COHORT:
        return base, rest
    return name, None


def get(name: str) -> Kpi | None:
    """The KPI called ``name``: a registry entry, a family member or a KPI of one segment."""
    if name in REGISTRY:
        return REGISTRY[name]
    base, cohort = split_cohort(name)
    if cohort is not None:
        k = REGISTRY[base]
        return replace(k, name=name, denominator=f"{k.denominator}.{cohort}" if k.denominator else None,
                       by_segment=False, headline=False, terminal=False)
    base, segment = split_segment(name)
    if segment is not None:
        k = REGISTRY[base]
        return replace(k, name=name, denominator=f"{k.denominator}.{segment}" if k.denominator else None,
                       by_segment=False, headline=False, terminal=False)
    prefix, _, rest = name.partition(".")
    if rest and prefix in _FAMILIES:
        return _FAMILIES[prefix]
    return None


def docs() -> dict[str, str]:
    """KPI name -> definition (``KPI_DOCS``): every registry entry, and ``name.<segment>`` for
    the KPIs reported by segment."""
    out: dict[str, str] = {}
    for k in KPIS:
        out[k.name] = k.definition
        if k.by_segment:
            out[f"{k.name}.<segment>"] = (f"{k.name} over the customers of one segment, against the segment's own "
                                          "denominator and minimum")
        if k.by_cohort:
            for c in COHORTS:
                out[f"{k.name}.{c}"] = f"{k.name} over {_COHORT_DOCS[c]}, against their own denominator and minimum"
    return out


#: KPI name -> definition, for tables, catalogues and the report (:func:`docs`).
KPI_DOCS: dict[str, str] = docs()


def label_keys() -> set[str]:
    """The keys of the catalogues' ``kpi`` table: one per registry entry (a family by its prefix)."""
    return {k.prefix if k.family else k.name for k in KPIS}


def undefined_reason(name: str, value_of: Callable[[str], float]) -> tuple[str, float] | None:
    """Why ``name`` is NaN, given how to read other KPIs: ``("window", nan)`` when the
    window is shorter than a year, ``("only", n)`` when its denominator is only ``n``, or
    None when the registry knows no reason (no data at all)."""
    k = get(name)
    if k is None or k.denominator is None:
        return None
    n = value_of(k.denominator)
    if n is None or not math.isfinite(n):
        return ("window", float("nan")) if k.needs_year else None
    if n < k.min_count:
        return ("only", float(n))
    return None


def na_text(name: str, value_of: Callable[[str], float], cat: Catalogue) -> str | None:
    """"n/a (only 7 renewals)" in the catalogue's language, or None."""
    why = undefined_reason(name, value_of)
    if why is None:
        return None
    k = get(name)
    assert k is not None
    if why[0] == "window":
        return cat.t("kpis.na_window")
    return cat.t("kpis.na_only", n=f"{why[1]:,.0f}", noun=cat.t(f"kpis.nouns.{k.noun}"))


def nan_reasons(kpis: Mapping[str, float]) -> dict[str, str]:
    """KPI -> why it is NaN (English), for every NaN KPI of one replication with a known reason."""
    from .locale import catalogue

    cat = catalogue("en")
    out = {}
    for name, value in kpis.items():
        if value != value:
            text = na_text(name, lambda d: kpis.get(d, float("nan")), cat)
            if text is not None:
                out[name] = text
    return out
