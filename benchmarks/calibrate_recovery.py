"""Does orgsim calibrate find the market examples/crm/ was made from? (issue 19, "Done when")

    python benchmarks/calibrate_recovery.py [--trials 30] [--reps 2] [--customers] [--params K,...]

Calibrates THE MODEL (scenarios/siloed.yaml) to examples/crm/deals.csv through the API
(:func:`sim.calibrate.calibrate`) and prints, for every fitted parameter, the true factor
(examples/crm/truth.yaml; 1 for a parameter left at the default), the best point, the band,
whether the truth is inside it, and whether orgsim says the data pin the parameter down;
then the number of model runs, the CPU seconds and the runs per CPU minute. Nothing is
tuned here: the defaults are the command's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.calibrate import DEFAULT_REPS, DEFAULT_TRIALS, calibrate  # noqa: E402


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=DEFAULT_TRIALS)
    p.add_argument("--reps", type=int, default=DEFAULT_REPS)
    p.add_argument("--customers", action="store_true", help="also read examples/crm/customers.csv")
    p.add_argument("--params", help="comma-separated parameters (default: the command's)")
    args = p.parse_args(argv)
    crm = ROOT / "examples" / "crm"
    truth = yaml.safe_load((crm / "truth.yaml").read_text(encoding="utf-8"))["factors"]
    wall, cpu = time.perf_counter(), time.process_time()
    cal = calibrate(ROOT / "scenarios" / "siloed.yaml", crm / "deals.csv",
                    crm / "customers.csv" if args.customers else None,
                    params=args.params.split(",") if args.params else None, trials=args.trials, reps=args.reps)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{'parameter':<56} {'truth':>6} {'best':>6} {'band':>13} {'inside':>6}  pinned down")
    inside_all = True
    for _, r in cal.parameters.iterrows():
        t = float(truth.get(r["parameter"], 1.0))
        inside = bool(r["band_low"] <= t <= r["band_high"])
        inside_all &= inside
        print(f"{r['parameter']:<56} {t:>6.3g} {r['best']:>6.3g} {r['band_low']:>6.3g}-{r['band_high']:<6.3g} "
              f"{'yes' if inside else 'NO':>6}  {'yes' if r['pinned'] else 'no'}")
    runs = len(cal.trials)
    print(f"\n{runs} points x {args.reps} replication(s) of {cal.meta['horizon']:.0f} days: {wall:.0f} s wall, "
          f"{cpu:.0f} s CPU, {runs * args.reps / cpu * 60:.0f} replications per CPU minute; "
          f"every truth inside its band: {'yes' if inside_all else 'no'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
