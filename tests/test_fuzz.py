"""Calm under bad input: fuzzed scenario files, and inputs that are valid but absurd.

Hypothesis mutates valid scenarios (TINY from conftest.py, a short extension of
scenarios/siloed.yaml, and siloed fully resolved): deleted and misspelled keys, values of the
wrong type, out-of-range and huge numbers, deep nesting, odd text; then mutates the YAML text
itself (truncated, broken syntax, bad indentation, non-UTF-8 bytes). For every case:

- ``orgsim validate`` exits 2 with one line per problem, each ``FILE[:LINE]: ...``, or 0
  with ``FILE: ok`` when the mutation happened to leave a valid scenario; never a traceback;
- ``orgsim run`` (one replication, a 30-day horizon) agrees with ``validate`` given the same
  ``--set``: on an invalid scenario it exits 2, prints the same lines and writes nothing; on a
  valid one it writes one results folder, or refuses up front with exit 2; it never hangs.

Budget: 110 tree mutations and 90 text mutations per run in CI (200 cases, about a minute);
``ORGSIM_HYPOTHESIS_EXAMPLES=2000`` runs that many of each. The sequence is fixed
(derandomized) unless ``ORGSIM_HYPOTHESIS_RANDOM=1``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

import sim
from sim.cli import main
from sim.experiment import TooBigError, check_size
from sim.scenario import ScenarioError

from conftest import ROOT, TINY

SILOED = ROOT / "scenarios" / "siloed.yaml"
MARKET = ROOT / "scenarios" / "market.yaml"
TINY_RUN = ["--set", "simulation.horizon=30d", "--set", "simulation.warmup=0d"]
#: Seconds a single fuzz case may take before it counts as a hang.
CASE_LIMIT = 30


def _budget(default: int) -> settings:
    examples = int(os.environ.get("ORGSIM_HYPOTHESIS_EXAMPLES", default))
    # No shrinking: a failing case is printed whole with its file's text, and shrinking
    # would rerun runs that may hang.
    return settings(max_examples=examples, deadline=None, derandomize=not os.environ.get("ORGSIM_HYPOTHESIS_RANDOM"),
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class Hang(BaseException):
    """A case ran past CASE_LIMIT (a BaseException, so no ``except Exception`` swallows it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def cli(*args: str | Path, limit: float = CASE_LIMIT) -> tuple[int, str, str]:
    """``main(args)`` in this process: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with time_limit(limit), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in args])
        except SystemExit as exc:  # argparse
            status = exc.code if isinstance(exc.code, int) else 2
    return status, out.getvalue(), err.getvalue()


def problem_line(path: Path) -> re.Pattern[str]:
    """``SOURCE[:LINE]: text``, SOURCE being the file, a file it extends, or ``--set``."""
    sources = "|".join(re.escape(str(p)) for p in (path, SILOED, MARKET, MARKET.resolve(), SILOED.resolve()))
    return re.compile(rf"^(?:{sources}|--set)(?::\d+)?: \S")


def _lines(text: str) -> list[str]:
    """Lines as a terminal shows them: split at line feeds only."""
    return text.rstrip("\n").split("\n") if text else []


def check_case(path: Path, tmp: Path) -> None:
    """Every promise about one scenario file, valid or not."""
    text = path.read_bytes()[:3000]
    context = f"\n--- {path.name} (first 3000 bytes) ---\n{text!r}"
    status, out, err = cli("validate", path)
    assert "Traceback" not in out + err, context
    assert status in (0, 2), f"validate exited {status}: {err}{context}"
    if status == 0:
        assert out.startswith(f"{path}: ok") and not err, (out, err, context)
    else:
        lines = _lines(err)
        pattern = problem_line(path)
        assert lines and not out, context
        bad = [line for line in lines if not pattern.match(line)]
        assert not bad, f"lines that do not name the file: {bad}{context}"
        with pytest.raises(ScenarioError) as caught:
            sim.load_scenario(path)
        assert len(lines) == len(caught.value.problems), f"not one line per problem:\n{err}{context}"

    # The run agrees with validate given the same overrides.
    v_status, _, v_err = cli("validate", path, *TINY_RUN)
    results = tmp / "results"
    r_status, r_out, r_err = cli("run", path, "--reps", "1", "--jobs", "1", "--out", results, "--quiet",
                                 "--no-charts", *TINY_RUN)
    assert "Traceback" not in r_out + r_err, context
    if v_status == 2:
        assert r_status == 2, f"run exited {r_status} on an invalid scenario: {r_err}{context}"
        assert _lines(r_err) == _lines(v_err), context
        assert not results.exists(), context
    elif r_status == 0:
        folders = list(results.iterdir())
        assert len(folders) == 1 and (folders[0] / "replications.csv").is_file(), context
    else:
        # A valid scenario may only be refused up front (too big, or a market, not a design).
        assert r_status == 2, f"a valid scenario failed to run (exit {r_status}):\n{r_err}{context}"
        assert re.search(r"max_buyers|max_customer_years|abstract", r_err), f"{r_err}{context}"
        assert not results.exists() or not any(results.iterdir()), context


# ------------------------------------------------------------------------- mutations


def _resolved_siloed() -> dict[str, Any]:
    tree = sim.load_scenario(SILOED).model_dump(mode="json", exclude={"extends"})
    tree["simulation"].update(horizon=60.0, warmup=0.0)
    return tree


BASES: dict[str, dict[str, Any]] = {
    "tiny": copy.deepcopy(TINY),
    "siloed_extension": {"extends": str(SILOED), "name": "siloed_variant",
                         "simulation": {"horizon": "60d", "warmup": "0d"},
                         "roles": {"field_sales": {"headcount": 4}, "inside_sales": {"productive_share": 0.5}},
                         "market": {"segments": {"smb": {"contact_probability": 0.4}}}},
    "siloed_resolved": _resolved_siloed(),
}

#: Values written into the YAML text after dumping (yaml cannot dump them itself): integers
#: longer than Python converts by default, and nesting deeper than its emitter recurses.
HUGE = st.sampled_from([10**20, -(10**20), 1e308, -1e308, float("inf"), float("-inf"), float("nan"),
                        1e-300, 2**63, 10**400]) | st.integers(4000, 6000).map(lambda n: f"__DIGITS_{n}__")
OUT_OF_RANGE = st.sampled_from([-1, -0.001, 0, 1.0000001, 1.5, 2, 100, 1e6, -1e6])
WRONG_TYPE = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.sampled_from(["", "ten", "4 hours", "2yrs", "1e9", "0x1F", "~", "null", "[1, 2]",
                                           "{a: 1}", "&anchor", "*alias", "!!python/object:os.system"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


DEEP = st.builds(lambda depth, kind: f"__DEEP_{kind}_{depth}__", st.integers(1, 1500), st.sampled_from(["list", "dict"]))
_TOKEN = re.compile(r"__(DIGITS|DEEP_list|DEEP_dict)_(\d+)__")


def dump(tree: Any) -> str:
    """The tree as YAML, with the placeholder tokens of HUGE and DEEP written out."""

    def expand(match: re.Match[str]) -> str:
        kind, n = match.group(1), int(match.group(2))
        if kind == "DIGITS":
            return "9" * n
        if kind == "DEEP_list":
            return "[" * n + "1" + "]" * n
        return "{a: " * n + "1" + "}" * n

    return _TOKEN.sub(expand, yaml.safe_dump(tree, sort_keys=False, allow_unicode=True))


def _typo(draw: Any, key: str) -> str:
    op = draw(st.sampled_from(["drop", "swap", "double", "case", "suffix", "space", "unicode", "newline"]))
    if not key:
        return "x"
    i = draw(st.integers(0, max(0, len(key) - 1)))
    if op == "drop":
        return key[:i] + key[i + 1:] or "x"
    if op == "swap" and len(key) > 1:
        i = min(i, len(key) - 2)
        return key[:i] + key[i + 1] + key[i] + key[i + 2:]
    if op == "double":
        return key[:i] + key[i] + key[i:]
    if op == "case":
        return key.upper()
    if op == "space":
        return key + " "
    if op == "unicode":
        return key[:i] + "\u00e9" + key[i + 1:]
    if op == "newline":
        return key[:i] + "\n" + key[i:]
    return key + "s"


def _paths(tree: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _paths(v, prefix + (i,))
    return out


def _parent(tree: Any, path: tuple) -> Any:
    for part in path[:-1]:
        tree = tree[part]
    return tree


@st.composite
def mutated_trees(draw: Any) -> tuple[str, dict[str, Any], list[str]]:
    name = draw(st.sampled_from(sorted(BASES)))
    tree = copy.deepcopy(BASES[name])
    done = []
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(tree)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _parent(tree, path), path[-1]
        op = draw(st.sampled_from(["delete", "misspell", "wrong_type", "out_of_range", "huge", "deep", "text"]))
        if op == "delete":
            del parent[last]
        elif op == "misspell" and isinstance(parent, dict):
            parent[_typo(draw, str(last))] = parent.pop(last)
        elif op == "wrong_type":
            parent[last] = draw(WRONG_TYPE)
        elif op == "out_of_range":
            parent[last] = draw(OUT_OF_RANGE)
        elif op == "huge":
            parent[last] = draw(HUGE)
        elif op == "deep":
            parent[last] = draw(DEEP)
        else:
            parent[last] = draw(st.text(max_size=30))
        done.append(f"{op} {'.'.join(map(str, path))}")
    return name, tree, done


YAML_JUNK = st.sampled_from([":", "- ", "{", "}", "[", "]", "&a ", "*a", "!!int ", "|", ">", "%", "@", "`", "\t",
                             "\"", "'", "#", "? ", ": :", "---\n", "...\n", "<<: *a\n", "\x00", "\ufeff"])
BAD_BYTES = st.sampled_from([b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xe2\x82", b"\x80", b"\xed\xa0\x80",
                             b"\xf4\x90\x80\x80"]) | st.binary(min_size=1, max_size=8)


@st.composite
def mutated_texts(draw: Any) -> tuple[str, bytes, list[str]]:
    name = draw(st.sampled_from(sorted(BASES)))
    text = yaml.safe_dump(BASES[name], sort_keys=False, allow_unicode=True).encode("utf-8")
    done = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["truncate", "delete_line", "duplicate_line", "indent", "junk", "bytes",
                                   "utf16", "crlf"]))
        lines = text.split(b"\n")
        i = draw(st.integers(0, max(0, len(text) - 1)))
        n = draw(st.integers(0, max(0, len(lines) - 1)))
        if op == "truncate":
            text = text[:i]
        elif op == "delete_line":
            del lines[n]
            text = b"\n".join(lines)
        elif op == "duplicate_line":
            lines.insert(n, lines[n])
            text = b"\n".join(lines)
        elif op == "indent":
            lines[n] = b" " * draw(st.integers(1, 5)) + lines[n] if draw(st.booleans()) else lines[n].lstrip()
            text = b"\n".join(lines)
        elif op == "junk":
            text = text[:i] + draw(YAML_JUNK).encode("utf-8") + text[i:]
        elif op == "bytes":
            text = text[:i] + draw(BAD_BYTES) + text[i:]
        elif op == "utf16":
            text = text.decode("utf-8", errors="replace").encode("utf-16")
        else:
            text = text.replace(b"\n", b"\r\n")
        done.append(op)
    return name, text, done


# ------------------------------------------------------------------------- fuzzing


# Not traced for coverage (pytest-cov's no_cover): 200 cases run the same validation and
# run paths over and over, which tracing made the slowest part of CI, for no line that the
# bad-input catalogue and the other tests do not already cover.
@pytest.mark.no_cover
@_budget(110)
@given(case=mutated_trees())
def test_mutated_scenarios_are_refused_calmly(case, tmp_path_factory):
    base, tree, ops = case
    tmp = tmp_path_factory.mktemp("fuzz")
    path = tmp / f"{base}.yaml"
    path.write_text(dump(tree), encoding="utf-8")
    note(f"mutations: {ops}")
    check_case(path, tmp)


@pytest.mark.no_cover
@_budget(90)
@given(case=mutated_texts())
def test_mutated_files_are_refused_calmly(case, tmp_path_factory):
    base, data, ops = case
    tmp = tmp_path_factory.mktemp("fuzz")
    path = tmp / f"{base}.yaml"
    path.write_bytes(data)
    note(f"mutations: {ops}")
    check_case(path, tmp)


# ------------------------------------------------------------------------- classes found by fuzzing


def _write(tmp_path: Path, text: str | bytes, name: str = "case.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_aliases_that_expand_to_billions_of_nodes_are_refused_quickly(tmp_path):
    """YAML anchors can make a small file mean an enormous tree ("billion laughs")."""
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    path = _write(tmp_path, f"extends: {SILOED}\n" + "\n".join(levels) + "\n")
    started = time.perf_counter()
    status, _, err = cli("validate", path, limit=20)
    assert status == 2 and "Traceback" not in err
    assert time.perf_counter() - started < 10


ONE_PROBLEM = {
    "unknown_key_with_a_line_break": "extends: {s}\nroles:\n  field_sales: {{\"head\\ncount\": 1}}\n",
    "unknown_activity_with_a_line_break": "extends: {s}\nrouting:\n  \"de\\nmo\": field_sales\n",
    "missing_file_with_a_line_break": "extends: \"no\\nsuch.yaml\"\nname: x\n",
    "distribution_with_a_line_break": "extends: {s}\nmarket:\n  segments:\n    smb:\n"
                                      "      acv: {{dist: \"logn\\normal\", mean: 1, sd: 1}}\n",
    "character_yaml_forbids": "name: x\x00\n",
    "null_where_a_role_or_a_mapping_goes": "extends: {s}\nrouting:\n  demo: null\n",
}


@pytest.mark.parametrize("text", ONE_PROBLEM.values(), ids=ONE_PROBLEM.keys())
def test_one_problem_is_one_line_whatever_the_text_in_it(text, tmp_path):
    path = _write(tmp_path, text.format(s=SILOED))
    status, _, err = cli("validate", path)
    assert status == 2
    lines = _lines(err)
    assert len(lines) == 1, err
    assert problem_line(path).match(lines[0]), err


@pytest.mark.parametrize("where", ["file", "--set"])
def test_an_integer_too_long_to_read_is_a_problem_not_a_crash(where, tmp_path):
    """Python refuses to convert integers of more than 4300 digits (CVE-2020-10735)."""
    digits = "9" * 5000
    if where == "file":
        path = _write(tmp_path, f"extends: {SILOED}\nroles:\n  field_sales:\n    headcount: {digits}\n")
        args: list[Any] = ["validate", path]
    else:
        args = ["validate", SILOED, "--set", f"roles.field_sales.headcount={digits}"]
    status, _, err = cli(*args)
    assert status == 2 and "Traceback" not in err
    assert len(_lines(err)) == 1 and len(err) < 500, err[:500]


@pytest.mark.parametrize("override", ["simulation.horizon=.inf", "market.segments.smb.acv.mean=.inf",
                                      "roles.field_sales.loaded_cost_annual=.inf"])
def test_infinite_numbers_are_refused(override, tmp_path):
    status, _, err = cli("validate", SILOED, "--set", override)
    assert status == 2 and override.split("=")[0] in err, err
    results = tmp_path / "r"
    status, _, err = cli("run", SILOED, "--reps", "1", "--jobs", "1", "--out", results, "--quiet", "--no-charts",
                         *TINY_RUN, "--set", override, limit=20)
    assert status == 2 and "Traceback" not in err and not results.exists()


@pytest.mark.parametrize("override", [
    "market.activities.first_response.work.mean=1e300",   # work that never ends on a business-hours calendar
    "roles.field_sales.productive_share=1e-300",          # the same, by another road
    "market.segments.mm.acv.mean=1e-300",                 # a lognormal whose sd / mean overflows
])
def test_extreme_but_finite_numbers_run_or_are_refused(override, tmp_path):
    """Valid to the schema, so either the model copes or validation refuses them: a
    replication must not fail on what ``validate`` accepted."""
    results = tmp_path / "r"
    v_status, _, _ = cli("validate", SILOED, *TINY_RUN, "--set", override)
    status, _, err = cli("run", SILOED, "--reps", "1", "--jobs", "1", "--out", results, "--quiet", "--no-charts",
                         *TINY_RUN, "--set", override)
    assert "Traceback" not in err
    assert status == v_status, f"validate said {v_status}, run exited {status}: {err}"


def test_an_output_path_that_is_a_file_is_refused_before_running(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    started = time.perf_counter()
    status, _, err = cli("run", SILOED, "--reps", "1", "--jobs", "1", "--out", taken, "--quiet", "--no-charts",
                         *TINY_RUN)
    assert status == 2 and "Traceback" not in err and str(taken) in err
    assert taken.read_text() == "not a folder"
    assert time.perf_counter() - started < 5


# ------------------------------------------------------------------------- valid but absurd


def orgsim(*args: str | Path, limit: float = 20) -> tuple[int | None, str, float]:
    """``orgsim ARGS`` in this process: (status, or None if still running after ``limit``
    seconds; stderr; seconds taken)."""
    started = time.perf_counter()
    try:
        status, _, err = cli(*args, limit=limit)
    except Hang:
        return None, "", time.perf_counter() - started
    return status, err, time.perf_counter() - started


def _refused_with_an_estimate(status: int | None, err: str, results: Path) -> None:
    assert status is not None, f"not refused: still running after the time limit\n{err[-2000:]}"
    assert status == 2, err[-2000:]
    assert "Traceback" not in err
    if "must be at most" in err or "less than or equal to" in err:
        assert re.search(r"simulation\.horizon", err), err  # beyond what the schema allows: said so
    else:
        assert re.search(r"CPU-hours|hours", err) and "GiB" in err, err
        assert re.search(r"--yes-large|--set simulation\.max_\w+=\d+", err), "the message says how to run it anyway"
    assert not results.exists() or not any(results.iterdir())


@pytest.mark.parametrize("overrides", [
    ["market.channels.search.rate_per_week=10000000"],                  # ~1.5 billion buyers in 3 years
    ["simulation.horizon=100y"],                                        # the default market for 100 years (the most allowed)
], ids=["a_billion_buyers", "a_hundred_years"])
def test_absurd_runs_are_refused_up_front_with_an_estimate(overrides, tmp_path):
    results = tmp_path / "r"
    sets = [a for o in overrides for a in ("--set", o)]
    status, err, seconds = orgsim("run", SILOED, "--reps", "2", "--out", results, "--quiet", *sets)
    _refused_with_an_estimate(status, err, results)
    assert seconds < 10
    # The way to proceed anyway does lift the refusal (checked without running it).
    # Each refusal names its own limit; lifting it may reveal the next one, which is lifted too.
    large = False
    for _ in range(4):
        if "--yes-large" in err:
            large = True
        else:
            key, wanted = re.search(r"--set simulation\.(max_\w+)=(\d+)", err).groups()
            overrides = overrides + [f"simulation.{key}={wanted}"]
        scn = sim.load_scenario(SILOED, overrides)
        try:
            check_size([scn], 2, large=large)
            break
        except TooBigError as exc:
            err = str(exc)
    else:
        raise AssertionError("the limits named in the messages never let the run through")


def test_a_billion_outbound_buyers_are_refused_up_front(tmp_path):
    """Prospecting creates buyers too: a huge account pool worked at machine speed."""
    results = tmp_path / "r"
    sets = ["roles.inside_sales.prospecting_share=0.9", "market.outbound.target_accounts=1000000000",
            "market.outbound.work_per_attempt=1s", "market.outbound.meeting_probability=1",
            "simulation.horizon=60d", "simulation.warmup=1d"]
    status, err, _ = orgsim("run", SILOED, "--reps", "1", "--out", results, "--quiet",
                            *[a for s in sets for a in ("--set", s)])
    _refused_with_an_estimate(status, err, results)


def test_a_century_of_customers_who_never_leave_is_refused_up_front(tmp_path):
    """Few buyers, but every customer renews and is checked in on every quarter for ever:
    the cost is in the customers' lives, not in the number of buyers."""
    tree = copy.deepcopy(TINY)
    tree["simulation"].update(horizon="100y", warmup="0d")
    tree["market"]["channels"]["web"]["rate_per_week"] = 40
    tree["market"]["activities"].update(
        checkin={"kind": "checkin", "work": {"dist": "constant", "value": "1h"}},
        renewal={"kind": "renewal", "work": {"dist": "constant", "value": "1h"}})
    tree["market"]["journey"]["retention"] = ["checkin", "renewal"]
    tree["routing"].update(checkin="ae", renewal="ae")
    tree["roles"]["ae"]["headcount"] = 50
    path = _write(tmp_path, yaml.safe_dump(tree, sort_keys=False), "forever.yaml")
    results = tmp_path / "r"
    status, err, _ = orgsim("run", path, "--reps", "1", "--out", results, "--quiet")
    _refused_with_an_estimate(status, err, results)
