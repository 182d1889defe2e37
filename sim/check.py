"""``orgsim check``: the reality check. A design's headline figures beside published ranges.

The ranges and their sources live in ``sim/data/benchmarks.yaml`` (each source points to its
entry in ``docs/sources.md``); this module measures the same figures in simulated replications,
the way each benchmark's ``measure`` text says, and prints one row per figure: the model's
mean with its 95% confidence interval, the range, and whether the model is inside, above or
below it.

How our funnel maps onto the published one (see :func:`funnel_steps`):

- lead: a buyer who arrived (researching us), outbound meetings excepted;
- MQL: passed the last gate before first response (marketing's scoring);
- SQL: passed the first gate after first response (inside sales' qualification);
- opportunity: passed the first sales stage after that (the AE's discovery meeting);
- won: signed, by any path.

>>> import argparse, sim.check
>>> p = argparse.ArgumentParser(); sim.check.add_arguments(p)
>>> sim.check.main(p.parse_args(["scenarios/siloed.yaml", "--reps", "2"]))  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .metrics import measure
from .model import SimResult, simulate
from .scenario import Problem, ScenarioError, load_scenario
from .schema import Scenario
from .stats import mean_ci
from .streams import replication_seed

__all__ = [
    "DEFAULT_REPS",
    "Benchmark",
    "Row",
    "add_arguments",
    "check",
    "figures",
    "format_check",
    "funnel_steps",
    "load_benchmarks",
    "main",
]

#: Replications when ``--reps`` is not given: enough for a CI, few enough for a quick look.
DEFAULT_REPS = 5
_YEAR = 365.0
#: HBR 2011 counted responses within 30 days: contacts this close to the end are left out.
_RESPONSE_FOLLOW_UP = 30.0


# ---------------------------------------------------------------- benchmarks


@dataclass(frozen=True)
class Benchmark:
    """One published range (per segment band when ``band`` is set)."""

    id: str
    figure: str
    unit: str
    low: float | None
    high: float | None
    measure: str
    basis: str
    sources: tuple[dict[str, str], ...]
    band: str | None = None


def _bad(path: str, message: str) -> ScenarioError:
    return ScenarioError([Problem(path, None, "", message)])


def load_benchmarks(path: str | Path | None = None) -> tuple[list[Benchmark], list[dict[str, Any]]]:
    """The benchmarks and the segment bands, from ``path`` or the packaged file."""
    if path is None:
        text = resources.files("sim").joinpath("data/benchmarks.yaml").read_text(encoding="utf-8")
        where = "sim/data/benchmarks.yaml"
    else:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise _bad(where, f"cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _bad(where, f"YAML error: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise _bad(where, "expected a mapping with a 'benchmarks' list")
    bands = data.get("segment_bands") or []
    out: list[Benchmark] = []
    for item in data["benchmarks"]:
        try:
            common = {"id": item["id"], "figure": item["figure"], "unit": item["unit"], "measure": item.get("measure", "")}
            if item.get("by_segment"):
                for band, spec in item["bands"].items():
                    out.append(Benchmark(**common, low=spec.get("low"), high=spec.get("high"),
                                         basis=spec.get("basis", ""), sources=tuple(spec.get("sources", ())),
                                         band=band))
            else:
                out.append(Benchmark(**common, low=item.get("low"), high=item.get("high"),
                                     basis=item.get("basis", ""), sources=tuple(item.get("sources", ()))))
        except (KeyError, TypeError, AttributeError) as exc:
            raise _bad(where, f"benchmark {item!r:.60}: missing or malformed {exc}") from None
    return out, bands


def segment_bands(scn: Scenario, bands: list[dict[str, Any]]) -> dict[str, str]:
    """Segment -> benchmark band, by the segment's mean ACV (the first band it falls below)."""
    out = {}
    for name, seg in scn.market.segments.items():
        acv = seg.acv.mean_value
        for band in bands:
            if band.get("acv_below") is None or acv < band["acv_below"]:
                out[name] = band["band"]
                break
    return out


# ---------------------------------------------------------------- measuring


def funnel_steps(scn: Scenario) -> dict[str, str | None]:
    """The activities that mark MQL, SQL and opportunity in this scenario's journey.

    MQL: the last gate before the first contact activity; SQL: the first gate after it;
    opportunity: the first stage after the SQL gate. ``None`` where the journey has no such
    activity (then the step is not measured).
    """
    m = scn.market
    acq = m.journey.acquisition
    kinds = [m.activities[a].kind for a in acq]
    contact = kinds.index("contact") if "contact" in kinds else None
    before = range(contact) if contact is not None else range(0)
    mql = next((acq[i] for i in reversed(before) if kinds[i] == "gate"), None)
    after = range(contact + 1, len(acq)) if contact is not None else range(len(acq))
    sql_i = next((i for i in after if kinds[i] == "gate"), None)
    opp = next((acq[i] for i in range((sql_i or 0) + 1, len(acq)) if kinds[i] == "stage"), None) \
        if sql_i is not None else None
    return {"mql": mql, "sql": acq[sql_i] if sql_i is not None else None, "opp": opp}


def _share(num: float, den: float) -> tuple[float, int]:
    return (num / den if den else float("nan"), int(den))


def _funnel(res: SimResult, steps: dict[str, str | None], out: dict[str, tuple[float, int]]) -> None:
    scn, b, ev = res.scenario, res.buyers, res.events
    t0, t1 = scn.simulation.warmup, scn.simulation.horizon
    # Buyers who arrive late have not finished their journey: leave a settling period.
    settle = min(_YEAR, (t1 - t0) / 2)
    cohort = b[(b.arrive_at >= t0) & (b.arrive_at < t1 - settle) & (b.source != "outbound")]
    passes = ev[ev.event == "pass"]
    leads = set(cohort.id)
    level = leads
    previous = "lead"
    for name, key in (("mql", "lead_to_mql"), ("sql", "mql_to_sql"), ("opp", "sql_to_opp")):
        act = steps[name]
        if act is None:
            continue
        reached = level & set(passes.buyer[passes.activity == act])
        out[key] = _share(len(reached), len(level))
        level, previous = reached, name
    won = set(cohort.id[cohort.won_at.notna()])
    if previous == "opp":
        out["opp_to_won"] = _share(len(level & won), len(level))
    out["lead_to_won"] = _share(len(won), len(leads))


def _response(res: SimResult, steps: dict[str, str | None], out: dict[str, tuple[float, int]]) -> None:
    scn, b = res.scenario, res.buyers
    t0, t1 = scn.simulation.warmup, scn.simulation.horizon
    asked = b[(b.contact_at >= t0) & (b.contact_at < t1 - _RESPONSE_FOLLOW_UP) & (b.source != "outbound")]
    within = (asked.first_response_wait <= 1 / 24).sum()
    never = asked.reason.isin(["never_followed_up", "no_response"])
    if steps["mql"] is not None:
        never |= (asked.reason == "disqualified") & (asked.lost_activity == steps["mql"])
    out["answered_within_1h"] = _share(within, len(asked))
    out["never_answered"] = _share(never.sum(), len(asked))


def _first_meetings(ev: pd.DataFrame, activity: str | None) -> pd.Series:
    if activity is None:
        return pd.Series(dtype=float)
    starts = ev[(ev.event == "start") & (ev.activity == activity)]
    return starts.groupby("buyer").time.min()


def _by_segment(res: SimResult, steps: dict[str, str | None], out: dict[str, tuple[float, int]]) -> None:
    scn, b, ev = res.scenario, res.buyers, res.events
    t0, t1 = scn.simulation.warmup, scn.simulation.horizon
    signed = b[(b.won_at >= t0) & (b.won_at < t1)]
    meeting = signed.id.map(_first_meetings(ev, steps["opp"] or steps["sql"]))
    cycle = (signed.won_at - meeting).dropna()
    # Trailing year: the customers active a year before the end, and what became of them.
    base_at = t1 - _YEAR
    customers = b[b.won_at.notna()]
    base = customers[(customers.won_at < base_at) & ~(customers.churned_at < base_at)] \
        if base_at >= t0 else customers.iloc[:0]
    expanded = ev[(ev.event == "expanded") & (ev.time < base_at)].groupby("buyer").value.sum()
    arr_then = base.acv + base.id.map(expanded).fillna(0.0)
    arr_now = base.arr.where(base.state != "churned", 0.0)
    churned = base.churned_at.notna()
    groups = [(seg, signed.segment == seg, base.segment == seg) for seg in scn.market.segments]
    for seg, in_signed, in_base in groups:
        x = cycle[in_signed.loc[cycle.index]]
        out[f"sales_cycle_days.{seg}"] = (float(np.median(x)) if len(x) else float("nan"), len(x))
        out[f"logo_churn.{seg}"] = _share(churned[in_base].sum(), in_base.sum())
        out[f"nrr.{seg}"] = (_share(arr_now[in_base].sum(), arr_then[in_base].sum())[0], int(in_base.sum()))
    out["nrr_all"] = (_share(arr_now.sum(), arr_then.sum())[0], len(base))


def _win_rate(res: SimResult, steps: dict[str, str | None]) -> tuple[float, int]:
    """Sales wins / (sales wins + losses at a sales stage or the close), cohort buyers.

    As the KPI ``win_rate``, but a self-serve win (no seller involved) is not a sales win.
    """
    scn, b, ev = res.scenario, res.buyers, res.events
    t0, t1 = scn.simulation.warmup, scn.simulation.horizon
    cohort = b[(b.arrive_at >= t0) & (b.arrive_at < t1)]
    met = set(_first_meetings(ev, steps["opp"]).index) if steps["opp"] else set(cohort.id)
    won = int((cohort.won_at.notna() & cohort.id.isin(met)).sum())
    lost = int(cohort.reason.isin(["dropped_out", "no_decision", "lost_to_competitor"]).sum())
    return _share(won, won + lost)


def figures(res: SimResult) -> dict[str, tuple[float, int]]:
    """Every figure the check compares, for one replication: id -> (value, observations).

    Per-segment figures are keyed ``id.segment``.
    """
    steps = funnel_steps(res.scenario)
    out: dict[str, tuple[float, int]] = {}
    _funnel(res, steps, out)
    _response(res, steps, out)
    _by_segment(res, steps, out)
    k = measure(res).kpis
    n_won = int(k["new_customers"])
    out["win_rate"] = _win_rate(res, steps)
    out["ltv_to_cac"] = (k["ltv_to_cac"], n_won)
    out["cac_payback_months"] = (k["cac_payback_months"], n_won)
    years = (res.scenario.simulation.horizon - res.scenario.simulation.warmup) / _YEAR
    new_arr = k["new_arr_annual"] * years
    out["cac_ratio"] = (k["cac"] * n_won / new_arr if new_arr else float("nan"), n_won)
    return out


def _replicate(scn: Scenario, seed: int) -> dict[str, tuple[float, int]]:
    return figures(simulate(scn, seed))


# ---------------------------------------------------------------- the check


@dataclass(frozen=True)
class Row:
    """One line of the check: a benchmark, the model's figure and the verdict."""

    benchmark: Benchmark
    segment: str | None
    mean: float
    ci_low: float
    ci_high: float
    n: int
    verdict: str  # inside, above, below, n/a
    uncertain: bool  # the 95% CI crosses a bound of the range


#: Figures that are a share of their ``n`` observations (a Wilson interval applies too).
PROPORTIONS = {"lead_to_mql", "mql_to_sql", "sql_to_opp", "opp_to_won", "lead_to_won", "win_rate",
               "answered_within_1h", "never_answered", "logo_churn"}


def wilson(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion ``p`` observed in ``n`` trials."""
    if n <= 0 or p != p:
        return (float("nan"), float("nan"))
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _verdict(b: Benchmark, mean: float, low: float, high: float) -> tuple[str, bool]:
    if mean != mean:
        return "n/a", False
    lo = -np.inf if b.low is None else b.low
    hi = np.inf if b.high is None else b.high
    verdict = "below" if mean < lo else "above" if mean > hi else "inside"
    crosses = low == low and any(low < bound < high for bound in (lo, hi) if np.isfinite(bound))
    return verdict, bool(crosses)


def check(scn: Scenario, reps: int = DEFAULT_REPS, seed: int | None = None, jobs: int | None = None,
          benchmarks: str | Path | None = None) -> list[Row]:
    """Run ``reps`` replications of ``scn`` and set each figure beside its published range."""
    from .executors import default_jobs, open_executor
    from .experiment import check_size

    if scn.abstract:
        raise ScenarioError([Problem(scn.name, None, "abstract", "a market to extend, not a design to run")])
    marks, bands = load_benchmarks(benchmarks)
    check_size([scn], reps)
    root = scn.simulation.seed if seed is None else seed
    seeds = [replication_seed(root, r) for r in range(reps)]
    jobs = min(default_jobs() if jobs is None else jobs, reps)
    if jobs <= 1:
        results = [_replicate(scn, s) for s in seeds]
    else:
        with open_executor("local", jobs) as pool:
            futures = [pool.executor.submit(_replicate, scn, s) for s in seeds]
            results = [f.result() for f in futures]
    seg_band = segment_bands(scn, bands)
    rows = []
    for mark in marks:
        segments: Sequence[str | None] = (
            [s for s, band in seg_band.items() if band == mark.band] if mark.band else [None])
        for seg in segments:
            key = mark.id if seg is None else f"{mark.id}.{seg}"
            if key not in results[0]:
                continue
            values = np.array([r[key][0] for r in results], dtype=float)
            mean, low, high, _ = mean_ci(values)
            n = sum(r[key][1] for r in results)
            # Few events (e.g. no churn among a handful of customers) make the t interval
            # too narrow, even empty: for proportions, widen it to the pooled Wilson interval.
            w_low, w_high = wilson(mean, n) if mark.id in PROPORTIONS else (low, high)
            span = (np.nanmin([low, w_low]), np.nanmax([high, w_high])) if w_low == w_low else (low, high)
            verdict, uncertain = _verdict(mark, mean, *span)
            rows.append(Row(mark, seg, mean, low, high, n, verdict, uncertain))
    return rows


# ---------------------------------------------------------------- output


def _fmt(unit: str, x: float | None) -> str:
    if x is None or x != x:
        return "-"
    if unit == "share":
        return f"{x * 100:.2f}%" if abs(x) < 0.1 else f"{x * 100:.1f}%"
    if unit == "days":
        return f"{x:.0f} d"
    if unit == "months":
        return f"{x:.1f} mo"
    return f"{x:.2f}"


def _range(b: Benchmark) -> str:
    if b.low is None:
        return f"<= {_fmt(b.unit, b.high)}"
    if b.high is None:
        return f">= {_fmt(b.unit, b.low)}"
    return f"{_fmt(b.unit, b.low)} - {_fmt(b.unit, b.high)}"


def format_check(rows: list[Row], title: str) -> str:
    """The check as a text table, with its legend."""
    table = [["figure", "model mean [95% CI]", "published range", "verdict", "n", "source"]]
    for r in rows:
        b = r.benchmark
        label = b.figure if r.segment is None else f"{b.figure}: {r.segment}"
        model = _fmt(b.unit, r.mean)
        if r.ci_low == r.ci_low:
            model += f" [{_fmt(b.unit, r.ci_low)}, {_fmt(b.unit, r.ci_high)}]"
        source = b.sources[0].get("short", "") if b.sources else ""
        table.append([label, model, _range(b), r.verdict + ("*" if r.uncertain else ""), str(r.n), source])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    right = {1, 2, 4}
    lines = ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
             for row in table]
    lines.insert(1, "-" * max(len(line) for line in lines))
    counts = {v: sum(r.verdict == v for r in rows) for v in ("inside", "above", "below", "n/a")}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    legend = [
        "",
        f"{summary}. n = observations summed over replications (leads, buyers, wins or customers).",
        ("* the 95% CI (for shares, also the Wilson interval of the pooled count) crosses a bound of the "
         "range: more replications could change the verdict."),
        "n/a: not measurable in this run (e.g. trailing-year figures need horizon >= warmup + 1y).",
        ("Funnel: lead = arrived buyer; MQL = passed scoring; SQL = passed qualification; "
         "opportunity = passed discovery."),
        ("How each figure is measured, and the full sources: sim/data/benchmarks.yaml, docs/model.md "
         "(Reality check)."),
    ]
    return "\n".join([title, "", *lines, *legend])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``orgsim check``."""
    parser.description = ("Run a design and set its headline figures beside published ranges "
                          "(sim/data/benchmarks.yaml): each row says inside, above or below.")
    parser.add_argument("scenario", type=Path, help="the design to check")
    parser.add_argument("--reps", type=int, default=DEFAULT_REPS,
                        help=f"replications (default: {DEFAULT_REPS})")
    parser.add_argument("--seed", type=int, help="root seed (default: the scenario's)")
    parser.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override a scenario value, e.g. roles.inside_sales.headcount=6 (repeatable)")
    parser.add_argument("--benchmarks", type=Path, metavar="FILE",
                        help="ranges to check against (default: the packaged sim/data/benchmarks.yaml)")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a figure is outside its range")
    against = parser.add_argument_group("against your own CRM export (instead of the published ranges)")
    against.add_argument("--against", type=Path, metavar="DEALS.csv", help="set the figures beside this export's")
    against.add_argument("--customers", type=Path, metavar="CUSTOMERS.csv", help="its customers table")
    against.add_argument("--format", choices=("neutral", "salesforce", "hubspot"), default="neutral",
                         help="the export's format (default neutral)")
    against.add_argument("--mapping", type=Path, metavar="MAPPING.yaml", help="the CRM's stage names as orgsim's")
    against.add_argument("--stages", type=Path, metavar="STAGES.csv",
                         help="the stage times as a long table (id, stage, entered_at)")
    against.add_argument("--as-of", metavar="DATE", help="the export's date (default: the latest date in it)")


def main(args: argparse.Namespace) -> int:
    """Run ``orgsim check``; 0 done (1 with --strict and a figure outside), 2 bad input."""
    for name in ("reps", "jobs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            print(f"orgsim check: --{name} must be at least 1, got {value}", file=sys.stderr)
            return 2
    if args.seed is not None and args.seed < 0:
        print(f"orgsim check: --seed must be non-negative, got {args.seed}", file=sys.stderr)
        return 2
    if getattr(args, "against", None) is not None:
        from . import against

        return against.main(args)
    scn = load_scenario(args.scenario, args.overrides)
    rows = check(scn, reps=args.reps, seed=args.seed, jobs=args.jobs, benchmarks=args.benchmarks)
    s = scn.simulation
    seed = s.seed if args.seed is None else args.seed
    title = (f"Reality check: {scn.name} ({args.reps} replications, horizon {s.horizon:g} d, "
             f"warmup {s.warmup:g} d, seed {seed})")
    print(format_check(rows, title))
    outside = [r for r in rows if r.verdict in ("above", "below")]
    return 1 if args.strict and outside else 0


def _cli(argv: Sequence[str] | None = None) -> int:
    """``python -m sim.check``: the command on its own, until it is wired into ``orgsim``."""
    parser = argparse.ArgumentParser(prog="orgsim check")
    add_arguments(parser)
    from .experiment import TooBigError

    try:
        return main(parser.parse_args(argv))
    except ScenarioError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        return 2
    except TooBigError as exc:
        print(f"orgsim check: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_cli())
