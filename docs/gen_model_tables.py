"""Generate the parameter tables of docs/model.md from the pydantic schema and the shipped files.

    python docs/gen_model_tables.py          # rewrite the tables in docs/model.md
    python docs/gen_model_tables.py --check  # exit 1 if docs/model.md is out of date

Each table lives between ``<!-- BEGIN parameters:SECTION -->`` and ``<!-- END parameters:SECTION -->``.
A row gives the key path (user-chosen names as ``<role>``, ``<segment>``...), its meaning (the
schema's description), unit and bounds, the schema default, the value in the shipped files
(``scenarios/market.yaml`` for the market, ``scenarios/siloed.yaml`` for the organization,
``scenarios/plg.yaml`` for self-serve), where it enters the model, and its source. Where and
source are written below, by hand, for every key: a key without them stops the generator.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.assumptions import NOT_RANGED, SOURCE, range_text
from sim.scenario import load_scenario
from sim.schema import (
    Bridge,
    Calendar,
    Channel,
    HeadcountStep,
    InstalledBase,
    Market,
    Outbound,
    Role,
    Scenario,
    Segment,
)


def format_duration(days: float) -> str:
    """A duration as written in the scenario files: 30min, 4h, 2d, 6mo, 3y."""
    for unit, size in (("y", 365.0), ("mo", 365.0 / 12)):
        n = days / size
        if n >= 1 and abs(n - round(n)) < 1e-9:
            return f"{round(n)}{unit}"
    if days >= 1:
        return f"{days:g}d"
    hours = days * 24
    if hours >= 1 and abs(hours - round(hours, 2)) < 1e-9:
        return f"{hours:g}h"
    return f"{days * 1440:.3g}min"

MODEL_MD = ROOT / "docs" / "model.md"

# ---------------------------------------------------------------- sources and ranges: sim/assumptions.py


#: Where each parameter enters the model: module and function.
WHERE: dict[str, str] = {
    "name": "report labels", "description": "report labels", "extends": "scenario.load_scenario",
    "abstract": "api.compare (refuses to run a market)",
    "simulation.horizon": "model.simulate", "simulation.warmup": "metrics.measure (the window)",
    "simulation.reps": "experiment.run_experiment", "simulation.seed": "streams.replication_seed",
    "simulation.max_buyers": "experiment.check_size",
    "simulation.max_customer_years": "experiment.check_size",
    "market": "every module", "market.segments.<segment>.share": "market._draw_buyers",
    "market.segments.<segment>.acv": "market._draw_buyers", "market.segments.<segment>.fit": "market._draw_buyers",
    "market.segments.<segment>.contact_probability": "journey._researched",
    "market.segments.<segment>.keep_researching_probability": "journey._researched",
    "market.segments.<segment>.rep_free_preference": "market._draw_buyers, journey._researched",
    "market.segments.<segment>.automation_aversion": "market._draw_buyers, journey.journey (contact)",
    "market.segments.<segment>.patience": "journey.journey -> org.RoleQueue.perform (deadline)",
    "market.segments.<segment>.research_time": "journey.arrive, journey._nurture",
    "market.segments.<segment>.stage_conversion": "journey._advance_probability",
    "market.segments.<segment>.stage_conversion.<activity>": "journey._advance_probability",
    "market.segments.<segment>.no_decision_share": "journey.journey (close)",
    "market.segments.<segment>.deliberation_scale": "market._draw_buyers",
    "market.segments.<segment>.work_scale": "market._draw_buyers, customer.customer_life",
    "market.segments.<segment>.time_to_value": "customer._onboard",
    "market.segments.<segment>.ttv_target": "customer.customer_life",
    "market.segments.<segment>.contract_term": "customer.customer_life, customer.churn_probability",
    "market.segments.<segment>.base_churn_annual": "customer.churn_probability",
    "market.segments.<segment>.expansion_probability": "customer._expand",
    "market.segments.<segment>.expansion_uplift": "customer._expand",
    "market.segments.<segment>.gross_margin": "metrics.measure (ltv, cac_payback_months)",
    "market.channels.<channel>.rate_per_week": "market.buyer_chunks",
    "market.channels.<channel>.arrivals_at": "market.scheduled_buyers",
    "market.seasonality.months": "seasonality.Season -> market._thinned_chunks",
    "market.seasonality.weekdays": "seasonality.Season -> market._thinned_chunks",
    "market.seasonality.start_month": "seasonality.Season",
    "market.channels.<channel>.segment_tilt": "market._draw_buyers",
    "market.channels.<channel>.segment_tilt.<segment>": "market._draw_buyers",
    "market.activities.<activity>.kind": "journey.journey, customer.customer_life",
    "market.activities.<activity>.work": "market._draw_buyers (acquisition), context.JourneyContext (others)",
    "market.activities.<activity>.deliberation": "market._draw_buyers -> journey.journey",
    "market.activities.<activity>.threshold": "journey.journey (gate)",
    "market.journey.acquisition": "journey.journey", "market.journey.retention": "customer.customer_life",
    "market.journey.checkin_interval": "customer.customer_life", "market.journey.checkin_sla": "customer.customer_life",
    "market.journey.max_nurture_rounds": "journey._researched",
    "market.effects.lead_decay.half_life": "journey.journey (contact)", "market.effects.lead_decay.floor": "journey.journey (contact)",
    "market.effects.rep_free_contact_factor": "journey._researched",
    "market.effects.context_loss_probability": "handoff.handoff",
    "market.effects.context_loss_conversion_factor": "handoff.context_factor",
    "market.effects.context_loss_rework_fraction": "journey.journey",
    "market.effects.first_response_handoff_drop": "handoff.handoff",
    "market.effects.fit_elasticity": "journey._advance_probability, journey.trial",
    "market.effects.nurture_contact_uplift": "journey._researched",
    "market.effects.ttv_missed_churn_multiplier": "customer.churn_probability",
    "market.effects.context_loss_churn_uplift": "customer.churn_probability",
    "market.effects.neglect_churn_uplift": "customer.churn_probability",
    "market.effects.generalist_slowdown": "org.build_roles",
    "market.effects.ai_judgement_noise": "journey.journey (gate)",
    "market.effects.ltv_max_years": "metrics._ltv",
    "market.finance.discount_rate": "metrics._ltv",
    "market.effects.same_unit_context_factor": "handoff.handoff",
    "market.effects.team_targets_threshold_shift": "context.JourneyContext.build",
    "market.effects.north_star_threshold_shift": "context.JourneyContext.build",
    "market.effects.community_churn_factor": "customer.churn_probability",
    "market.effects.community_referral_factor": "customer._refer",
    "market.effects.expansion_at_risk_factor": "customer._expand",
    "market.installed_base.segments": "customer.installed_customers",
    "market.installed_base.segments.<segment>.customers": "customer.installed_customers",
    "market.installed_base.segments.<segment>.arr": "customer.installed_customers",
    "market.installed_base.segments.<segment>.tenure": "customer.installed_customers, customer.start_installed",
    "market.effects.fit_churn_elasticity": "customer.churn_terms",
    "market.effects.fit_expansion_elasticity": "customer._expand",
    "market.effects.continuity_churn_uplift": "customer.churn_terms",
    "fallback": "journey.journey (contact)", "fallback.role": "journey.journey (contact)", "fallback.delay": "journey._fallback",
    "fallback.penalty": "journey._fallback",
    "transition": "scenario._with_transition -> transition.combine, model._simulate -> transition.switch",
    "transition.from_design": "scenario._with_transition", "transition.at": "transition.combine, transition.switch",
    "transition.one_off_cost": "costs.reorg_cost", "transition.reramp_start": "org._teams -> staffing.Team._join",
    "transition.reramp_time": "org._teams -> staffing.Team._join",
    "market.outbound.target_accounts": "prospecting.meetings_per_day",
    "market.outbound.work_per_attempt": "prospecting.meetings_per_day",
    "market.outbound.meeting_probability": "prospecting.meetings_per_day",
    "market.outbound.ai_meeting_factor": "prospecting.meetings_per_day",
    "market.outbound.segment_tilt": "prospecting._prospect", "market.outbound.segment_tilt.<segment>": "prospecting._prospect",
    "market.referrals.probability_per_renewal": "customer._refer",
    "market.referrals.unhealthy_factor": "customer._refer",
    "market.referrals.research_factor": "customer._refer", "market.referrals.fit_bonus": "customer._refer",
    "market.marketing_program_cost_annual": "metrics._costs",
    "market.buyer_hours.days": "journey._contact_delay", "market.buyer_hours.open": "journey._contact_delay",
    "market.buyer_hours.close": "journey._contact_delay", "market.contact_in_buyer_hours": "journey._contact_delay",
    "calendars.<calendar>.days": "calendar.build_calendar -> org.RoleQueue",
    "calendars.<calendar>.country": "calendar.closed_days -> calendar.public_holidays",
    "calendars.<calendar>.holidays": "calendar.closed_days -> calendar.WorkCalendar",
    "market.buyer_hours.country": "calendar.closed_days (journey._contact_delay)",
    "market.buyer_hours.holidays": "calendar.closed_days (journey._contact_delay)",
    "simulation.start_date": "calendar.closed_days",
    "calendars.<calendar>.open": "calendar.build_calendar -> org.RoleQueue",
    "calendars.<calendar>.close": "calendar.build_calendar -> org.RoleQueue",
    "roles": "org.build_roles",
    "roles.<role>.headcount": "org.RoleQueue (servers), staffing.Team, metrics._costs",
    "roles.<role>.kind": "journey.journey (contact, gate), prospecting.meetings_per_day",
    "roles.<role>.calendar": "org.build_roles", "roles.<role>.loaded_cost_annual": "metrics._costs",
    "roles.<role>.cost_per_task": "metrics._costs", "roles.<role>.productive_share": "org.RoleQueue (time_per_work)",
    "roles.<role>.generalist": "org.build_roles", "roles.<role>.judgement_noise": "journey.journey (gate)",
    "roles.<role>.teams": "org.RoleQueue.team_of", "roles.<role>.team": "handoff.handoff",
    "roles.<role>.pickup_delay": "org.RoleQueue.perform", "roles.<role>.discipline": "org.RoleQueue._by_value",
    "roles.<role>.scoring_accuracy": "journey.journey (gate: predicted value)",
    "roles.<role>.prospecting_share": "prospecting.meetings_per_day, org.RoleQueue (time_per_work)",
    "roles.<role>.mix": "costs.resolve_costs (at load) -> metrics._costs", "roles.<role>.mix.<job>": "costs.implied_cost",
    "roles.<role>.platform_cost_annual": "metrics._costs", "roles.<role>.operations_cost_annual": "metrics._costs",
    "roles.<role>.follows_up_every_lead": "handoff.handoff",
    "roles.<role>.headcount_plan": "staffing.Team (org.build_roles), metrics._costs",
    "roles.<role>.headcount_plan[].at": "staffing.Team._replan", "roles.<role>.headcount_plan[].n": "staffing.Team._replan",
    "roles.<role>.ramp_time": "staffing.ramp_of -> staffing.Team.productivity",
    "roles.<role>.ramp_start": "staffing.Team.productivity",
    "roles.<role>.attrition_annual": "staffing.Team._join, staffing.Team._quit",
    "roles.<role>.time_to_hire": "staffing.Team._quit -> staffing.Team._backfill",
    "roles.<role>.vacation_days": "schema.Role.time_per_work -> org.RoleQueue.adopt",
    "roles.<role>.hiring": "staffing.hire_on_demand (org._teams)", "roles.<role>.hiring.above": "staffing.hire_on_demand",
    "roles.<role>.hiring.review": "staffing.hire_on_demand",
    "roles.<role>.hiring.max_headcount": "staffing.hire_on_demand",
    "market.job_ramp_times": "staffing.ramp_of", "market.job_ramp_times.<job>": "staffing.ramp_of",
    "market.job_costs": "costs.implied_cost", "market.job_costs.<job>": "costs.implied_cost",
    "routing": "context.JourneyContext.role_for", "routing.<activity>": "context.JourneyContext.role_for",
    "routing.<activity>.<segment>": "context.JourneyContext.role_for",
    "assists": "journey.journey", "assists.<activity>": "journey.journey",
    "bridges": "handoff.handoff, journey.journey", "bridges[].sender": "handoff.bridge_for",
    "bridges[].receiver": "handoff.bridge_for", "bridges[].context_loss_factor": "handoff.handoff",
    "bridges[].sender_work": "journey.journey",
    "data_integration": "handoff.handoff", "kpi_alignment": "context.JourneyContext.build",
    "north_star": "metrics.measure (north_star)", "community_participation": "journey._won",
    "self_serve": "journey._researched, journey.trial",
    "self_serve.trial_probability": "journey._researched", "self_serve.trial_length": "journey.trial",
    "self_serve.activation_probability": "journey.trial", "self_serve.paid_if_activated": "journey.trial",
    "self_serve.paid_if_not_activated": "journey.trial", "self_serve.pql_acv_threshold": "journey.trial",
    "self_serve.pql_entry": "journey.trial",
}

#: Where each value comes from (SOURCE) and its plausible range (RANGES) live in sim/assumptions.py,
#: the one place orgsim schema, this page and the reports read them from.

#: Units where the type alone does not say (money, multipliers...).
UNITS: dict[str, str] = {
    "market.segments.<segment>.acv": "distribution of $", "market.segments.<segment>.fit": "distribution on 0-1",
    "market.segments.<segment>.patience": "distribution of days", "market.segments.<segment>.research_time": "distribution of days",
    "market.segments.<segment>.time_to_value": "distribution of days",
    "market.activities.<activity>.work": "distribution of days of work",
    "market.activities.<activity>.deliberation": "distribution of days",
    "roles.<role>.pickup_delay": "distribution of days of working time",
    "roles.<role>.loaded_cost_annual": "$ a year", "roles.<role>.cost_per_task": "$ per activity",
    "market.marketing_program_cost_annual": "$ a year", "self_serve.pql_acv_threshold": "$",
    "market.finance.discount_rate": "rate a year (0-1)",
    "market.segments.<segment>.deliberation_scale": "multiplier > 0", "market.segments.<segment>.work_scale": "multiplier > 0",
    "market.channels.<channel>.rate_per_week": "buyers a week",
    "market.seasonality.months": "mapping jan ... dec -> multiplier >= 0 (or none: no seasonality)",
    "market.seasonality.weekdays": "mapping mon ... sun -> multiplier >= 0 (or none: 1)",
    "market.channels.<channel>.segment_tilt": "mapping segment -> weight (or none)",
    "market.channels.<channel>.segment_tilt.<segment>": "weight (1 = as the market)",
    "market.outbound.segment_tilt": "mapping segment -> weight (or none)",
    "market.outbound.segment_tilt.<segment>": "weight (1 = as the market)",
    "market.installed_base.segments": "mapping segment -> its installed customers (none: start empty)",
    "market.installed_base.segments.<segment>.arr": "distribution of $ a year",
    "market.installed_base.segments.<segment>.tenure": "distribution of days",
    "market.segments.<segment>.stage_conversion": "mapping activity -> probability",
    "market.segments.<segment>.stage_conversion.<activity>": "probability (0-1)",
    "roles": "mapping role name -> role", "routing": "mapping activity -> route",
    "routing.<activity>": "role name, or a mapping segment -> role name", "routing.<activity>.<segment>": "role name",
    "assists": "mapping activity -> role name", "assists.<activity>": "role name",
    "bridges": "list of bridges", "self_serve": "mapping (or none: no self-serve path)",
    "fallback": "mapping (or none: bot-averse buyers are lost)",
    "transition": "mapping (or none: one design throughout)", "transition.from_design": "file path",
    "transition.one_off_cost": "$", "transition.reramp_time": "days (duration)",
    "bridges[].sender": "role name", "bridges[].receiver": "role name",
    "roles.<role>.calendar": "calendar name, or always", "roles.<role>.team": "unit name (or none)",
    "north_star": "KPI name", "name": "text", "description": "text", "extends": "file path (or none)",
    "market.buyer_hours.days": "list of mon ... sun", "calendars.<calendar>.days": "list of mon ... sun",
    "calendars.<calendar>.country": "ISO country code (or none)", "market.buyer_hours.country": "ISO country code (or none)",
    "calendars.<calendar>.holidays": "list of dates (YYYY-MM-DD)", "market.buyer_hours.holidays": "list of dates (YYYY-MM-DD)",
    "simulation.start_date": "date (YYYY-MM-DD), a Monday",
    "roles.<role>.hiring": "mapping (or none: no hiring on demand)", "roles.<role>.hiring.above": "utilization (0-1]",
    "roles.<role>.hiring.review": "days (duration)", "roles.<role>.hiring.max_headcount": "people",
    "roles.<role>.vacation_days": "working days a year",
    "market.journey.acquisition": "list of activity names", "market.journey.retention": "list of activity names",
    "self_serve.pql_entry": "activity name", "fallback.role": "role name (a human role)",
    "market.channels.<channel>.arrivals_at": "list of times (days from the start)",
    "roles.<role>.headcount_plan": "list of steps {at, n} (or a list under headcount)",
    "roles.<role>.ramp_time": "days (duration), or none", "market.job_ramp_times.<job>": "days (duration)",
    "market.job_ramp_times": "mapping job -> days",
}

#: Meanings for keys whose schema field has no description.
MEANINGS: dict[str, str] = {
    "name": "The design's name in tables, charts and paired differences; unique in a comparison.",
    "description": "One line saying what the design is.",
    "market": "The world every design in a comparison shares.",
}

#: Values written by hand where the resolved files do not show them.
VALUES: dict[str, str] = {
    "extends": "every design: market.yaml (bridge_sales, cs_led_growth, hybrid, plg: siloed.yaml); resolved away on loading",
    "abstract": "market.yaml: yes; designs: no",
}

#: Which shipped file the "value" column reads for each part of a scenario.
VALUE_FILES = {"market": "market.yaml", "simulation": "market.yaml", "calendars": "market.yaml",
               "self_serve": "plg.yaml", "assists": "escalator.yaml", "bridges": "bridge_sales.yaml",
               "routing.<activity>.<segment>": "hybrid.yaml", "transition": "over_time/reorg_to_pods.yaml"}

# ---------------------------------------------------------------- walking the schema

#: Mapping fields keyed by names the user chooses, and the wildcard each name becomes.
NAMED = {
    (Scenario, "calendars"): "<calendar>", (Scenario, "roles"): "<role>", (Scenario, "routing"): "<activity>",
    (Scenario, "assists"): "<activity>", (Market, "segments"): "<segment>", (Market, "channels"): "<channel>",
    (Market, "activities"): "<activity>", (Segment, "stage_conversion"): "<activity>",
    (Channel, "segment_tilt"): "<segment>", (Outbound, "segment_tilt"): "<segment>",
    (Market, "job_costs"): "<job>", (Market, "job_ramp_times"): "<job>", (Role, "mix"): "<job>", (InstalledBase, "segments"): "<segment>",
}


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None and found.__name__ not in ("Constant", "Exponential", "Lognormal", "Gamma",
                                                        "Triangular", "Uniform", "Beta", "Empirical"):
            return found
    return None


def _is_distribution(annotation: Any) -> bool:
    return "Lognormal" in repr(annotation)


def rows(model: type[BaseModel] = Scenario, prefix: str = "") -> list[tuple[str, FieldInfo, type[BaseModel]]]:
    """Every documented key path of ``model``, with its field and owning model, in schema order."""
    out = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        ann = field.annotation
        named = NAMED.get((model, name))
        sub = None if _is_distribution(ann) else _model_of(ann)
        if named is not None:
            value_model = _model_of(get_args(ann)[1]) if get_origin(ann) is dict else None
            if (model is Scenario and name in ("roles", "routing", "assists")) or model is InstalledBase:
                out.append((path, field, model))
            if value_model is not None:
                out += rows(value_model, f"{path}.{named}.")
            else:
                if (model, name) in ((Channel, "segment_tilt"), (Outbound, "segment_tilt"), (Segment, "stage_conversion"),
                                     (Market, "job_costs"), (Market, "job_ramp_times"), (Role, "mix")):
                    out.append((path, field, model))
                out.append((f"{path}.{named}", field, model))
                if model is Scenario and name == "routing":
                    out.append((f"{path}.{named}.<segment>", field, model))
        elif name in ("bridges", "headcount_plan"):
            out.append((path, field, model))
            out += rows(Bridge if name == "bridges" else HeadcountStep, f"{path}[].")
        elif sub is not None and name != "buyer_hours":
            if (model is Scenario and name in ("self_serve", "fallback", "transition")) or (model is Role and name == "hiring"):
                out.append((path, field, model))
            if model is Scenario and name == "market":
                out += rows(sub, f"{path}.")
                continue
            out += rows(sub, f"{path}.")
        elif name == "buyer_hours":
            out += rows(Calendar, f"{path}.")
        else:
            out.append((path, field, model))
    return out


# ---------------------------------------------------------------- cells


def _bounds(field: FieldInfo) -> dict[str, float]:
    found: dict[str, float] = {}
    for meta in field.metadata:
        for key in ("ge", "gt", "le", "lt"):
            if getattr(meta, key, None) is not None:
                found[key] = getattr(meta, key)
    return found


def unit(path: str, field: FieldInfo) -> str:
    if path in UNITS:
        return UNITS[path]
    ann, b = field.annotation, _bounds(field)
    text = repr(ann) + repr(field.metadata)
    if "parse_duration" in text:
        return "days (duration)"
    if _is_distribution(ann):
        return "distribution"
    if "Literal" in repr(ann):
        return "one of " + ", ".join(str(a) for a in get_args(ann) if a is not None)
    if ann is bool:
        return "yes / no"
    if ann is int:
        return "whole number" + (f" >= {b['ge']:g}" if "ge" in b else "")
    if b.get("ge") == 0 and b.get("le") == 1:
        return "probability (0-1)"
    if "float" in repr(ann) and get_origin(ann) is not dict:
        lo = f">= {b['ge']:g}" if "ge" in b else f"> {b['gt']:g}" if "gt" in b else ""
        hi = f"<= {b['le']:g}" if "le" in b else ""
        return "number" + (" " + ", ".join(x for x in (lo, hi) if x) if lo or hi else "")
    if path.endswith("<segment>") and "routing" in path:
        return "role name"
    if get_origin(ann) is dict or "dict" in repr(ann):
        return "mapping"
    if "list" in repr(ann):
        return "list"
    return "name" if "str" in repr(ann) else "-"


def _fmt_value(value: Any, path: str, u: str) -> str:
    if isinstance(value, dict) and "dist" in value:
        params = ", ".join(f"{k} {_fmt_value(v, path, u)}" for k, v in value.items() if k != "dist")
        return f"{value['dist']} {params}"
    if value == "":
        return '""'
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "none"}[value]
    if isinstance(value, (int, float)):
        if "days" in u or "duration" in u:
            return format_duration(float(value)) if value else "0"
        if "$" in u:
            return f"${value / 1e6:g}M" if value >= 1e6 else f"${value / 1e3:g}K" if value >= 1e3 else f"${value:g}"
        return str(value) if isinstance(value, int) else f"{value:g}"
    if isinstance(value, list):
        if value and all(isinstance(v, (int, float)) for v in value):
            return "[" + ", ".join(format_duration(v) for v in value) + "]" if "days" in u else str(value)
        return "[" + ", ".join(str(v) for v in value) + "]" if value else "[]"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt_value(v, path, u)}" for k, v in value.items()) if value else "{}"
    return str(value)


_DUMPS: dict[str, dict] = {}


def _dump(file: str) -> dict:
    if file not in _DUMPS:
        _DUMPS[file] = load_scenario(ROOT / "scenarios" / file).model_dump()
    return _DUMPS[file]


def value(path: str, u: str) -> str:
    """The value in the shipped file for ``path``: one per name for wildcards."""
    top = path.split(".")[0].split("[")[0]
    file = VALUE_FILES.get(path, VALUE_FILES.get(top, "siloed.yaml"))
    parts = re.split(r"\.|(?=\[\])", path)

    def walk(node: Any, parts: list[str], label: str) -> list[tuple[str, Any]]:
        if not parts:
            return [(label, node)]
        head, rest = parts[0], parts[1:]
        if head == "[]" or head.startswith("[]"):
            if not isinstance(node, list):
                return []
            out = []
            for i, item in enumerate(node):
                out += walk(item, [p for p in ([head[3:]] if head[3:] else []) + rest if p], f"{label}#{i + 1} ".strip())
            return out
        if head.startswith("<"):
            if not isinstance(node, dict):
                return []
            out = []
            for key, sub in node.items():
                out += walk(sub, rest, f"{label} {key}".strip())
            return out
        if not isinstance(node, dict) or head not in node:
            return []
        return walk(node[head], rest, label)

    found = walk(_dump(file), [p for p in parts if p], "")
    if not found:
        return "-"
    shared = file == "market.yaml" or top in ("market", "simulation", "calendars")
    prefix = "" if shared else f"{file.removesuffix('.yaml')}: "
    if path in ("roles", "routing", "routing.<activity>", "assists", "bridges", "self_serve"):
        return f"see scenarios/{file}" if found[0][1] else "none"
    if path.endswith("stage_conversion.<activity>"):
        return "see stage_conversion"
    if path == "routing.<activity>.<segment>":
        return "hybrid: ent buyers -> key_accounts, others as siloed"
    cells = [f"{label} {_fmt_value(v, path, u)}".strip() for label, v in found]
    if len({_fmt_value(v, path, u) for _, v in found}) == 1 and len(found) > 2:
        cells = [f"all {_fmt_value(found[0][1], path, u)}"]
    return prefix + " · ".join(cells)


def default(path: str, field: FieldInfo) -> str:
    if path.endswith(">"):
        return "-"
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        try:
            made = field.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return "-"
        if isinstance(made, BaseModel):
            return "see fields"
        return _fmt_value(made, "", "") if made not in ({}, []) else ("{}" if made == {} else "[]")
    d = field.default
    return _fmt_value(d, "", "days" if isinstance(d, float) and "parse_duration" in repr(field.metadata) else "")


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def section_of(path: str) -> str:
    for prefix, name in (("simulation.", "simulation"), ("market.segments.", "segments"),
                         ("market.channels.", "channels"), ("market.activities.", "activities"),
                         ("market.journey.", "journey"), ("market.effects.", "effects"),
                         ("market.outbound.", "outbound"), ("market.referrals.", "referrals"),
                         ("market.", "market"), ("calendars.", "calendars"), ("roles", "roles"),
                         ("self_serve", "self_serve"), ("transition", "transition")):
        if path.startswith(prefix):
            return name
    if path in ("name", "description", "extends", "abstract"):
        return "scenario"
    return "organization"


def tables() -> dict[str, str]:
    """Section name -> markdown table."""
    grouped: dict[str, list[str]] = {}
    missing = []
    for path, field, _model in rows():
        if path not in WHERE or path not in SOURCE:
            missing.append(path)
            continue
        u = unit(path, field)
        meaning = MEANINGS.get(path) or field.description or (_model_of(field.annotation) or _model).__doc__ or ""
        if path.endswith(".<segment>") and "segment_tilt" in path:
            meaning = "Weight on the market's share of that segment for this stream's buyers (1 = as the market)."
        if path.endswith("stage_conversion.<activity>"):
            meaning = "Base P(advance) after that stage or close, for a buyer of average fit (0.5)."
        if path == "routing.<activity>.<segment>":
            meaning = "Routing by segment: the role for buyers of that segment."
        row = [f"`{path}`", meaning.strip().split("\n")[0], u, default(path, field), VALUES.get(path) or value(path, u),
               f"`{WHERE[path]}`" if WHERE[path] not in ("-",) else "-", SOURCE[path],
               range_text(path, lambda x, path=path, u=u: _fmt_value(x, path, u)) or NOT_RANGED.get(path, "-")]
        grouped.setdefault(section_of(path), []).append("| " + " | ".join(_escape(c) for c in row) + " |")
    if missing:
        raise SystemExit("no where/source written for: " + ", ".join(missing))
    head = ("| key | meaning | unit | schema default | value in the shipped files | enters at | source | plausible range |\n"
            "|---|---|---|---|---|---|---|---|")
    out = {name: head + "\n" + "\n".join(lines) for name, lines in grouped.items()}
    from sim.kpis import docs as kpi_docs

    out["kpis"] = "| KPI | formula (sim/kpis.py) |\n|---|---|\n" + "\n".join(
        f"| `{k}` | {_escape(v)} |" for k, v in kpi_docs().items())
    return out


def render(text: str) -> str:
    """``text`` with every generated section replaced by a fresh table."""
    generated = tables()
    for name, table in generated.items():
        pattern = re.compile(rf"(<!-- BEGIN parameters:{name} -->\n)(?:.*?\n)?(<!-- END parameters:{name} -->)", re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"docs/model.md has no markers for section {name!r}")
        text = pattern.sub(lambda m, table=table: m.group(1) + table + "\n" + m.group(2), text)
    return text


def main(argv: list[str]) -> int:
    text = MODEL_MD.read_text(encoding="utf-8")
    fresh = render(text)
    if "--check" in argv:
        if fresh != text:
            print("docs/model.md is out of date: run python docs/gen_model_tables.py", file=sys.stderr)
            return 1
        return 0
    MODEL_MD.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
