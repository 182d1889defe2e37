"""``orgsim``: a thin command line over :mod:`sim.api`.

Exit status: 0 done, 1 a replication failed or the results could not be written where asked
(the message says where they were saved instead), 2 bad input (nothing written: this includes
work estimated too large to run without ``--yes-large`` and an --out that cannot be written),
130 interrupted (no results folder; a sweep or sensitivity run keeps its checkpoint for
``--resume``). Results go to stdout; progress and problems to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import signal
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, interrupt
from .tables import SWEEP_KPIS, format_sensitivity, format_sweep, format_table

if TYPE_CHECKING:  # imported when a command needs it, after the signal handlers are set
    from .plan import Plan

__all__ = ["build_parser", "main"]


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
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="local worker processes (default), or Dask: a local cluster, or --scheduler's")
    p.add_argument("--scheduler", metavar="ADDRESS", type=_address,
                   help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (with --executor dask)")
    p.add_argument("--yes-large", dest="large", action="store_true",
                   help="run even work estimated beyond the size limits (hours of CPU, GiB of results)")


def _address(text: str) -> str:
    """A Dask scheduler address: [PROTOCOL://]HOST:PORT (checked before any connection)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text if "://" in text else f"tcp://{text}")
        port = parts.port
    except ValueError:
        port = None
    if (port is None or parts.scheme not in ("tcp", "tls", "inproc", "ucx", "ws", "wss") or not parts.hostname
            or parts.path not in ("", "/") or any(c.isspace() for c in text)):
        raise argparse.ArgumentTypeError(f"expected an address such as tcp://10.0.0.5:8786, got {text!r}")
    return text


def _csv_list(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in items):
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return items


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line; ``argv`` (default: the process's) says which subcommand to build fully."""
    parser = argparse.ArgumentParser(prog="orgsim", description="Simulate go-to-market organization designs.")
    parser.add_argument("--version", action="version", version=f"orgsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run one design for several replications")
    p.add_argument("scenario", type=Path)
    _experiment_options(p)
    p = sub.add_parser("compare", help="run designs on the same market; the first is the baseline")
    p.add_argument("scenarios", type=Path, nargs="+")
    p.add_argument("--baseline", help="name of the design the others are compared with (default: the first)")
    p.add_argument("--robust", action="store_true",
                   help="also say, per headline, the assumption it leans on most and whether it flips inside its "
                        "range (each default assumption at both ends of its range, 2 replications)")
    p.add_argument("--priorities", type=_csv_list, metavar="KPI[,KPI...]",
                   help="the KPIs the report's scorecard ranks the designs on, most important first "
                        "(default: ltv_to_cac,nrr,conversion_rate,total_cost)")
    _experiment_options(p)
    p = sub.add_parser("sweep", help="run a design at every point of a grid (or a Latin hypercube) of values",
                       description="Each point runs with the same replication seeds (common random numbers). "
                                   "Writes sweep.csv (one row per point x replication) and sweep_summary.csv.")
    p.add_argument("scenarios", type=Path, nargs="+", metavar="SCENARIO")
    p.add_argument("--vary", action="append", required=True, metavar="KEY.PATH=VALUES",
                   help="values to try: key=v1,v2,v3 or a range key=start:stop:step (stop included); "
                        "with --lhs, key=start:stop (repeatable: one per varied key)")
    p.add_argument("--lhs", type=_positive, metavar="N",
                   help="N Latin-hypercube points over the ranges instead of the full grid")
    p.add_argument("--kpi", type=_csv_list, action="append", default=[], metavar="KPI[,KPI...]",
                   help=f"KPIs to print and chart (default: {', '.join(SWEEP_KPIS)}); every KPI is in the CSVs")
    p.add_argument("--events", action="store_true", help="keep each replication's event log (events/*.csv)")
    p.add_argument("--resume", type=Path, metavar="DIR",
                   help="continue an interrupted sweep from its checkpoint (the folder it named, or --out)")
    _experiment_options(p)
    p = sub.add_parser("sensitivity", help="rank levers by their effect on a KPI (one at a time, low and high)",
                       description="Moves each lever to base x (1 - delta) and base x (1 + delta), one at a time, "
                                   "with the base's replication seeds, and ranks levers by the paired change.")
    p.add_argument("scenario", type=Path)
    p.add_argument("--kpi", type=_csv_list, required=True, metavar="KPI[,KPI...]",
                   help="the KPI to rank levers by (more, comma-separated, are reported too)")
    p.add_argument("--params", type=_csv_list, metavar="KEY[,KEY...]",
                   help="levers to move (default: every non-zero numeric organization parameter)")
    p.add_argument("--delta", default="20%", help="how far to move each lever, e.g. 20%% or 0.2 (default: 20%%)")
    p.add_argument("--vs", type=Path, metavar="BASELINE",
                   help="rank levers by their effect on the paired difference SCENARIO - BASELINE (a design file)")
    p.add_argument("--resume", type=Path, metavar="DIR", help="continue an interrupted run from its checkpoint")
    _experiment_options(p)
    p = sub.add_parser("robustness", help="does a comparison hold over the plausible ranges of its assumptions?",
                       description="Varies the uncertain parameters over their plausible ranges (sim/assumptions.py) "
                                   "with common random numbers, and reports, per design and headline, whether the "
                                   "paired difference against the baseline keeps its sign, where it flips, and what "
                                   "it rests on. Defaults: 4 Morris trajectories, 2 replications, a 2-year horizon "
                                   "(the three main designs: about 5 minutes on 2 cores).")
    p.add_argument("scenarios", type=Path, nargs="+", metavar="DESIGN")
    p.add_argument("--baseline", help="the design the others are compared with (default: the first, said on stderr)")
    p.add_argument("--params", type=_csv_list, metavar="KEY[,KEY...]",
                   help="parameters to vary, as documented (market.effects.first_response_handoff_drop, "
                        "market.segments.<segment>.patience...); default: every default assumption that acts")
    p.add_argument("--samples", type=_positive, help="Morris trajectories, or Sobol base samples (a power of 2); "
                                                     "default 4")
    p.add_argument("--method", choices=("morris", "sobol", "oat"), default="morris",
                   help="global screening (default), Sobol indices, or one at a time")
    p.add_argument("--kpi", type=_csv_list, action="append", default=[], metavar="KPI[,KPI...]",
                   help="KPIs to measure besides the headlines")
    p.add_argument("--resume", type=Path, metavar="DIR", help="continue an interrupted run from its checkpoint")
    _experiment_options(p)
    p = sub.add_parser("optimize", help="the best levers under constraints, then selected with a guarantee",
                       description="Searches the levers with Optuna (every trial on the same replication seeds), "
                                   "then runs the best few and the starting organization through procedure KN "
                                   "(Kim & Nelson 2001) until the best is identified with probability >= "
                                   "--confidence within --delta. Writes best.yaml (extends the input), trials.csv, "
                                   "candidates.csv, comparisons.csv, study.db, report.md and charts.")
    p.add_argument("scenario", type=Path)
    p.add_argument("--maximize", action="append", default=[], metavar="KPI", help="the KPI to maximize")
    p.add_argument("--minimize", action="append", default=[], metavar="KPI",
                   help="the KPI to minimize (two objectives in all: the Pareto front)")
    p.add_argument("--vary", action="append", required=True, metavar="KEY.PATH=LOW:HIGH[:STEP]",
                   help="a lever and its range (whole numbers where the scenario's value is one; repeatable)")
    p.add_argument("--constraint", dest="constraints", action="append", default=[], metavar="'KPI<=VALUE'",
                   help="a limit on a KPI's mean, e.g. 'total_cost<=5.35M' or 'nrr>=95%%' (repeatable)")
    p.add_argument("--trials", type=_positive, default=30, help="search trials (default 30)")
    p.add_argument("--candidates", type=_positive, default=4,
                   help="distinct configurations taken into the selection stage (default 4)")
    p.add_argument("--delta", metavar="VALUE",
                   help="indifference zone in the KPI's unit, e.g. 0.5pp or 50K (default: 0.5pp for a share, "
                        "1%% of the starting value otherwise)")
    p.add_argument("--confidence", type=float, default=0.95, help="probability of correct selection (default 0.95)")
    p.add_argument("--resume", type=Path, metavar="DIR", help="continue an interrupted optimization from its folder")
    _experiment_options(p)
    p = sub.add_parser("validate", help="check scenario files without running them")
    p.add_argument("scenarios", type=Path, nargs="+")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE")
    sub.add_parser("schema", help="print the scenario JSON Schema")
    p = sub.add_parser("report", help="re-render the report of a results folder (no simulation)")
    p.add_argument("folder", type=Path)
    p.add_argument("--lang", choices=("en", "ja"), default="en")
    p.add_argument("--pptx", action="store_true", help="also write a PowerPoint deck")
    p.add_argument("--png", action="store_true",
                   help="also write each chart as PNG beside its SVG in charts/, for slides and documents")
    p.add_argument("--priorities", type=_csv_list, metavar="KPI[,KPI...]",
                   help="the KPIs the scorecard ranks the designs on, most important first (default: the folder's)")
    p.add_argument("--template", type=Path, metavar="FILE.pptx", help="the slide master and layouts of the deck")
    p = sub.add_parser("app", help="a local web page: move a lever, see the paired answer as replications finish",
                       description="Serves a page on this machine where designs are compared live (needs the app "
                                   'extra: pip install -e ".[app]"). Without SCENARIO files, the shipped '
                                   "scenarios/*.yaml. Saved scenarios and exported results go under --out.")
    p.add_argument("scenarios", type=Path, nargs="*", metavar="SCENARIO")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, this machine only; any other is warned about)")
    p.add_argument("--out", type=Path, default=Path("results"), help="folder for exports and saved scenarios")
    p.add_argument("--jobs", type=_positive, help="worker processes for the runs (default: every core)")
    p.add_argument("--lang", choices=("en", "ja"), default="en", help="the page's language at first (default en)")
    # check and trace keep their arguments beside their code, which loads the model and the
    # statistics: a command builds them only when it is the one asked for, so that
    # `orgsim --help` and every other command start without those imports.
    wanted = _command(sys.argv[1:] if argv is None else argv)
    for name, text in (("check", "set a design's headline figures beside published ranges"),
                       ("trace", "the story of individual buyers, step by step"),
                       ("calibrate", "fit the market to your own CRM export (writes market_calibrated.yaml)")):
        p = sub.add_parser(name, help=text)
        if name == wanted:
            importlib.import_module(f".{name}", __package__).add_arguments(p)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (its first word that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def _progress(quiet: bool) -> tuple[Any, Any]:
    if quiet:
        return None, None
    from .progress import progress_bar

    bar = progress_bar(0, "rep")

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar


def _unknown_kpis(names: list[str] | None) -> list[str]:
    """The names in ``--priorities`` that are not KPIs."""
    from .kpis import get

    return [k for k in names or [] if get(k) is None]


def _experiment(args: argparse.Namespace, paths: list[Path]) -> int:
    from .api import as_scenario, compare
    from .output import write_results

    unknown = _unknown_kpis(getattr(args, "priorities", None))
    if unknown:
        print(f"orgsim: --priorities: not a KPI: {', '.join(unknown)}", file=sys.stderr)
        return 2

    scenarios = [as_scenario(p, args.overrides) for p in paths]
    skipped = [(p, s) for p, s in zip(paths, scenarios) if s.abstract]
    for p, _ in skipped:
        print(f"orgsim: skipping {p}: a market to extend (abstract: true), not a design", file=sys.stderr)
    scenarios = [s for s in scenarios if not s.abstract]
    if scenarios:
        _before_running(args, scenarios)
    if not scenarios:
        from .scenario import Problem, ScenarioError

        raise ScenarioError([Problem(str(paths[0]), None, "abstract", "no design to run: every file is abstract")])
    baseline = getattr(args, "baseline", None)
    if baseline is not None:
        names = [s.name for s in scenarios]
        if baseline not in names:
            from .scenario import Problem, ScenarioError

            raise ScenarioError([Problem("--baseline", None, "", f"no design named {baseline!r}; "
                                                                 f"expected one of {', '.join(names)}")])
        scenarios.sort(key=lambda s: s.name != baseline)  # stable: the others keep their order
    elif args.command == "compare" and len(scenarios) > 1:
        print(f"orgsim: baseline: {scenarios[0].name} (first file); --baseline NAME to choose", file=sys.stderr)
    update, bar = _progress(args.quiet)
    try:
        results = compare(scenarios, reps=args.reps, seed=args.seed, jobs=args.jobs, progress=update,
                          executor=args.executor, scheduler=args.scheduler, large=args.large)
    finally:
        if bar is not None:
            bar.close()
    if getattr(args, "priorities", None):
        results.meta["priorities"] = args.priorities  # the report's scorecard reads them from the manifest
    folder = write_results(results, args.out, args.command, argv=sys.argv, charts=not args.no_charts)
    print(format_table(results.summary, results.names))
    _payback_lines(results)
    if getattr(args, "robust", False) and len(scenarios) > 1:
        _robust_lines(args, scenarios)
    print(f"\nresults: {folder}")
    return 0


def _payback_lines(results: Any) -> None:
    """When each design pays back against the baseline: only where some design's capacity
    changes over time (a static comparison prints what it always printed)."""
    from .timeline import changes_over_time, payback

    if results.timeline is None or len(results.names) < 2 or not changes_over_time(results.scenarios):
        return
    table = payback(results.timeline, results.names[0])
    print(f"\npayback against {results.names[0]} (the first month from which the cumulative paired "
          f"contribution, gross margin minus cost, stays positive; timeline.csv, payback.csv):")
    for row in table.itertuples():
        print(f"  {row.scenario}: {row.payback} ({row.reps_paid_back} of {row.n} replications pay back)")


def _robust_lines(args: argparse.Namespace, scenarios: Sequence[Any]) -> None:
    """compare --robust: each default assumption at both ends of its range, one line per headline."""
    from .robustness import robustness

    update, bar = _progress(args.quiet)
    try:
        res = robustness(list(scenarios), scenarios[0].name, reps=2, method="oat", seed=args.seed, jobs=args.jobs,
                         progress=update, executor=args.executor, scheduler=args.scheduler, large=args.large,
                         switching=False)
    finally:
        if bar is not None:
            bar.close()
    print("\nWhat each headline rests on (each assumption at both ends of its range, 2 replications, 2-year horizon):")
    for r in res.table.itertuples():
        flips = "holds over every range" if r.robust else "flips inside the ranges"
        lean = r.leans_on or "-"
        print(f"  {r.design} - {r.baseline}, {r.kpi}: leans most on {lean}; {flips} "
              f"(better at {r.share_better * 100:.0f}% of {r.points} ends)")


def _before_running(args: argparse.Namespace, scenarios: Sequence[Any]) -> None:
    """Warn of overloaded roles; check that the results can be written (else exit 2)."""
    from .capacity import overloaded_roles
    from .costs import cost_notes
    from .output import check_writable, leftovers

    for scn in scenarios:
        for line in overloaded_roles(scn):
            print(f"orgsim: warning: {scn.name}: {line}", file=sys.stderr)
        for line in cost_notes(scn):
            print(f"orgsim: warning: {scn.name}: {line}", file=sys.stderr)
    try:
        check_writable(args.out)
    except OSError as exc:
        raise _Refused(f"--out {args.out}: {exc}") from None
    for note in leftovers(args.out):
        print(f"orgsim: {note}", file=sys.stderr)


class _Refused(Exception):
    """Bad input found by the command line itself: one line, exit status 2."""


def _checkpoint(plan: Plan, args: argparse.Namespace) -> Path:
    """Where this run streams its finished replications: new, or the one ``--resume`` names."""
    from .plan import CHECKPOINT_FILE
    from .scenario import Problem, ScenarioError

    fresh: Path = args.out / plan.checkpoint_name()
    resume: Path | None = args.resume
    if resume is not None:
        if (resume / "plan.json").is_file():
            return resume
        if (resume / plan.checkpoint_name() / "plan.json").is_file():
            return resume / plan.checkpoint_name()
        raise ScenarioError([Problem("--resume", None, "", f"no checkpoint of this {plan.kind} in {resume}")])
    if fresh.exists():
        runs = fresh / CHECKPOINT_FILE
        done = runs.read_bytes().count(b"\n") if runs.is_file() else 0
        raise ScenarioError([Problem(
            f"orgsim {plan.kind}", None, "",
            f"a checkpoint of this same {plan.kind} exists ({done} of {plan.total} replications done): "
            f"add --resume {fresh} to continue it, or delete that folder to start again")])
    return fresh


def _run_plan(plan: Plan, args: argparse.Namespace) -> tuple[Any, dict[str, Any], Path]:
    from .plan import run_plan

    if args.scheduler and args.executor != "dask":
        from .executors import ExecutorError

        raise ExecutorError("--scheduler needs --executor dask")
    _before_running(args, plan.bases)
    checkpoint = _checkpoint(plan, args)
    update, bar = _progress(args.quiet)
    try:
        runs, facts = run_plan(plan, checkpoint, args.jobs, args.executor, args.scheduler, update)
    finally:
        if bar is not None:
            bar.close()
    return runs, {"jobs": args.jobs, "executor": args.executor, **facts}, checkpoint


def _write(write: Any, plan: Plan, checkpoint: Path) -> Path:
    """Write the results folder, then drop the checkpoint (kept if writing is interrupted,
    or if the folder could not be written where asked)."""
    from .experiment import Interrupted
    from .output import ResultsNotWritten

    try:
        folder: Path = write()
    except KeyboardInterrupt:
        raise Interrupted(plan.total, plan.total, str(checkpoint)) from None
    except ResultsNotWritten as exc:
        exc.kept = checkpoint
        raise
    shutil.rmtree(checkpoint, ignore_errors=True)
    return folder


def _sweep(args: argparse.Namespace) -> int:
    from .output import write_sweep
    from .sensitivity import check_kpis
    from .sweep import plan_sweep, sweep_results

    plan = plan_sweep(args.scenarios, args.vary, args.lhs, args.reps, args.seed, args.overrides, args.events,
                      args.large)
    kpis = [k for group in args.kpi for k in group] or list(SWEEP_KPIS)
    check_kpis(plan.bases[0], kpis)
    runs, facts, checkpoint = _run_plan(plan, args)
    results = sweep_results(plan, runs, facts)
    folder = _write(lambda: write_sweep(results, args.out, argv=sys.argv, charts=not args.no_charts, kpis=kpis),
                    plan, checkpoint)
    print(format_sweep(results.summary, results.keys, kpis))
    print(f"\nresults: {folder}")
    return 0


def _sensitivity(args: argparse.Namespace) -> int:
    from .output import write_sensitivity
    from .sensitivity import plan_sensitivity, sensitivity_results

    skipped: list[str] = []
    plan, levers = plan_sensitivity(args.scenario, args.params, args.delta, args.reps, args.seed, args.overrides,
                                    args.kpi, skipped, args.large, args.vs)
    for note in skipped:
        print(f"orgsim: {note}", file=sys.stderr)
    runs, facts, checkpoint = _run_plan(plan, args)
    results = sensitivity_results(plan, levers, args.kpi, runs, facts, skipped)
    folder = _write(lambda: write_sensitivity(results, args.out, argv=sys.argv, charts=not args.no_charts),
                    plan, checkpoint)
    print(format_sensitivity(results.table, args.kpi[0], results.scenario.name, plan.reps, plan.info["delta"]))
    print(f"\nresults: {folder}")
    return 0


def _robustness(args: argparse.Namespace) -> int:
    from .robustness import DEFAULTS, robustness
    from .robustness_output import rests_on_lines, write_robustness

    if args.scheduler and args.executor != "dask":
        from .executors import ExecutorError

        raise ExecutorError("--scheduler needs --executor dask")
    from .api import as_scenario

    _before_running(args, [as_scenario(p, args.overrides) for p in args.scenarios])
    if args.baseline is None:
        print(f"orgsim: baseline: {as_scenario(args.scenarios[0], args.overrides).name} (first file); "
              "--baseline NAME to choose", file=sys.stderr)
    print(f"orgsim: robustness with {args.samples or DEFAULTS['samples']} {args.method} samples, "
          f"{args.reps or DEFAULTS['reps']} replications, horizon "
          f"{next((o.split('=', 1)[1] for o in args.overrides if o.startswith('simulation.horizon=')), DEFAULTS['horizon'])}"
          " (the three main designs at the defaults: about 5 minutes on 2 cores; --samples 2 for a quicker look)",
          file=sys.stderr)
    checkpoint = args.resume if args.resume is not None else None
    root = checkpoint or _robustness_checkpoint(args)
    update, bar = _progress(args.quiet)
    notes: list[str] = []
    try:
        res = robustness(args.scenarios, args.baseline, args.params, args.reps, args.samples, args.method,
                         [k for group in args.kpi for k in group], args.seed, args.jobs, args.overrides, update,
                         args.executor, args.scheduler, root, args.large, notes=notes)
    finally:
        if bar is not None:
            bar.close()
    for note in notes:
        if not note.startswith("baseline:"):
            print(f"orgsim: {note}", file=sys.stderr)
    from .experiment import Interrupted

    try:
        folder = write_robustness(res, args.out, argv=sys.argv, charts=not args.no_charts)
    except KeyboardInterrupt:
        raise Interrupted(0, 0, str(root)) from None
    shutil.rmtree(root, ignore_errors=True)
    print("What this conclusion rests on")
    for line in rests_on_lines(res.table, res.switching):
        print(f"  {line}")
    print(f"\nresults: {folder}")
    return 0


def _robustness_checkpoint(args: argparse.Namespace) -> Path:
    """A checkpoint folder named after everything the run depends on (refused if it exists)."""
    import hashlib

    from .scenario import Problem, ScenarioError

    key = json.dumps([[str(p) for p in args.scenarios], args.baseline, args.params, args.reps, args.samples,
                      args.method, args.kpi, args.seed, args.overrides,
                      [p.read_text(encoding="utf-8", errors="replace") if p.is_file() else "" for p in args.scenarios]])
    fresh: Path = args.out / f".robustness-{hashlib.sha256(key.encode()).hexdigest()[:12]}.partial"
    if fresh.exists():
        raise ScenarioError([Problem("orgsim robustness", None, "", f"a checkpoint of this same robustness run "
                                     f"exists: add --resume {fresh} to continue it, or delete that folder")])
    return fresh


def _optimize(args: argparse.Namespace) -> int:
    from .optimize import near_ties, prepare, run, summary_line, write_optimize
    from .scenario import Problem, ScenarioError

    if args.scheduler and args.executor != "dask":
        from .executors import ExecutorError

        raise ExecutorError("--scheduler needs --executor dask")
    setup = prepare(args.scenario, args.maximize, args.minimize, args.vary, args.constraints, args.reps, args.seed,
                    args.candidates, args.delta, args.confidence, args.overrides, args.large)
    _before_running(args, [setup.base])
    fresh: Path = args.out / setup.checkpoint_name()
    if args.resume is not None:
        if (args.resume / "optimize.json").is_file():
            fresh = args.resume
        elif not (args.resume / setup.checkpoint_name() / "optimize.json").is_file():
            raise ScenarioError([Problem("--resume", None, "", f"no checkpoint of this optimization in {args.resume}")])
        else:
            fresh = args.resume / setup.checkpoint_name()
    elif fresh.exists():
        raise ScenarioError([Problem("orgsim optimize", None, "", f"a checkpoint of this same optimization exists: "
                                     f"add --resume {fresh} to continue it, or delete that folder to start again")])
    bar = None
    if not args.quiet:
        from .progress import progress_bar

        bar = progress_bar(args.trials, "trial")

    def on_trial(done: int, total: int, best: str) -> None:
        if bar is not None:
            if done >= 0:
                bar.n = done
            bar.set_postfix_str(best[:70])
            bar.refresh()

    try:
        res = run(setup, fresh, args.trials, args.jobs, args.executor, args.scheduler, on_trial)
    finally:
        if bar is not None:
            bar.close()
    from .experiment import Interrupted

    try:
        folder = write_optimize(res, args.out, argv=sys.argv, charts=not args.no_charts)
    except KeyboardInterrupt:
        raise Interrupted(0, 0, str(fresh)) from None
    shutil.rmtree(fresh, ignore_errors=True)
    print(summary_line(res))
    for line in near_ties(res):
        print(line)
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


def _interrupted(exc: Any) -> str:
    if exc is None:
        return "interrupted; nothing was written"
    text = f"interrupted after {exc.done} of {exc.total} replications"
    if exc.checkpoint:
        return (f"{text}; no results folder was written; the finished replications are kept in "
                f"{exc.checkpoint}: run the same command with --resume {exc.checkpoint} to continue")
    return f"{text}; nothing was written"


def _files(folder: Path) -> dict[str, tuple[float, int]]:
    """Every file under ``folder``: relative name -> (modification time, size)."""
    out = {}
    for p in folder.rglob("*") if folder.is_dir() else []:
        try:
            st = p.stat()
        except OSError:
            continue
        if p.is_file():
            out[str(p.relative_to(folder))] = (st.st_mtime, st.st_size)
    return out


def _report(args: argparse.Namespace) -> int:
    from .report import render_report
    from .report.folder import DamagedFolder

    if Path(args.folder).resolve().name.startswith(".tmp-"):
        print(f"orgsim: {args.folder} is the temporary folder of a run that did not finish, not results",
              file=sys.stderr)
        return 2
    unknown = _unknown_kpis(args.priorities)
    if unknown:
        print(f"orgsim: --priorities: not a KPI: {', '.join(unknown)}", file=sys.stderr)
        return 2
    before = _files(args.folder)
    try:
        print(render_report(args.folder, args.lang, priorities=args.priorities, png=args.png))
        if args.pptx:
            from .report import render_pptx

            print(render_pptx(args.folder, args.lang, template=args.template, priorities=args.priorities))
    except (FileNotFoundError, NotADirectoryError, DamagedFolder) as exc:
        print(f"orgsim: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the disk filled up, the folder is read-only...
        print(f"orgsim: cannot write the report in {args.folder}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Say what the interrupted rendering has already rewritten or removed (a stale PNG),
        # never "nothing".
        after = _files(args.folder)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        if not changed:
            print("orgsim: interrupted; nothing was written", file=sys.stderr)
        else:
            shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
            print(f"orgsim: interrupted; {len(changed)} file{'s' if len(changed) > 1 else ''} of {args.folder} "
                  f"had been {'rewritten or removed' if before.keys() - after.keys() else 'rewritten'} ({shown}): "
                  f"run orgsim report {args.folder} again to finish", file=sys.stderr)
        return 130
    return 0


def _quit_while_starting(signum: int, frame: Any) -> None:
    # Nothing is written yet, so leave at once. An exception raised from here could be
    # swallowed: during an import the interpreter may be running a finalizer, where
    # exceptions are only reported ("Exception ignored in ..."), and the command would go on.
    os.write(2, b"orgsim: interrupted; nothing was written\n")
    os._exit(130)


def _quiet_interrupts(hook: Any) -> Any:
    """``sys.unraisablehook`` that drops an interrupt swallowed by a finalizer: it is noted
    in :mod:`sim.interrupt` and acted on, so its traceback would only alarm."""

    def quiet(unraisable: Any) -> None:
        if unraisable.exc_type is not KeyboardInterrupt:
            hook(unraisable)

    return quiet


def _load_libraries(args: argparse.Namespace) -> None:
    """Import what the command will use while a signal still just quits: a report loads its
    page's modules (and the deck's if asked) but not the model, which it never runs."""
    if args.command == "report":
        from .report import html  # noqa: F401

        if args.pptx:
            from .report import pptx  # noqa: F401
    else:
        from . import api, experiment  # noqa: F401


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``orgsim`` and ``python -m sim``."""
    # Handlers first, before the heavy imports: Ctrl-C (or SIGTERM) at any moment, even
    # while pandas is still loading, ends calmly with 130. Setting SIGINT explicitly also
    # makes Ctrl-C work when the parent shell started us with SIGINT ignored.
    previous = signal.signal(signal.SIGTERM, _quit_while_starting)
    previous_int = signal.signal(signal.SIGINT, _quit_while_starting)
    previous_hook, sys.unraisablehook = sys.unraisablehook, _quiet_interrupts(sys.unraisablehook)
    try:
        args = build_parser(argv).parse_args(argv)
        _load_libraries(args)

        # From here on an interrupt unwinds, so that a run stops its workers and removes
        # its temporary folder (sim/interrupt.py: and is not lost if a finalizer swallows it).
        interrupt.clear()
        signal.signal(signal.SIGTERM, interrupt.request)
        signal.signal(signal.SIGINT, interrupt.request)
        return _dispatch(args)
    except KeyboardInterrupt as exc:
        # Raised only after start-up (until then a signal quits); a report loads no sim.experiment.
        experiment = sys.modules.get(f"{__package__}.experiment")
        stopped = exc if experiment is not None and isinstance(exc, experiment.Interrupted) else None
        print(f"orgsim: {_interrupted(stopped)}", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
        sys.unraisablehook = previous_hook
        interrupt.clear()


#: A scenario file larger than this is refused before it is read (real ones are a few KB).
MAX_SCENARIO_BYTES = 2 << 20


def _check_inputs(args: argparse.Namespace) -> None:
    """Scenario files must be regular files of a sensible size: a device or a pipe (a stream
    that never ends) or a huge file is refused before a byte is parsed."""
    paths = getattr(args, "scenarios", None) or ([args.scenario] if getattr(args, "scenario", None) else [])
    for path in paths:
        path = Path(path)
        try:
            st = path.stat()
        except OSError:
            continue  # "file not found" is reported by the loader, with the other problems
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (a device or a pipe?)"
            raise _Refused(f"{path}: {kind}: expected a scenario file")
        if st.st_size > MAX_SCENARIO_BYTES:
            raise _Refused(f"{path}: {st.st_size:,} bytes: a scenario file is at most {MAX_SCENARIO_BYTES:,} bytes")


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "report":  # before the model's modules, which a report never needs
        return _report(args)
    from .executors import ExecutorError
    from .experiment import ReplicationError, TooBigError
    from .output import ResultsNotWritten
    from .scenario import ScenarioError

    out = getattr(args, "out", None)
    try:
        if out is not None and out.exists() and not out.is_dir():
            print(f"orgsim: --out {out}: exists and is not a folder", file=sys.stderr)
            return 2
    except OSError as exc:  # e.g. a name too long for the filesystem
        print(f"orgsim: --out {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        _check_inputs(args)
        if args.command == "schema":
            from .assumptions import annotated_schema

            print(json.dumps(annotated_schema(), indent=2))
            return 0
        if args.command == "app":
            from .app import main as app_main  # the web framework is imported only here

            return app_main(args)
        if args.command in ("check", "trace"):
            from . import check, trace

            return check.main(args) if args.command == "check" else trace.main(args)
        if args.command == "calibrate":
            from .calibrate import main as calibrate_main  # the module: sim.calibrate is the function

            return calibrate_main(args)
        if args.command == "validate":
            return _validate(args)
        if args.command == "sweep":
            return _sweep(args)
        if args.command == "sensitivity":
            return _sensitivity(args)
        if args.command == "optimize":
            return _optimize(args)
        if args.command == "robustness":
            return _robustness(args)
        paths = [args.scenario] if args.command == "run" else list(args.scenarios)
        return _experiment(args, paths)
    except ScenarioError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        return 2
    except (TooBigError, ExecutorError, _Refused) as exc:
        print(f"orgsim: {exc}", file=sys.stderr)
        return 2
    except ResultsNotWritten as exc:
        # The run finished: never a traceback, and never the results silently gone.
        kept = getattr(exc, "kept", None)
        also = f"; the finished replications are kept in {kept} (--resume {kept} writes them again)" if kept else ""
        print(f"orgsim: {exc}{also}", file=sys.stderr)
        return 1
    except ReplicationError as exc:
        print(f"orgsim: {exc}", file=sys.stderr)
        return 1
