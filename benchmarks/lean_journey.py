"""The leanest raw-SimPy skeleton of orgsim's sales journey: the reference benchmarks/run.py
measures orgsim against (issue 21: "close to SimPy", "flat").

It reads the same scenario file and meets the same market: Poisson arrivals at the channels'
rates, each buyer's segment and attributes drawn in bulk per chunk of 2,048, a research
period, the contact / keep researching / leave decision with nurture rounds, each
acquisition activity queued first come first served at the role routed to it (a
``simpy.Resource`` of the role's headcount; the work scaled by segment; the buyer's
deliberation after it), patience on the first response, the gate's threshold on a noisy
fit, the stages' conversions, and for every customer won a renewal each contract term with
the segment's churn. One tuple is appended to a list per event, as a log.

What it leaves out is what orgsim adds on top of this work: working hours, handoffs and
context loss, teams and owners, lead decay, AI agents, check-ins, expansion, onboarding,
the installed base, prospecting and referrals, common random numbers keyed by purpose, and
the buyers table and KPIs. Its numbers are not orgsim's and are not meant to be; its cost
per buyer is the floor that SimPy itself puts under a journey of this shape.

    python benchmarks/lean_journey.py [scenario.yaml] [--set key=value ...]
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
sys.path.insert(0, str(ROOT))

import sim  # noqa: E402

_CHUNK = 2048
_TERMS = 12  # renewal draws kept per buyer (a customer renews at most this often in a run)


def run(scn: Any, seed: int = 1) -> tuple[int, int]:
    """Simulate ``scn``'s market through the skeleton up to its horizon; return (buyers, events)."""
    m, horizon = scn.market, scn.simulation.horizon
    env = simpy.Environment()
    rng = np.random.default_rng(seed)
    log: list[tuple[float, int, str]] = []
    roles = {name: simpy.Resource(env, capacity=max(1, role.headcount)) for name, role in scn.roles.items()}
    steps = []
    for name in m.journey.acquisition:
        act, route = m.activities[name], scn.routing[name]
        steps.append((name, act.kind, act.threshold, act, route))
    seg_names = list(m.segments)
    seg_p = np.array([m.segments[s].share for s in seg_names])
    seg_p = seg_p / seg_p.sum()
    rounds = m.journey.max_nurture_rounds
    rate = sum(ch.rate_per_week for ch in m.channels.values()) / 7.0
    count = 0

    def customer(b: int, seg: Any, u: list[float]) -> Generator[Any, Any, None]:
        churn_per_term = 1.0 - (1.0 - seg.base_churn_annual) ** (seg.contract_term / 365.0)
        for k in range(_TERMS):
            yield env.timeout(seg.contract_term)
            if u[k] < churn_per_term:
                log.append((env.now, b, "churned"))
                return
            log.append((env.now, b, "renewed"))

    def researched(ev: simpy.Event) -> None:
        # A timer's callback, not a process: most buyers never talk to sales (as in orgsim).
        b, d, i, r = ev.value
        seg = m.segments[seg_names[d["seg"][i]]]
        if d["u_contact"][i][r] < seg.contact_probability:
            env.process(journey(b, seg, d, i))
        elif r < rounds and d["u_keep"][i][r] < seg.keep_researching_probability:
            env.timeout(d["research"][i], (b, d, i, r + 1)).callbacks.append(researched)
        else:
            log.append((env.now, b, "lost"))

    def journey(b: int, seg: Any, d: dict[str, Any], i: int) -> Generator[Any, Any, None]:
        log.append((env.now, b, "contact"))
        work, delib, z, u_pass = d["work"][i].tolist(), d["delib"][i].tolist(), d["z"][i].tolist(), d["u_pass"][i].tolist()
        for j, (name, kind, threshold, _act, route) in enumerate(steps):
            role = roles[route if isinstance(route, str) else route[seg_names[d["seg"][i]]]]
            log.append((env.now, b, "queue"))
            with role.request() as req:
                if kind == "contact":
                    got = yield req | env.timeout(d["patience"][i])
                    if req not in got:
                        log.append((env.now, b, "renege"))
                        return
                else:
                    yield req
                log.append((env.now, b, "start"))
                yield env.timeout(work[j])
                log.append((env.now, b, "end"))
            if kind == "gate" and d["fit"][i] + 0.15 * z[j] < threshold:
                log.append((env.now, b, "lost"))
                return
            if kind in ("stage", "close") and u_pass[j] >= seg.stage_conversion.get(name, 1.0):
                log.append((env.now, b, "lost"))
                return
            log.append((env.now, b, "pass"))
            if delib[j] > 0:
                yield env.timeout(delib[j])
        log.append((env.now, b, "won"))
        yield from customer(b, seg, d["u_renew"][i].tolist())

    def draws(n: int) -> dict[str, Any]:
        seg = rng.choice(len(seg_names), size=n, p=seg_p)
        out: dict[str, Any] = {"u_contact": rng.random((n, rounds + 1)).tolist(), "u_keep": rng.random((n, rounds + 1)).tolist(),
                               "u_pass": rng.random((n, len(steps))), "z": rng.standard_normal((n, len(steps))),
                               "u_renew": rng.random((n, _TERMS))}
        research, patience, fit = np.empty(n), np.empty(n), np.empty(n)
        work, delib = np.empty((n, len(steps))), np.zeros((n, len(steps)))
        for k, s in enumerate(seg_names):
            spec, pick = m.segments[s], seg == k
            research[pick] = spec.research_time.sample(rng, n)[pick]
            patience[pick] = spec.patience.sample(rng, n)[pick]
            fit[pick] = np.clip(spec.fit.sample(rng, n), 0.0, 1.0)[pick]
            for j, (_n, _k, _t, act, _r) in enumerate(steps):
                work[pick, j] = (act.work.sample(rng, n) * spec.work_scale)[pick]
                if act.deliberation is not None:
                    delib[pick, j] = (act.deliberation.sample(rng, n) * spec.deliberation_scale)[pick]
        out.update(research=research.tolist(), patience=patience.tolist(), fit=fit.tolist(),
                   work=work, delib=delib)
        out["seg"] = seg.tolist()
        return out

    def arrivals() -> Generator[Any, Any, None]:
        # A chunk's buyers are set on their way at once, each with one research timer (as in orgsim).
        nonlocal count
        t = 0.0
        while t < horizon:
            times = (t + np.cumsum(rng.exponential(1.0 / rate, _CHUNK))).tolist()
            d = draws(_CHUNK)
            research = d["research"]
            for i, at in enumerate(times):
                if at >= horizon:
                    return
                log.append((at, count, "arrive"))
                env.timeout(at + research[i] - env.now, (count, d, i, 0)).callbacks.append(researched)
                count += 1
            t = times[-1]
            yield env.timeout(t - env.now)

    env.process(arrivals())
    env.run(until=horizon)
    return count, len(log)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios/siloed.yaml"))
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()
    scn = sim.load_scenario(args.scenario, args.overrides)
    started = time.perf_counter()
    buyers, events = run(scn)
    seconds = time.perf_counter() - started
    print(f"{buyers:,} buyers, {events:,} events in {seconds:.2f} s: {buyers / seconds:,.0f} buyers/s, "
          f"{seconds / buyers * 1e6:.1f} us per buyer")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
