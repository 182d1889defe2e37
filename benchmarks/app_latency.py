"""How fast ``orgsim app`` answers a lever change: first paired answer, and ten replications.

The page runs its views through :class:`sim.app.live.Runner` (one replication index at a time,
every design of the view in parallel, a cache keyed by the resolved scenario and seed); this
script times the same runner from a lever change with nothing cached. The page itself adds
at most its polling interval (0.25 s) and the time to draw the answer.

    python benchmarks/app_latency.py                  # siloed vs ai_automated, default market
    python benchmarks/app_latency.py --horizon 2y     # a shorter live view
    python benchmarks/app_latency.py --browser        # also end to end: orgsim app in headless chromium

Targets (issue 17, 2 cores): the first paired answer within 5 s of a lever change, ten
replications within 30 s.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.app.live import Cache, Runner, View  # noqa: E402

FIRST_TARGET, TEN_TARGET = 5.0, 30.0


def runner_latency(baseline: Path, design: Path, sets: list[str], reps: int = 10) -> tuple[float, float]:
    """Seconds from the lever change to the first answer (2 replications) and to ``reps``."""
    scenarios = View(baseline, design, sets=tuple(sets), reps=reps).scenarios()
    runner = Runner(Cache())
    started = time.perf_counter()
    job = runner.start(scenarios, reps)
    first = None
    while job.running:
        if first is None and job.done >= 2:
            first = time.perf_counter() - started
        time.sleep(0.01)
    if job.error:
        raise SystemExit(job.error)
    return (first if first is not None else job.first_answer or 0.0), time.perf_counter() - started


def cpu_per_replication(paths: list[Path], sets: list[str]) -> list[float]:
    """CPU seconds of one replication of each design, in this process: what the latencies would
    be made of on an idle machine (two rounds of the slowest design for the first answer)."""
    from sim.experiment import replicate
    from sim.scenario import load_scenario
    from sim.streams import replication_seed

    out = []
    for path in paths:
        scn = load_scenario(path, sets)
        started = time.process_time()
        replicate(scn, 0, replication_seed(scn.simulation.seed, 0))
        out.append(time.process_time() - started)
    return out


def browser_latency(baseline: str, design: str, sets: list[str], reps: int = 10) -> tuple[float, float]:
    """The same, end to end: orgsim app in a subprocess, a lever moved in headless chromium."""
    from playwright.sync_api import sync_playwright

    proc = subprocess.Popen([sys.executable, "-m", "sim", "app", "--out", tempfile.mkdtemp(prefix="orgsim-app-bench-")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if found:
            url = found.group(0)
            break
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
            page = browser.new_page()
            query = "&".join(f"set={s.replace('=', '%3D')}" for s in sets)
            page.goto(f"{url}?b={baseline}&d={design}&reps={reps}&{query}")
            page.wait_for_function(f"() => document.querySelector('#rep-status')?.dataset.done === '{reps}'",
                                   timeout=600_000)
            box = "#lv_" + hashlib.sha1(b"roles.field_sales.headcount").hexdigest()[:12]
            value = int(page.input_value(box))
            started = time.perf_counter()
            page.fill(box, str(value + 1))
            page.press(box, "Tab")
            page.wait_for_function("() => document.querySelector('#rep-status')?.dataset.running === '1'")
            page.wait_for_function("() => Number(document.querySelector('#rep-status')?.dataset.done) >= 2 && "
                                   "document.querySelector('td.diff') !== null", timeout=600_000)
            first = time.perf_counter() - started
            page.wait_for_function(f"() => document.querySelector('#rep-status')?.dataset.done === '{reps}'",
                                   timeout=600_000)
            ten = time.perf_counter() - started
            browser.close()
    finally:
        proc.terminate()
        proc.wait(20)
    return first, ten


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", default="siloed")
    ap.add_argument("--design", default="ai_automated")
    ap.add_argument("--horizon", help="simulation.horizon of the live view (default: the designs' own, 3y)")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--browser", action="store_true", help="also time it end to end in headless chromium")
    args = ap.parse_args()
    sets = [f"simulation.horizon={args.horizon}"] if args.horizon else []
    # A lever change: the design with one more field seller, so that nothing is in the cache.
    change = ["roles.field_sales.headcount=12"]
    base, design = ROOT / "scenarios" / f"{args.baseline}.yaml", ROOT / "scenarios" / f"{args.design}.yaml"
    first, ten = runner_latency(base, design, sets + change, args.reps)
    horizon = args.horizon or "3y (the designs' own)"
    print(f"app_latency: {args.baseline} vs {args.design}, horizon {horizon}, {os.cpu_count()} cores")
    print(f"  first paired answer (2 replications): {first:5.1f} s  (target <= {FIRST_TARGET:g} s: "
          f"{'met' if first <= FIRST_TARGET else 'not met'})")
    print(f"  {args.reps} replications:                  {ten:5.1f} s  (target <= {TEN_TARGET:g} s: "
          f"{'met' if ten <= TEN_TARGET else 'not met'})")
    cpu = cpu_per_replication([base, design], sets + change)
    slowest = max(cpu)
    print(f"  CPU seconds per replication: {', '.join(f'{c:.2f}' for c in cpu)}; on an idle machine with one core "
          f"per design: first answer ~{2 * slowest:.1f} s, {args.reps} replications ~{args.reps * slowest:.1f} s")
    print(f"  load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"(other processes share these cores: the wall times above include their share)")
    if args.browser:
        first, ten = browser_latency(args.baseline, args.design, sets, args.reps)
        print(f"  in the browser, lever moved to answer: first {first:5.1f} s, {args.reps} replications {ten:5.1f} s")


if __name__ == "__main__":
    main()
