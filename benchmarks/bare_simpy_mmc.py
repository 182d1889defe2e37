"""A bare SimPy M/M/c, written the textbook way: the yardstick for orgsim's engine.

One process per customer, ``simpy.Resource`` with c servers, exponential inter-arrival and
service times drawn in bulk from numpy and served as Python floats.
"""

from __future__ import annotations

import time

import numpy as np
import simpy


def run(lam: float, mu: float, c: int, customers: int, seed: int = 1) -> dict[str, float]:
    """Simulate ``customers`` customers; return counts, mean wait and wall time."""
    rng = np.random.default_rng(seed)
    gaps = iter(rng.exponential(1.0 / lam, customers).tolist())
    services = iter(rng.exponential(1.0 / mu, customers).tolist())
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=c)
    waits: list[float] = []

    def customer(env: simpy.Environment):  # type: ignore[no-untyped-def]
        arrived = env.now
        with server.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(next(services))

    def source(env: simpy.Environment):  # type: ignore[no-untyped-def]
        for _ in range(customers):
            yield env.timeout(next(gaps))
            env.process(customer(env))

    started = time.perf_counter()
    env.process(source(env))
    env.run()
    seconds = time.perf_counter() - started
    return {"customers": float(customers), "seconds": seconds, "customers_per_second": customers / seconds,
            "mean_wait": float(np.mean(waits))}


if __name__ == "__main__":  # pragma: no cover
    print(run(28.8, 12.0, 3, 100_000))
