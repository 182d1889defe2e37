"""The assumptions page: scenario parameters that differ between designs, and the model effects.

Parameters are read from the resolved scenarios saved with the results; the meaning of each
effect comes from its ``Field(description=...)`` in :class:`sim.schema.Effects` (translated by
the catalogue's ``effects`` table for other languages), so the page and the schema never drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import kpis as registry
from ..locale import Catalogue
from . import kpis as K
from .folder import ReportData

if TYPE_CHECKING:
    from pydantic import BaseModel

# sim.schema (pydantic's models, 0.15-0.27 s to import) is loaded where it is read, so that a
# report loads it while its charts are being drawn in another process (sim.report.html).

__all__ = ["flatten", "param_label", "fmt_param", "Row", "differing", "effects_rows", "market_rows"]

_SKIP = {"name", "description", "abstract", "extends"}
#: Fields holding a duration in days (shown as min / h / days).
_DURATIONS = {"horizon", "warmup", "pickup_delay", "half_life", "patience", "research_time", "time_to_value",
              "ttv_target", "contract_term", "checkin_interval", "checkin_sla", "work", "deliberation",
              "open", "close", "trial_length", "sender_work"}
_MONEY = {"loaded_cost_annual", "cost_per_task", "marketing_program_cost_annual", "acv", "platform_cost_annual",
          "operations_cost_annual", "pql_acv_threshold"}
_CHILD_GROUP = {"roles": "roles", "routing": "steps", "activities": "steps", "segments": "segments",
                "channels": "channels"}


def flatten(doc: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted path -> leaf value; a distribution (a mapping with ``dist``) is one leaf."""
    out: dict[str, Any] = {}
    if isinstance(doc, dict) and "dist" not in doc:
        for key, value in doc.items():
            if not prefix and key in _SKIP:
                continue
            out.update(flatten(value, f"{prefix}{key}."))
        if not doc and prefix:
            out[prefix[:-1]] = {}
        return out
    out[prefix[:-1]] = doc
    return out


def param_label(path: str, cat: Catalogue) -> str:
    """A dotted path in words: ``roles.field_sales.headcount`` -> ``roles › Field sales › headcount``."""
    parts = path.split(".")
    words = []
    for i, part in enumerate(parts):
        group = _CHILD_GROUP.get(parts[i - 1]) if i else None
        words.append(cat.name(group, part) if group else _word(part, cat))
    return " › ".join(words)


#: Where a bare identifier's name is looked up, in order (a field, then a role, a step...).
_GROUPS = ("fields", "roles", "steps", "segments", "channels", "teams", "values")


def _word(key: str, cat: Catalogue) -> str:
    """An identifier in words: the first catalogue group that names it, a KPI's label, or the id."""
    for group in _GROUPS:
        name = cat.name(group, key)
        if name != key:
            return name
    if registry.get(key) is not None:
        return K.label(key, cat)
    return key


def _duration(days: float, cat: Catalogue) -> str:
    if days and abs(days) < 1 / 24:
        return cat.t("units.minutes", v=f"{days * 1440:.3g}")
    if days and abs(days) < 1:
        return cat.t("units.hours", v=f"{days * 24:.3g}")
    return cat.t("units.days", v=f"{days:,.4g}")


def _number(field: str, x: float, cat: Catalogue) -> str:
    if field in _DURATIONS:
        return _duration(x, cat)
    if field in _MONEY:
        return K.fmt_money(x, cat)
    return f"{x:,.4g}" if math.isfinite(x) else "–"


def fmt_param(path: str, value: Any, cat: Catalogue) -> str:
    """A parameter value in words and units."""
    field = path.rsplit(".", 1)[-1]
    parent = path.split(".")[0]
    if value is None:
        return "–"
    if isinstance(value, bool):
        return cat.name("values", str(value).lower())
    if isinstance(value, (int, float)):
        return _number(field, float(value), cat)
    if isinstance(value, str):
        return cat.role(value) if parent == "routing" else _word(value, cat)
    if isinstance(value, dict) and "dist" in value:
        inner = [cat.t("assumptions.dist_part", name=cat.name("dist", str(k)),
                       value=_number(field, float(v), cat) if isinstance(v, (int, float)) else v)
                 for k, v in value.items() if k != "dist"]
        return cat.t("assumptions.dist", dist=cat.name("dist", str(value["dist"])), parts=cat.join(inner))
    if isinstance(value, dict):
        inner = [f"{_word(str(k), cat)} {fmt_param(f'{path}.{k}', v, cat)}" for k, v in value.items()]
        return cat.join(inner) or "–"
    if isinstance(value, list):
        return "; ".join(fmt_param(path, v, cat) for v in value) or "–"
    return str(value)


@dataclass(frozen=True)
class Row:
    """One parameter: its path, its label, its value per design (or one shared value)."""

    path: str
    label: str
    values: list[str]
    meaning: str = ""


def _role_default(path: str) -> Any:
    """The schema default of a role field (``roles.X.field``), or _ABSENT."""
    from ..schema import Role

    parts = path.split(".")
    if len(parts) != 3 or parts[0] != "roles" or parts[2] not in Role.model_fields:
        return _ABSENT
    info = Role.model_fields[parts[2]]
    return _ABSENT if info.is_required() else info.get_default(call_default_factory=True)


def differing(data: ReportData, cat: Catalogue) -> list[Row]:
    """Every parameter whose value is not the same in all designs (absent shown as a dash).

    A role field left at its schema default in every design that has the role is not listed:
    the role's presence already shows in its headcount and cost."""
    flat = {n: flatten(data.scenarios.get(n, {})) for n in data.names}
    paths = list(dict.fromkeys(p for n in data.names for p in flat[n]))
    absent = cat.t("assumptions.absent")
    rows = []
    for path in paths:
        values = [flat[n].get(path, _ABSENT) for n in data.names]
        if all(v == values[0] for v in values):
            continue
        present = [v for v in values if v is not _ABSENT]
        if present and all(v == _role_default(path) for v in present):
            continue
        shown = [absent if v is _ABSENT else fmt_param(path, v, cat) for v in values]
        rows.append(Row(path, param_label(path, cat), shown))
    return rows


_ABSENT = object()


def _effect_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str]]:
    from pydantic import BaseModel

    out = []
    for name, info in model.model_fields.items():
        sub = info.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            out.append((f"{prefix}{name}", (sub.__doc__ or "").strip()))
            out += _effect_fields(sub, f"{prefix}{name}.")
        else:
            out.append((f"{prefix}{name}", info.description or ""))
    return out


def effects_rows(data: ReportData, cat: Catalogue) -> list[Row]:
    """Every model effect with its value (per design where they differ) and its meaning."""
    from ..schema import Effects

    own = cat.mapping("effects")
    docs = {n: flatten(data.scenarios.get(n, {}).get("market", {}).get("effects", {})) for n in data.names}
    rows = []
    for path, meaning in _effect_fields(Effects):
        values = [docs[n].get(path, _ABSENT) for n in data.names]
        if all(v is _ABSENT for v in values):
            shown = [""]
        elif all(v == values[0] for v in values):
            shown = [fmt_param(path, values[0], cat)]
        else:
            shown = [f"{cat.design(n)}: {fmt_param(path, v, cat) if v is not _ABSENT else '–'}"
                     for n, v in zip(data.names, values)]
        rows.append(Row(path, path, shown, own.get(path) or meaning))
    return rows


def market_rows(data: ReportData, cat: Catalogue) -> tuple[list[list[str]], list[list[str]]]:
    """The shared market in brief: segments (share, mean ACV, base churn, contact) and channels."""
    market = data.scenarios.get(data.baseline, {}).get("market", {})
    segments = []
    for name, seg in (market.get("segments") or {}).items():
        acv = seg.get("acv") or {}
        mean = acv.get("mean", acv.get("value"))
        segments.append([cat.name("segments", name), f"{float(seg.get('share', 0)) * 100:.0f}%",
                         K.fmt_money(float(mean), cat) if mean is not None else "–",
                         f"{float(seg.get('base_churn_annual', 0)) * 100:.0f}%",
                         f"{float(seg.get('contact_probability', 0)) * 100:.0f}%"])
    channels = [[cat.name("channels", name), f"{float(ch.get('rate_per_week', 0)):,.4g}"]
                for name, ch in (market.get("channels") or {}).items()]
    return segments, channels
