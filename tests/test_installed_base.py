"""The installed base: customers on contract at the start, served by the design's customer-side
roles from day one, keyed so that common random numbers hold across designs; the retention
KPIs say which customers they cover."""

from __future__ import annotations

import pytest

import sim
from sim.market import INSTALLED_ID_BASE
from sim.metrics import measure
from sim.scenario import ScenarioError

from conftest import ROOT

DAY = 1.0
#: Three SMB customers signed 100 days before the start, one-year terms: renewals at day 265,
#: 630, 995 (check-ins quarterly from signature), served by customer success.
BOOK = {
    "simulation.horizon": "1000d",
    "market.activities.checkin": {"kind": "checkin", "work": {"dist": "constant", "value": "1h"}},
    "market.activities.renewal": {"kind": "renewal", "work": {"dist": "constant", "value": "1h"}},
    "market.journey.retention": ["checkin", "renewal"],
    "market.journey.checkin_interval": "91.25d",
    "market.installed_base.segments.smb": {"customers": 3, "arr": {"dist": "constant", "value": 12000},
                                           "tenure": {"dist": "constant", "value": "100d"}},
    "roles.cs": {"headcount": 1, "calendar": "always"},
    "routing.checkin": "cs", "routing.renewal": "cs",
    "market.referrals.probability_per_renewal": 0.0,
}


def test_installed_customers_renew_on_their_own_dates_served_by_the_design(write_scenario):
    res = sim.simulate(sim.load_scenario(write_scenario(BOOK)), 1)
    ev = res.events
    installed = ev[ev.event == "installed"]
    assert installed.buyer.tolist() == [INSTALLED_ID_BASE + i for i in range(3)]
    assert installed.time.tolist() == [0.0] * 3 and installed.value.tolist() == [12000.0] * 3
    renewed = ev[(ev.event == "renewed") & (ev.buyer == INSTALLED_ID_BASE)]
    # The first renewal ends the term the customer was in at the start (signed at -100 d).
    assert renewed.time.tolist() == pytest.approx([265.0 + 1 / 24, 630.0 + 1 / 24, 995.0 + 1 / 24])
    checkins = ev[(ev.event == "start") & (ev.activity == "checkin") & (ev.buyer == INSTALLED_ID_BASE)]
    # Check-ins due before the start (day -8.75) were done before the run: the first is at 82.5.
    assert checkins.time.tolist()[:2] == pytest.approx([82.5, 173.75])
    b = res.buyers.set_index("id").loc[INSTALLED_ID_BASE]
    assert b.source == "installed" and b.won_at == -100.0 and b.state == "active"
    k = measure(res).kpis
    assert k["renewals_due"] == k["renewals_due.installed"] == 9
    assert k["renewals_due.new"] == 0
    assert k["buyers"] == 0 and k["new_customers"] == 0  # not buyers of the window


def test_the_installed_base_is_keyed_by_segment_and_index(write_scenario):
    """Adding customers to another segment, or to the end of this one, leaves each customer's
    draws (ARR, tenure, fit) as they were."""
    varied = {**BOOK, "market.installed_base.segments.smb.arr": {"dist": "lognormal", "mean": 12000, "sd": 6000},
              "market.installed_base.segments.smb.tenure": {"dist": "uniform", "low": 0, "high": "3y"}}
    a = sim.simulate(sim.load_scenario(write_scenario(varied)), 3).buyers
    more = {**varied, "market.installed_base.segments.smb.customers": 5}
    b = sim.simulate(sim.load_scenario(write_scenario(more, name="more.yaml")), 3).buyers
    cols = ["id", "acv", "won_at", "fit"]
    assert a[cols].to_dict("records") == b[cols].iloc[:3].to_dict("records")


def test_installed_customers_meet_the_same_retention_draws_in_every_design():
    """Two designs that differ before signature only: every installed customer renews, churns and
    expands alike (common random numbers, exactly)."""
    from test_crn import NEUTRAL, SILOED

    runs = [sim.simulate(sim.load_scenario(SILOED, [*NEUTRAL, *extra]), 2)
            for extra in ([], ["roles.field_sales.headcount=14"], ["roles.inside_sales.headcount=3"])]

    def life(res: sim.SimResult) -> dict[int, list[str]]:
        ev = res.events
        ev = ev[ev.event.isin(["renewed", "churned", "expanded"]) & (ev.buyer >= INSTALLED_ID_BASE)]
        out: dict[int, list[str]] = {}
        for buyer, event in zip(ev.buyer, ev.event.astype(str)):
            out.setdefault(int(buyer), []).append(event)
        return out

    first = life(runs[0])
    assert len(first) > 400
    assert any("churned" in v for v in first.values()) and any("expanded" in v for v in first.values())
    for other in runs[1:]:
        assert life(other) == first


def test_the_default_market_sees_well_over_a_thousand_renewals():
    res = sim.simulate(sim.load_scenario(ROOT / "scenarios" / "siloed.yaml"), 1)
    k = measure(res).kpis
    assert k["renewals_due"] > 1000
    assert k["renewals_due"] == k["renewals_due.installed"] + k["renewals_due.new"]
    assert k["grr_cohort_customers"] == k["grr_cohort_customers.installed"] + k["grr_cohort_customers.new"]
    for name in ("logo_churn_annual", "nrr", "grr"):
        for cohort in ("installed", "new"):
            assert 0 < k[f"{name}.{cohort}"] < 2


def test_the_installed_base_is_work_for_the_same_roles(write_scenario):
    """Served by the design's own people: customer success is busier with a book than without."""
    with_book = measure(sim.simulate(sim.load_scenario(write_scenario(BOOK)), 1)).kpis
    none = {**BOOK, "market.installed_base.segments.smb.customers": 0}
    without = measure(sim.simulate(sim.load_scenario(write_scenario(none, name="none.yaml")), 1)).kpis
    assert without["utilization.cs"] == 0.0
    assert with_book["utilization.cs"] > 0.0


def test_cohort_kpis_are_in_the_registry_with_their_own_denominators():
    from sim import kpis

    k = kpis.get("logo_churn_annual.installed")
    assert k is not None and k.denominator == "renewals_due.installed" and k.unit == kpis.Unit.SHARE
    assert kpis.get("nrr.new").denominator == "grr_cohort_customers.new"  # type: ignore[union-attr]
    assert kpis.split_segment("nrr.installed") == ("nrr.installed", None)
    assert "logo_churn_annual.installed" in kpis.docs()


@pytest.mark.parametrize("change, message", [
    ({"market.installed_base.segments.midmarket": {"customers": 1, "arr": {"dist": "constant", "value": 1},
                                                   "tenure": {"dist": "constant", "value": 1}}}, "unknown segment"),
])
def test_an_installed_base_names_known_segments(write_scenario, change, message):
    with pytest.raises(ScenarioError, match=message):
        sim.load_scenario(write_scenario({**BOOK, **change}))


def test_a_segment_may_not_take_a_cohort_name(write_scenario, tmp_path):
    import copy

    import yaml

    from conftest import TINY

    tree = copy.deepcopy(TINY)
    tree["market"]["segments"]["new"] = tree["market"]["segments"].pop("smb")
    path = tmp_path / "cohort.yaml"
    path.write_text(yaml.safe_dump(tree))
    with pytest.raises(ScenarioError, match="may not be called 'new'"):
        sim.load_scenario(path)
