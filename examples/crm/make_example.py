"""Make the synthetic CRM export of examples/crm/ with orgsim itself, from a known market.

The company is THE MODEL (scenarios/siloed.yaml) on a market that differs from the default by
the factors in ``TRUTH`` (written to truth.yaml): deals 20% larger, cycles 15% shorter, 10%
more inquiries. One replication, on a seed no calibration uses by default, runs for the
design's warmup plus a year; the year after the warmup is exported as a CRM would hold it
(sim/crm_export.py): deals.csv (neutral), customers.csv, salesforce_opportunity_history.csv,
hubspot_deals.csv. stage_mapping.yaml (written by hand) maps the Salesforce and HubSpot stage
names back to orgsim's.

    python examples/crm/make_example.py          # rewrites the files beside this script
"""

from __future__ import annotations

from pathlib import Path

import yaml

import sim
from sim.assumptions import expand
from sim.crm_export import export, write_customers, write_hubspot, write_neutral, write_salesforce
from sim.plan import override_text

HERE = Path(__file__).resolve().parent
DESIGN = HERE.parent.parent / "scenarios" / "siloed.yaml"
#: The known market: a factor on the default of each parameter (every segment or channel together).
TRUTH = {
    "market.segments.<segment>.acv": 1.2,
    "market.segments.<segment>.deliberation_scale": 0.85,
    "market.channels.<channel>.rate_per_week": 1.1,
}
SEED = 777
WINDOW = "1y"


def main() -> None:
    base = sim.load_scenario(DESIGN, [f"simulation.horizon={WINDOW}"])
    horizon = base.simulation.warmup + 365.0
    sets = [f"simulation.horizon={override_text(horizon)}"]
    for path, factor in TRUTH.items():
        sets += [f"{k}={override_text(v)}" for k, v in expand(path, factor, base).items()]
    scn = sim.load_scenario(DESIGN, sets)
    data = export(sim.simulate(scn, seed=SEED))
    write_neutral(data, HERE / "deals.csv")
    write_customers(data, HERE / "customers.csv")
    write_salesforce(data, HERE / "salesforce_opportunity_history.csv")
    write_hubspot(data, HERE / "hubspot_deals.csv")
    (HERE / "truth.yaml").write_text(
        "# The market examples/crm/ was made from (make_example.py): factors on the default market.\n"
        + yaml.safe_dump({"design": "scenarios/siloed.yaml", "seed": SEED, "window": WINDOW, "factors": TRUTH},
                         sort_keys=False), encoding="utf-8")
    print(f"{len(data.deals):,} records, {0 if data.customers is None else len(data.customers):,} customers -> {HERE}")


if __name__ == "__main__":
    main()
