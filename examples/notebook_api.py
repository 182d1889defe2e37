"""orgsim from a notebook: load a design, change a lever, compare designs, plot.

Each block below is one notebook cell. Run the whole file from the repository root with

    python examples/notebook_api.py

Its output is kept in examples/notebook_api.out.txt (the tests check it still runs and prints
the same things). The runs are short (one year, four replications) so that it finishes in
seconds; use the scenarios' own settings (three years, ten replications) for real answers.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # in a notebook, leave this out and the chart shows inline

import matplotlib.pyplot as plt
import pandas as pd

import sim

pd.options.display.width = 120
pd.options.display.float_format = lambda x: f"{x:,.0f}" if abs(x) >= 100 else f"{x:.4f}"
SHORT = ["simulation.horizon=15mo", "simulation.warmup=3mo"]  # a year measured: LTV needs renewals

# %% 1. Load a design: a validated pydantic object, every value resolved
siloed = sim.load_scenario("scenarios/siloed.yaml", SHORT)
print(siloed.name, "-", siloed.description)
print("headcount:", {name: role.headcount for name, role in siloed.roles.items()})
print("first response is done by:", siloed.routing["first_response"])

# %% 2. Change one lever: the same --set overrides as the command line (a new name keeps
# the designs apart in the tables)
more_sdrs = sim.load_scenario("scenarios/siloed.yaml",
                              [*SHORT, "roles.inside_sales.headcount=8", "name=siloed_8_sdrs"])
ai = sim.load_scenario("scenarios/ai_automated.yaml", SHORT)

# %% 3. One replication: the event log and the buyers table, plain DataFrames
one = sim.simulate(siloed, seed=1)
print(f"\n{len(one.buyers):,} buyers, {len(one.events):,} events")
print(one.events.head(8).to_string(index=False))
contacted = one.buyers[one.buyers.contact_at.notna()]
print("\nwhy buyers who asked for contact were lost:")
print(contacted.reason.replace("", "(won or still in the journey)").value_counts().to_string())

# %% 4. Compare designs on the same market (common random numbers; the first is the baseline)
res = sim.compare([siloed, more_sdrs, ai], reps=4, seed=7, jobs=2)
kpis = ["conversion_rate", "first_response_p50_hours", "never_answered_share", "ltv_to_cac", "cac"]
table = res.summary[res.summary.kpi.isin(kpis)].pivot(index="kpi", columns="scenario", values="mean")
print("\nmeans over 4 replications:")
print(table[res.names].loc[kpis].to_string())

# %% 5. Paired differences: each design minus the baseline, replication by replication, with
# a 95% confidence interval. An interval that excludes 0 is a difference the noise cannot explain.
paired = res.paired[res.paired.kpi.isin(kpis)].set_index(["scenario", "kpi"])
print("\npaired differences against siloed:")
print(paired[["diff_mean", "diff_ci_low", "diff_ci_high", "n"]].to_string())

# %% 6. Plot: conversion with its confidence interval, and ARR month by month
conv = res.summary[res.summary.kpi == "conversion_rate"].set_index("scenario").loc[res.names]
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
left.bar(conv.index, conv["mean"] * 100,
         yerr=[(conv["mean"] - conv.ci_low) * 100, (conv.ci_high - conv["mean"]) * 100], capsize=4)
left.set_ylabel("conversion, % of buyers")
left.set_title("lead -> won, 95% CI")
arr = res.arr.groupby(["scenario", "month"]).arr.mean().unstack(0)[res.names] / 1e6
arr.plot(ax=right)
right.set_xlabel("month")
right.set_ylabel("ARR, $M")
right.set_title("ARR, mean of 4 replications")
fig.tight_layout()
out = Path("results") / "notebook_api.png"
out.parent.mkdir(exist_ok=True)
fig.savefig(out, dpi=100)
print(f"\nchart: {out}")
