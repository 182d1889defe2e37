"""The run month by month (sim.timeline), and when a design pays back against the baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.locale import catalogue
from sim.metrics import measure
from sim.report.charts import close_charts
from sim.report.folder import read_folder
from sim.report.over_time import over_time_chart
from sim.timeline import MONTH, monthly, paired_timeline, payback, payback_month, payback_text

#: Buyers arrive and buy in days; people cost money; the horizon is four whole months.
BUSY = {"simulation.horizon": "4mo", "market.channels.web.rate_per_week": 10,
        "roles.sdr.loaded_cost_annual": 120000, "roles.ae.loaded_cost_annual": 180000,
        "market.marketing_program_cost_annual": 24000}
#: Two more SDRs at month 1, ramping over a month from a quarter of full productivity.
PLAN = {"roles.sdr.headcount": [{"at": 0, "n": 1}, {"at": "1mo", "n": 3}], "roles.sdr.ramp_time": "1mo",
        "roles.sdr.ramp_start": 0.25}


def test_payback_month_of_a_known_crossing():
    # A design that costs $1,000 more a month for three months, then earns $400 more a month:
    # its cumulative difference is -3,000 after month 3 and first positive, for good, after
    # 3 + 8 months (-3,000 + 8 x 400 = 200).
    months = np.arange(1, 25)
    cumulative = np.cumsum(np.where(months <= 3, -1000.0, 400.0))
    assert payback_month(months, cumulative) == 11
    # Cut at month 10 it has not paid back: never within the horizon.
    assert payback_month(months[:10], cumulative[:10]) is None
    # Positive, then negative again, then positive: it is the last crossing that counts.
    assert payback_month([1, 2, 3, 4], [5.0, -1.0, 0.0, 2.0]) == 4
    assert payback_month([1, 2, 3], [1.0, 2.0, 3.0]) == 1
    assert payback_month([], []) is None


def _timeline(extra: np.ndarray, reps: int = 3, months: int = 24) -> pd.DataFrame:
    """A baseline with noise and a design whose cumulative contribution differs by ``extra`` (rep x month)."""
    rng = np.random.default_rng(1)
    rows = []
    for r in range(reps):
        base = np.cumsum(rng.normal(100.0, 30.0, months))
        for name, cum in (("stay", base), ("move", base + extra[r])):
            rows.append(pd.DataFrame({"scenario": name, "replication": r, "month": np.arange(1, months + 1),
                                      "cumulative_contribution": cum}))
    return pd.concat(rows, ignore_index=True)


def test_payback_with_its_interval_across_replications():
    months = np.arange(1, 25)
    # Replication r pays $3,000 up front and earns 400 + 40 r a month from month 4: its own
    # payback months are 11, 10 and 10 (3000/400 = 7.5, 3000/440 = 6.8, 3000/480 = 6.25 months of gains).
    extra = np.array([np.cumsum(np.where(months <= 3, -1000.0, 400.0 + 40 * r)) for r in range(3)])
    table = payback(_timeline(extra), "stay")
    row = table.iloc[0]
    assert row.scenario == "move" and row.baseline == "stay"
    mean_curve = extra.mean(axis=0)
    assert row.payback_month == payback_month(months, mean_curve) == 10
    assert row.ci_low <= row.payback_month <= row.ci_high
    assert row.reps_paid_back == 3 and row.n == 3 and row.median_rep_month == 10
    assert row.payback.startswith("month 10 (95% CI ")


def test_never_within_the_horizon_is_said_so():
    months = np.arange(1, 13)
    extra = np.array([-50.0 * months * (1 + 0.1 * r) for r in range(3)])  # costs more every month, earns nothing
    row = payback(_timeline(extra, months=12), "stay").iloc[0]
    assert pd.isna(row.payback_month) and row.reps_paid_back == 0
    assert row.payback == "never within the horizon (12 months)"
    assert payback_text(None, 20, None, 24) == "never within the horizon (24 months; 95% CI from month 20 to beyond the horizon)"
    assert payback_text(7, 5, None, 24) == "month 7 (95% CI 5 to beyond the horizon)"


def test_the_months_add_up_to_the_window_kpis(write_scenario):
    path = write_scenario({**BUSY, **PLAN, "roles.ae.attrition_annual": 0.5, "roles.ae.time_to_hire": "20d"})
    scn = sim.load_scenario(path)
    res = sim.simulate(scn, 3)
    k = measure(res).kpis
    t = monthly(res)
    assert list(t.month) == [1, 2, 3, 4] and np.allclose(t.days, MONTH)
    years = 4 * MONTH / 365.0
    assert k["won"] > 10
    assert t.arr.iloc[-1] == pytest.approx(k["arr_end"])
    assert t.new_arr.sum() / years == pytest.approx(k["new_arr_annual"])
    assert t.cost.sum() / years == pytest.approx(k["total_cost"])
    assert t.people_cost.sum() / years == pytest.approx(k["people_cost"])
    assert t.cumulative_contribution.iloc[-1] == pytest.approx((t.gross_margin - t.cost).sum())
    # Revenue: ARR accrued day by day (ARR at a month's end is at most a year's revenue of it);
    # the margin its segment's share of it.
    assert 0 < t.revenue.sum() < t.arr.iloc[-1] * 4 * MONTH / 365.0
    assert t.gross_margin.sum() == pytest.approx(scn.market.segments["smb"].gross_margin * t.revenue.sum())
    # The plan: 1 SDR, then 3 from month 1; the two hires ramp linearly from 0.25 over a month,
    # so month 2 has 1 + 2 x (0.25 + 0.75 / 2) = 2.25 people's capacity, month 3 the full 3.
    assert list(t["heads.sdr"]) == pytest.approx([1, 3, 3, 3])
    assert list(t["capacity.sdr"]) == pytest.approx([1, 2.25, 3, 3])
    # The AEs leave and are replaced: never more than one, sometimes a vacancy.
    assert (t["heads.ae"] <= 1 + 1e-9).all() and (t["capacity.ae"] <= t["heads.ae"] + 1e-9).all()


def test_paired_months_are_differences_replication_by_replication():
    months = np.arange(1, 7)
    extra = np.array([100.0 * months + r for r in range(3)])
    paired = paired_timeline(_timeline(extra, months=6), "stay", ["cumulative_contribution"])
    assert list(paired.month) == list(months)
    assert paired.diff_mean.to_numpy() == pytest.approx(100.0 * months + 1)
    assert (paired.n == 3).all() and (paired.diff_ci_low < paired.diff_mean).all()


def test_compare_prints_the_payback_only_where_capacity_changes(write_scenario, tmp_path, capsys):
    stay = write_scenario({**BUSY, "name": "stay"}, name="stay.yaml")
    same = write_scenario({**BUSY, "name": "same", "roles.sdr.headcount": 2}, name="same.yaml")
    grow = write_scenario({**BUSY, **PLAN, "name": "grow"}, name="grow.yaml")
    common = ["--reps", "2", "--jobs", "1", "--quiet", "--no-charts"]
    assert main(["compare", str(stay), str(same), "--out", str(tmp_path / "static"), *common]) == 0
    static = capsys.readouterr().out
    assert "payback against" not in static
    (folder,) = (tmp_path / "static").iterdir()
    assert not any((folder / f).exists() for f in ("timeline.csv", "timeline_paired.csv", "payback.csv"))
    assert main(["compare", str(stay), str(grow), "--out", str(tmp_path / "grow"), *common]) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(next((tmp_path / "grow").iterdir()) / "payback.csv")
    line = next(x for x in out.splitlines() if x.startswith("  grow: "))
    assert "payback against stay" in out and line.startswith(f"  grow: {table.payback.iloc[0]} (")
    timeline = pd.read_csv(next((tmp_path / "grow").iterdir()) / "timeline.csv")
    assert set(timeline.scenario) == {"stay", "grow"} and len(timeline) == 2 * 2 * 4
    # The report's "Over time" chart: drawn from the folder with timeline.csv only.
    chart = over_time_chart(read_folder(next((tmp_path / "grow").iterdir())), catalogue("en"))
    assert chart is not None and chart.stem == "over_time" and chart.section == "retention"
    never = pd.isna(table.payback_month.iloc[0])
    assert chart.title.startswith("No design's") if never else chart.title.startswith("grow pays back")
    close_charts([chart])
    data = read_folder(next((tmp_path / "grow").iterdir()))
    data.payback = pd.DataFrame({"scenario": ["grow"], "baseline": ["stay"], "payback_month": [2], "ci_low": [1],
                                 "ci_high": [np.nan]})
    paid = over_time_chart(data, catalogue("en"))
    assert paid is not None and paid.title == "grow pays back against stay from month 2 (95% CI 1 to beyond the horizon)"
    close_charts([paid])
    assert over_time_chart(read_folder(folder), catalogue("en")) is None
