"""``orgsim``: a thin command line over :mod:`sim.api`.

Exit status: 0 done, 1 a replication failed, 2 bad input (nothing written), 130 interrupted
(nothing written). Results go to stdout; progress and problems to stderr.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__

__all__ = ["main", "format_table", "HEADLINE_KPIS"]

#: KPIs printed in the terminal table (every KPI is in the CSV files).
HEADLINE_KPIS = (
    "buyers", "won", "conversion_rate", "win_rate", "first_response_p50_hours",
    "never_answered_share", "sales_cycle_p50_days", "logo_churn_annual", "grr", "nrr", "ltv",
    "cac", "ltv_to_cac", "cac_payback_months", "people_cost", "ai_cost", "total_cost",
    "handoffs_per_won", "context_losses_per_won",
)
_PERCENT = {"conversion_rate", "win_rate", "never_answered_share", "logo_churn_annual", "grr", "nrr",
            "in_flight_share", "answered_within_1h_share", "onboarding_completion"}
_MONEY = {"ltv", "cac", "people_cost", "ai_cost", "total_cost", "marketing_cost", "arr_end", "new_arr_annual"}


def _fmt(kpi: str, x: float) -> str:
    if x != x:  # NaN
        return "-"
    if kpi in _PERCENT or kpi.startswith("utilization."):
        return f"{x * 100:.1f}%"
    if kpi in _MONEY:
        return f"${x / 1e6:.2f}M" if abs(x) >= 1e6 else f"${x / 1e3:.1f}K"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.2f}"


def format_table(summary: Any, names: list[str], kpis: Sequence[str] = HEADLINE_KPIS) -> str:
    """KPIs as rows, designs as columns: ``mean [ci_low, ci_high]``."""
    s = summary.set_index(["scenario", "kpi"])
    header = ["KPI (mean [95% CI])", *names]
    rows = [header]
    for kpi in kpis:
        row = [kpi]
        for name in names:
            if (name, kpi) not in s.index:
                row.append("-")
                continue
            r = s.loc[(name, kpi)]
            ci = "" if r.ci_low != r.ci_low else f" [{_fmt(kpi, r.ci_low)}, {_fmt(kpi, r.ci_high)}]"
            row.append(_fmt(kpi, r["mean"]) + ci)
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative seed, got {value}")
    return value


def _experiment_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reps", type=_positive, help="replications per scenario (default: the scenario's)")
    p.add_argument("--seed", type=_seed, help="root seed (default: the scenario's)")
    p.add_argument("--jobs", type=_positive, help="worker processes (default: all cores)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a scenario value, e.g. roles.inside_sales.headcount=6 (repeatable)")
    p.add_argument("--out", type=Path, default=Path("results"), help="folder for results (default: results/)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--no-charts", action="store_true", help="skip the charts (faster)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orgsim", description="Simulate go-to-market organization designs.")
    parser.add_argument("--version", action="version", version=f"orgsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run one design for several replications")
    p.add_argument("scenario", type=Path)
    _experiment_options(p)
    p = sub.add_parser("compare", help="run designs on the same market; the first is the baseline")
    p.add_argument("scenarios", type=Path, nargs="+")
    _experiment_options(p)
    p = sub.add_parser("validate", help="check scenario files without running them")
    p.add_argument("scenarios", type=Path, nargs="+")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE")
    sub.add_parser("schema", help="print the scenario JSON Schema")
    return parser


def _progress(quiet: bool) -> tuple[Any, Any]:
    if quiet:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=0, unit="rep", file=sys.stderr, delay=1.0, leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar


def _experiment(args: argparse.Namespace, paths: list[Path]) -> int:
    from .api import as_scenario, compare
    from .output import write_results

    scenarios = [as_scenario(p, args.overrides) for p in paths]
    skipped = [(p, s) for p, s in zip(paths, scenarios) if s.abstract]
    for p, _ in skipped:
        print(f"orgsim: skipping {p}: a market to extend (abstract: true), not a design", file=sys.stderr)
    scenarios = [s for s in scenarios if not s.abstract]
    if not scenarios:
        from .scenario import Problem, ScenarioError

        raise ScenarioError([Problem(str(paths[0]), None, "abstract", "no design to run: every file is abstract")])
    update, bar = _progress(args.quiet)
    try:
        results = compare(scenarios, reps=args.reps, seed=args.seed, jobs=args.jobs, progress=update)
    finally:
        if bar is not None:
            bar.close()
    folder = write_results(results, args.out, args.command, argv=sys.argv, charts=not args.no_charts)
    print(format_table(results.summary, results.names))
    print(f"\nresults: {folder}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from .scenario import ScenarioError, load_scenario

    problems = []
    for path in args.scenarios:
        try:
            scn = load_scenario(path, args.overrides)
            print(f"{path}: ok ({scn.name}{', abstract' if scn.abstract else ''})")
        except ScenarioError as exc:
            problems += exc.problems
    for p in problems:
        print(p, file=sys.stderr)
    return 2 if problems else 0


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``orgsim`` and ``python -m sim``."""
    args = build_parser().parse_args(argv)
    from .experiment import ReplicationError, TooBigError
    from .scenario import ScenarioError

    # Ctrl-C must work even when the parent shell started us with SIGINT ignored.
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        if args.command == "schema":
            from .schema import Scenario

            print(json.dumps(Scenario.model_json_schema(), indent=2))
            return 0
        if args.command == "validate":
            return _validate(args)
        paths = [args.scenario] if args.command == "run" else list(args.scenarios)
        return _experiment(args, paths)
    except ScenarioError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        return 2
    except TooBigError as exc:
        print(f"orgsim: {exc}", file=sys.stderr)
        return 2
    except ReplicationError as exc:
        print(f"orgsim: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("orgsim: interrupted; nothing was written", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
