"""Load scenarios: YAML with line numbers, ``extends:``, ``--set`` overrides, validation.

Every problem is reported as one :class:`Problem` naming the file, the line, the key path
and what was expected; :class:`ScenarioError` carries them all at once.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .schema import Scenario

__all__ = ["Problem", "ScenarioError", "load_scenario", "parse_set", "resolved_yaml"]

Path_ = tuple[str | int, ...]


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


class _TooLarge(Exception):
    pass


def _marks(node: yaml.Node, source: str, path: Path_, out: dict[Path_, tuple[str, int]],
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


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[Path_, tuple[str, int]]]:
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError([Problem(source, None, "", "file not found")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(source, None, "", f"cannot read: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(source, None, "", f"not UTF-8 text (byte {exc.start})")]) from None
    node = None
    marks: dict[Path_, tuple[str, int]] = {}
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
    if duplicates:
        raise ScenarioError(duplicates)
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


def _merge(base: dict, over: dict) -> dict:
    """Deep-merge ``over`` into a copy of ``base``: mappings merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        # A distribution is one value: a child that names one replaces the parent's whole.
        if isinstance(value, dict) and isinstance(out.get(key), dict) and "dist" not in value:
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _load_tree(path: Path, chain: tuple[Path, ...]) -> tuple[dict, dict[Path_, tuple[str, int]]]:
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in chain + (resolved,))
        raise ScenarioError([Problem(str(path), None, "extends", f"cyclic extends: {cycle}")])
    data, marks = _read_yaml(path)
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
    base, base_marks = _load_tree(parent_path, chain + (resolved,))
    base.pop("abstract", None)  # being a template is not inherited
    merged = _merge(base, data)
    merged.pop("extends", None)
    return merged, {**base_marks, **marks}


# ---------------------------------------------------------------- overrides


def parse_set(assignment: str) -> tuple[list[str], Any]:
    """Split ``key.path=value`` into its path and its YAML-parsed value."""
    if "=" not in assignment:
        raise ScenarioError([Problem("--set", None, assignment, "expected KEY.PATH=VALUE")])
    key, _, text = assignment.partition("=")
    parts = key.strip().split(".")
    if not key.strip() or any(not p for p in parts):
        raise ScenarioError([Problem("--set", None, key, "expected a dotted key path such as roles.sdr.headcount")])
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text
    except ValueError:  # an integer with thousands of digits
        raise ScenarioError([Problem("--set", None, key, "a number too large to read")]) from None
    return parts, value


#: Mappings keyed by names the user chooses: ``--set`` does not invent a new name in them
#: by a partial path (a typo would silently add a role); give the whole entry instead.
_NAMED = {("roles",), ("market", "segments"), ("market", "channels"), ("market", "activities"), ("calendars",)}


def _apply_set(data: dict, parts: list[str], value: Any, marks: dict) -> None:
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None and tuple(parts[:i]) in _NAMED:
            where = ".".join(parts[: i + 1])
            raise ScenarioError([Problem("--set", None, ".".join(parts), _unknown(
                "name", part, node) + f"; to add {where}, set it whole: {where}={{...}}")])
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            where = ".".join(parts[: i + 1])
            raise ScenarioError([Problem("--set", None, ".".join(parts), f"{where} is not a mapping")])
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
_DIST_TAGS = {"constant", "exponential", "lognormal", "gamma", "triangular", "uniform", "beta", "empirical"}


def _locate(loc: Path_, marks: dict, default: str) -> tuple[str, int | None]:
    probe = tuple(loc)
    while True:
        if probe in marks:
            return marks[probe]
        if not probe:
            return default, None
        probe = probe[:-1]


def _clean_loc(loc: tuple, data: dict) -> Path_:
    """Drop the tags pydantic adds for unions (e.g. the distribution's name)."""
    out: list[str | int] = []
    node: Any = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(part, str) and (part in _DIST_TAGS or "[" in part or part in ("str", "float", "int")):
            continue
        else:
            out.append(part)
            node = None
    return tuple(out)


def _message(err: dict) -> str:
    kind = err["type"]
    key = str(err["loc"][-1]) if err["loc"] else ""
    if kind == "extra_forbidden":
        # A name valid elsewhere in the schema is no help here: suggest only other names.
        close = [c for c in difflib.get_close_matches(key, _KNOWN, n=3) if c != key]
        hint = f" (did you mean {close[0]!r}?)" if close else " (not allowed here)"
        return f"unknown key{hint}"
    if kind == "missing":
        return "required key is missing"
    msg = err["msg"].replace("Value error, ", "")
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
    for cname, ch in m.channels.items():
        if ch.segment_mix is not None:
            for seg in ch.segment_mix:
                if seg not in m.segments:
                    out.append((("market", "channels", cname, "segment_mix", seg), f"unknown segment {seg!r}"))
            mix = sum(ch.segment_mix.values())
            if abs(mix - 1) > 1e-6:
                out.append((("market", "channels", cname, "segment_mix"), f"must sum to 1 (sums to {mix:g})"))
    for sname, seg in m.segments.items():
        for act in seg.stage_conversion:
            if act not in m.activities:
                out.append((("market", "segments", sname, "stage_conversion", act), _unknown("activity", act, m.activities)))
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
    if scn.self_serve is not None and scn.self_serve.pql_entry not in m.journey.acquisition:
        out.append((("self_serve", "pql_entry"), _unknown("acquisition activity", scn.self_serve.pql_entry,
                                                          m.journey.acquisition)))
    if m.outbound.segment_mix is not None:
        for seg in m.outbound.segment_mix:
            if seg not in m.segments:
                out.append((("market", "outbound", "segment_mix", seg), _unknown("segment", seg, m.segments)))
    for rname, role in scn.roles.items():
        if role.calendar != "always" and role.calendar not in scn.calendars:
            out.append((("roles", rname, "calendar"), _unknown("calendar", role.calendar, [*scn.calendars, "always"])))
        if role.headcount and role.teams > role.headcount:
            out.append((("roles", rname, "teams"), f"expected teams <= headcount ({role.headcount})"))
    used = m.journey.acquisition + m.journey.retention
    routes = [scn.routing[a] for a in used if a in scn.routing]
    routed = sorted({r for route in routes for r in ([route] if isinstance(route, str) else route.values())})
    for role in routed:
        if role in scn.roles and scn.roles[role].headcount == 0:
            out.append((("roles", role, "headcount"), "role does journey work but has headcount 0"))
    return out


def _unknown(what: str, name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {what} {name!r}{hint}; expected one of {', '.join(sorted(known))}"


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Load, merge (``extends:``), override (``--set``) and validate one scenario file.

    Raises
    ------
    ScenarioError
        With one :class:`Problem` per thing wrong.
    """
    path = Path(path)
    data, marks = _load_tree(path, ())
    problems: list[Problem] = []
    for assignment in overrides:
        try:
            parts, value = parse_set(assignment)
            _apply_set(data, parts, value, marks)
        except ScenarioError as exc:
            problems += exc.problems
    if problems:
        raise ScenarioError(problems)
    try:
        scn = Scenario.model_validate(data)
    except ValidationError as exc:
        by_place: dict[tuple, list[str]] = {}
        for err in exc.errors():
            loc = _clean_loc(err["loc"], data)
            source, line = _locate(loc, marks, str(path))
            messages = by_place.setdefault((source, line, ".".join(str(p) for p in loc)), [])
            if _message(err) not in messages:
                messages.append(_message(err))
        # The branches of a union (a role name, or a mapping) fail together: one problem.
        problems = [Problem(src, ln, where, " or ".join(msgs)) for (src, ln, where), msgs in by_place.items()]
        raise ScenarioError(_dedupe(problems)) from None
    for loc, msg in _cross_check(scn):
        source, line = _locate(loc, marks, str(path))
        problems.append(Problem(source, line, ".".join(str(p) for p in loc), msg))
    if problems:
        raise ScenarioError(problems)
    return scn


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple] = set()
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

