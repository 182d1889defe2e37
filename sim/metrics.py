"""Event log -> KPIs of one replication. Each KPI's formula is written beside it.

The measurement window is [warmup, horizon). "Cohort" KPIs follow the buyers who arrived
in the window; "flow" KPIs count what happened in the window, whoever it happened to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .calendar import ALWAYS, build_calendar
from .model import SimResult

__all__ = ["KPI_DOCS", "Measured", "measure", "LOST_REASONS", "SURVIVAL_MONTHS"]

LOST_REASONS = (
    "left_after_research", "never_followed_up", "no_response", "bot_averse", "went_cold",
    "disqualified", "dropped_out", "no_decision", "lost_to_competitor", "trial_not_converted",
)
#: Where buyers come from: the market's channels, or the organization's own work.
SOURCES = ("inbound", "outbound", "referral", "trial", "pql")
#: Months since signature at which the retention curve is read.
SURVIVAL_MONTHS = np.arange(0, 31, 1)
_MONTH = 365.0 / 12

#: KPI -> formula. The names are an interface: users and scripts read them.
KPI_DOCS: dict[str, str] = {
    "buyers": "cohort buyers: arrived in the window",
    "contacted": "cohort buyers who asked sales for contact after research",
    "won": "cohort buyers who signed (by the horizon)",
    "conversion_rate": "won / buyers",
    "win_rate": "won / (won + lost at a stage or close), cohort",
    "in_flight_share": "cohort buyers still in the journey at the horizon / buyers",
    "first_response_p50_hours": "median wait from contact to the start of first response (answered buyers), hours",
    "first_response_p90_hours": "90th percentile of the same wait, hours",
    "answered_within_1h_share": "contacted buyers whose first response started within 1 hour / contacted",
    "never_answered_share": "contacted buyers never answered (dropped at a handoff or reneged) / contacted",
    "sales_cycle_p50_days": "median time from contact to signature, wins in the window, days",
    "lost.<reason>": "cohort buyers lost for each reason",
    "new_customers": "signatures in the window (flow)",
    "new_arr_annual": "ACV signed in the window / window years, $",
    "logo_churn_annual": "1 - exp(-churns in window / customer-years at risk in window)",
    "grr": "1 - churned ARR a year / mean ARR in the window",
    "nrr": "grr + expansion ARR a year / mean ARR in the window",
    "arr_end": "ARR of active customers at the horizon, $",
    "ltv": "mean(ACV x gross margin) of new customers x min(1 / logo_churn_annual, effects.ltv_max_years), $",
    "people_cost": "sum over roles of headcount x loaded cost, $ a year",
    "ai_cost": "cost per task x tasks done in the window / window years, $ a year",
    "marketing_cost": "market.marketing_program_cost_annual, $ a year",
    "total_cost": "people_cost + ai_cost + marketing_cost, $ a year",
    "cac": "acquisition cost in the window / new customers; each role's cost is split by its share of busy time on acquisition work, $",
    "ltv_to_cac": "ltv / cac",
    "cac_payback_months": "cac / (mean monthly ACV x gross margin of new customers), months",
    "handoffs_per_won": "mean handoffs per cohort won customer (to the end of the run)",
    "context_losses_per_won": "mean context losses per cohort won customer (to the end of the run)",
    "onboarding_completion": "onboarded within the segment's ttv_target / onboarded, in the window",
    "time_to_value_p50_days": "median signature -> onboarded, in the window, days",
    "source_share.<source>": "cohort buyers by source (inbound, outbound, referral, trial, pql) / buyers",
    "won_share.<source>": "cohort wins by source / won",
    "expansion_rate_annual": "expansion ARR a year / mean ARR in the window",
    "at_risk_share": "active customers at the horizon who are at risk (onboarding missed, neglected or context lost) / active customers",
    "north_star": "the value of the KPI the scenario names in north_star",
    "utilization.<role>": "occupied working time inside the window / (headcount x working time in the window)",
    "queue_wait_mean_hours.<role>": "mean wait from joining a role's queue to the start of work, in the window, hours",
}


@dataclass
class Measured:
    """The KPIs of one replication, and the curves behind the charts."""

    kpis: dict[str, float]
    funnel: dict[str, int]
    survival: np.ndarray  # share of customers still active, by SURVIVAL_MONTHS
    arr_by_month: np.ndarray  # ARR at the end of each month of the run


def _pct(values: pd.Series, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def _div(a: float, b: float) -> float:
    return float(a) / float(b) if b else float("nan")


def measure(res: SimResult) -> Measured:
    """Compute every KPI of one replication."""
    scn = res.scenario
    t0, t1 = scn.simulation.warmup, scn.simulation.horizon
    years = (t1 - t0) / 365.0
    b, ev = res.buyers, res.events
    cohort = b[(b.arrive_at >= t0) & (b.arrive_at < t1)]
    won = cohort[cohort.won_at.notna()]
    contacted = cohort[cohort.contact_at.notna()]
    k: dict[str, float] = {}
    k["buyers"] = len(cohort)
    k["contacted"] = len(contacted)
    k["won"] = len(won)
    k["conversion_rate"] = _div(len(won), len(cohort))
    stage_lost = cohort.reason.isin(["dropped_out", "no_decision", "lost_to_competitor"]).sum()
    k["win_rate"] = _div(len(won), len(won) + stage_lost)
    k["in_flight_share"] = _div((cohort.state == "in_flight").sum(), len(cohort))
    answered = contacted.first_response_wait.dropna() * 24.0
    k["first_response_p50_hours"] = _pct(answered, 50)
    k["first_response_p90_hours"] = _pct(answered, 90)
    k["answered_within_1h_share"] = _div((answered <= 1.0).sum(), len(contacted))
    never = contacted.reason.isin(["never_followed_up", "no_response"]).sum()
    k["never_answered_share"] = _div(never, len(contacted))
    for reason in LOST_REASONS:
        k[f"lost.{reason}"] = int((cohort.reason == reason).sum())

    signed = b[(b.won_at >= t0) & (b.won_at < t1)]
    k["sales_cycle_p50_days"] = _pct(signed.won_at - signed.contact_at, 50)
    k["new_customers"] = len(signed)
    k["new_arr_annual"] = signed.acv.sum() / years
    _retention(k, res, t0, t1, years)
    gm = scn.market.segments
    margin = signed.segment.map({s: seg.gross_margin for s, seg in gm.items()}).astype(float)
    unit_margin = float((signed.acv * margin).mean()) if len(signed) else float("nan")
    lifetime = min(_div(1.0, k["logo_churn_annual"]) if k["logo_churn_annual"] > 0 else np.inf,
                   scn.market.effects.ltv_max_years)
    k["ltv"] = unit_margin * lifetime
    _costs(k, res, t0, t1, years)
    k["ltv_to_cac"] = _div(k["ltv"], k["cac"])
    k["cac_payback_months"] = _div(k["cac"], unit_margin / 12.0)
    k["handoffs_per_won"] = float(won.handoffs.mean()) if len(won) else float("nan")
    k["context_losses_per_won"] = float(won.context_losses.mean()) if len(won) else float("nan")
    onboarded = b[(b.won_at + b.ttv >= t0) & (b.won_at + b.ttv < t1)]
    k["onboarding_completion"] = _div((~onboarded.ttv_missed.astype(bool)).sum(), len(onboarded))
    k["time_to_value_p50_days"] = _pct(onboarded.ttv, 50)
    _roles(k, res, t0, t1)
    for src in SOURCES:
        k[f"source_share.{src}"] = _div((cohort.source == src).sum(), len(cohort))
        k[f"won_share.{src}"] = _div((won.source == src).sum(), len(won))
    active = b[b.state == "active"]
    k["at_risk_share"] = _div(active.at_risk.astype(bool).sum(), len(active))
    k["north_star"] = float(k.get(scn.north_star, float("nan")))
    funnel = _funnel(res, cohort)
    return Measured(k, funnel, _survival(b, t1), _arr_by_month(ev, t1))


def _retention(k: dict[str, float], res: SimResult, t0: float, t1: float, years: float) -> None:
    b, ev = res.buyers, res.events
    customers = b[b.won_at.notna()]
    start = customers.won_at.clip(lower=t0)
    end = customers.churned_at.fillna(t1).clip(upper=t1)
    exposure_years = float((end - start).clip(lower=0).sum()) / 365.0
    churns = int(((customers.churned_at >= t0) & (customers.churned_at < t1)).sum())
    rate = _div(churns, exposure_years)
    k["logo_churn_annual"] = 1.0 - np.exp(-rate) if rate == rate else float("nan")
    in_window = ev[(ev.time >= t0) & (ev.time < t1)]
    churned_arr = in_window.loc[in_window.event == "churned", "value"].sum()
    expanded_arr = in_window.loc[in_window.event == "expanded", "value"].sum()
    mean_arr = _mean_arr(ev, t0, t1)
    k["grr"] = 1.0 - _div(churned_arr / years, mean_arr)
    k["expansion_rate_annual"] = _div(expanded_arr / years, mean_arr)
    k["nrr"] = k["grr"] + k["expansion_rate_annual"]
    k["arr_end"] = float(b.loc[b.state == "active", "arr"].sum())


def _arr_steps(ev: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Times and running total of ARR (won and expanded add, churned removes)."""
    sign = {"won": 1.0, "expanded": 1.0, "churned": -1.0}
    moves = ev[ev.event.isin(list(sign))]
    delta = moves.value.to_numpy() * moves.event.map(sign).astype(float).to_numpy()
    return moves.time.to_numpy(), np.cumsum(delta)


def _mean_arr(ev: pd.DataFrame, t0: float, t1: float) -> float:
    times, level = _arr_steps(ev)
    grid = np.linspace(t0, t1, 512)
    idx = np.searchsorted(times, grid, side="right") - 1
    values = np.where(idx >= 0, level[np.clip(idx, 0, None)] if len(level) else 0.0, 0.0)
    return float(values.mean())


def _arr_by_month(ev: pd.DataFrame, t1: float) -> np.ndarray:
    times, level = _arr_steps(ev)
    grid = np.arange(_MONTH, t1 + 1e-9, _MONTH)
    idx = np.searchsorted(times, grid, side="right") - 1
    if not len(level):
        return np.zeros(len(grid))
    return np.where(idx >= 0, level[np.clip(idx, 0, None)], 0.0)


def _survival(b: pd.DataFrame, t1: float) -> np.ndarray:
    """Kaplan-Meier share of customers still active, months after signature."""
    customers = b[b.won_at.notna()]
    duration = (customers.churned_at.fillna(t1) - customers.won_at).to_numpy() / _MONTH
    event = customers.churned_at.notna().to_numpy()
    out = np.ones(len(SURVIVAL_MONTHS))
    if not len(duration):
        return out * np.nan
    order = np.argsort(duration, kind="stable")
    duration, event = duration[order], event[order]
    at_risk = len(duration) - np.arange(len(duration))
    factors = np.where(event, 1.0 - 1.0 / at_risk, 1.0)
    curve = np.cumprod(factors)
    idx = np.searchsorted(duration, SURVIVAL_MONTHS, side="right") - 1
    out = np.where(idx >= 0, curve[np.clip(idx, 0, None)], 1.0)
    # Beyond the longest observed follow-up the curve is unknown.
    out[SURVIVAL_MONTHS > duration.max()] = np.nan
    return out


def _costs(k: dict[str, float], res: SimResult, t0: float, t1: float, years: float) -> None:
    scn, ev = res.scenario, res.events
    acquisition = set(scn.market.journey.acquisition) | {
        a for a, act in scn.market.activities.items() if act.kind == "nurture"}
    done = ev[(ev.event == "end") & (ev.time >= t0) & (ev.time < t1)]
    busy = done.groupby(["role", "activity"], observed=True).value.agg(["sum", "count"]).reset_index()
    busy["acquisition"] = busy.activity.astype(str).isin(acquisition)
    people = ai = acq_cost = 0.0
    for name, role in scn.roles.items():
        yearly = role.headcount * role.loaded_cost_annual
        people += yearly
        rows = busy[busy.role.astype(str) == name]
        total_busy = float(rows["sum"].sum())
        acq_busy = float(rows.loc[rows.acquisition, "sum"].sum())
        if total_busy > 0:
            share = acq_busy / total_busy
        else:
            # No modelled work in the window: split by what the role is routed to; a role
            # routed to nothing (e.g. marketers building awareness) is acquisition cost.
            routed = [a for a, r in scn.routing.items() if name in ([r] if isinstance(r, str) else r.values())]
            share = _div(sum(a in acquisition for a in routed), len(routed)) if routed else 1.0
        tasks = float(rows["count"].sum())
        acq_tasks = float(rows.loc[rows.acquisition, "count"].sum())
        ai += role.cost_per_task * tasks / years
        acq_cost += yearly * years * share + role.cost_per_task * acq_tasks
    marketing = scn.market.marketing_program_cost_annual
    acq_cost += marketing * years
    k["people_cost"] = people
    k["ai_cost"] = ai
    k["marketing_cost"] = marketing
    k["total_cost"] = people + ai + marketing
    k["cac"] = _div(acq_cost, k["new_customers"])


def _busy_in_window(res: SimResult, t0: float, t1: float) -> pd.Series:
    """Occupied working time per role that falls inside [t0, t1).

    Each job is a ``start`` and its ``end`` (the k-th start of a buyer's activity at a role
    pairs with its k-th end). A job that straddles a window edge counts only the working
    time on the inside, measured on the role's own calendar.
    """
    ev = res.events
    key = ["buyer", "role", "activity"]
    starts = ev[ev.event == "start"][key + ["time"]].copy()
    ends = ev[ev.event == "end"][key + ["time", "value"]].copy()
    starts["k"] = starts.groupby(key, observed=True).cumcount()
    ends["k"] = ends.groupby(key, observed=True).cumcount()
    jobs = ends.merge(starts, on=key + ["k"], suffixes=("_end", "_start"))
    jobs = jobs[(jobs.time_end > t0) & (jobs.time_start < t1)]
    inside = (jobs.time_start >= t0) & (jobs.time_end <= t1)
    busy = jobs[inside].groupby("role", observed=True).value.sum()
    calendars = {name: build_calendar(c) for name, c in res.scenario.calendars.items()}
    for job in jobs[~inside].itertuples():
        spec = res.scenario.roles[str(job.role)]
        cal = ALWAYS if spec.calendar == "always" else calendars[spec.calendar]
        whole = cal.working_time(job.time_start, job.time_end)
        part = cal.working_time(max(job.time_start, t0), min(job.time_end, t1))
        if whole > 0:
            busy[job.role] = busy.get(job.role, 0.0) + job.value * part / whole
    return busy


def _roles(k: dict[str, float], res: SimResult, t0: float, t1: float) -> None:
    ev = res.events
    window = ev[(ev.time >= t0) & (ev.time < t1)]
    ends = _busy_in_window(res, t0, t1)
    starts = window[window.event == "start"].groupby("role", observed=True).value.mean()
    for row in res.roles.itertuples():
        capacity = row.headcount * row.working_time_window
        k[f"utilization.{row.role}"] = _div(ends.get(row.role, 0.0), capacity) if capacity else float("nan")
        k[f"queue_wait_mean_hours.{row.role}"] = float(starts.get(row.role, np.nan)) * 24.0


def _funnel(res: SimResult, cohort: pd.DataFrame) -> dict[str, int]:
    """Cohort buyers reaching each step: arrived, contacted, each activity started, won."""
    ev = res.events
    ids = cohort.id.to_numpy()
    started = ev[(ev.event == "start") & ev.buyer.isin(ids)]
    out = {"arrived": len(cohort), "contacted": int(cohort.contact_at.notna().sum())}
    for act in res.scenario.market.journey.acquisition:
        out[act] = int(started.loc[started.activity == act, "buyer"].nunique())
    out["won"] = int(cohort.won_at.notna().sum())
    return out
