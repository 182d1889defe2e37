"""How precisely does a comparison measure retention? (issue 13, "Done when")

    python benchmarks/retention_precision.py [--reps 20] [--jobs 2]

Runs ``orgsim compare scenarios/siloed.yaml scenarios/cross_functional.yaml --reps 20`` through
the API (:func:`sim.compare`) and prints, for ``logo_churn_annual`` and ``nrr`` (all customers,
and the installed base / new logos split), the paired difference cross_functional - siloed,
its 95% CI half-width, and the target: <= 0.5 pp for logo_churn_annual and <= 1.5 pp for nrr.
Also the renewals due per replication (the denominator the installed base raises). Nothing is
tuned here: the figures are what the shipped defaults give.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sim  # noqa: E402

TARGETS = {"logo_churn_annual": 0.005, "nrr": 0.015}
SHOWN = ("logo_churn_annual", "logo_churn_annual.installed", "logo_churn_annual.new",
         "nrr", "nrr.installed", "nrr.new")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=None)
    args = ap.parse_args(argv)
    files = [ROOT / "scenarios" / "siloed.yaml", ROOT / "scenarios" / "cross_functional.yaml"]
    started = time.perf_counter()
    res = sim.compare(files, reps=args.reps, jobs=args.jobs)
    took = time.perf_counter() - started
    paired = res.paired.set_index("kpi")
    summary = res.summary.set_index(["scenario", "kpi"])
    print(f"orgsim compare siloed cross_functional --reps {args.reps}  ({took:.0f} s)")
    for name in ("renewals_due", "renewals_due.installed", "renewals_due.new"):
        cells = "  ".join(f"{s}: {summary.loc[(s, name), 'mean']:,.0f}" for s in ("siloed", "cross_functional"))
        print(f"  {name:28s} per replication  {cells}")
    print(f"\n  {'KPI':28s} {'diff (pp)':>10s} {'95% CI half-width (pp)':>24s} {'target':>8s}  verdict")
    missed = 0
    for name in SHOWN:
        row = paired.loc[name]
        half = (row.diff_ci_high - row.diff_ci_low) / 2
        target = TARGETS.get(name)
        verdict = "" if target is None else ("met" if half <= target else "MISSED")
        missed += verdict == "MISSED"
        print(f"  {name:28s} {row.diff_mean * 100:10.2f} {half * 100:24.2f} "
              f"{'' if target is None else f'<= {target * 100:g}':>8s}  {verdict}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
