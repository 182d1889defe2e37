"""orgsim's performance, measured side by side with SimPy itself.

    python benchmarks/run.py [--quick] [--against REV] [--json PATH]

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
from typing import Any

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
sys.path.insert(0, {bench!r})
import sim
import lean_journey
scn = sim.load_scenario({path!r}, {overrides!r})
short = sim.load_scenario({path!r}, ["simulation.horizon=40d", "simulation.warmup=30d"])
lean = {lean!r}
# A short run first, untimed: the one-off costs (lazy imports, first calls) stay out of the figure.
lean_journey.run(short, 2) if lean else sim.simulate(short, 2)
started = time.perf_counter()
if lean:
    buyers, events = lean_journey.run(scn, 1)
else:
    res = sim.simulate(scn, 1)
    buyers, events = len(res.buyers), len(res.events)
seconds = time.perf_counter() - started
# The high-water mark of this process's own memory (VmHWM): ru_maxrss would also count the
# parent's size at the fork, which hides what a small run needs.
with open("/proc/self/status") as status:
    hwm = [line for line in status if line.startswith("VmHWM:")]
peak = int(hwm[0].split()[1]) * 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(buyers, events, seconds, peak)
"""


def scaling(sizes: list[int]) -> list[dict[str, float]]:
    """Seconds per buyer and peak memory at growing sizes, orgsim and the lean skeleton
    (benchmarks/lean_journey.py) side by side, each run in a fresh process.

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
        row: dict[str, float] = {"target_buyers": n}
        for who, lean in (("", False), ("lean_", True)):
            code = _SCALE_CHILD.format(root=str(ROOT), bench=str(ROOT / "benchmarks"), lean=lean,
                                       path=str(ROOT / "scenarios/siloed.yaml"), overrides=overrides)
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            buyers, events, seconds, peak = out.stdout.split()
            row.update({f"{who}buyers": int(buyers), f"{who}events": int(events), f"{who}seconds": float(seconds),
                        f"{who}us_per_buyer": float(seconds) / int(buyers) * 1e6, f"{who}peak_bytes": int(peak)})
        rows.append(row)
    # Peak RSS includes the interpreter, numpy, pandas and SimPy (~120 MB) whatever the size:
    # what each extra buyer costs is the growth of the peak over the smallest run.
    for row in rows[1:]:
        for who in ("", "lean_"):
            row[f"{who}marginal_bytes_per_buyer"] = ((row[f"{who}peak_bytes"] - rows[0][f"{who}peak_bytes"])
                                                    / (row[f"{who}buyers"] - rows[0][f"{who}buyers"]))
        # Flat: how much the cost per buyer grew from the smallest size, against the skeleton's growth.
        row["growth"] = row["us_per_buyer"] / rows[0]["us_per_buyer"]
        row["lean_growth"] = row["lean_us_per_buyer"] / rows[0]["lean_us_per_buyer"]
    return rows


def journey_ratio(repeats: int) -> dict[str, float]:
    """orgsim's full journey (siloed as shipped, its 3-year horizon) against the lean skeleton
    of the same journey on the same scenario, buyers per second, interleaved. Only the
    market's arrivals are counted on both sides (orgsim's installed base and the buyers it
    creates itself, outbound and referrals, are work the skeleton does not have)."""
    import lean_journey

    from sim.market import ENDOGENOUS_ID_BASE

    scn = sim.load_scenario(ROOT / "scenarios/siloed.yaml")
    sim.simulate(scn, 99)
    lean_journey.run(scn, 99)
    ours, lean = [], []
    for r in range(repeats):
        started = time.perf_counter()
        ids = sim.simulate(scn, r + 1).buyers.id
        ours.append(int((ids < ENDOGENOUS_ID_BASE).sum()) / (time.perf_counter() - started))
        started = time.perf_counter()
        n = lean_journey.run(scn, r + 1)[0]
        lean.append(n / (time.perf_counter() - started))
    return {"orgsim_buyers_per_second": _median(ours), "lean_buyers_per_second": _median(lean),
            "journey_ratio": _median(ours) / _median(lean)}


def quick_start(repeats: int = 5) -> dict[str, float]:
    """``orgsim --help`` against ``python -c pass``, each a fresh process, medians."""
    def timed(args: list[str]) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, *args], cwd=ROOT, check=True, capture_output=True)
        return time.perf_counter() - started

    helps, passes = [], []
    for _ in range(repeats):
        helps.append(timed(["-m", "sim", "--help"]))
        passes.append(timed(["-c", "pass"]))
    return {"help_seconds": _median(helps), "python_seconds": _median(passes)}


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


def main_job_seconds(extra: list[str], tree: Path = ROOT) -> dict[str, float]:
    """The README's main command end to end (import, simulate, write, charts), then the
    report re-rendered from its folder, with the code of ``tree`` (this checkout by default)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sim", *MAIN_JOB, "--quiet", "--out", tmp, *extra],
                       cwd=tree, env=env, check=True, capture_output=True)
        seconds = time.perf_counter() - started
        folder = next(Path(tmp).iterdir())
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "sim", "report", str(folder)], cwd=tree, env=env,
                             capture_output=True)
        report = time.perf_counter() - started if out.returncode == 0 else float("nan")
    return {"main_job_seconds": seconds, "report_seconds": report}


_MMC_CHILD = """
import sys, time
sys.path.insert(0, {tree!r})
sys.path.insert(0, {bench!r})
import sim, bare_simpy_mmc
scn = sim.load_scenario({tree!r} + "/scenarios/validation/mmc.yaml", ["simulation.horizon={horizon}", "simulation.warmup=1"])
sim.simulate(scn, 99)  # one-off imports and first calls, untimed
started = time.perf_counter()
n = len(sim.simulate(scn, {seed}).buyers)
seconds = time.perf_counter() - started
lam = scn.market.channels["inbound"].rate_per_week / 7.0
mu = 1.0 / scn.market.activities["serve"].work.mean_value
c = scn.roles["server"].headcount
print(n / seconds, bare_simpy_mmc.run(lam, mu, c, n, seed={seed})["customers_per_second"])
"""


def mmc_ratio_of(tree: Path, seed: int, horizon_days: float = 600.0) -> float:
    """mmc_ratio (orgsim / bare SimPy, one run each) with the code of ``tree``, in a fresh
    process; bare SimPy is always this checkout's benchmarks/bare_simpy_mmc.py."""
    code = _MMC_CHILD.format(tree=str(tree), bench=str(ROOT / "benchmarks"), horizon=horizon_days, seed=seed)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tree)
    ours, bare = map(float, out.stdout.split())
    return ours / bare


def against(rev: str, extra: list[str], repeats: int) -> dict[str, float]:
    """The main job and its report with the code of commit ``rev`` and with this checkout,
    interleaved (``rev`` first in each pair), medians; ``rev`` runs from a temporary worktree
    with this environment's packages. Each side runs the README's main command as it stood:
    its own code on its own scenario files, so what the shipped scenarios gained in between
    (an installed base, ramp times...) is part of the ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), rev], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            runs: dict[str, list[dict[str, float]]] = {"then": [], "now": []}
            for r in range(repeats):
                runs["then"].append({**main_job_seconds(extra, tree), "mmc_ratio": mmc_ratio_of(tree, r + 1)})
                runs["now"].append({**main_job_seconds(extra), "mmc_ratio": mmc_ratio_of(ROOT, r + 1)})
        finally:
            done = subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
            if done.returncode != 0:
                print(f"benchmarks: git worktree remove {tree} failed; `git worktree prune` cleans it",
                      file=sys.stderr)
    out: dict[str, float] = {}
    for when, rows in runs.items():
        for key in ("main_job_seconds", "report_seconds", "mmc_ratio"):
            out[f"{when}_{key}"] = _median([r[key] for r in rows])
    out["main_job_ratio"] = out["now_main_job_seconds"] / out["then_main_job_seconds"]
    out["report_ratio"] = out["now_report_seconds"] / out["then_report_seconds"]
    return out


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
    parser.add_argument("--quick", action="store_true", help="a reduced run in a few minutes")
    parser.add_argument("--against", metavar="REV",
                        help="also run the main job, its report and M/M/c with the code of commit REV, interleaved")
    parser.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "results.json")
    args = parser.parse_args()
    q = args.quick
    results: dict[str, Any] = {"machine": _machine(), "quick": q}
    results["quick_start"] = quick_start()
    results["mmc"] = mmc_ratio(3 if q else 5, 120 if q else 600)
    results["journey"] = journey_ratio(1 if q else 3)
    results["buyers_per_second"] = buyers_per_second(1 if q else 3, "6mo" if q else "2y")
    results["scaling"] = scaling([10_000, 100_000] if q else [10_000, 100_000, 1_000_000])
    results["parallel"] = {**parallel_speedup(1 if q else 10), **machine_ceiling(1 if q else 3)}
    main_extra = ["--reps", "2"] if q else []
    results["main_job"] = main_job_seconds(main_extra)
    if args.against:
        results["against"] = {"rev": args.against, **against(args.against, main_extra, 1 if q else 2)}
    results["app"] = app_latency(q)
    args.json.write_text(json.dumps(results, indent=2))
    for name, value, target in _rows(results):
        print(f"{name:<62}  {value:>24}  {target}")
    print(f"\nJSON: {args.json}")
    return 0


def _rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The printed table: each measure with issue 21's target beside it."""
    h, m, jr, p, j = (results[k] for k in ("quick_start", "mmc", "journey", "parallel", "main_job"))
    rows = [
        ("orgsim --help, s (python -c pass)", f"{h['help_seconds']:.2f} ({h['python_seconds']:.2f})", "< 0.2"),
        ("M/M/c customers/s: orgsim / bare SimPy", f"{m['orgsim_customers_per_second']:,.0f} / "
         f"{m['bare_simpy_customers_per_second']:,.0f} = {m['mmc_ratio']:.2f}", ">= 0.75"),
        ("full journey buyers/s (siloed, 3 y): orgsim / lean skeleton", f"{jr['orgsim_buyers_per_second']:,.0f} / "
         f"{jr['lean_buyers_per_second']:,.0f} = {jr['journey_ratio']:.2f}", ">= 0.75"),
    ]
    for name, rate in results["buyers_per_second"].items():
        rows.append((f"buyers/s {name} (one process)", f"{rate:,.0f}", ""))
    for row in results["scaling"]:
        rows.append((f"{row['buyers']:,} buyers: us per buyer, orgsim / skeleton",
                     f"{row['us_per_buyer']:.1f} / {row['lean_us_per_buyer']:.1f}", ""))
        rows.append((f"{row['buyers']:,} buyers: peak MB, orgsim / skeleton",
                     f"{row['peak_bytes'] / 2**20:,.0f} / {row['lean_peak_bytes'] / 2**20:,.0f}",
                     "1M < 1.5 GB" if row["target_buyers"] >= 1_000_000 else ""))
        if "growth" in row:
            rows.append(("  growth of us per buyer since the smallest, orgsim / skeleton",
                         f"{row['growth']:.2f} / {row['lean_growth']:.2f}", "orgsim <= skeleton"))
            rows.append(("  bytes per extra buyer, orgsim / skeleton",
                         f"{row['marginal_bytes_per_buyer']:,.0f} / {row['lean_marginal_bytes_per_buyer']:,.0f}",
                         "<= 1,024"))
    share = p["parallel_speedup"] / p["two_process_ceiling"]
    rows.append(("--jobs 2 / --jobs 1 (machine's two-process ceiling)",
                 f"{p['parallel_speedup']:.2f} ({p['two_process_ceiling']:.2f}) = {share:.2f} of it", ">= 0.9 of it"))
    rows.append(("main job end to end, s", f"{j['main_job_seconds']:.1f}", ""))
    rows.append(("report re-rendered (orgsim report), s", f"{j['report_seconds']:.1f}", ""))
    if "against" in results:
        a = results["against"]
        rows.append((f"main job, s: {a['rev']} / now", f"{a['then_main_job_seconds']:.1f} / "
                     f"{a['now_main_job_seconds']:.1f} = {a['main_job_ratio']:.2f}", "<= 0.5"))
        rows.append((f"report, s: {a['rev']} / now", f"{a['then_report_seconds']:.1f} / "
                     f"{a['now_report_seconds']:.1f} = {a['report_ratio']:.2f}", "<= 0.33"))
        rows.append((f"M/M/c orgsim / bare SimPy: {a['rev']} / now", f"{a['then_mmc_ratio']:.2f} / "
                     f"{a['now_mmc_ratio']:.2f}", ">= 0.75"))
    a = results["app"]
    rows.append(("app: first paired answer / 10 replications after a lever change, s",
                 f"{a['app_first_answer_seconds']:.1f} / {a['app_ten_replications_seconds']:.1f}",
                 "(1-year horizon)" if results["quick"] else "<= 5 / <= 30"))
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
