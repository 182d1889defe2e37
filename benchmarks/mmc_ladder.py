"""From bare SimPy towards orgsim's shape, one piece at a time, on an M/M/c (issue 21's
"close to SimPy" limit), and the share of a replication spent drawing the market.

Each variant is the textbook M/M/c of ``bare_simpy_mmc.py`` with more of orgsim's structure:
the event log's seven records a customer, then a research timer whose callback starts the
customer's process, then arrivals scheduled a chunk (2,048) at a time as the market draws
them. Rounds are interleaved; each prints customers per second and the ratio to bare SimPy.

    python benchmarks/mmc_ladder.py [--rounds 3] [--market]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parent.parent
_CHUNK = 2048


def variant(log_events: bool, research_timer: bool, chunked: bool, customers: int = 17_000,
            lam: float = 28.8, mu: float = 12.0, c: int = 3) -> float:
    """Customers per second of one M/M/c run with the pieces asked for."""
    rng = np.random.default_rng(1)
    times = np.cumsum(rng.exponential(1.0 / lam, customers)).tolist()
    services = iter(rng.exponential(1.0 / mu, customers).tolist())
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=c)
    log: list[tuple[float, int, str]] = []

    def customer(b: int) -> Generator[Any, Any, None]:
        if log_events:
            log.append((env.now, b, "contact"))
            log.append((env.now, b, "queue"))
        with server.request() as req:
            yield req
            if log_events:
                log.append((env.now, b, "start"))
            yield env.timeout(next(services))
            if log_events:
                log.extend([(env.now, b, "end"), (env.now, b, "pass"), (env.now, b, "won")])

    def researched(ev: simpy.Event) -> None:
        env.process(customer(ev.value))

    def source() -> Generator[Any, Any, None]:
        if chunked:
            for s in range(0, customers, _CHUNK):
                end = min(customers, s + _CHUNK)
                for i in range(s, end):
                    if log_events:
                        log.append((times[i], i, "arrive"))
                    env.timeout(times[i] - env.now, i).callbacks.append(researched)
                yield env.timeout(times[end - 1] - env.now)
            return
        for i in range(customers):
            yield env.timeout(times[i] - env.now)
            if log_events:
                log.append((env.now, i, "arrive"))
            if research_timer:
                env.timeout(0.0, i).callbacks.append(researched)
            else:
                env.process(customer(i))

    started = time.perf_counter()
    env.process(source())
    env.run()
    return customers / (time.perf_counter() - started)


VARIANTS = {"bare SimPy": (False, False, False), "+ event log (7 records)": (True, False, False),
            "+ research timer": (True, True, False), "+ arrivals a chunk at a time": (True, True, True)}


def market_share(designs: tuple[str, ...] = ("siloed", "ai_automated", "cross_functional"),
                 seeds: tuple[int, ...] = (1, 2)) -> list[tuple[str, int, float, float]]:
    """(design, seed, seconds drawing the market, its share of simulate + measure)."""
    sys.path.insert(0, str(ROOT))
    import sim
    import sim.market as market

    spent = [0.0]
    draw = market._draw_buyers

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return draw(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started

    market._draw_buyers = timed  # type: ignore[assignment]
    rows = []
    try:
        for name in designs:
            scn = sim.load_scenario(ROOT / f"scenarios/{name}.yaml")
            sim.simulate(scn, 99)
            for seed in seeds:
                spent[0] = 0.0
                started = time.perf_counter()
                sim.measure(sim.simulate(scn, seed))
                total = time.perf_counter() - started
                rows.append((name, seed, spent[0], spent[0] / total))
    finally:
        market._draw_buyers = draw  # type: ignore[assignment]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--market", action="store_true", help="also time the market's draws in a replication")
    args = parser.parse_args()
    for _ in range(args.rounds):
        rates = {name: variant(*flags) for name, flags in VARIANTS.items()}
        bare = rates["bare SimPy"]
        print(" | ".join(f"{name}: {r:,.0f}/s ({r / bare:.2f})" for name, r in rates.items()))
    if args.market:
        for name, seed, seconds, share in market_share():
            print(f"{name} seed {seed}: drawing the market {seconds:.3f} s, {share:.1%} of simulate + measure")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
