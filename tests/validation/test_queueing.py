"""The theory the engine is checked against, checked itself (no simulation)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from queueing import assert_covers, erlang_a, erlang_c, mmc, t_interval
from scipy import stats as sps


def test_erlang_c_known_values() -> None:
    # M/M/1: P(wait) = rho, Wq = rho / (mu - lambda).
    assert erlang_c(0.5, 1) == pytest.approx(0.5)
    assert mmc(0.5, 1.0, 1).mean_wait == pytest.approx(1.0)
    # M/M/2 with a = 1: C = (1/2 * 2) / (1 + 1 + 1) = 1/3.
    assert erlang_c(1.0, 2) == pytest.approx(1 / 3)
    # Textbook value: c = 3, a = 2.4 -> C = 0.6472 (0.8 load).
    assert erlang_c(2.4, 3) == pytest.approx(0.647191, abs=1e-6)


def test_erlang_c_matches_its_closed_form_for_many_servers() -> None:
    for c, a in [(5, 4.5), (20, 17.0), (50, 45.0)]:
        top = a**c / math.factorial(c) * c / (c - a)
        closed = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
        assert erlang_c(a, c) == pytest.approx(closed, rel=1e-10)


def test_erlang_c_refuses_an_unstable_queue() -> None:
    with pytest.raises(ValueError, match="unstable"):
        erlang_c(3.0, 3)


def test_erlang_a_tends_to_erlang_c_without_abandonment() -> None:
    a = erlang_a(28.8, 12.0, 3, theta=1e-9)
    c = mmc(28.8, 12.0, 3)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-6)
    assert a.mean_wait == pytest.approx(c.mean_wait, rel=1e-6)
    assert a.mean_wait_served == pytest.approx(c.mean_wait, rel=1e-6)
    assert a.p_abandon == pytest.approx(0.0, abs=1e-6)


def test_erlang_a_with_patience_equal_to_service_is_an_infinite_server_queue() -> None:
    # theta = mu: every customer leaves the system at rate mu, served or not, so N is
    # Poisson(lambda / mu), as in M/M/infinity.
    lam, mu, c = 30.0, 12.0, 3
    a = erlang_a(lam, mu, c, theta=mu)
    n = np.arange(200)
    pmf = sps.poisson(lam / mu).pmf(n)
    assert a.p_wait == pytest.approx(pmf[c:].sum(), rel=1e-10)
    assert a.mean_queue == pytest.approx((np.maximum(n - c, 0) * pmf).sum(), rel=1e-10)


def test_erlang_a_served_share_agrees_two_ways() -> None:
    # 1 - P(abandon) from Little's law must equal the share reaching service computed by
    # following an arrival through the queue, and the utilization must equal the carried load.
    for lam, mu, c, theta in [(28.8, 12.0, 3, 6.0), (66.0, 12.0, 5, 6.0), (100.0, 1.0, 100, 0.5)]:
        a = erlang_a(lam, mu, c, theta)
        assert a.utilization == pytest.approx(lam * (1 - a.p_abandon) / (c * mu), rel=1e-10)
        # E[W] over all = P(served) E[W | served] + P(abandon) E[W | abandoned], and
        # E[W | abandoned] > E[W | served] is not guaranteed, but both parts are positive:
        assert 0 < (1 - a.p_abandon) * a.mean_wait_served < a.mean_wait


def test_t_interval_and_assert_covers() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    ci = t_interval(x, 0.95)
    half = sps.t.ppf(0.975, 3) * x.std(ddof=1) / 2
    assert (ci.low, ci.high) == pytest.approx((2.5 - half, 2.5 + half))
    assert_covers("inside", x, 2.5)
    with pytest.raises(AssertionError, match="outside"):
        assert_covers("outside", x, 10.0)
    with pytest.raises(AssertionError, match="too wide"):
        assert_covers("vague", x, 2.5, max_relative_half_width=0.01)


def test_t_interval_covers_at_its_level() -> None:
    # 1,000 intervals of 25 normal draws: coverage of the true mean is 99% (sd 0.3%).
    # (For skewed data it is lower: hence replication estimates that are themselves means
    # over thousands of buyers, close to normal.)
    rng = np.random.default_rng(5)
    samples = rng.normal(1.0, 1.0, size=(1000, 25))
    hits = sum(t_interval(s, 0.99).covers(1.0) for s in samples)
    assert 0.978 <= hits / 1000 <= 0.998
