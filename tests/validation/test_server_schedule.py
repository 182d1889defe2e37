"""An M/M/c queue whose c follows a schedule, side by side with a second simulator (Ciw).

scenarios/validation/mmc.yaml with a headcount plan: 4 servers from midnight to noon and 1
from noon to midnight, every day (a step every 12 hours), Poisson arrivals at 48 a day and
exponential services of 1 hour: 60 server-hours a day for 48 of work, so the queue builds
every afternoon and drains every morning. No closed form covers this; Ciw
(Palmer, Knight, Harper & Cardiff, "Ciw: An open-source discrete event simulation library",
Journal of Simulation 13(1), 2019) simulates the same queue with its cyclic server
schedules. At a shift change Ciw sends every server off duty and brings in the new shift's
(those busy finish their customer first, ``preemption=False``); orgsim keeps the people who
stay, and the newest of the others leave, idle ones at once and busy ones after their job in
hand. Ciw's node is given orgsim's rule (:class:`KeepingNode`, a few lines); everything else
(arrivals, the queue, service, the schedule's timing) is Ciw's own.

Each simulator runs independent replications; for each figure the Welch interval of the
difference of the two means must cover 0, at a level that makes the module's checks
together cover at 99% (Bonferroni), and be narrow enough to detect a stated error.
Figures, over the work started in [warmup, horizon - 1 day) (every service started there
has ended by the horizon, as Ciw records only finished services): the mean wait in queue,
P(wait > 0), and the throughput (starts a day).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from harness import load, replicate, replication_seeds, waits_started_in
from queueing import bonferroni
from scipy import stats as sps

import sim

ciw = pytest.importorskip("ciw")

LAM = 48.0  # arrivals a day
MU = 24.0  # services a day per server (1 h)
SHIFTS = ((0.5, 4), (1.0, 1))  # (end of the shift within the day, servers)
HORIZON = 26.0
WARMUP = 3.0
T1 = HORIZON - 1.0
REPS = 16
FIGURES = ("mean_wait", "p_wait", "per_day")
LEVEL = bonferroni(0.99, len(FIGURES))
#: Each interval's half-width may be at most this share of Ciw's mean (else it proves nothing).
PRECISION = {"mean_wait": 0.25, "p_wait": 0.08, "per_day": 0.05}


def _plan() -> str:
    steps = []
    for day in range(int(HORIZON)):
        start = 0.0
        for end, n in SHIFTS:
            steps.append(f"{{at: {day + start}, n: {n}}}")
            start = end
    return "[" + ", ".join(steps) + "]"


def _figures(waits: np.ndarray) -> dict[str, float]:
    return {"mean_wait": float(waits.mean()), "p_wait": float(np.mean(waits > 1e-12)),
            "per_day": len(waits) / (T1 - WARMUP)}


def orgsim_statistic(res: sim.SimResult) -> dict[str, float]:
    return _figures(waits_started_in(res.events, "server", WARMUP, T1))


class KeepingNode(ciw.Node):
    """Ciw's node with orgsim's shift change: the servers who stay keep working; the newest of
    the others go, idle ones at once, busy ones when their customer is done (sim/staffing.py)."""

    def take_servers_off_duty(self, preemption: bool = False) -> None:
        on = [s for s in self.servers if not s.offduty]
        for srvr in sorted(on, key=lambda s: (s.busy, -s.id_number))[:max(0, len(on) - self.c)]:
            srvr.shift_end = self.next_event_date
            if srvr.busy:
                srvr.offduty = True
            else:
                self.kill_server(srvr)

    def add_new_servers(self, num_servers: int) -> None:
        on = sum(not s.offduty for s in self.servers)
        for _ in range(max(0, num_servers - on)):
            self.highest_id += 1
            self.servers.append(self.simulation.ServerType(self, self.highest_id, self.now))


def ciw_replication(seed: int) -> dict[str, float]:
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=LAM)],
        service_distributions=[ciw.dists.Exponential(rate=MU)],
        number_of_servers=[ciw.Schedule(numbers_of_servers=[n for _, n in SHIFTS],
                                        shift_end_dates=[end for end, _ in SHIFTS], preemption=False)],
    )
    ciw.seed(seed)
    q = ciw.Simulation(network, node_class=KeepingNode)
    q.simulate_until_max_time(HORIZON)
    waits = np.array([r.waiting_time for r in q.get_all_records()
                      if r.record_type == "service" and WARMUP <= r.service_start_date < T1])
    return _figures(waits)


@pytest.fixture(scope="module")
def both() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    scn = load("mmc.yaml", [f"roles.server.headcount={_plan()}", f"market.channels.inbound.rate_per_week={LAM * 7}",
                            "market.activities.serve.work.mean=1h", f"simulation.horizon={HORIZON}d",
                            f"simulation.warmup={WARMUP}d"])
    assert scn.roles["server"].capacity_changes
    ours = replicate(scn, orgsim_statistic, REPS, key="server_schedule")
    theirs = [ciw_replication(s % (2**32)) for s in replication_seeds(20261201, REPS, key="server_schedule.ciw")]
    return ({f: ours[f].to_numpy() for f in FIGURES}, {f: np.array([r[f] for r in theirs]) for f in FIGURES})


@pytest.mark.parametrize("figure", FIGURES)
def test_a_scheduled_mmc_agrees_with_ciw(both, figure):
    ours, theirs = both[0][figure], both[1][figure]
    va, vb = ours.var(ddof=1) / len(ours), theirs.var(ddof=1) / len(theirs)
    # Welch-Satterthwaite degrees of freedom for the difference of two independent means.
    dof = (va + vb) ** 2 / (va**2 / (len(ours) - 1) + vb**2 / (len(theirs) - 1))
    half = float(sps.t.ppf(0.5 + LEVEL / 2, dof) * math.sqrt(va + vb))
    diff = float(ours.mean() - theirs.mean())
    assert abs(diff) <= half, (f"{figure}: orgsim {ours.mean():.5g}, Ciw {theirs.mean():.5g}: difference "
                               f"{diff:+.4g} outside +-{half:.4g}")
    assert half <= PRECISION[figure] * abs(theirs.mean()), (
        f"{figure}: interval +-{half:.4g} wider than {PRECISION[figure]:.0%} of Ciw's {theirs.mean():.5g}")
