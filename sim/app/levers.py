"""The levers of the live page, generated from the scenario schema: ranges, steps and units.

A lever is a ``--set`` key of the design (or of the market every design shares) with the
bounds the schema puts on it (:mod:`sim.schema`'s ``ge``/``le``), a window for the slider
inside them (around the design's value, and the plausible range of an assumption from
:data:`sim.assumptions.RANGES`), a unit, and the design's own value. Its setting becomes a
``--set`` string, exactly what ``orgsim compare --set`` takes, so the page, a saved scenario
and the command line resolve a setting through the same loader (:func:`sim.scenario.load_scenario`),
with the same messages for a value out of bounds.

The curated levers come first (headcount per role, who gives the first response, data
integration, the speed-to-lead SLA, AI quality and bot aversion, the market mix, the horizon);
every other key is reachable as a ``KEY.PATH=VALUE`` line under "more" (:func:`set_keys`).

Keys under ``market.`` and ``simulation.`` are the common market: they apply to every design
in the view, the baseline too (:func:`is_shared`); the others apply to the design being edited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml
from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel

from ..assumptions import RANGES
from ..schema import Effects, Role, Scenario, Segment, Simulation
from ..units import DAYS_PER_UNIT

__all__ = ["Lever", "levers", "is_shared", "set_string", "schema_bounds", "set_keys", "AI_AGENT",
           "AI_AGENT_ROLE", "HORIZONS", "SLAS", "normalize_shares"]

#: Horizons offered for the run (the warm-up of the design stays; it must be shorter).
HORIZONS = ("1y", "18mo", "2y", "3y", "4y", "5y")
#: Speed-to-lead SLAs for the first responder: a pickup delay, as siloed_sla.yaml writes it.
SLAS = ("5min", "15min", "1h", "4h")
#: The first-response option that brings in an AI agent where the design has none: the agent of
#: scenarios/ai_automated.yaml (its costs are that file's, with their sources there).
AI_AGENT_ROLE = "ai_first_response"
AI_AGENT: dict[str, Any] = {"kind": "ai", "headcount": 10, "calendar": "always", "loaded_cost_annual": 12000,
                            "cost_per_task": 2, "platform_cost_annual": 50000, "operations_cost_annual": 75000,
                            "scoring_accuracy": 0.8}


@dataclass(frozen=True)
class Lever:
    """One control of the page.

    ``kind``: ``int`` or ``float`` (a slider in the value's own unit), ``percent`` (a share
    shown as 0-100), ``choice`` (``choices``: value -> label key) or ``bool``. ``low`` and
    ``high`` bound the slider; ``bounds`` are the schema's own (a value outside is refused by
    the loader whatever the page sends).
    """

    key: str
    group: str  # org, first_response, ai, market, mix, horizon
    kind: str
    label: str  # a catalogue key (app.lever.*) or, for a role, the role's name
    default: Any
    low: float = 0.0
    high: float = 1.0
    step: float = 1.0
    unit: str = ""  # a catalogue key under app.unit
    bounds: tuple[float, float] = (-math.inf, math.inf)
    choices: tuple[tuple[str, str], ...] = ()
    role: str = ""  # the role a per-role lever belongs to
    segment: str = ""
    note: str = ""  # the plausible range of an assumption, in the schema's unit
    extra: tuple[str, ...] = field(default=())

    @property
    def is_sla(self) -> bool:
        """The speed-to-lead choice: a pickup delay, written as a distribution."""
        return self.group == "sla" and self.kind == "choice"

    @property
    def shared(self) -> bool:
        return is_shared(self.key)

    def ui_value(self, value: Any) -> Any:
        """The value as the control shows it (a share in percent)."""
        if self.kind == "percent":
            return round(float(value) * 100, 2)
        return value

    def from_ui(self, value: Any) -> Any:
        """The scenario value of what the control shows."""
        if self.kind == "percent":
            return round(float(value) / 100, 6)
        if self.kind == "int":
            return int(round(float(value)))
        if self.kind == "float":
            return float(value)
        if self.kind == "bool":
            return bool(value)
        return str(value)

    def accepts(self, value: Any) -> bool:
        """Whether the control can show ``value`` (a scenario value) as it is; a value it cannot
        (out of the slider's range, another shape) stays a ``--set`` line under "more", where
        the loader judges it with the command line's messages."""
        if self.is_sla:
            return (isinstance(value, dict) and set(value) == {"dist", "mean", "sd"} and value["dist"] == "lognormal"
                    and value["mean"] == value["sd"] and value["mean"] in SLAS)
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "choice":
            return isinstance(value, str) and bool(value.strip())
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        if self.kind == "int":
            return isinstance(value, int) and self.bounds[0] <= value <= self.bounds[1]
        shown = self.ui_value(value)
        return bool(self.low <= shown <= self.high)

    def changed(self, value: Any) -> bool:
        """Whether ``value`` (a scenario value) differs from the design's."""
        if self.kind in ("percent", "float"):
            return not math.isclose(float(value), float(self.default), rel_tol=1e-9, abs_tol=1e-9)
        return bool(value != self.default)

    def sets(self, value: Any) -> list[str]:
        """The ``--set`` strings that put ``value`` (a scenario value) in the scenario."""
        if self.group == "first_response" and value == AI_AGENT_ROLE:
            return [set_string(f"roles.{AI_AGENT_ROLE}", AI_AGENT), set_string(self.key, AI_AGENT_ROLE)]
        if self.is_sla:
            return [set_string(self.key, {"dist": "lognormal", "mean": value, "sd": value})]
        return [set_string(self.key, value)]


def is_shared(key: str) -> bool:
    """Whether a ``--set`` key belongs to the common market (every design, the baseline too)."""
    return key.split(".", 1)[0] in ("market", "simulation")


def set_string(key: str, value: Any) -> str:
    """``key=value`` with the value written as YAML flow text (what ``--set`` parses back)."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = repr(round(value, 9))
    elif isinstance(value, (int, str)) and not isinstance(value, bool):
        text = str(value) if isinstance(value, int) else _yaml_scalar(value)
    else:
        text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False).strip()
    return f"{key}={text}"


def _yaml_scalar(text: str) -> str:
    dumped = yaml.safe_dump(text, default_flow_style=True).strip()
    return dumped[:-4].strip() if dumped.endswith("\n...") else dumped.removesuffix("...").strip()


def schema_bounds(model: type[BaseModel], name: str) -> tuple[float, float]:
    """The schema's bounds on a numeric field (``ge``/``gt``/``le``/``lt``), infinite where none."""
    low, high = -math.inf, math.inf
    for meta in model.model_fields[name].metadata:
        if isinstance(meta, Ge):
            low = max(low, float(meta.ge))  # type: ignore[arg-type]
        elif isinstance(meta, Gt):
            low = max(low, float(meta.gt))  # type: ignore[arg-type]
        elif isinstance(meta, Le):
            high = min(high, float(meta.le))  # type: ignore[arg-type]
        elif isinstance(meta, Lt):
            high = min(high, float(meta.lt))  # type: ignore[arg-type]
    return low, high


def _note(path: str) -> str:
    r = RANGES.get(path)
    if r is None:
        return ""
    return f"×{r.low:g}–×{r.high:g}" if r.relative else f"{r.low:g}–{r.high:g}"


def _headcount(name: str, role: Role) -> Lever:
    bounds = schema_bounds(Role, "headcount")
    low = 0 if role.headcount == 0 else 1
    high = max(10, 2 * role.headcount + 4)
    return Lever(f"roles.{name}.headcount", "org", "int", "app.lever.headcount", role.headcount, low, min(high, bounds[1]), 1,
                 "agents" if role.kind == "ai" else "people", bounds, role=name)


def _first_responder(scn: Scenario) -> str | None:
    route = scn.routing.get("first_response")
    return route if isinstance(route, str) else None


def _horizon_label(days: float) -> str:
    for text in HORIZONS:
        if math.isclose(_days(text), days):
            return text
    return f"{days:g}d"


def _days(text: str) -> float:
    number = "".join(c for c in text if c.isdigit() or c == ".")
    unit = text[len(number):]
    return float(number) * DAYS_PER_UNIT[unit]


def _sla_label(scn: Scenario, role: str) -> str:
    delay = scn.roles[role].pickup_delay
    if delay is None:
        return "none"
    mean = float(getattr(delay, "mean", math.nan))
    for text in SLAS:
        if math.isclose(_days(text), mean, rel_tol=1e-6):
            return text
    return "design"


def levers(design: Scenario, market: Scenario | None = None) -> list[Lever]:
    """The curated levers of ``design`` (its roles), and of the common market (``market``,
    default the design's own), in the order the page shows them."""
    market = market or design
    out: list[Lever] = [_headcount(n, r) for n, r in design.roles.items()]
    out.append(Lever("data_integration", "org", "percent", "app.lever.data_integration", design.data_integration,
                     0, 100, 5, "percent", (0.0, 1.0)))
    first = _first_responder(design)
    if first is not None:
        options = [(n, n) for n in design.roles]
        if not any(r.kind == "ai" for r in design.roles.values()):
            options.append((AI_AGENT_ROLE, "app.choice.ai_agent"))
        out.append(Lever("routing.first_response", "first_response", "choice", "app.lever.first_response", first,
                         choices=tuple(options)))
        if design.roles[first].kind == "human":
            current = _sla_label(design, first)
            values = [(current, f"app.choice.sla_{current}" if current in ("none", "design") else current)]
            values += [(s, s) for s in SLAS if s != current]
            out.append(Lever(f"roles.{first}.pickup_delay", "sla", "choice", "app.lever.sla", current,
                             choices=tuple(values), role=first))
            out.append(Lever(f"roles.{first}.follows_up_every_lead", "sla", "bool", "app.lever.follow_up",
                             design.roles[first].follows_up_every_lead, role=first))
    effects = market.market.effects
    bounds = schema_bounds(Effects, "ai_judgement_noise")
    out.append(Lever("market.effects.ai_judgement_noise", "ai", "float", "app.lever.ai_noise",
                     effects.ai_judgement_noise, 0.0, 0.6, 0.01, "fit_sd", bounds,
                     note=_note("market.effects.ai_judgement_noise")))
    for n, r in design.roles.items():
        if r.kind == "ai":
            out.append(Lever(f"roles.{n}.scoring_accuracy", "ai", "percent", "app.lever.scoring_accuracy",
                             r.scoring_accuracy, 0, 100, 5, "percent", (0.0, 1.0), role=n))
    for s, seg in market.market.segments.items():
        out.append(Lever(f"market.segments.{s}.automation_aversion", "ai", "percent", "app.lever.aversion",
                         seg.automation_aversion, 0, 100, 1, "percent", schema_bounds(Segment, "automation_aversion"),
                         segment=s, note=_note("market.segments.<segment>.automation_aversion")))
    for s, seg in market.market.segments.items():
        out.append(Lever(f"market.segments.{s}.share", "mix", "percent", "app.lever.share", seg.share,
                         0, 100, 1, "percent", schema_bounds(Segment, "share"), segment=s))
    horizon = _horizon_label(market.simulation.horizon)
    choices = [(h, h) for h in HORIZONS]
    if horizon not in HORIZONS:
        choices.insert(0, (horizon, horizon))
    out.append(Lever("simulation.horizon", "horizon", "choice", "app.lever.horizon", horizon,
                     choices=tuple(choices), bounds=schema_bounds(Simulation, "horizon")))
    return out


def normalize_shares(shares: dict[str, float]) -> dict[str, float]:
    """Segment shares that sum to exactly 1 (the last takes the rounding), as the schema asks."""
    total = sum(max(0.0, v) for v in shares.values())
    if total <= 0:
        return dict(shares)
    names = list(shares)
    out = {n: round(max(0.0, shares[n]) / total, 6) for n in names[:-1]}
    out[names[-1]] = round(1.0 - sum(out.values()), 6)
    return out


def set_keys(scn: Scenario) -> list[tuple[str, str]]:
    """Every ``--set`` key of a resolved scenario with its value, as text: what "more" offers."""
    out: list[tuple[str, str]] = []

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict) and node and "dist" not in node:
            for k, v in node.items():
                walk(v, f"{prefix}.{k}" if prefix else str(k))
        else:
            text = yaml.safe_dump(node, default_flow_style=True, sort_keys=False).strip()
            text = text.removesuffix("...").strip()
            out.append((prefix, text))

    doc = scn.model_dump(mode="json", exclude={"extends", "name", "description", "abstract"})
    walk(doc, "")
    return out
