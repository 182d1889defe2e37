"""Event log -> KPIs of one replication. Each KPI is defined once, in :mod:`sim.kpis`
(formula, unit, direction, denominator); this module computes them.

The measurement window is [warmup, horizon). "Cohort" KPIs follow the buyers who arrived
in the window; "flow" KPIs count what happened in the window, whoever it happened to.
Retention KPIs are measured per renewal due (churn) or on the trailing-year cohort (GRR,
NRR), and each reports its denominator (``renewals_due``, ``grr_cohort_customers``); below
the registry's minimum count the KPI is NaN and ``Measured.reasons`` says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .calendar import ALWAYS, build_calendar
from .costs import open_days, reorg_cost
from .kpis import KPI_DOCS, LOST_REASONS, NEVER_ANSWERED, REGISTRY, nan_reasons
from .model import SimResult
from .schema import COHORT_NAMES, Segment
from .timeline import monthly
from .units import MONTH

__all__ = ["KPI_DOCS", "Measured", "measure", "LOST_REASONS", "SURVIVAL_MONTHS"]

#: The source of a customer of the installed base (sim.customer.INSTALLED_SOURCE).
INSTALLED = "installed"

#: Where buyers come from: the market's channels, or the organization's own work.
SOURCES = ("inbound", "outbound", "referral", "trial", "pql")
#: Months since signature at which the retention curve is read.
SURVIVAL_MONTHS = np.arange(0, 31, 1)
_YEAR = 365.0

@dataclass
class Measured:
    """The KPIs of one replication, and the curves behind the charts."""

    kpis: dict[str, float]
    funnel: dict[str, int]
    survival: np.ndarray  # share of customers still active, by SURVIVAL_MONTHS
    arr_by_month: np.ndarray  # ARR at the end of each month of the run
    #: KPI -> why it is NaN in this replication ("n/a (only 7 renewals)"), where the registry knows.
    reasons: dict[str, str] = field(default_factory=dict)
    #: The run month by month (sim.timeline.monthly): ARR, money, heads and capacity by role.
    timeline: pd.DataFrame | None = None


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
    _win_rate(k, res, cohort)
    k["in_flight_share"] = _div((cohort.state == "in_flight").sum(), len(cohort))
    answered = contacted.first_response_wait.dropna() * 24.0
    k["first_response_p50_hours"] = _pct(answered, 50)
    k["first_response_p90_hours"] = _pct(answered, 90)
    k["answered_within_1h_share"] = _div((answered <= 1.0).sum(), len(contacted))
    never = contacted.reason.isin(NEVER_ANSWERED).sum()
    k["never_answered_share"] = _div(never, len(contacted))
    for reason in LOST_REASONS:
        k[f"lost.{reason}"] = int((cohort.reason == reason).sum())

    signed = b[(b.won_at >= t0) & (b.won_at < t1) & (b.source != INSTALLED)]
    assisted = signed[signed.contact_at.notna()]
    k["sales_cycle_p50_days"] = _pct(assisted.won_at - assisted.contact_at, 50)
    k["new_customers"] = len(signed)
    k["new_arr_annual"] = signed.acv.sum() / years
    _retention(k, res, t0, t1, years)
    gm = scn.market.segments
    margin = signed.segment.map({s: seg.gross_margin for s, seg in gm.items()}).astype(float)
    unit_margin = float((signed.acv * margin).mean()) if len(signed) else float("nan")
    _ltv(k, res, signed, t0, t1)
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
    return Measured(k, funnel, _survival(b, t1), _arr_by_month(ev, t1), nan_reasons(k), monthly(res))


def _win_rate(k: dict[str, float], res: SimResult, cohort: pd.DataFrame) -> None:
    """Opportunities, sales-assisted win rate and the self-serve share of wins (cohort)."""
    acq = res.scenario.market.journey.acquisition
    acts = res.scenario.market.activities
    first = next((i for i, a in enumerate(acq) if acts[a].kind == "stage"), None)
    if first is None:  # no sales stage: an opportunity is a buyer in the sales journey
        first = next((i for i, a in enumerate(acq) if acts[a].kind == "close"), 0)
    ev = res.events
    reached = ev.loc[(ev.event == "start") & ev.activity.isin(acq[first:]), "buyer"].unique()
    ended = cohort[cohort.id.isin(reached) & cohort.state.ne("in_flight")]
    sales_won = int((ended.won_at.notna() & ended.contact_at.notna()).sum())
    k["opportunities"] = len(ended)
    k["win_rate"] = _div(sales_won, len(ended))
    won = cohort.won_at.notna()
    k["self_serve_win_share"] = _div((won & cohort.contact_at.isna()).sum(), won.sum())


def _min(name: str) -> int:
    return REGISTRY[name].min_count


def _segment_of(b: pd.DataFrame) -> pd.Series:
    """Buyer id -> segment."""
    return pd.Series(b.segment.to_numpy(), index=b.id.to_numpy())


def _cohort_of(b: pd.DataFrame) -> pd.Series:
    """Buyer id -> "installed" (a customer of the installed base) or "new" (won in the run)."""
    return pd.Series(np.where(b.source.to_numpy() == INSTALLED, "installed", "new"), index=b.id.to_numpy())


def _renewals(res: SimResult, t0: float, t1: float) -> pd.DataFrame:
    """Renewals due in the window (renewed and churned events), with each buyer's segment and cohort."""
    ev = res.events
    due = ev[ev.event.isin(["renewed", "churned"]) & (ev.time >= t0) & (ev.time < t1)]
    return pd.DataFrame({"buyer": due.buyer.to_numpy(), "churned": (due.event == "churned").to_numpy(),
                         "value": due.value.to_numpy(),
                         "segment": due.buyer.map(_segment_of(res.buyers)).to_numpy(),
                         "cohort": due.buyer.map(_cohort_of(res.buyers)).to_numpy()})


def _logo_churn(k: dict[str, float], due: pd.DataFrame, segments: dict[str, Segment], suffix: str = "") -> None:
    """Renewals due and logo churn (per renewal, annualized) of ``due``, and by segment; a
    ``suffix`` (".installed") names the customers they cover."""
    lo = _min("logo_churn_per_renewal")
    n_all, annual_sum = len(due), 0.0
    k[f"renewals_due{suffix}"] = n_all
    k[f"logo_churn_per_renewal{suffix}"] = _div(due.churned.sum(), n_all) if n_all >= lo else float("nan")
    for s, seg in segments.items():
        mine = due[due.segment == s]
        n = len(mine)
        p = _div(mine.churned.sum(), n)
        annual = 1.0 - (1.0 - p) ** (_YEAR / seg.contract_term) if n else float("nan")
        if n:
            annual_sum += annual * n
        if not suffix:
            k[f"renewals_due.{s}"] = n
            k[f"logo_churn_per_renewal.{s}"] = p if n >= lo else float("nan")
            k[f"logo_churn_annual.{s}"] = annual if n >= lo else float("nan")
    k[f"logo_churn_annual{suffix}"] = annual_sum / n_all if n_all >= _min("logo_churn_annual") else float("nan")


def _retention(k: dict[str, float], res: SimResult, t0: float, t1: float, years: float) -> None:
    b, ev = res.buyers, res.events
    segments = res.scenario.market.segments
    # Logo churn per renewal due, and annualized by each segment's contract term: all customers,
    # then those of the installed base and those won in the run.
    due = _renewals(res, t0, t1)
    _logo_churn(k, due, segments)
    for cohort in COHORT_NAMES:
        _logo_churn(k, due[due.cohort == cohort], segments, f".{cohort}")
    _cohort(k, res, t0, t1)
    in_window = ev[(ev.time >= t0) & (ev.time < t1)]
    expanded_arr = in_window.loc[in_window.event == "expanded", "value"].sum()
    mean_arr = _mean_arr(ev, t0, t1)
    k["expansion_rate_annual"] = _div(expanded_arr / years, mean_arr)
    k["arr_end"] = float(b.loc[b.state == "active", "arr"].sum())


def _cohort(k: dict[str, float], res: SimResult, t0: float, t1: float) -> None:
    """GRR and NRR of the customers active a year before the end of the window."""
    ev, segments = res.events, list(res.scenario.market.segments)
    names = ["grr_cohort_customers", "grr", "nrr"]
    if t1 - t0 < _YEAR:  # the window does not reach back a year: no trailing-year cohort
        for name in names:
            k[name] = float("nan")
            for s in [*segments, *COHORT_NAMES]:
                k[f"{name}.{s}"] = float("nan")
        return
    then = t1 - _YEAR
    # A customer of the installed base counts from the start of the run, at its ARR then.
    won = ev[ev.event.isin(["won", "installed"])].groupby("buyer").agg(won_at=("time", "min"), acv=("value", "sum"))
    churned_at = ev[ev.event == "churned"].groupby("buyer").time.min()
    won["churned_at"] = churned_at.reindex(won.index)
    cohort = won[(won.won_at <= then) & ~(won.churned_at <= then)].copy()
    exp = ev[(ev.event == "expanded") & ev.buyer.isin(cohort.index)]
    cohort["arr_then"] = cohort.acv + exp[exp.time <= then].groupby("buyer").value.sum().reindex(cohort.index,
                                                                                                 fill_value=0.0)
    arr_end = cohort.acv + exp[exp.time <= t1].groupby("buyer").value.sum().reindex(cohort.index, fill_value=0.0)
    cohort["arr_now"] = arr_end.where(~(cohort.churned_at <= t1), 0.0)
    cohort["kept"] = np.minimum(cohort.arr_now, cohort.arr_then)
    cohort["segment"] = _segment_of(res.buyers).reindex(cohort.index).to_numpy()
    cohort["cohort"] = _cohort_of(res.buyers).reindex(cohort.index).to_numpy()
    lo = _min("grr")
    groups = ([("", cohort)] + [(f".{s}", cohort[cohort.segment == s]) for s in segments]
              + [(f".{c}", cohort[cohort.cohort == c]) for c in COHORT_NAMES])
    for suffix, part in groups:
        n, base = len(part), float(part.arr_then.sum())
        k[f"grr_cohort_customers{suffix}"] = n
        k[f"grr{suffix}"] = _div(part.kept.sum(), base) if n >= lo else float("nan")
        k[f"nrr{suffix}"] = _div(part.arr_now.sum(), base) if n >= lo else float("nan")


def _lifetime_terms(r: float, terms: float) -> float:
    """sum_{j=0}^{K-1} r^j for a real number of terms K: the discounted, growing expected
    lifetime in terms, truncated at K."""
    if abs(1.0 - r) < 1e-12:
        return terms
    if r > 1.0 and terms * math.log(r) > 700.0:
        # Expansion outgrowing churn over very many short terms: the sum overflows a float;
        # no finite LTV describes that, so it is undefined (NaN) rather than infinite.
        return float("nan")
    return float((1.0 - r ** terms) / (1.0 - r))


def _ltv(k: dict[str, float], res: SimResult, signed: pd.DataFrame, t0: float, t1: float) -> None:
    """LTV per segment from per-renewal churn and expansion, mixed by the segments of the wins."""
    m = res.scenario.market
    ev = res.events
    due = _renewals(res, t0, t1)
    window = ev[(ev.event == "expanded") & (ev.time >= t0) & (ev.time < t1)]
    expanded = window.value.groupby(window.buyer.map(_segment_of(res.buyers)).to_numpy()).sum()
    renewed = due[~due.churned]
    renewed_arr = renewed.groupby("segment").value.sum()
    pooled_p = _div(due.churned.sum(), len(due))
    pooled_g = _div(expanded.sum(), renewed.value.sum()) if renewed.value.sum() > 0 else 0.0
    discount = m.finance.discount_rate
    lo = _min("ltv")
    total = weight = 0.0
    for s, seg in m.segments.items():
        wins = signed[signed.segment == s]
        n_due = int((due.segment == s).sum())
        if n_due:
            p = _div(due.churned[due.segment == s].sum(), n_due)
            base = float(renewed_arr.get(s, 0.0))
            g = float(expanded.get(s, 0.0)) / base if base > 0 else 0.0
        else:
            p, g = pooled_p, pooled_g
        term_years = seg.contract_term / _YEAR
        r = (1.0 - p) * (1.0 + g) / (1.0 + discount) ** term_years
        value = (seg.gross_margin * float(wins.acv.mean()) * term_years
                 * _lifetime_terms(r, m.effects.ltv_max_years / term_years)) if len(wins) else float("nan")
        k[f"ltv.{s}"] = value if n_due >= lo else float("nan")
        if len(wins) and value == value:
            total += value * len(wins)
            weight += len(wins)
    k["ltv"] = _div(total, weight) if len(due) >= lo else float("nan")


def _arr_steps(ev: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Times and running total of ARR (won and expanded add, churned removes)."""
    sign = {"won": 1.0, "installed": 1.0, "expanded": 1.0, "churned": -1.0}
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
    grid = np.arange(MONTH, t1 + 1e-9, MONTH)
    idx = np.searchsorted(times, grid, side="right") - 1
    if not len(level):
        return np.zeros(len(grid))
    return np.where(idx >= 0, level[np.clip(idx, 0, None)], 0.0)


def _survival(b: pd.DataFrame, t1: float) -> np.ndarray:
    """Kaplan-Meier share of customers won in the run still active, months after signature (the
    installed base, signed before the run, would need left truncation: it is left out)."""
    customers = b[b.won_at.notna() & (b.source != INSTALLED)]
    duration = (customers.churned_at.fillna(t1) - customers.won_at).to_numpy() / MONTH
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
        # Heads (stated, or costed from the role's mix at load: sim.costs), plus the fixed
        # platform and operations costs of AI roles; all split by the acquisition share.
        count = role.headcount if not role.capacity_changes else _heads(res, name)
        heads = count * role.loaded_cost_annual
        k[f"role_cost.{name}"] = heads
        fixed = (role.platform_cost_annual + role.operations_cost_annual) * open_days(role, t0, t1) / (t1 - t0)
        yearly = heads + fixed
        people += heads
        ai += fixed
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
    # A reorganization's one-off cost, spread over the window's years as every cost here is a year's.
    k["reorg_cost"] = reorg_cost(scn, t0, t1) / years
    k["total_cost"] = people + ai + marketing + k["reorg_cost"]
    k["cac"] = _div(acq_cost, k["new_customers"])


def _heads(res: SimResult, role: str) -> float:
    """A role's people on the payroll, averaged over the window (where they join and leave)."""
    rows = res.roles[res.roles.role == role]
    return float(rows.heads_window.iloc[0]) if len(rows) else 0.0


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
    calendars = {name: build_calendar(c, res.scenario.simulation) for name, c in res.scenario.calendars.items()}
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
        capacity = row.staffed_time_window
        # A role whose plan has no one in the window (closed by a reorganization before it) is not
        # utilized at 100% by the jobs its people finish on their way out: it has no utilization.
        planned = open_days(res.scenario.roles[row.role], t0, t1) > 0
        k[f"utilization.{row.role}"] = _div(ends.get(row.role, 0.0), capacity) if capacity and planned else float("nan")
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
