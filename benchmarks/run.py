"""orgsim's performance, measured side by side with SimPy itself.

    python benchmarks/run.py [--quick] [--json PATH]

Prints a table and writes JSON. Every figure is the median of several runs, and every ratio
is taken between runs made in this same invocation, interleaved, so machine noise hits both
sides alike. Not part of the test suite: speed is measured here, never asserted in a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bare_simpy_mmc  # noqa: E402

import sim  # noqa: E402
from sim.market import expected_buyers  # noqa: E402

MAIN_JOB = ["compare", "scenarios/siloed.yaml", "scenarios/cross_functional.yaml", "scenarios/ai_automated.yaml"]
DESIGNS = ["siloed", "cross_functional", "ai_automated", "bridge_sales", "escalator", "plg",
           "cs_led_growth", "hybrid", "mini_business_units"]


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def mmc_ratio(repeats: int, horizon_days: float) -> dict[str, float]:
    """orgsim on scenarios/validation/mmc.yaml (event log on) against bare SimPy, same lambda, mu, c, customers."""
    scn = sim.load_scenario(ROOT / "scenarios/validation/mmc.yaml",
                            [f"simulation.horizon={horizon_days}", "simulation.warmup=1"])
    lam = scn.market.channels["inbound"].rate_per_week / 7.0
    mu = 1.0 / scn.market.activities["serve"].work.mean_value
    c = scn.roles["server"].headcount
    ours, bare, ratios = [], [], []
    for r in range(repeats):
        started = time.perf_counter()
        res = sim.simulate(scn, r + 1, events=True)
        seconds = time.perf_counter() - started
        n = len(res.buyers)
        o = n / seconds
        b = bare_simpy_mmc.run(lam, mu, c, n, seed=r + 1)["customers_per_second"]
        ours.append(o)
        bare.append(b)
        ratios.append(o / b)
    return {"orgsim_customers_per_second": _median(ours), "bare_simpy_customers_per_second": _median(bare),
            "mmc_ratio": _median(ratios), "customers": n}


def buyers_per_second(repeats: int, horizon: str) -> dict[str, float]:
    """The full default journey, per design, one process (simulate only)."""
    out = {}
    for name in DESIGNS:
        scn = sim.load_scenario(ROOT / f"scenarios/{name}.yaml", [f"simulation.horizon={horizon}", "simulation.warmup=30d"])
        rates = []
        for r in range(repeats):
            started = time.perf_counter()
            res = sim.simulate(scn, r + 1)
            rates.append(len(res.buyers) / (time.perf_counter() - started))
        out[name] = _median(rates)
    return out


_SCALE_CHILD = """
import resource, sys, time
sys.path.insert(0, {root!r})
import sim
scn = sim.load_scenario({path!r}, {overrides!r})
# A short run first, untimed: the one-off costs (lazy imports, first calls) stay out of the figure.
sim.simulate(sim.load_scenario({path!r}, ["simulation.horizon=40d", "simulation.warmup=30d"]), 2)
started = time.perf_counter()
res = sim.simulate(scn, 1)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(len(res.buyers), len(res.events), seconds, peak)
"""


def scaling(sizes: list[int]) -> list[dict[str, float]]:
    """Seconds per buyer and peak memory at growing sizes (each in a fresh process).

    The market and every team grow by the same factor, so each buyer meets the same queues
    (scaling the market alone would overload the teams and change what a buyer costs).
    """
    base = sim.load_scenario(ROOT / "scenarios/siloed.yaml", ["simulation.horizon=1y", "simulation.warmup=30d"])
    per_year = expected_buyers(base)
    rows = []
    for n in sizes:
        factor = n / per_year
        overrides = ["simulation.horizon=1y", "simulation.warmup=30d", "simulation.max_buyers=100000000"] + [
            f"market.channels.{c}.rate_per_week={ch.rate_per_week * factor}" for c, ch in base.market.channels.items()
        ] + [f"roles.{r}.headcount={max(1, round(spec.headcount * factor))}" for r, spec in base.roles.items()]
        code = _SCALE_CHILD.format(root=str(ROOT), path=str(ROOT / "scenarios/siloed.yaml"), overrides=overrides)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        buyers, events, seconds, peak = out.stdout.split()
        rows.append({"target_buyers": n, "buyers": int(buyers), "events": int(events),
                     "seconds": float(seconds), "us_per_buyer": float(seconds) / int(buyers) * 1e6,
                     "peak_bytes": int(peak), "peak_bytes_per_buyer": int(peak) / int(buyers)})
    # Peak RSS includes the interpreter, numpy, pandas and SimPy (~250 MB) whatever the size:
    # what each extra buyer costs is the growth of the peak over the smallest run.
    for row in rows[1:]:
        row["marginal_bytes_per_buyer"] = (row["peak_bytes"] - rows[0]["peak_bytes"]) / (row["buyers"] - rows[0]["buyers"])
    return rows


_PARALLEL_CHILD = """
import sys, time
sys.path.insert(0, {root!r})
import sim
started = time.perf_counter()
sim.compare({paths!r}, reps={reps}, jobs={jobs})
print(time.perf_counter() - started)
"""


def parallel_speedup(reps: int, repeats: int = 1) -> dict[str, float]:
    """The main job's simulation (its three designs, their own horizon) with jobs=2 against
    jobs=1, each in a fresh process (this process's heap, grown by the other benchmarks,
    would slow an in-process jobs=1 run)."""
    paths = [str(ROOT / p) for p in MAIN_JOB[1:]]
    times: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(repeats):
        for jobs in (1, 2):
            code = _PARALLEL_CHILD.format(root=str(ROOT), paths=paths, reps=reps, jobs=jobs)
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            times[jobs].append(float(out.stdout.split()[-1]))
    one, two = _median(times[1]), _median(times[2])
    return {"jobs1_seconds": one, "jobs2_seconds": two, "parallel_speedup": one / two}


_SPIN = "import time; t = time.perf_counter(); sum(i * i for i in range(30_000_000)); print(time.perf_counter() - t)"


def machine_ceiling(repeats: int = 3) -> dict[str, float]:
    """What two processes get from this machine: the same pure-Python loop alone, then two
    at once. On a virtual machine two "cores" may share one physical core; this is the most
    any ``--jobs 2`` speedup can reach here."""
    ratios = []
    for _ in range(repeats):
        alone = float(subprocess.run([sys.executable, "-c", _SPIN], capture_output=True, text=True, check=True).stdout)
        procs = [subprocess.Popen([sys.executable, "-c", _SPIN], stdout=subprocess.PIPE, text=True) for _ in range(2)]
        both = max(float(p.communicate()[0]) for p in procs)
        ratios.append(2 * alone / both)
    return {"two_process_ceiling": _median(ratios)}


def main_job_seconds(extra: list[str]) -> dict[str, float]:
    """The README's main command end to end: import, simulate, write, charts."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sim", *MAIN_JOB, "--quiet", "--out", tmp, *extra],
                       cwd=ROOT, check=True, capture_output=True)
        seconds = time.perf_counter() - started
        folder = next(Path(tmp).iterdir())
        report = _report_seconds(folder)
    return {"main_job_seconds": seconds, **report}


def _report_seconds(folder: Path) -> dict[str, float]:
    """Re-render the report of a 3-design compare from its CSVs (no simulation)."""
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "sim", "report", str(folder)], cwd=ROOT, capture_output=True)
    if out.returncode != 0:  # no report command yet: time the charts alone
        from sim.report import write_charts  # noqa: F401

        return {"report_seconds": float("nan")}
    return {"report_seconds": time.perf_counter() - started}


def _machine() -> dict[str, str]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": str(os.cpu_count()),
            "platform": platform.platform(), "commit": commit, "date": time.strftime("%Y-%m-%d %H:%M")}


def app_latency(quick: bool) -> dict[str, float]:
    """orgsim app: the first paired answer and 10 replications after a lever change, nothing
    cached (siloed vs ai_automated; the runner of the page, see benchmarks/app_latency.py)."""
    from app_latency import runner_latency

    root = Path(__file__).resolve().parents[1] / "scenarios"
    sets = (["simulation.horizon=1y"] if quick else []) + ["roles.field_sales.headcount=12"]
    first, ten = runner_latency(root / "siloed.yaml", root / "ai_automated.yaml", sets, 10)
    return {"app_first_answer_seconds": first, "app_ten_replications_seconds": ten}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a reduced run in under a minute")
    parser.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "results.json")
    args = parser.parse_args()
    q = args.quick
    results: dict[str, object] = {"machine": _machine(), "quick": q}
    results["mmc"] = mmc_ratio(3 if q else 5, 120 if q else 600)
    results["buyers_per_second"] = buyers_per_second(1 if q else 3, "6mo" if q else "2y")
    results["scaling"] = scaling([10_000, 100_000] if q else [10_000, 100_000, 1_000_000])
    results["parallel"] = {**parallel_speedup(1 if q else 10), **machine_ceiling(1 if q else 3)}
    results["main_job"] = main_job_seconds(["--reps", "2"] if q else [])
    results["app"] = app_latency(q)
    args.json.write_text(json.dumps(results, indent=2))
    m, p, j = results["mmc"], results["parallel"], results["main_job"]
    rows = [
        ("mmc_ratio (orgsim / bare SimPy, customers/s)", f"{m['mmc_ratio']:.2f}", ">= 0.75"),  # type: ignore[index]
        ("orgsim M/M/c customers/s", f"{m['orgsim_customers_per_second']:,.0f}", ""),  # type: ignore[index]
        ("bare SimPy M/M/c customers/s", f"{m['bare_simpy_customers_per_second']:,.0f}", ""),  # type: ignore[index]
    ]
    for name, rate in results["buyers_per_second"].items():  # type: ignore[union-attr]
        rows.append((f"buyers/s {name}", f"{rate:,.0f}", ">= 25,000" if name == "siloed" else ""))
    for row in results["scaling"]:  # type: ignore[union-attr]
        marginal = row.get("marginal_bytes_per_buyer")
        rows.append((f"scaling {row['buyers']:,} buyers: us/buyer, peak MB, bytes/buyer (marginal)",
                     f"{row['us_per_buyer']:.1f}, {row['peak_bytes'] / 2**20:,.0f}, "
                     + ("-" if marginal is None else f"{marginal:,.0f}"), "flat; <= 1 KB; 1M < 2 GB"))
    rows.append(("parallel_speedup (jobs 2 / jobs 1)", f"{p['parallel_speedup']:.2f}", ">= 1.8"))  # type: ignore[index]
    rows.append(("two busy processes / one (this machine's ceiling)", f"{p['two_process_ceiling']:.2f}", ""))  # type: ignore[index]
    rows.append(("main_job_seconds", f"{j['main_job_seconds']:.1f}", "< 60"))  # type: ignore[index]
    rows.append(("report_seconds", f"{j['report_seconds']:.1f}", "< 10"))  # type: ignore[index]
    a = results["app"]
    rows.append(("app first paired answer after a lever change, s", f"{a['app_first_answer_seconds']:.1f}",  # type: ignore[index]
                 "<= 5" if not q else "(1-year horizon)"))
    rows.append(("app 10 replications after a lever change, s", f"{a['app_ten_replications_seconds']:.1f}",  # type: ignore[index]
                 "<= 30" if not q else "(1-year horizon)"))
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'value':>20}  target")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value:>20}  {target}")
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
