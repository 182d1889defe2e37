"""Queueing theory the engine is checked against, and the confidence-interval check.

Plain functions of plain numbers: no simulation here. Rates are per unit of time (any unit,
as long as it is the same for every argument); the engine's unit is the day.

References
----------
.. [Erlang1917] A. K. Erlang, "Solution of some problems in the theory of probabilities of
   significance in automatic telephone exchanges", 1917 (the Erlang C formula).
.. [Palm1943] C. Palm, "Intensitätsschwankungen im Fernsprechverkehr", Ericsson Technics 44,
   1943 (the M/M/c+M queue, "Erlang A").
.. [GMR2002] O. Garnett, A. Mandelbaum, M. Reiman, "Designing a call center with impatient
   customers", Manufacturing & Service Operations Management 4(3), 208-227, 2002.
.. [KW2013] S.-H. Kim, W. Whitt, "Statistical analysis with Little's law", Operations
   Research 61(4), 1030-1045, 2013.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

__all__ = [
    "ErlangA",
    "Interval",
    "MMc",
    "assert_covers",
    "bonferroni",
    "erlang_a",
    "erlang_c",
    "mmc",
    "t_interval",
]


# ------------------------------------------------------------------------------ M/M/c


@dataclass(frozen=True)
class MMc:
    """Steady-state figures of an M/M/c queue (FIFO, infinite waiting room)."""

    utilization: float  #: rho = lambda / (c mu), the long-run busy share of each server
    p_wait: float  #: P(wait > 0) = Erlang C
    mean_wait: float  #: E[Wq], mean wait in queue of an arriving customer
    mean_queue: float  #: E[Lq] = lambda E[Wq] (Little)


def erlang_c(offered: float, c: int) -> float:
    """Erlang C: probability that an arrival waits in an M/M/c queue.

    .. math::

        C(c, a) = \\frac{\\frac{a^c}{c!}\\frac{c}{c - a}}
                       {\\sum_{k=0}^{c-1} \\frac{a^k}{k!} + \\frac{a^c}{c!}\\frac{c}{c - a}}

    with offered load :math:`a = \\lambda / \\mu` [Erlang1917]_. Computed through the Erlang B
    recursion :math:`B_0 = 1,\\; B_k = a B_{k-1} / (k + a B_{k-1})` and
    :math:`C = B_c / (1 - \\rho (1 - B_c))`, which is stable for large ``c``.

    Parameters
    ----------
    offered
        Offered load :math:`a = \\lambda / \\mu` (Erlangs).
    c
        Number of servers.

    Returns
    -------
    float
        :math:`C(c, a)` in [0, 1].

    Raises
    ------
    ValueError
        If the queue is unstable (:math:`a \\ge c`) or the arguments are out of range.
    """
    if c < 1 or offered < 0:
        raise ValueError(f"expected c >= 1 and offered >= 0, got c={c}, offered={offered}")
    if offered >= c:
        raise ValueError(f"unstable queue: offered load {offered} >= {c} servers")
    b = 1.0
    for k in range(1, c + 1):
        b = offered * b / (k + offered * b)
    rho = offered / c
    return b / (1.0 - rho * (1.0 - b))


def mmc(lam: float, mu: float, c: int) -> MMc:
    """Steady state of an M/M/c queue.

    :math:`\\rho = \\lambda / (c\\mu)`, :math:`P(W_q > 0) = C(c, \\lambda/\\mu)`,
    :math:`E[W_q] = C(c, \\lambda/\\mu) / (c\\mu - \\lambda)`, :math:`E[L_q] = \\lambda E[W_q]`.

    Parameters
    ----------
    lam
        Arrival rate :math:`\\lambda`.
    mu
        Service rate of one server :math:`\\mu` (1 / mean service time).
    c
        Number of servers.

    Returns
    -------
    MMc
    """
    p_wait = erlang_c(lam / mu, c)
    wq = p_wait / (c * mu - lam)
    return MMc(utilization=lam / (c * mu), p_wait=p_wait, mean_wait=wq, mean_queue=lam * wq)


# ------------------------------------------------------------------------------ M/M/c+M


@dataclass(frozen=True)
class ErlangA:
    """Steady-state figures of an M/M/c+M queue (Erlang A: exponential patience)."""

    p_wait: float  #: P(an arrival finds every server busy) = P(N >= c) (PASTA)
    p_abandon: float  #: P(an arrival abandons) = theta E[Lq] / lambda
    mean_wait: float  #: E[Wq] over all arrivals, abandoning ones up to when they leave = E[Lq] / lambda
    mean_wait_served: float  #: E[Wq | served]
    mean_queue: float  #: E[Lq]
    utilization: float  #: E[min(N, c)] / c = lambda (1 - P(abandon)) / (c mu)
    truncation_mass: float  #: probability left in the last state of the truncated chain


def erlang_a(lam: float, mu: float, c: int, theta: float, tail: float = 1e-15) -> ErlangA:
    """Steady state of the M/M/c+M (Erlang A) queue, computed from its birth-death chain.

    The number of customers in the system, :math:`N`, is a birth-death process
    [Palm1943]_ [GMR2002]_ with birth rate :math:`\\lambda` and death rate

    .. math::  \\mu_n = \\mu \\min(n, c) + \\theta \\max(n - c, 0),

    each waiting customer abandoning at rate :math:`\\theta` (patience
    :math:`\\sim \\mathrm{Exp}(\\theta)`). Its stationary law is
    :math:`\\pi_n \\propto \\prod_{k=1}^{n} \\lambda / \\mu_k`. This function sums that product
    numerically (no closed form with incomplete gamma functions), truncating the state space
    once :math:`\\pi_n / \\max_k \\pi_k` falls below ``tail`` (the chain is stable for any
    :math:`\\lambda` when :math:`\\theta > 0`). Then, by PASTA and Little's law:

    - :math:`P(W > 0) = P(N \\ge c)`;
    - :math:`E[L_q] = \\sum_n (n - c)^+ \\pi_n`;
    - :math:`P(\\text{abandon}) = \\theta E[L_q] / \\lambda` (abandonments per unit time over
      arrivals per unit time);
    - :math:`E[W_q] = E[L_q] / \\lambda`, the mean time in queue of all arrivals (those who
      abandon counted until they leave);
    - :math:`E[W_q \\mid \\text{served}]`: an arrival that finds :math:`n \\ge c` in the system
      has :math:`k = n - c` customers ahead in the queue. Ahead of it, the queue moves at rate
      :math:`r_k = c\\mu + k\\theta` (a service completion or an abandonment ahead, FIFO),
      while it abandons at rate :math:`\\theta`. With :math:`S_{-1} = 1, M_{-1} = 0`,
      :math:`q_k = r_k + \\theta`,
      :math:`S_k = (r_k / q_k) S_{k-1}` (probability of reaching service) and
      :math:`M_k = (r_k / q_k)(S_{k-1} / q_k + M_{k-1})` (:math:`E[W 1_{served}]`), so
      :math:`E[W_q \\mid \\text{served}] = \\sum_{n \\ge c} \\pi_n M_{n-c} /
      (\\sum_{n < c} \\pi_n + \\sum_{n \\ge c} \\pi_n S_{n-c})`.

    Parameters
    ----------
    lam, mu, theta
        Arrival rate, service rate of one server, abandonment rate (1 / mean patience).
    c
        Number of servers.
    tail
        Relative probability at which the state space is truncated.

    Returns
    -------
    ErlangA
    """
    if c < 1 or lam <= 0 or mu <= 0 or theta <= 0:
        raise ValueError(f"expected c >= 1 and positive rates, got {lam=}, {mu=}, {c=}, {theta=}")
    # Unnormalized log pi_n, built until it is negligible past the mode.
    log_p = [0.0]
    top = 0.0
    n = 0
    while True:
        n += 1
        death = mu * min(n, c) + theta * max(n - c, 0)
        log_p.append(log_p[-1] + math.log(lam) - math.log(death))
        top = max(top, log_p[-1])
        if lam < death and log_p[-1] - top < math.log(tail):
            break
        if n > 10_000_000:  # pragma: no cover - unreachable for theta > 0
            raise RuntimeError("Erlang A chain did not converge")
    lp = np.asarray(log_p)
    pi = np.exp(lp - lp.max())
    pi /= pi.sum()
    states = np.arange(len(pi))
    queued = np.maximum(states - c, 0)
    lq = float((queued * pi).sum())
    # Reaching service from k customers ahead: S_k and M_k = E[W 1{served}].
    k_max = len(pi) - c
    s = np.empty(max(k_max, 0))
    m = np.empty(max(k_max, 0))
    s_prev, m_prev = 1.0, 0.0
    for k in range(k_max):
        r = c * mu + k * theta
        q = r + theta
        s[k] = r / q * s_prev
        m[k] = r / q * (s_prev / q + m_prev)
        s_prev, m_prev = s[k], m[k]
    busy = pi[c:]
    served = float(pi[:c].sum() + (busy * s).sum())
    p_abandon = theta * lq / lam
    return ErlangA(
        p_wait=float(busy.sum()),
        p_abandon=p_abandon,
        mean_wait=lq / lam,
        mean_wait_served=float((busy * m).sum()) / served,
        mean_queue=lq,
        utilization=float((np.minimum(states, c) * pi).sum()) / c,
        truncation_mass=float(pi[-1]),
    )


# ------------------------------------------------------------------------------ CI check


@dataclass(frozen=True)
class Interval:
    """A two-sided Student-t confidence interval for a mean over replications."""

    mean: float
    low: float
    high: float
    n: int
    level: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def covers(self, value: float) -> bool:
        """True when ``value`` lies inside the interval (bounds included)."""
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return (f"{self.mean:.6g} [{self.low:.6g}, {self.high:.6g}] "
                f"({self.level:.3%} t-interval, n={self.n})")


def t_interval(values: Sequence[float] | np.ndarray, level: float = 0.99) -> Interval:
    """Student-t interval for the mean of independent replication estimates.

    :math:`\\bar x \\pm t_{n-1, (1+\\text{level})/2}\\, s / \\sqrt{n}`.

    Parameters
    ----------
    values
        One estimate per replication (independent, identically distributed).
    level
        Confidence level, e.g. 0.99.

    Returns
    -------
    Interval

    Raises
    ------
    ValueError
        With fewer than two finite values.
    """
    x = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"expected finite replication estimates, got {x}")
    if len(x) < 2:
        raise ValueError("expected at least two replications")
    mean = float(x.mean())
    half = float(sps.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return Interval(mean, mean - half, mean + half, len(x), level)


def bonferroni(family_level: float, checks: int) -> float:
    """The level of each of ``checks`` intervals that together cover at ``family_level``.

    By Bonferroni's inequality, if each interval misses with probability at most
    ``(1 - family_level) / m``, all ``m`` cover at once with probability at least
    ``family_level``. A test module with m checks at this level therefore fails a
    correct engine at most ``1 - family_level`` of the time, whatever the seed.
    """
    if checks < 1:
        raise ValueError("expected at least one check")
    return 1.0 - (1.0 - family_level) / checks


def assert_covers(name: str, values: Sequence[float] | np.ndarray, theory: float, level: float = 0.99,
                  max_relative_half_width: float | None = None) -> Interval:
    """Fail unless ``theory`` lies inside the t-interval of the replication estimates.

    Parameters
    ----------
    name
        What is checked, for the failure message.
    values
        One estimate per replication.
    theory
        The value queueing theory predicts.
    level
        Confidence level of the interval (per check; with m checks in a test, about
        ``m * (1 - level)`` is the chance that a correct engine fails one of them).
    max_relative_half_width
        Also fail if the interval's half-width exceeds this fraction of ``theory``: a check
        too imprecise to detect an error of that size proves nothing.

    Returns
    -------
    Interval
        The interval, for reporting.
    """
    ci = t_interval(values, level)
    rel = ci.half_width / abs(theory) if theory else math.inf
    assert ci.covers(theory), (
        f"{name}: theory {theory:.6g} outside the replication interval {ci} "
        f"(mean off by {(ci.mean - theory) / theory:+.2%} of theory)" if theory else
        f"{name}: theory {theory:.6g} outside the replication interval {ci}"
    )
    if max_relative_half_width is not None:
        assert rel <= max_relative_half_width, (
            f"{name}: interval {ci} is too wide to test anything: half-width {rel:.1%} of "
            f"theory > {max_relative_half_width:.0%}; run longer or more replications"
        )
    return ci
