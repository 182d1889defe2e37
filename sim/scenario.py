"""Load scenarios: YAML with line numbers, ``extends:``, ``--set`` overrides, validation.

Every problem is reported as one :class:`Problem` naming the file, the line, the key path
and what was expected; :class:`ScenarioError` carries them all at once.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from . import kpis
from .capacity import working_days
from .schema import COHORT_NAMES, Role, Scenario
from .seasonality import MONTHS, WEEKDAYS

__all__ = ["Problem", "ScenarioError", "load_scenario", "parse_set", "resolved_yaml"]

Path_ = tuple[str | int, ...]
#: A scenario as YAML data, and where each of its keys was written (file, line).
Tree = dict[str, Any]
Marks = dict[Path_, tuple[str, int | None]]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input."""

    source: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        # One problem, one line, whatever characters the input's keys hold.
        return text.replace("\r", "\\r").replace("\n", "\\n")


class ScenarioError(Exception):
    """Raised with every problem found in a scenario or its arguments."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# ---------------------------------------------------------------- YAML with marks


#: More values than this in one file (counting what aliases expand to) is refused.
MAX_NODES = 200_000
#: A scenario file larger than this is refused unread (real ones are a few KB).
MAX_BYTES = 2 << 20


class _TooLarge(Exception):
    pass


def _marks(node: yaml.Node, source: str, path: Path_, out: Marks,
           duplicates: list[Problem]) -> None:
    if len(out) > MAX_NODES:  # aliases can expand a small file into billions of values
        raise _TooLarge
    out[path] = (source, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name, line = str(key.value), key.start_mark.line + 1
            if name in seen:
                # YAML would silently keep the last value: almost always a mistake.
                where = ".".join(str(p) for p in path)
                duplicates.append(Problem(source, line, where or name,
                                          f"duplicate key {name!r} (first at line {seen[name]})"))
            seen[name] = line
            out[path + (name,)] = (source, line)
            _marks(value, source, path + (name,), out, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _marks(item, source, path + (i,), out, duplicates)


def _read_yaml(path: Path, found: list[Problem]) -> tuple[Tree, Marks]:
    """The file's data and line marks; problems that do not stop the reading go to ``found``."""
    source = str(path)
    try:
        # Bounded before a byte is parsed: a device, a pipe or a huge file never reaches YAML.
        if path.exists() and not path.is_file():
            raise ScenarioError([Problem(source, None, "", "not a regular file: expected a scenario file")])
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise ScenarioError([Problem(source, None, "", f"larger than {MAX_BYTES:,} bytes: not a scenario file")])
    except FileNotFoundError:
        raise ScenarioError([Problem(source, None, "", "file not found")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(source, None, "", f"cannot read: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(source, None, "", f"not UTF-8 text (byte {exc.start})")]) from None
    node = None
    marks: Marks = {}
    duplicates: list[Problem] = []
    try:
        # One parse: the node tree gives the line marks, then the data is built from it.
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = None
            if node is not None:
                _marks(node, source, (), marks, duplicates)
                data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ScenarioError([Problem(source, line, "", f"YAML syntax error: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(source, None, "", f"YAML error: {exc}")]) from None
    except RecursionError:
        raise ScenarioError([Problem(source, None, "", "YAML nested too deeply")]) from None
    except _TooLarge:
        raise ScenarioError([Problem(source, None, "", f"YAML expands to more than {MAX_NODES:,} values "
                                                       "(aliases?)")]) from None
    except ValueError:  # e.g. an integer with thousands of digits
        line = _longest_scalar_line(node)
        raise ScenarioError([Problem(source, line, "", "a number too large to read")]) from None
    if data is None:
        raise ScenarioError([Problem(source, None, "", "empty file: expected a scenario mapping")])
    if not isinstance(data, dict):
        raise ScenarioError([Problem(source, 1, "", "expected a mapping of keys at the top level")])
    # A duplicate key does not stop the reading (YAML keeps the last value): the other
    # problems of the file are reported with it, in one pass.
    found += duplicates
    return data, marks


def _longest_scalar_line(node: yaml.Node | None) -> int | None:
    """The line of the longest scalar under ``node`` (where an unreadable number sits)."""
    best: tuple[int, int | None] = (-1, None)
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.ScalarNode):
            if len(n.value) > best[0]:
                best = (len(n.value), n.start_mark.line + 1)
        elif isinstance(n, yaml.MappingNode):
            stack.extend(v for pair in n.value for v in pair)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return best[1]


def _merge(base: Tree, over: Tree) -> Tree:
    """Deep-merge ``over`` into a copy of ``base``: mappings merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        # A distribution is one value: a child that names one replaces the parent's whole.
        if isinstance(value, dict) and isinstance(out.get(key), dict) and "dist" not in value:
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _load_tree(path: Path, chain: tuple[Path, ...],
               found: list[Problem]) -> tuple[Tree, Marks]:
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in chain + (resolved,))
        raise ScenarioError([Problem(str(path), None, "extends", f"cyclic extends: {cycle}")])
    data, marks = _read_yaml(path, found)
    if data and not set(map(str, data)) & _TOP_KEYS:
        # Say so without repeating what the file holds: it may be any file at all.
        raise ScenarioError([Problem(str(path), None, "", "not a scenario file (none of its top-level keys is a "
                                                          f"scenario key such as {', '.join(sorted(_TOP_KEYS)[:4])})")])
    parent = data.get("extends")
    if parent is None:
        return data, marks
    if not isinstance(parent, str):
        line = marks.get(("extends",), (str(path), None))[1]
        raise ScenarioError([Problem(str(path), line, "extends", "expected a file path")])
    parent_path = (path.parent / parent)
    if not parent_path.is_file():
        line = marks.get(("extends",), (str(path), None))[1]
        raise ScenarioError([Problem(str(path), line, "extends", f"file not found: {parent_path}")])
    base, base_marks = _load_tree(parent_path, chain + (resolved,), found)
    base.pop("abstract", None)  # being a template is not inherited
    merged = _merge(base, data)
    merged.pop("extends", None)
    return merged, {**base_marks, **marks}


# ---------------------------------------------------------------- overrides


def _set_label(assignment: str, limit: int = 80) -> str:
    """How a problem names the ``--set`` argument that caused it (a long value shortened)."""
    text = assignment if len(assignment) <= limit else assignment[: limit - 3] + "..."
    return f"--set {text}"


def parse_set(assignment: str) -> tuple[list[str], Any]:
    """Split ``key.path=value`` into its path and its YAML-parsed value."""
    source = _set_label(assignment)
    if "=" not in assignment:
        raise ScenarioError([Problem(source, None, "", "expected KEY.PATH=VALUE")])
    key, _, text = assignment.partition("=")
    parts = key.strip().split(".")
    if not key.strip() or any(not p for p in parts):
        raise ScenarioError([Problem(source, None, "", "expected a dotted key path such as roles.sdr.headcount")])
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text
    except RecursionError:
        raise ScenarioError([Problem(source, None, "", "value nested too deeply")]) from None
    except ValueError:  # an integer with thousands of digits
        raise ScenarioError([Problem(source, None, "", "a number too large to read")]) from None
    return parts, value


#: Mappings keyed by names the user chooses: ``--set`` does not invent a new name in them
#: by a partial path (a typo would silently add a role); give the whole entry instead.
_NAMED = {("roles",), ("market", "segments"), ("market", "channels"), ("market", "activities"), ("calendars",)}


def _apply_set(data: Tree, parts: list[str], value: Any, marks: Marks, assignment: str) -> None:
    node = data
    source = _set_label(assignment)
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None and tuple(parts[:i]) in _NAMED:
            where = ".".join(parts[: i + 1])
            raise ScenarioError([Problem(source, None, "", _unknown(
                "name", part, node) + f"; to add {where}, set it whole: {where}={{...}}")])
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            where = ".".join(parts[: i + 1])
            raise ScenarioError([Problem(source, None, "", f"{where} is not a mapping")])
        node = child
    node[parts[-1]] = value
    marks[tuple(parts)] = ("--set", None)


# ---------------------------------------------------------------- validation


def _all_field_names(model: type[BaseModel], seen: set[type] | None = None) -> set[str]:
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    names = set(model.model_fields)
    for field in model.model_fields.values():
        for sub in _submodels(field.annotation):
            names |= _all_field_names(sub, seen)
    return names


def _submodels(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in getattr(annotation, "__args__", ()) or ():
        found += _submodels(arg)
    for meta in getattr(annotation, "__metadata__", ()) or ():
        found += _submodels(meta)
    return found


_KNOWN = sorted(_all_field_names(Scenario))
_TOP_KEYS = frozenset(Scenario.model_fields)
_DIST_TAGS = {"constant", "exponential", "lognormal", "gamma", "triangular", "uniform", "beta", "empirical"}


def _locate(loc: Path_, marks: Marks, default: str) -> tuple[str, int | None]:
    probe = tuple(loc)
    while True:
        if probe in marks:
            return marks[probe]
        if not probe:
            return default, None
        probe = probe[:-1]


def _child(node: Any, part: str | int) -> tuple[bool, Any]:
    """``(True, node[part])`` where ``node`` holds ``part`` (a mapping's key, a list's index)."""
    if isinstance(node, dict) and part in node:
        return True, node[part]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return True, node[part]
    return False, None


def _clean_loc(loc: tuple[str | int, ...], data: Tree) -> Path_:
    """Drop the tags pydantic adds for unions (e.g. the distribution's name)."""
    out: list[str | int] = []
    node: Any = data
    for part in loc:
        found, child = _child(node, part)
        if not found and part == "headcount_plan" and isinstance(node, dict) and isinstance(node.get("headcount"), list):
            part = "headcount"  # the plan as written: headcount: [{at, n}, ...] (sim.schema.Role)
            found, child = _child(node, part)
        if found:
            out.append(part)
            node = child
        elif isinstance(part, str) and (part in _DIST_TAGS or "[" in part or part in ("str", "float", "int")):
            continue
        else:
            out.append(part)
            node = None
    return tuple(out)


def _message(err: ErrorDetails) -> str:
    kind = err["type"]
    key = str(err["loc"][-1]) if err["loc"] else ""
    if kind == "extra_forbidden" and key == "segment_mix":
        return ("segment_mix is now segment_tilt: weights on the market's segment shares (1 = as the market; "
                "e.g. ent: 2.5 brings 2.5 times the enterprise share), so a change of the shares reaches every channel")
    if kind == "extra_forbidden":
        # A name valid elsewhere in the schema is no help here: suggest only other names.
        close = [c for c in difflib.get_close_matches(key, _KNOWN, n=3) if c != key]
        hint = f" (did you mean {close[0]!r}?)" if close else " (not allowed here)"
        return f"unknown key{hint}"
    if kind == "missing":
        return "required key is missing"
    msg = str(err["msg"]).replace("Value error, ", "")
    if "input" in err and not isinstance(err["input"], (dict, list)):
        got = repr(err["input"])
        if got not in msg:
            msg += f" (got {got if len(got) <= 60 else got[:57] + '...'})"
    return msg


def _cross_check(scn: Scenario) -> list[tuple[Path_, str]]:
    """Checks that span several keys: names that must refer to something."""
    out: list[tuple[Path_, str]] = []
    m = scn.market
    total = sum(s.share for s in m.segments.values())
    if abs(total - 1) > 1e-6:
        out.append((("market", "segments"), f"segment shares must sum to 1 (they sum to {total:g})"))
    streams = [(("market", "channels", c), ch.segment_tilt, ch.rate_per_week > 0 or bool(ch.arrivals_at))
               for c, ch in m.channels.items()]
    for where, tilt, brings in [*streams, (("market", "outbound"), m.outbound.segment_tilt, True)]:
        for seg in tilt or {}:
            if seg not in m.segments:
                out.append(((*where, "segment_tilt", seg), _unknown("segment", seg, m.segments)))
        if tilt and brings and not any(w > 0 for w in m.segment_mix(tilt).values()):
            out.append(((*where, "segment_tilt"), "leaves no segment with a share above 0: it would bring no buyer"))
    if scn.simulation.start_date.weekday() != 0:
        day = scn.simulation.start_date.strftime("%A")
        out.append((("simulation", "start_date"), f"expected a Monday (time 0 is Monday 00:00), got a {day}"))
    for where, cal in [*((("calendars", n), c) for n, c in scn.calendars.items()), (("market", "buyer_hours"), m.buyer_hours)]:
        if cal.country is not None:
            out += _country_problem(where, cal.country)
    if m.seasonality is not None:
        for key, names in (("months", MONTHS), ("weekdays", WEEKDAYS)):
            given = getattr(m.seasonality, key)
            missing = [n for n in names if given is not None and n not in given]
            if missing:
                out.append((("market", "seasonality", key), f"expected a multiplier for every {key[:-1]} "
                                                            f"({', '.join(names)}); missing {', '.join(missing)}"))
    for sname, segment in m.segments.items():
        for act in segment.stage_conversion:
            if act not in m.activities:
                out.append((("market", "segments", sname, "stage_conversion", act), _unknown("activity", act, m.activities)))
    out += _structure(scn)
    out += _away_problems(scn)
    for rname, spec in scn.roles.items():
        for job, count in spec.mix.items():
            if job not in m.job_costs:
                out.append((("roles", rname, "mix", job), _unknown("job", job, m.job_costs)
                            + " (jobs are costed in market.job_costs)"))
            elif not count > 0:
                out.append((("roles", rname, "mix", job), f"expected a positive count or share, got {count:g}"))
    if not scn.abstract and not scn.roles:
        out.append((("roles",), "a design needs at least one role (or abstract: true for a market)"))
    for phase in ("acquisition", "retention"):
        for i, act in enumerate(getattr(m.journey, phase)):
            if act not in m.activities:
                out.append((("market", "journey", phase, i), _unknown("activity", act, m.activities)))
            elif act not in scn.routing and not scn.abstract:
                out.append((("routing",), f"activity {act!r} is in the journey but routed to no role"))
    for act, route in scn.routing.items():
        if act not in m.activities:
            out.append((("routing", act), _unknown("activity", act, m.activities)))
        if isinstance(route, str):
            if route not in scn.roles:
                out.append((("routing", act), _unknown("role", route, scn.roles)))
            continue
        for seg, role in route.items():
            if seg not in m.segments:
                out.append((("routing", act, seg), _unknown("segment", seg, m.segments)))
            elif role not in scn.roles:
                out.append((("routing", act, seg), _unknown("role", role, scn.roles)))
        missing = [seg for seg in m.segments if seg not in route]
        if missing:
            out.append((("routing", act), f"routing by segment must name every segment; missing {', '.join(missing)}"))
    for act, role in scn.assists.items():
        if act not in m.activities:
            out.append((("assists", act), _unknown("activity", act, m.activities)))
        if role not in scn.roles:
            out.append((("assists", act), _unknown("role", role, scn.roles)))
    for i, bridge in enumerate(scn.bridges):
        for key in ("sender", "receiver"):
            name = getattr(bridge, key)
            if name not in scn.roles:
                out.append((("bridges", i, key), _unknown("role", name, scn.roles)))
    for sname in m.installed_base.segments:
        if sname not in m.segments:
            out.append((("market", "installed_base", "segments", sname), _unknown("segment", sname, m.segments)))
    for sname in m.segments:
        if sname in COHORT_NAMES:
            out.append((("market", "segments", sname), f"a segment may not be called {sname!r}: it qualifies the "
                                                       "retention KPIs by cohort (logo_churn_annual.installed / .new)"))
    if scn.fallback is not None:
        if scn.fallback.role not in scn.roles:
            out.append((("fallback", "role"), _unknown("role", scn.fallback.role, scn.roles)))
        elif scn.roles[scn.fallback.role].kind != "human":
            out.append((("fallback", "role"), "the fallback must be a person: a role of kind human"))
        elif scn.roles[scn.fallback.role].peak_headcount == 0:
            out.append((("fallback", "role"), "the fallback role has headcount 0"))
    if scn.self_serve is not None and scn.self_serve.pql_entry not in m.journey.acquisition:
        out.append((("self_serve", "pql_entry"), _unknown("acquisition activity", scn.self_serve.pql_entry,
                                                          m.journey.acquisition)))
    for rname, spec in scn.roles.items():
        if spec.calendar != "always" and spec.calendar not in scn.calendars:
            out.append((("roles", rname, "calendar"), _unknown("calendar", spec.calendar, [*scn.calendars, "always"])))
        if spec.headcount and spec.teams > spec.headcount:
            out.append((("roles", rname, "teams"), f"expected teams <= headcount ({spec.headcount})"))
        out += _plan_problems(rname, spec)
    # Every way a role receives work, in one place: a role with headcount 0 must receive
    # none (sim/org.py refuses work for an empty queue rather than invent a person).
    used = m.journey.acquisition + m.journey.retention
    nurture = [a for a, act in m.activities.items() if act.kind == "nurture" and a in scn.routing]
    ways: dict[str, str] = {}
    for act in [*used, *nurture]:
        routed = scn.routing.get(act)
        for r in [routed] if isinstance(routed, str) else (routed or {}).values():
            ways.setdefault(r, "does journey work" if act in used else f"does the nurture touch {act!r}")
    for act, r in scn.assists.items():
        if act in used:
            ways.setdefault(r, f"assists on {act!r}")
    for bridge in scn.bridges:
        ways.setdefault(bridge.sender, f"joins the bridge to {bridge.receiver!r}")
    for role, way in sorted(ways.items()):
        if role in scn.roles and scn.roles[role].peak_headcount == 0:
            out.append((("roles", role, "headcount"), f"role {way} but has headcount 0"))
    return out


def _country_problem(where: Path_, country: str) -> list[tuple[Path_, str]]:
    """A country the holidays package does not know."""
    from .calendar import public_holidays

    try:
        public_holidays(country.upper(), 2027, 2027)
    except NotImplementedError:
        import holidays

        known = sorted(holidays.list_supported_countries())
        close = difflib.get_close_matches(country.upper(), known, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        return [((*where, "country"), f"no public holidays known for country {country!r}{hint}; expected an ISO "
                                      f"code the holidays package knows, such as JP or US")]
    return []


def _away_problems(scn: Scenario) -> list[tuple[Path_, str]]:
    """Days away that leave a role no working day."""
    out: list[tuple[Path_, str]] = []
    for rname, spec in scn.roles.items():
        working = working_days(scn, spec.calendar) * 365.0 / 7.0
        if spec.vacation_days >= working:
            out.append((("roles", rname, "vacation_days"), f"expected fewer than the {working:.0f} working days a year "
                                                           f"of its calendar, got {spec.vacation_days:g}"))
    return out


def _plan_problems(rname: str, spec: Role) -> list[tuple[Path_, str]]:
    """A headcount plan's steps (from 0, in time order, none at the same time, each team staffed),
    and a hiring rule's cap (at least the plan's people)."""
    out: list[tuple[Path_, str]] = []
    plan = spec.headcount_plan
    where: Path_ = ("roles", rname, "headcount")
    if spec.hiring is not None and spec.hiring.max_headcount < spec.peak_headcount:
        out.append((("roles", rname, "hiring", "max_headcount"),
                    f"expected at least the role's planned headcount ({spec.peak_headcount}): "
                    f"a rule capped below it never hires"))
    if not plan:
        return out
    if plan[0].at != 0:
        out.append(((*where, 0, "at"), f"expected the first step at 0 (the headcount at the start), got {plan[0].at:g} d"))
    for i in range(1, len(plan)):
        if not plan[i].at > plan[i - 1].at:
            word = "at the same time as" if plan[i].at == plan[i - 1].at else "before"
            out.append(((*where, i, "at"), f"expected steps in time order: step {i + 1} ({plan[i].at:g} d) is "
                                           f"{word} step {i} ({plan[i - 1].at:g} d)"))
    for i, step in enumerate(plan):
        if i and step.n and spec.teams > step.n:  # the first step is the headcount, checked above
            out.append(((*where, i, "n"), f"expected teams ({spec.teams}) <= n at every step with people"))
    if plan[0].n != spec.headcount:
        out.append((where, f"the plan starts with {plan[0].n} people but headcount says {spec.headcount}; "
                           "give headcount as the list of steps"))
    return out


#: Where each kind of activity belongs in the journey (nurture runs beside it, in neither).
_PHASE_KINDS = {"acquisition": ("gate", "contact", "stage", "close"),
                "retention": ("onboarding", "checkin", "renewal", "expansion")}
#: A name the user gives (a role, segment, channel, activity, calendar) is also a part of a
#: ``--set`` key path and a CSV column: letters, digits, ``_`` and ``-``, starting with a letter.
_NAME = re.compile(r"[^\W\d_][\w-]*")
_NAMED_MAPPINGS = (("roles",), ("calendars",), ("market", "segments"), ("market", "channels"),
                   ("market", "activities"))


def _structure(scn: Scenario) -> list[tuple[Path_, str]]:
    """Mistakes in the journey's shape and in names, which would otherwise run wrongly."""
    out: list[tuple[Path_, str]] = []
    m = scn.market
    for phase, kinds in _PHASE_KINDS.items():
        seen: dict[str, str] = {}
        for i, act in enumerate(getattr(m.journey, phase)):
            if act not in m.activities:
                continue  # reported as an unknown activity
            kind = m.activities[act].kind
            if kind not in kinds:
                other = next((p for p, ks in _PHASE_KINDS.items() if kind in ks), None)
                hint = f" (did you mean to put it in market.journey.{other}?)" if other else \
                    " (nurture runs beside the journey: route it, do not list it)"
                out.append((("market", "journey", phase, i),
                            f"activity {act!r} of kind {kind!r} does not belong in {phase}; expected kinds "
                            f"{', '.join(kinds)}{hint}"))
            elif phase == "retention" and kind in seen:
                out.append((("market", "journey", phase, i),
                            f"two retention activities of kind {kind!r} ({seen[kind]!r} and {act!r}); expected one"))
            seen.setdefault(kind, act)
        if phase == "retention" and "checkin" in seen and "renewal" not in seen:
            out.append((("market", "journey", "retention"),
                        f"check-ins ({seen['checkin']!r}) run within a contract term, and there is no renewal "
                        "activity to end one; add an activity of kind 'renewal'"))
    for where in _NAMED_MAPPINGS:
        node: Any = scn
        for part in where:
            node = getattr(node, part)
        for name in node:
            if not _NAME.fullmatch(name):
                out.append((where + (name,), f"name {name!r} is not allowed: use letters, digits, '_' and '-', "
                                             "starting with a letter (names are parts of --set keys and columns)"))
    if kpis.get(scn.north_star) is None:
        out.append((("north_star",), _unknown("KPI", scn.north_star, [k.name for k in kpis.KPIS if not k.family])))
    if any(ord(c) < 32 or ord(c) == 127 for c in scn.name):
        out.append((("name",), "a design name may not hold control characters"))
    return out


def _unknown(what: str, name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {what} {name!r}{hint}; expected one of {', '.join(sorted(known))}"


#: A set of values with problems is validated again at most this often, to look past its
#: first problems.
_PASSES = 8

Sets = list[tuple[Path_, str]]


def load_scenario(path: str | Path, overrides: Sequence[str] = (), *, _join: bool = True) -> Scenario:
    """Load, merge (``extends:``), override (``--set``) and validate one scenario file.

    Every problem that can be found without the others being fixed is reported at once:
    YAML-level (duplicate keys), schema-level and cross-reference problems.

    Raises
    ------
    ScenarioError
        With one :class:`Problem` per thing wrong.
    """
    path = Path(path)
    problems: list[Problem] = []
    data, marks = _load_tree(path, (), problems)
    sets: Sets = []
    for assignment in overrides:
        try:
            parts, value = parse_set(assignment)
            _apply_set(data, parts, value, marks, assignment)
            sets.append((tuple(parts), assignment))
        except ScenarioError as exc:
            problems += exc.problems
    try:
        scn, found = _validate(data, marks, str(path), sets)
    except RecursionError:
        raise ScenarioError([*problems, Problem(str(path), None, "", "values nested too deeply")]) from None
    problems += found
    if not problems and scn is not None and _join and scn.transition is not None and scn.transition.before is None:
        scn, found = _with_transition(scn, marks, str(path), sets)
        problems += found
    if problems or scn is None:
        raise ScenarioError(_dedupe(problems))
    return scn


def _with_transition(scn: Scenario, marks: Marks, default: str, sets: Sets) -> tuple[Scenario | None, list[Problem]]:
    """``scn`` joined with the design its ``transition`` starts from (sim.transition)."""
    from .transition import combine, problems

    t = scn.transition
    assert t is not None
    where = ("transition", "from_design")
    source, _ = _locate(where, marks, default)
    # Relative to the file that names it (which may be a file this one extends).
    base = Path(source).parent if source != "--set" else Path(default).parent
    target = base / t.from_design
    if not target.is_file():
        return None, [_problem(where, f"file not found: {target}", marks, default, sets)]
    # The design before is loaded as written (its own problems name its own file and lines),
    # then run on this file's market and simulation.
    before = load_scenario(target, _join=False)
    before = before.model_copy(update={"market": scn.market, "simulation": scn.simulation})
    found = [_problem(loc, msg, marks, default, sets) for loc, msg in problems(scn, before)]
    if found:
        return None, found
    return combine(scn, before), []


def _validate(data: Tree, marks: Marks, default: str, sets: Sets) -> tuple[Scenario | None, list[Problem]]:
    """The scenario and every problem found in ``data``, looking past the first ones.

    A value with a problem is replaced by a stand-in (its default, or the first simple value
    the schema accepts) and the whole validated again, so that the problems the first pass
    hides (cross-references, which need a valid scenario) are found too. Whatever sits next
    to a stand-in is not judged: it would be judged against a value the user did not write.
    """
    problems: list[Problem] = []
    trial = copy.deepcopy(data)
    blocked: list[Path_] = []
    tries: dict[Path_, int] = {}
    for _ in range(_PASSES):
        try:
            scn = Scenario.model_validate(trial)
        except ValidationError as exc:
            errors = [(_clean_loc(err["loc"], trial), err) for err in exc.errors()]
            by_place: dict[Path_, list[str]] = {}
            for loc, err in errors:
                if not _under_any(loc, blocked):
                    messages = by_place.setdefault(loc, [])
                    if _message(err) not in messages:
                        messages.append(_message(err))
            # The branches of a union (a role name, or a mapping) fail together: one problem.
            problems += [_problem(loc, " or ".join(msgs), marks, default, sets) for loc, msgs in by_place.items()]
            for loc in dict.fromkeys(loc for loc, _ in errors):
                missing = any(e["type"] == "missing" for at, e in errors if at == loc)
                if missing and not _under_any(loc, blocked):
                    return None, problems  # a key the user left out: nothing to stand in for
                following = _stand_in(trial, loc, tries.get(loc, 0))
                if following is None:
                    return None, problems
                tries[loc] = following
                blocked.append(loc[:-1] if len(loc) > 1 else loc)
            continue
        for loc, msg in _cross_check(scn):
            if not _under_any(loc, blocked):
                problems.append(_problem(loc, msg, marks, default, sets))
        if problems:
            return None, problems
        from .costs import resolve_costs

        return resolve_costs(scn), problems
    return None, problems


def _under_any(loc: Path_, prefixes: list[Path_]) -> bool:
    return any(tuple(loc[: len(p)]) == tuple(p) for p in prefixes)


#: What stands in for a value with a problem, tried in turn: its default (the key removed),
#: an empty mapping (a section of defaults), then simple values.
_STAND_INS: tuple[Any, ...] = (KeyError, {}, 1, 0, 1.0, 0.5, "x", [], None)


def _stand_in(tree: Tree, loc: Path_, first: int) -> int | None:
    """Put a stand-in at ``loc``, from the ``first``-th on; the next one to try, or None."""
    node: Any = tree
    for part in loc[:-1]:
        found, node = _child(node, part)
        if not found:
            return None
    if not loc:
        return None
    key = loc[-1]
    in_list = isinstance(node, list) and isinstance(key, int) and key < len(node)
    if not in_list and not isinstance(node, dict):
        return None
    # A mapping first becomes a section of defaults: removing it could remove a name (a
    # calendar, a role) that other keys refer to.
    mapping = not in_list and isinstance(node.get(key), dict)
    order = ({}, KeyError, *_STAND_INS[2:]) if mapping else _STAND_INS
    for i in range(first, len(order)):
        choice = order[i]
        if choice is KeyError:
            if in_list or key not in node:
                continue  # an item of a list has no default; a missing key is already default
            del node[key]
        else:
            node[key] = copy.deepcopy(choice)
        return i + 1
    return None


def _problem(loc: Path_, message: str, marks: Marks, default: str, sets: Sets) -> Problem:
    """A problem at ``loc``, blamed on the ``--set`` argument that touched it, if any."""
    where = ".".join(str(p) for p in loc)
    for key, argument in reversed(sets):
        n = min(len(key), len(loc))
        if tuple(str(p) for p in loc[:n]) == key[:n]:
            source, line = _locate(loc, marks, default)
            at = f" ({source}:{line})" if source != "--set" and line is not None else ""
            # Inside what the argument set, name the place; around it, the argument says it.
            detail = f"{where}: " if len(loc) > len(key) else ""
            return Problem(_set_label(argument), None, "", f"{detail}{message}{at}")
    source, line = _locate(loc, marks, default)
    return Problem(source, line, where, message)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, int | None, str, str]] = set()
    out = []
    for p in problems:
        key = (p.source, p.line, p.path, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def resolved_yaml(scenarios: list[Scenario]) -> str:
    """Every scenario fully resolved, as one YAML document per scenario."""
    docs = [s.model_dump(mode="json", exclude={"extends"}) for s in scenarios]
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)

