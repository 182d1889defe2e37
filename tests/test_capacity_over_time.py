"""The organization over time, in small scenarios: seasonal demand."""

from __future__ import annotations

import numpy as np

import sim
from sim.seasonality import MONTH_DAYS, MONTHS

#: Buyers arrive and never ask for contact: the market alone, nothing queued.
QUIET = {"market.segments.smb.contact_probability": 0.0, "simulation.horizon": "1y",
         "market.channels.web.rate_per_week": 140}
FLAT = dict.fromkeys(MONTHS, 1.0)


def _arrivals(path, seed: int) -> np.ndarray:
    res = sim.simulate(sim.load_scenario(path), seed)
    return res.buyers.arrive_at.to_numpy()


def test_seasonality_raises_arrivals_in_the_named_months_only(write_scenario):
    months = {**FLAT, "mar": 2.0, "aug": 0.5}
    path = write_scenario({**QUIET, "market.seasonality": {"months": months}})
    counts = sum(np.bincount((_arrivals(path, s) // MONTH_DAYS).astype(int), minlength=12)[:12] for s in (1, 2))
    expected = 2 * 140 / 7 * MONTH_DAYS * np.array([months[m] for m in MONTHS])
    # Poisson counts: each month within 4.5 standard deviations of its mean (all 12 at once
    # fail by chance about once in 10^4 runs).
    assert np.all(np.abs(counts - expected) < 4.5 * np.sqrt(expected)), (counts, expected)
    assert counts[2] > 1.6 * np.delete(counts, [2, 7]).mean()
    assert counts[7] < 0.65 * np.delete(counts, [2, 7]).mean()


def test_the_start_month_shifts_the_year_and_weekdays_are_calendar_days(write_scenario):
    # The run starts in July: month 0 of the run is July, the only month with buyers; and
    # nobody arrives on a weekend.
    months = {**dict.fromkeys(MONTHS, 0.0), "jul": 1.0}
    weekdays = {"mon": 1, "tue": 1, "wed": 1, "thu": 1, "fri": 1, "sat": 0, "sun": 0}
    path = write_scenario({**QUIET, "market.seasonality": {"months": months, "weekdays": weekdays,
                                                           "start_month": "jul"}})
    t = _arrivals(path, 3)
    assert len(t) > 300
    assert t.max() < MONTH_DAYS
    assert set(np.floor(t).astype(int) % 7) <= {0, 1, 2, 3, 4}


def test_designs_in_a_seasonal_market_meet_the_same_buyers(write_scenario):
    seasonal = {**QUIET, "market.segments.smb.contact_probability": 0.3,
                "market.channels.web.rate_per_week": 20,
                "market.seasonality": {"months": {**FLAT, "feb": 3.0, "nov": 0.2}}}
    one = write_scenario(seasonal, name="one.yaml")
    two = write_scenario({**seasonal, "roles.sdr.headcount": 3, "roles.ae.calendar": "always"}, name="two.yaml")
    a, b = (sim.simulate(sim.load_scenario(p), 5).buyers for p in (one, two))
    cols = ["id", "arrive_at", "segment", "acv", "fit"]
    assert len(a) > 300
    assert a[cols].equals(b[cols])
    assert not a.won_at.equals(b.won_at)  # the designs do differ in what happens next

