"""How each KPI is shown: its unit, which direction is better, its label, and number formats.

A KPI's direction is +1 when higher is better (conversion, NRR, LTV), -1 when lower is better
(churn, CAC, waits, cost) and 0 when it is context with no better side (buyers, utilization).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..locale import Catalogue
from ..metrics import KPI_DOCS

__all__ = ["KpiSpec", "spec", "label", "definition", "fmt", "fmt_diff", "fmt_ci", "fmt_money",
           "GROUPS", "HEADLINE", "group_of"]


@dataclass(frozen=True)
class KpiSpec:
    """``kind``: percent, money, hours, days, months, ratio, count or number."""

    kind: str
    better: int


_SPECS: dict[str, KpiSpec] = {
    "buyers": KpiSpec("count", 0),
    "contacted": KpiSpec("count", 0),
    "won": KpiSpec("count", 1),
    "conversion_rate": KpiSpec("percent", 1),
    "win_rate": KpiSpec("percent", 1),
    "in_flight_share": KpiSpec("percent", 0),
    "first_response_p50_hours": KpiSpec("hours", -1),
    "first_response_p90_hours": KpiSpec("hours", -1),
    "answered_within_1h_share": KpiSpec("percent", 1),
    "never_answered_share": KpiSpec("percent", -1),
    "sales_cycle_p50_days": KpiSpec("days", -1),
    "new_customers": KpiSpec("count", 1),
    "new_arr_annual": KpiSpec("money", 1),
    "logo_churn_annual": KpiSpec("percent", -1),
    "grr": KpiSpec("percent", 1),
    "nrr": KpiSpec("percent", 1),
    "arr_end": KpiSpec("money", 1),
    "ltv": KpiSpec("money", 1),
    "people_cost": KpiSpec("money", -1),
    "ai_cost": KpiSpec("money", -1),
    "marketing_cost": KpiSpec("money", 0),
    "total_cost": KpiSpec("money", -1),
    "cac": KpiSpec("money", -1),
    "ltv_to_cac": KpiSpec("ratio", 1),
    "cac_payback_months": KpiSpec("months", -1),
    "handoffs_per_won": KpiSpec("number", -1),
    "context_losses_per_won": KpiSpec("number", -1),
    "onboarding_completion": KpiSpec("percent", 1),
    "time_to_value_p50_days": KpiSpec("days", -1),
    "expansion_rate_annual": KpiSpec("percent", 1),
    "at_risk_share": KpiSpec("percent", -1),
    "north_star": KpiSpec("number", 0),
}
_PREFIX_SPECS = {
    "lost.": KpiSpec("count", -1),
    "utilization.": KpiSpec("percent", 0),
    "queue_wait_mean_hours.": KpiSpec("hours", -1),
    "source_share.": KpiSpec("percent", 0),
    "won_share.": KpiSpec("percent", 0),
}
#: Per-item KPIs: prefix -> (catalogue names group, placeholder in KPI_DOCS and kpi labels).
_PREFIX_ITEMS = {"lost": ("reasons", "reason"), "utilization": ("roles", "role"),
                 "queue_wait_mean_hours": ("roles", "role"), "source_share": ("sources", "source"),
                 "won_share": ("sources", "source")}

#: KPI table groups, in order; KPIs not listed go to "other" (or "roles" for per-role KPIs).
GROUPS: dict[str, tuple[str, ...]] = {
    "funnel": ("buyers", "contacted", "won", "conversion_rate", "win_rate", "first_response_p50_hours",
               "first_response_p90_hours", "answered_within_1h_share", "never_answered_share",
               "sales_cycle_p50_days", "in_flight_share"),
    "retention": ("new_customers", "new_arr_annual", "logo_churn_annual", "grr", "nrr", "expansion_rate_annual",
                  "at_risk_share", "arr_end"),
    "economics": ("ltv", "cac", "ltv_to_cac", "cac_payback_months", "people_cost", "ai_cost",
                  "marketing_cost", "total_cost"),
    "handoffs": ("handoffs_per_won", "context_losses_per_won", "onboarding_completion",
                 "time_to_value_p50_days"),
}

#: The KPIs an executive summary and the forest plot speak about, in order.
HEADLINE = ("conversion_rate", "win_rate", "first_response_p50_hours", "sales_cycle_p50_days",
            "logo_churn_annual", "nrr", "ltv_to_cac", "cac", "total_cost")


def spec(kpi: str) -> KpiSpec:
    if kpi in _SPECS:
        return _SPECS[kpi]
    for prefix, s in _PREFIX_SPECS.items():
        if kpi.startswith(prefix):
            return s
    return KpiSpec("number", 0)


def group_of(kpi: str) -> str:
    for group, kpis in GROUPS.items():
        if kpi in kpis:
            return group
    if kpi.startswith(("utilization.", "queue_wait_mean_hours.")):
        return "roles"
    return "other"


def label(kpi: str, cat: Catalogue) -> str:
    """The KPI's name in the catalogue's language."""
    prefix, _, rest = kpi.partition(".")
    if rest and prefix in _PREFIX_ITEMS:
        group, placeholder = _PREFIX_ITEMS[prefix]
        return cat.t(f"kpi.{prefix}", **{placeholder: cat.name(group, rest)})
    try:
        return cat.t(f"kpi.{kpi}")
    except KeyError:
        return kpi


def definition(kpi: str, cat: Catalogue) -> str:
    """The KPI's formula (sim.metrics.KPI_DOCS), translated when the catalogue has it."""
    prefix, _, rest = kpi.partition(".")
    key = f"{prefix}.<{_PREFIX_ITEMS[prefix][1]}>" if rest and prefix in _PREFIX_ITEMS else kpi
    return cat.mapping("kpi_docs").get(key) or KPI_DOCS.get(key, "")


def _minus(text: str) -> str:
    """A typographic minus; no sign at all on a number that rounds to zero."""
    if text[:1] in "+-" and not any(c in "123456789" for c in text):
        return text[1:]
    return text.replace("-", "\u2212", 1) if text.startswith("-") else text


def fmt_money(x: float, cat: Catalogue, signed: bool = False, short: bool = False) -> str:
    """Money for the catalogue's readers: $1.23M / $53.4K, or 415万ドル / 5.3万ドル;
    ``short`` drops trailing zeros (for axis ticks: $16M, $2.5M, $125K)."""
    if not math.isfinite(x):
        return "–"
    sign = ("+" if x > 0 else "-" if x < 0 else "") if signed else ("-" if x < 0 else "")
    a = abs(x)
    def num(v: float, digits: int) -> str:
        return f"{v:,.4g}" if short else f"{v:,.{digits}f}"

    if cat.money_style == "man":
        if a >= 1e8:
            body = f"{num(a / 1e8, 2)}億ドル"
        elif a >= 1e6:
            body = f"{num(a / 1e4, 0)}万ドル"
        elif a >= 1e4:
            body = f"{num(a / 1e4, 0 if a >= 1e5 else 1)}万ドル"
        else:
            body = f"{a:,.0f}ドル"
    elif a >= 1e6:
        body = f"${num(a / 1e6, 2)}M"
    elif a >= 1e3:
        body = f"${num(a / 1e3, 1)}K"
    else:
        body = f"${a:,.0f}"
    return _minus(sign + body)


def _number(x: float, kind: str, cat: Catalogue, signed: bool) -> str:
    s = "+" if signed else ""
    if kind == "percent":
        return cat.t("units.percent", v=f"{x * 100:{s}.1f}")
    if kind == "hours":
        if abs(x) < 1:
            return cat.t("units.minutes", v=f"{x * 60:{s}.0f}" if abs(x * 60) >= 1 else f"{x * 60:{s}.1f}")
        return cat.t("units.hours", v=f"{x:{s},.1f}")
    if kind == "days":
        return cat.t("units.days", v=f"{x:{s},.1f}")
    if kind == "months":
        return cat.t("units.months", v=f"{x:{s},.1f}")
    if kind == "ratio":
        return cat.t("units.ratio", v=f"{x:{s},.2f}")
    if kind == "count":
        return f"{x:{s},.0f}" if abs(x) >= 10 else f"{x:{s},.1f}"
    return f"{x:{s},.0f}" if abs(x) >= 1000 else f"{x:{s},.2f}"


def fmt(kpi: str, x: float, cat: Catalogue) -> str:
    """A KPI value with its unit."""
    if x is None or not math.isfinite(x):
        return "–"
    kind = spec(kpi).kind
    return fmt_money(x, cat) if kind == "money" else _minus(_number(x, kind, cat, False))


def fmt_diff(kpi: str, d: float, cat: Catalogue) -> str:
    """A difference in a KPI, signed; percentages in percentage points."""
    if d is None or not math.isfinite(d):
        return "–"
    kind = spec(kpi).kind
    if kind == "money":
        return fmt_money(d, cat, signed=True)
    if kind == "percent":
        return _minus(cat.t("units.pp", v=f"{d * 100:+.1f}"))
    return _minus(_number(d, kind, cat, True))


def fmt_ci(kpi: str, low: float, high: float, level: int, cat: Catalogue, diff: bool = False) -> str:
    """``95% CI low to high`` (empty when there is no interval)."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return ""
    f = fmt_diff if diff else fmt
    return cat.t("units.ci", level=level, low=f(kpi, low, cat), high=f(kpi, high, cat))
