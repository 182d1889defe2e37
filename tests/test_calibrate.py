"""orgsim calibrate: the CRM formats, the bad-data catalogue, and recovery of a known market.

examples/crm/ was made by orgsim itself (examples/crm/make_example.py) from the default
market with known factors (truth.yaml): calibrate must find them within the band it reports,
and report a wide band for a parameter the data cannot see (churn, without a customers table).
"""

from __future__ import annotations

import shlex

import numpy as np
import pandas as pd
import pytest
import yaml

import sim
from sim import crm
from sim.calibrate import calibrate, market_yaml, write
from sim.cli import main
from sim.crm_export import export, write_customers, write_hubspot, write_neutral, write_salesforce
from sim.scenario import ScenarioError
from sim.targets import figures

from conftest import ROOT

CRM = ROOT / "examples" / "crm"
BAD = ROOT / "tests" / "data" / "bad_crm"
SCN = "scenarios/siloed.yaml"
MAPPING = CRM / "stage_mapping.yaml"


def _cases() -> list[tuple[str, str, str]]:
    lines = (BAD / "cases.tsv").read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t")) for line in lines if line and not line.startswith("#")]  # type: ignore[misc]


def test_every_bad_file_has_a_case():
    named = {c[0] for c in _cases()}
    assert named == {p.name for p in BAD.glob("*.csv")}


@pytest.mark.parametrize("name,options,expected", _cases(), ids=lambda x: x if x.endswith(".csv") else "")
def test_bad_crm_data_is_one_line_per_problem_status_2_nothing_written(name, options, expected, tmp_path, capsys,
                                                                      monkeypatch):
    monkeypatch.chdir(ROOT)
    path = f"tests/data/bad_crm/{name}"
    words = shlex.split(options)
    data = ["--data", path] if words[0] == "DATA" else ["--data", "examples/crm/deals.csv", "--customers", path]
    argv = [*data, *words[1:]]
    out = tmp_path / "results"
    assert main(["calibrate", *argv, "--design", SCN, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert expected in err.splitlines()
    assert "Traceback" not in err
    assert not out.exists()


def test_a_bad_mapping_file_is_reported(tmp_path):
    bad = tmp_path / "mapping.yaml"
    bad.write_text("stages: {Qualification: discovry}\nstagez: {}\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        crm.read_mapping(bad)
    text = str(exc.value)
    assert "stagez: unknown key (did you mean 'stages'?)" in text
    assert "stages.Qualification: unknown orgsim stage 'discovry'" in text and "did you mean 'discovery'" in text


def test_the_three_formats_give_the_same_opportunity_figures():
    neutral = figures(crm.load(CRM / "deals.csv"), entry="discovery").set_index("figure")
    for fmt, name in (("salesforce", "salesforce_opportunity_history.csv"), ("hubspot", "hubspot_deals.csv")):
        other = figures(crm.load(CRM / name, format=fmt, mapping=MAPPING)).set_index("figure")
        assert list(other.index) == list(neutral.index)
        # Shares, amounts and medians agree; the rates to 1%, as these exports span from the first
        # opportunity, not the first lead (a few days later).
        assert np.allclose(other["value"], neutral["value"], rtol=1e-2), fmt
        assert np.allclose(other["value"].filter(regex="^(?!opportunities_per_week)"),
                           neutral["value"].filter(regex="^(?!opportunities_per_week)"), rtol=1e-6), fmt


def test_an_export_reads_back_as_it_was_written(tmp_path):
    scn = sim.load_scenario(SCN, ["simulation.horizon=5mo", "simulation.warmup=1mo"])
    data = export(sim.simulate(scn, seed=3))
    write_neutral(data, tmp_path / "deals.csv")
    write_customers(data, tmp_path / "customers.csv")
    write_salesforce(data, tmp_path / "sf.csv")
    write_hubspot(data, tmp_path / "hs.csv")
    back = crm.load(tmp_path / "deals.csv", tmp_path / "customers.csv", as_of=str(data.start + pd.Timedelta(days=data.days)))
    direct, read = figures(data).set_index("figure"), figures(back).set_index("figure")
    assert list(direct.index) == list(read.index)
    assert np.allclose(direct["value"], read["value"], rtol=0.02)
    assert len(crm.load(tmp_path / "sf.csv", format="salesforce", mapping=MAPPING).deals) == \
        int(data.deals["entered.discovery"].notna().sum())


def test_figures_carry_their_sampling_uncertainty():
    data = crm.load(CRM / "deals.csv", CRM / "customers.csv")
    f = figures(data).set_index("figure")
    assert {"leads_per_week.search", "conversion.demo", "win_rate", "cycle_p50_days.smb", "acv_mean.smb",
            "first_response_p50_hours", "first_response_p90_hours", "acv_p50.mm", "logo_churn_annual",
            "expansions_per_customer_year", "nrr_annual"} <= set(f.index)
    assert ((f["ci_low"] <= f["value"]) & (f["value"] <= f["ci_high"]) & (f["se"] > 0)).all()
    # A Poisson count's standard error, sqrt(n) / weeks.
    n = f.loc["leads_per_week.search", "n"]
    assert f.loc["leads_per_week.search", "se"] == pytest.approx(np.sqrt(n) / (data.days / 7))


@pytest.fixture(scope="module")
def calibrated():
    # Cheap: three parameters, 8 trials and 5 scan points each, one replication of 15 months
    # (a 3-month warmup before the year of data): about 27 runs of ~0.6 s CPU.
    return calibrate(SCN, CRM / "deals.csv", params=["market.segments.<segment>.acv",
                                                     "market.segments.<segment>.deliberation_scale",
                                                     "market.segments.<segment>.base_churn_annual"],
                     trials=8, reps=1, overrides=["simulation.warmup=3mo"])


def test_calibrate_recovers_the_known_market_within_its_band(calibrated):
    truth = yaml.safe_load((CRM / "truth.yaml").read_text(encoding="utf-8"))["factors"]
    p = calibrated.parameters.set_index("parameter")
    for key in ("market.segments.<segment>.acv", "market.segments.<segment>.deliberation_scale"):
        row = p.loc[key]
        assert row["band_low"] <= truth[key] <= row["band_high"], (key, row.to_dict())
    assert p.loc["market.segments.<segment>.acv", "pinned"]
    # The cycle is known less well (39 mid-market wins), but far better than churn.
    assert p.loc["market.segments.<segment>.deliberation_scale", "band_share"] < 0.7
    # The default market (x1) is outside the ACV band: the data moved the parameter.
    assert not p.loc["market.segments.<segment>.acv", "band_low"] <= 1.0
    # Churn does not show in the deals: its band spans (nearly) its whole range, and is flagged.
    churn = p.loc["market.segments.<segment>.base_churn_annual"]
    assert not churn["pinned"] and churn["band_share"] > 0.8
    assert calibrated.unpinned == ["market.segments.<segment>.base_churn_annual"]


def test_the_calibrated_market_extends_the_design_market_and_runs(calibrated, tmp_path):
    folder = write(calibrated, tmp_path / "results", ["orgsim", "calibrate"])
    assert {p.name for p in folder.iterdir()} == {"market_calibrated.yaml", "targets.csv", "fit.csv",
                                                   "parameters.csv", "trials.csv", "report.md", "manifest.json"}
    text = (folder / "market_calibrated.yaml").read_text(encoding="utf-8")
    assert "fitted to acv_mean.mm" in text and "NOT PINNED DOWN" in text
    design = folder / "design.yaml"
    original = (ROOT / SCN).read_text(encoding="utf-8")
    design.write_text(original.replace("extends: market.yaml", "extends: market_calibrated.yaml"), encoding="utf-8")
    scn = sim.load_scenario(design)
    best = calibrated.best["market.segments.<segment>.acv"]
    assert scn.market.segments["smb"].acv.mean == pytest.approx(8000 * best, rel=1e-5)
    assert (ROOT / SCN).read_text(encoding="utf-8") == original
    assert market_yaml(calibrated, folder).startswith("# The market calibrated to")
    fit = pd.read_csv(folder / "fit.csv")
    assert {"figure", "target", "target_ci_low", "simulated", "simulated_ci_high", "z"} <= set(fit.columns)


def test_calibrate_refuses_a_parameter_without_a_range():
    with pytest.raises(ScenarioError, match=r"market\.segments\.<segment>\.acvv: no plausible range is documented"):
        calibrate(SCN, CRM / "deals.csv", params=["market.segments.<segment>.acvv"], trials=1, reps=1)


@pytest.fixture(scope="module")
def small_export(tmp_path_factory):
    """Four months of a default-market run (a month of warmup), as the neutral CSVs."""
    folder = tmp_path_factory.mktemp("crm")
    scn = sim.load_scenario(SCN, ["simulation.horizon=5mo", "simulation.warmup=1mo"])
    data = export(sim.simulate(scn, seed=11))
    write_neutral(data, folder / "deals.csv")
    write_customers(data, folder / "customers.csv")
    return folder


def test_the_command_prints_the_fit_and_writes_the_folder(small_export, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "results"
    status = main(["calibrate", "--data", str(small_export / "deals.csv"), "--customers",
                   str(small_export / "customers.csv"), "--design", SCN, "--params", "market.segments.smb.acv",
                   "--trials", "1", "--reps", "1", "--set", "simulation.warmup=1mo", "--out", str(out)])
    assert status == 0
    printed = capsys.readouterr().out
    assert "acv_mean.smb" in printed and "market.segments.smb.acv" in printed
    assert "logo_churn_annual" in printed  # the customers table's figures are targets too
    (folder,) = out.iterdir()
    assert f"results: {folder}" in printed
    assert (folder / "market_calibrated.yaml").is_file()


def test_check_against_sets_the_design_beside_the_data(small_export, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["check", SCN, "--against", str(small_export / "deals.csv"), "--reps", "1",
                 "--set", "simulation.warmup=1mo"]) == 0
    printed = capsys.readouterr().out
    assert "your data [95% CI]" in printed and "win_rate" in printed
    from sim.against import against

    # The data come from the default market: the same design on other seeds agrees with them
    # (at 95%, a figure in twenty may differ by chance); twice the SMB deal size does not.
    same = against(SCN, small_export / "deals.csv", reps=1, overrides=["simulation.warmup=1mo"])
    assert (same["verdict"] == "same").mean() >= 0.8, same
    moved = against(SCN, small_export / "deals.csv", reps=1,
                    overrides=["simulation.warmup=1mo", "market.segments.smb.acv.mean=16000"])
    assert moved.set_index("figure").loc["acv_mean.smb", "verdict"] == "above"
    assert main(["check", SCN, "--against", str(small_export / "deals.csv"), "--reps", "1", "--strict",
                 "--set", "simulation.warmup=1mo", "--set", "market.segments.smb.acv.mean=16000"]) == 1


def test_calibrate_says_how_to_fit_a_table_of_values():
    with pytest.raises(ScenarioError, match=r"a table of values: fit its entries, e\.g\. "
                                            r"market\.segments\.<segment>\.stage_conversion\.<activity>"):
        calibrate(SCN, CRM / "deals.csv", params=["market.segments.<segment>.stage_conversion"], trials=1, reps=1)


def test_an_unknown_stage_is_reported_once_with_its_count(tmp_path):
    with pytest.raises(ScenarioError) as exc:
        crm.load(CRM / "salesforce_opportunity_history.csv", format="salesforce")
    lines = str(exc.value).splitlines()
    assert len(lines) == 4  # Salesforce's four open stages, each once, without a mapping file
    assert "unknown stage 'Qualification': add it to the mapping file's stages (and" in lines[0]


def test_nrr_is_what_the_book_added_less_what_it_lost_per_arr_year():
    deals = pd.DataFrame({"id": ["1"], "segment": ["smb"], "source": ["search"], "created": [0.0],
                          "first_response": [np.nan], "stage": ["lead"], "outcome": ["open"], "lost_reason": [""],
                          "amount": [np.nan], "closed": [np.nan],
                          **{f"entered.{s}": [np.nan] for s in crm.STAGES}})
    # A year of three customers of $100K: one adds $30K, one leaves at half-year (losing its $100K).
    customers = pd.DataFrame({"id": ["a", "b", "c"], "segment": ["smb"] * 3, "start": [0.0] * 3,
                              "arr": [100e3] * 3, "churned": [np.nan, 182.5, np.nan],
                              "expansions": [1.0, 0.0, 0.0], "expansion_arr": [30e3, 0.0, 0.0]})
    data = crm.CrmData(deals, customers, pd.Timestamp("2024-01-01", tz="UTC"), 365.0)
    f = figures(data, min_n=1).set_index("figure")
    # (30K - 100K) over 2.5 ARR-years of $100K: 1 - 70 / 250 = 0.72.
    assert f.loc["nrr_annual", "value"] == pytest.approx(0.72)
    assert f.loc["logo_churn_annual", "value"] == pytest.approx(1 / 2.5)


def test_the_mapping_renames_segments_sources_and_stages(tmp_path):
    text = (CRM / "deals.csv").read_text(encoding="utf-8").splitlines()
    renamed = [text[0]] + [line.replace(",smb,", ",Small Business,").replace(",search,", ",Web,")
                           .replace(",discovery,", ",Discovery Call,") for line in text[1:]]
    (tmp_path / "deals.csv").write_text("\n".join(renamed) + "\n", encoding="utf-8")
    (tmp_path / "mapping.yaml").write_text("segments: {Small Business: smb}\nsources: {Web: search}\n"
                                           "stages: {Discovery Call: discovery}\n", encoding="utf-8")
    mapped = figures(crm.load(tmp_path / "deals.csv", mapping=tmp_path / "mapping.yaml"))
    assert mapped.equals(figures(crm.load(CRM / "deals.csv")))
    with pytest.raises(ScenarioError, match=r"unknown segment 'Small Business'.*\(and \d+ more rows\)"):
        crm.load(tmp_path / "deals.csv")


def test_a_long_stage_history_reads_as_the_stage_columns(tmp_path):
    wide = pd.read_csv(CRM / "deals.csv", dtype=str, keep_default_na=False)
    columns = [f"{s}_entered_at" for s in crm.STAGES]
    long = wide.melt(id_vars="id", value_vars=columns, var_name="stage", value_name="entered_at")
    long = long[long["entered_at"] != ""].assign(stage=lambda d: d["stage"].str.removesuffix("_entered_at"))
    wide.drop(columns=columns).to_csv(tmp_path / "deals.csv", index=False)
    long.to_csv(tmp_path / "stages.csv", index=False)
    read = figures(crm.load(tmp_path / "deals.csv", history=tmp_path / "stages.csv"))
    assert read.equals(figures(crm.load(CRM / "deals.csv")))
    # An entry for a record the deals do not hold, and a stage out of order, each on its own line.
    extra = long.head(1).assign(id="L999999")
    early = long[long["stage"] == "demo"].head(1).assign(entered_at="2020-01-01T00:00")  # before its discovery
    pd.concat([long, extra]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ScenarioError) as exc:
        crm.load(tmp_path / "deals.csv", history=tmp_path / "bad.csv")
    assert f"bad.csv:{len(long) + 2}: id: no record 'L999999' in {tmp_path / 'deals.csv'}" in str(exc.value)
    pd.concat([long, early]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ScenarioError) as exc:
        crm.load(tmp_path / "deals.csv", history=tmp_path / "bad.csv")
    text = str(exc.value)
    line = 2 + int(np.flatnonzero(wide["id"] == early["id"].iloc[0])[0])  # the record's line in deals.csv
    assert f"deals.csv:{line}: demo_entered_at (from {tmp_path / 'bad.csv'}): stages out of order: demo_entered_at " \
           f"2020-01-01 00:00 is before discovery_entered_at" in text
    with pytest.raises(ScenarioError, match="stage times in both files"):
        crm.load(CRM / "deals.csv", history=tmp_path / "stages.csv")
    with pytest.raises(ScenarioError, match="a stage history goes with the neutral format"):
        crm.load(CRM / "hubspot_deals.csv", format="hubspot", mapping=MAPPING, history=tmp_path / "stages.csv")
