"""Ranking and selection: which of a few designs is the best, with a stated probability.

:func:`kn_select` is the fully sequential procedure KN of Kim and Nelson [KN2001]_. It
takes ``n0`` observations of every system, estimates the variance of each pairwise
difference (so common random numbers help: replication ``r`` of every system uses the same
seed, and the variance of a difference is small when the systems' noise is shared), then adds
one observation to every surviving system at a time and eliminates a system as soon as its
mean falls clearly below another's. It stops when one system is left.

Guarantee: if the observations are normal (means over a replication are close to it) and the
best system's mean is at least ``delta`` above every other's (the *indifference zone*), the
system chosen is the best with probability at least ``confidence``; with a smaller gap, the
chosen system is within ``delta`` of the best with that probability (approximately). That
bound, not an estimate, is the probability of correct selection reported.

The decisions at stage ``r`` use only the first ``r`` observations, so observations may be
drawn in batches (``batch``): a batch only wastes the replications drawn past an
elimination, never changes which system is chosen.

.. [KN2001] S.-H. Kim and B. L. Nelson, "A fully sequential procedure for indifference-zone
   selection in simulation", ACM Transactions on Modeling and Computer Simulation 11(3),
   251-273, 2001 (procedure KN, with c = 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Selection", "kn_eta", "kn_select"]

#: ``draw(systems, start, stop)``: the observations ``start..stop-1`` of each system, as an
#: array of shape (len(systems), stop - start); observation ``r`` of every system is one
#: replication with the same seed (common random numbers).
Draw = Callable[[Sequence[int], int, int], np.ndarray]


@dataclass
class Selection:
    """What :func:`kn_select` found."""

    best: int  #: index of the system chosen
    pcs: float  #: the probability of correct selection the procedure guarantees
    delta: float
    observations: list[int]  #: per system, how many observations it was given
    eliminated_at: list[int | None]  #: per system, the stage it was eliminated (None: kept)
    means: list[float]  #: per system, the mean of its observations
    data: list[np.ndarray] = field(default_factory=list, repr=False)  #: per system, every observation

    @property
    def total(self) -> int:
        return int(sum(self.observations))


def kn_eta(k: int, n0: int, confidence: float) -> float:
    """KN's constant: eta = ((2 alpha / (k - 1))^(-2 / (n0 - 1)) - 1) / 2, with alpha = 1 - confidence."""
    alpha = 1.0 - confidence
    return float(0.5 * ((2.0 * alpha / (k - 1)) ** (-2.0 / (n0 - 1)) - 1.0))


def kn_select(draw: Draw, k: int, delta: float, confidence: float = 0.95, n0: int = 10,
              maximize: bool = True, batch: int = 1, max_obs: int = 100_000) -> Selection:
    """Select the best of ``k`` systems (procedure KN, [KN2001]_).

    Parameters
    ----------
    draw
        ``draw(systems, start, stop)``: observations ``start`` to ``stop - 1`` of each system.
    delta
        The indifference zone, in the KPI's unit: a difference smaller than this is not worth
        telling apart.
    confidence
        The probability of correct selection to guarantee (``1 - alpha``), in (1/k, 1).
    n0
        First-stage observations of every system (at least 2).
    maximize
        Larger is better (else smaller).
    batch
        Observations drawn at once for each surviving system after the first stage.
    max_obs
        A safety cap per system (KN stops by itself after about ``h^2 S^2 / delta^2``
        observations); if reached, the best mean is chosen and ``pcs`` is NaN.
    """
    if k < 1:
        raise ValueError("expected at least one system")
    if not (delta > 0 and math.isfinite(delta)):
        raise ValueError(f"delta must be a positive number, got {delta!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if n0 < 2:
        raise ValueError(f"n0 must be at least 2, got {n0}")
    sign = 1.0 if maximize else -1.0
    data = [np.asarray(row, dtype=float) for row in draw(list(range(k)), 0, n0)]
    if k == 1:
        return Selection(0, 1.0, delta, [n0], [None], [float(data[0].mean())], data)
    if confidence <= 1.0 / k:
        raise ValueError(f"confidence must exceed 1/k = {1.0 / k:.3g} (a guess among {k} systems)")
    h2 = 2.0 * kn_eta(k, n0, confidence) * (n0 - 1)
    first = np.vstack(data) * sign
    diffs = first[:, None, :] - first[None, :, :]
    s2 = diffs.var(axis=2, ddof=1)  # S^2_il, the first-stage variance of X_i - X_l
    alive = list(range(k))
    eliminated: list[int | None] = [None] * k
    sums = first.sum(axis=1)
    obs = [sign * d for d in data]  # observations, larger is better
    r = n0
    capped = False
    while True:
        # Screening at stage r: i survives if its mean is not below any other's by more than W.
        means = sums / r
        keep = []
        for i in alive:
            ok = True
            for j in alive:
                if j == i:
                    continue
                w = max(0.0, delta / (2.0 * r) * (h2 * s2[i, j] / delta ** 2 - r))
                if means[i] < means[j] - w:
                    ok = False
                    break
            if ok:
                keep.append(i)
        for i in alive:
            if i not in keep:
                eliminated[i] = r
        alive = keep
        widest = max((delta / (2.0 * r) * (h2 * s2[i, j] / delta ** 2 - r) for i in alive for j in alive if i != j),
                     default=0.0)
        if len(alive) > 1 and widest <= 0.0:
            # Past KN's last stage (r > h^2 S^2 / delta^2 for every pair): the best mean is
            # chosen; the others are tied with it (a difference with no variance, e.g. equal costs).
            top = max(alive, key=lambda i: sums[i])
            for i in alive:
                if i != top:
                    eliminated[i] = r
            alive = [top]
        if len(alive) <= 1:
            break
        if r >= max_obs:
            capped = True
            break
        # Draw more observations for the survivors (only if none are already in hand).
        if any(len(obs[i]) <= r for i in alive):
            need = [i for i in alive if len(obs[i]) <= r]
            more = np.asarray(draw(need, r, r + batch), dtype=float) * sign
            for i, row in zip(need, more):
                obs[i] = np.concatenate([obs[i], row])
        r += 1
        for i in alive:
            sums[i] += obs[i][r - 1]
    # Every survivor eliminated at once cannot happen (the best mean is never below another's).
    best = alive[0] if len(alive) == 1 else max(alive, key=lambda i: sums[i])
    # What a one-at-a-time KN would have drawn: the observations past a system's last stage
    # (drawn with a batch) are dropped, so the result does not depend on ``batch``.
    counts = [r if e is None else e for e in eliminated]
    values = [sign * o[:n] for o, n in zip(obs, counts)]
    return Selection(best, math.nan if capped else confidence, delta, counts, eliminated,
                     [float(v.mean()) for v in values], values)
