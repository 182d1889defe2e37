"""How each KPI is shown: its label and number formats; what it is comes from the registry.

Unit, direction (+1 higher is better, -1 lower is better, 0 context), group, formula and
denominator are defined once in :mod:`sim.kpis`; labels are in the catalogues, keyed by the
registry's names (a family such as ``lost.<reason>`` by its prefix, ``kpi.lost``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .. import kpis as registry
from ..kpis import GROUPS, HEADLINE, KPI_DOCS, Kpi, Unit
from ..locale import Catalogue

__all__ = ["spec", "label", "definition", "fmt", "fmt_diff", "fmt_ci", "fmt_ends", "fmt_range", "fmt_money",
           "fmt_or_na",
           "GROUPS", "HEADLINE", "group_of"]

#: Per-item KPIs: prefix -> (catalogue names group, placeholder in KPI_DOCS and kpi labels).
_PREFIX_ITEMS = {"lost": ("reasons", "reason"), "utilization": ("roles", "role"),
                 "queue_wait_mean_hours": ("roles", "role"), "role_cost": ("roles", "role"),
                 "source_share": ("sources", "source"),
                 "won_share": ("sources", "source")}


def spec(kpi: str) -> Kpi:
    """The registry's definition of ``kpi`` (a neutral number if it is not a known KPI)."""
    return registry.get(kpi) or Kpi(kpi, Unit.NUMBER, 0, "other", "")


def group_of(kpi: str) -> str:
    return spec(kpi).group


def label(kpi: str, cat: Catalogue) -> str:
    """The KPI's name in the catalogue's language."""
    base, segment = registry.split_segment(kpi)
    if segment is not None:
        return cat.t("kpis.by_segment", kpi=label(base, cat), segment=cat.name("segments", segment))
    prefix, _, rest = kpi.partition(".")
    if rest in registry.COHORTS and prefix in registry.REGISTRY:  # a KPI of one cohort (installed base, new)
        return cat.t("kpis.by_segment", kpi=label(prefix, cat), segment=cat.name("cohorts", rest))
    if rest and prefix in _PREFIX_ITEMS:
        group, placeholder = _PREFIX_ITEMS[prefix]
        return cat.t(f"kpi.{prefix}", **{placeholder: cat.name(group, rest)})
    try:
        return cat.t(f"kpi.{kpi}")
    except KeyError:
        return kpi


def definition(kpi: str, cat: Catalogue) -> str:
    """The KPI's formula (the registry's, as ``KPI_DOCS``), translated when the catalogue has it."""
    base, segment = registry.split_segment(kpi)
    prefix, _, rest = kpi.partition(".")
    if segment is not None:
        key = f"{base}.<segment>"
    else:
        key = f"{prefix}.<{_PREFIX_ITEMS[prefix][1]}>" if rest and prefix in _PREFIX_ITEMS else kpi
    return cat.mapping("kpi_docs").get(key) or KPI_DOCS.get(key, "")


def _minus(text: str) -> str:
    """A typographic minus; no sign at all on a number that rounds to zero."""
    if text[:1] in "+-" and not any(c in "123456789" for c in text):
        return text[1:]
    return text.replace("-", "\u2212", 1) if text.startswith("-") else text


def fmt_money(x: float, cat: Catalogue, signed: bool = False, short: bool = False, extra: int = 0) -> str:
    """Money for the catalogue's readers: $1.23M / $53.4K, or 415万ドル / 5.3万ドル;
    ``short`` drops trailing zeros (for axis ticks: $16M, $2.5M, $125K); ``extra`` more digits
    (so that the two ends of an interval never print as one number)."""
    if not math.isfinite(x):
        return "–"
    sign = ("+" if x > 0 else "-" if x < 0 else "") if signed else ("-" if x < 0 else "")
    a = abs(x)
    def num(v: float, digits: int) -> str:
        return f"{v:,.4g}" if short else f"{v:,.{digits + extra}f}"

    if cat.money_style == "man":
        if a >= 1e8:
            body = f"{num(a / 1e8, 2)}億ドル"
        elif a >= 1e6:
            body = f"{num(a / 1e4, 0)}万ドル"
        elif a >= 1e4:
            body = f"{num(a / 1e4, 0 if a >= 1e5 else 1)}万ドル"
        else:
            body = f"{num(a, 0)}ドル"
    elif a >= 1e6:
        body = f"${num(a / 1e6, 2)}M"
    elif a >= 1e3:
        body = f"${num(a / 1e3, 1)}K"
    else:
        body = f"${num(a, 0)}"
    return _minus(sign + body)


def _number(x: float, kind: str, cat: Catalogue, signed: bool, extra: int = 0) -> str:
    s = "+" if signed else ""
    e = extra
    if kind == Unit.SHARE:
        return cat.t("units.percent", v=f"{x * 100:{s}.{1 + e}f}")
    if kind == "hours":
        if abs(x) < 1:
            return cat.t("units.minutes", v=f"{x * 60:{s}.{e}f}" if abs(x * 60) >= 1 else f"{x * 60:{s}.{1 + e}f}")
        return cat.t("units.hours", v=f"{x:{s},.{1 + e}f}")
    if kind == "days":
        return cat.t("units.days", v=f"{x:{s},.{1 + e}f}")
    if kind == "months":
        return cat.t("units.months", v=f"{x:{s},.{1 + e}f}")
    if kind == "ratio":
        return cat.t("units.ratio", v=f"{x:{s},.{2 + e}f}")
    if kind == "count":  # a mean of counts prints as a whole number
        return f"{x:{s},.{e}f}"
    return f"{x:{s},.{e}f}" if abs(x) >= 1000 else f"{x:{s},.{2 + e}f}"


def fmt(kpi: str, x: float, cat: Catalogue, extra: int = 0) -> str:
    """A KPI value with its unit (``extra`` more digits)."""
    if x is None or not math.isfinite(x):
        return "–"
    kind = spec(kpi).unit
    return fmt_money(x, cat, extra=extra) if kind == Unit.MONEY else _minus(_number(x, kind, cat, False, extra))


def fmt_or_na(kpi: str, x: float, value_of: Callable[[str], float], cat: Catalogue) -> str:
    """:func:`fmt`, or "n/a (only 7 renewals)" when ``kpi`` is NaN for a reason the registry
    knows (``value_of`` reads the other KPIs of the same design, e.g. its denominator)."""
    if x is not None and math.isfinite(x):
        return fmt(kpi, x, cat)
    return registry.na_text(kpi, value_of, cat) or "–"


def fmt_diff(kpi: str, d: float, cat: Catalogue, extra: int = 0) -> str:
    """A difference in a KPI, signed; percentages in percentage points."""
    if d is None or not math.isfinite(d):
        return "–"
    kind = spec(kpi).unit
    if kind == Unit.MONEY:
        return fmt_money(d, cat, signed=True, extra=extra)
    if kind == Unit.SHARE:
        return _minus(cat.t("units.pp", v=f"{d * 100:+.{1 + extra}f}"))
    return _minus(_number(d, kind, cat, True, extra))


def fmt_ends(kpi: str, low: float, high: float, cat: Catalogue, diff: bool = False) -> tuple[str, str]:
    """The two ends of an interval, with as many more digits as it takes (up to 3) for them
    not to print as one number when they differ."""
    f = fmt_diff if diff else fmt
    for extra in range(4):
        a, b = f(kpi, low, cat, extra), f(kpi, high, cat, extra)
        if a != b or low == high:
            break
    return a, b


def fmt_range(kpi: str, low: float, high: float, cat: Catalogue) -> str:
    """``low – high`` (empty when there is no interval)."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return ""
    a, b = fmt_ends(kpi, low, high, cat)
    return cat.t("units.range", low=a, high=b)


def fmt_ci(kpi: str, low: float, high: float, level: int, cat: Catalogue, diff: bool = False) -> str:
    """``95% CI low to high`` (empty when there is no interval)."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return ""
    a, b = fmt_ends(kpi, low, high, cat, diff)
    return cat.t("units.ci", level=level, low=a, high=b)
