"""Little's law, L = lambda W, for every role queue of every shipped design.

For each scenario in scenarios/*.yaml (but the abstract ``market.yaml``), shortened with
overrides, and for each of its roles, over the window [warmup, horizon):

- ``L``: the time-average number of buyers waiting, from the counting process of the
  event log (+1 at each ``queue`` event, -1 at each ``start`` or ``renege``);
- ``lambda``: buyers who joined the queue in the window, per day;
- ``W``: their mean wait as the engine reports it (the ``value`` of their ``start`` or
  ``renege``; a buyer still waiting at the horizon counts with the wait so far).

On a finite window Little's law holds up to the buyers who straddle its edges (Kim & Whitt
2013): ``L = lambda W + (B0 - B1) / T``, with ``B0`` the waiting inside the window of buyers
who joined before it and ``B1`` the waiting after it of buyers who joined inside it, both
from event times. The test requires that identity to floating-point precision, hence
``|L - lambda W| <= (B0 + B1) / T``: the law within a tolerance set by the edges alone. It
also requires every reported wait to equal the time between the ``queue`` event and the
event that ends it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from harness import SHIPPED, little_terms, replicate_each, visits

import sim

OVERRIDES = ["simulation.horizon=1y", "simulation.warmup=30d"]
REPS = 1  # the law is checked exactly on a sample path: one path per design suffices


def little_statistic(res: sim.SimResult) -> dict[str, float]:
    """Both sides of Little's law, and the largest wait inconsistency, for every role."""
    window = res.scenario.simulation
    out: dict[str, float] = {}
    for role in res.scenario.roles:
        terms = little_terms(res.events, role, window.warmup, window.horizon, window.horizon)
        v = visits(res.events, role)
        done = v.outcome != ""
        gap = (v.left_at[done] - v.queued_at[done] - v.wait[done]).abs()
        out.update({
            f"{role}.L": terms.L, f"{role}.lamW": terms.lam * terms.W,
            f"{role}.boundary": terms.boundary, f"{role}.edges": (terms.B0 + terms.B1) / terms.T,
            f"{role}.joins": float(terms.joins), f"{role}.censored": float(terms.censored),
            f"{role}.max_wait_gap": float(gap.max()) if len(gap) else 0.0,
            f"{role}.min_wait": float(v.wait[done].min()) if done.any() else 0.0,
        })
    return out


@cache
def _all_replications() -> dict[Path, tuple[sim.Scenario, pd.DataFrame]]:
    scenarios = [sim.load_scenario(p, OVERRIDES) for p in SHIPPED]
    frames = replicate_each(scenarios, little_statistic, REPS, [f"little/{p.stem}" for p in SHIPPED])
    return {p: (scn, df) for p, scn, df in zip(SHIPPED, scenarios, frames)}


def replications(path: Path) -> tuple[sim.Scenario, pd.DataFrame]:
    """The design's scenario and its replications (all designs run once, together)."""
    return _all_replications()[path]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_littles_law_holds_for_every_role_queue(path: Path) -> None:
    scn, df = replications(path)
    assert len(scn.roles) > 0
    busy = 0
    for role in scn.roles:
        L, lam_w = df[f"{role}.L"].to_numpy(), df[f"{role}.lamW"].to_numpy()
        edges, boundary = df[f"{role}.edges"].to_numpy(), df[f"{role}.boundary"].to_numpy()
        scale = np.maximum(L, 1.0)
        assert (df[f"{role}.max_wait_gap"] <= 1e-9).all(), f"{path.stem}/{role}: a reported wait is not the time waited"
        assert (df[f"{role}.min_wait"] >= 0).all(), f"{path.stem}/{role}: a negative wait"
        np.testing.assert_allclose(L, lam_w + boundary, rtol=1e-9, atol=1e-12,
                                   err_msg=f"{path.stem}/{role}: L != lambda W + (B0 - B1) / T")
        assert np.all(np.abs(L - lam_w) <= edges + 1e-9 * scale), (
            f"{path.stem}/{role}: |L - lambda W| = {np.abs(L - lam_w)} exceeds the edge term {edges}")
        busy += int((df[f"{role}.L"] > 0).all())
    assert busy > 0, f"{path.stem}: no role ever had a queue, so nothing was checked"


def test_the_counting_process_sees_a_hand_made_queue() -> None:
    """Exact, on a hand-made log: two buyers, one server.

    Buyer 0 waits 0 (served 0-2), buyer 1 joins at 1 and waits 1 (served 2-3), buyer 2
    joins at 2.5 and leaves unserved at 3. Over [0, 4): N = 1 on [1, 2) and [2.5, 3), so
    L = 1.5 / 4; lambda = 3 / 4, W = (0 + 1 + 0.5) / 3, and L = lambda W.
    """
    rows = [
        (0.0, 0, "queue", 0.0), (0.0, 0, "start", 0.0), (1.0, 1, "queue", np.nan),
        (2.0, 1, "start", 1.0), (2.5, 2, "queue", np.nan), (3.0, 2, "renege", 0.5),
    ]
    events = pd.DataFrame({
        "time": [r[0] for r in rows], "buyer": [r[1] for r in rows],
        "event": [r[2] for r in rows], "role": "r", "activity": "a", "value": [r[3] for r in rows],
    })
    terms = little_terms(events, "r", 0.0, 4.0, 4.0)
    assert terms.L == pytest.approx(1.5 / 4)
    assert terms.lam * terms.W == pytest.approx(1.5 / 4)
    assert terms.B0 == terms.B1 == 0.0
    # A window that cuts buyer 1's wait in half: B0 = 0.5 (buyer 1 waits on [1.5, 2)).
    terms = little_terms(events, "r", 1.5, 4.0, 4.0)
    assert terms.B0 == pytest.approx(0.5)
    assert terms.L == pytest.approx(terms.lam * terms.W + terms.boundary)

