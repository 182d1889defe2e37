"""A simulated run as the CRM export a company would pull from it.

The CRM sees a buyer from their hand-raise on (``contact_at``): research that never turned
into a contact is invisible to it, as it is to a real company. Each such buyer is a record
created at the contact, with its first response, the time it entered each opportunity stage
(the first time the buyer was queued for it), its outcome, lost reason and amount (the deal's
ACV); a signed buyer, and every customer of the installed base, is a row of the customers
table. Only records created inside the measured window (after the warmup) are exported, and
times are days since the warmup ended, as :func:`sim.crm.load` gives them for a real export.

:func:`export` feeds the calibration (the same figures, :mod:`sim.targets`, are computed on
the data and on each simulated run); :func:`write_neutral`, :func:`write_salesforce` and
:func:`write_hubspot` write the files of ``examples/crm/``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import write_with
from .crm import STAGES, CrmData
from .model import SimResult

__all__ = ["export", "write_neutral", "write_customers", "write_salesforce", "write_hubspot", "ORIGIN",
           "SALESFORCE_STAGES", "HUBSPOT_STAGES"]

#: The date time 0 of a run stands for: a Monday (the model's week starts on Monday 00:00).
ORIGIN = pd.Timestamp("2024-01-01", tz="UTC")
#: Salesforce's default stage names for orgsim's stages (the example mapping file reads them back).
SALESFORCE_STAGES = {"discovery": "Qualification", "demo": "Needs Analysis", "proposal": "Proposal/Price Quote",
                     "close": "Negotiation/Review"}
#: HubSpot's default sales pipeline stage ids for orgsim's stages.
HUBSPOT_STAGES = {"discovery": "appointmentscheduled", "demo": "qualifiedtobuy",
                  "proposal": "presentationscheduled", "close": "contractsent"}


def export(result: SimResult, stages: tuple[str, ...] = STAGES, customers: bool = True) -> CrmData:
    """The run's funnel after the warmup, as :func:`sim.crm.load` reads a real export."""
    scn = result.scenario
    t0, t1 = scn.simulation.warmup, scn.simulation.horizon
    b = result.buyers
    leads = b[b["contact_at"].notna() & (b["contact_at"] >= t0) & (b["source"] != "installed")]
    ev = result.events
    ids = leads["id"].to_numpy()
    entered: dict[str, pd.Series] = {}
    if len(ev):
        mine = ev[ev["activity"].isin(list(stages)) & ev["buyer"].isin(ids) & (ev["event"] == "queue")]
        first = mine.groupby(["buyer", "activity"])["time"].min()
        for s in stages:
            entered[s] = first.xs(s, level="activity") if s in first.index.get_level_values(1) else pd.Series(
                dtype=float)
    won = leads["won_at"].notna()
    lost = leads["lost_at"].notna() & ~won
    outcome = np.where(won, "won", np.where(lost, "lost", "open"))
    reached = np.full(len(leads), "lead", dtype=object)
    frame = pd.DataFrame({"id": leads["id"].astype(str).to_numpy(), "segment": leads["segment"].to_numpy(),
                          "source": leads["channel"].to_numpy(), "created": leads["contact_at"].to_numpy() - t0,
                          "first_response": (leads["contact_at"] + leads["first_response_wait"]).to_numpy() - t0})
    for s in stages:
        when = leads["id"].map(entered.get(s, pd.Series(dtype=float))).to_numpy(dtype=float) - t0
        frame[f"entered.{s}"] = when
        reached = np.where(np.isfinite(when), s, reached)
    opportunity = np.isfinite(frame[f"entered.{stages[0]}"].to_numpy())
    frame["stage"] = reached
    frame["outcome"] = outcome
    frame["lost_reason"] = np.where(lost, leads["reason"].to_numpy(), "")
    frame["amount"] = np.where(opportunity | won.to_numpy(), leads["acv"].to_numpy(), math.nan)
    frame["closed"] = np.where(won, leads["won_at"], np.where(lost, leads["lost_at"], math.nan)) - t0
    frame = frame[["id", "segment", "source", "created", "first_response", "stage", "outcome", "lost_reason",
                   "amount", "closed", *(f"entered.{s}" for s in stages)]]
    table = None
    if customers:
        signed = b[(b["won_at"].notna() & (b["won_at"] >= t0)) | (b["source"] == "installed")]
        grown = ev[(ev["event"] == "expanded") & (ev["time"] >= t0)] if len(ev) else ev
        expansions = grown.groupby("buyer").size() if len(grown) else pd.Series(dtype=float)
        added = grown.groupby("buyer")["value"].sum() if len(grown) else pd.Series(dtype=float)
        # ARR when the window opens: at signature, plus what the customer added before it.
        before = ev[(ev["event"] == "expanded") & (ev["time"] < t0)] if len(ev) else ev
        earlier = before.groupby("buyer")["value"].sum() if len(before) else pd.Series(dtype=float)
        start = signed["won_at"].fillna(t0).clip(lower=t0).to_numpy() - t0
        churned = signed["churned_at"].to_numpy(dtype=float)
        churned = np.where(churned >= t0, churned - t0, math.nan)
        keep = ~(signed["churned_at"] < t0).to_numpy()  # gone before the window: not in today's CRM
        arr = signed["acv"].to_numpy(dtype=float) + signed["id"].map(earlier).fillna(0.0).to_numpy(dtype=float)
        table = pd.DataFrame({"id": signed["id"].astype(str).to_numpy(), "segment": signed["segment"].to_numpy(),
                              "start": start, "arr": arr, "churned": churned,
                              "expansions": signed["id"].map(expansions).fillna(0).to_numpy(dtype=float),
                              "expansion_arr": signed["id"].map(added).fillna(0.0).to_numpy(dtype=float)})[keep]
        table = table.reset_index(drop=True)
    return CrmData(frame.reset_index(drop=True), table, ORIGIN + pd.Timedelta(days=t0), t1 - t0, stages,
                   f"simulated {scn.name}")


def _stamp(start: pd.Timestamp, days: pd.Series) -> pd.Series:
    """Days since ``start`` as ISO date-times to the minute (empty where missing)."""
    when = start + pd.to_timedelta(days.to_numpy(dtype=float), unit="D")
    text = pd.Series(when).dt.strftime("%Y-%m-%dT%H:%M")
    return text.where(np.isfinite(days.to_numpy(dtype=float)), "").set_axis(days.index)


def _write(frame: pd.DataFrame, path: Path) -> Path:
    return write_with(path, lambda tmp: frame.to_csv(tmp, index=False))


def _money(x: pd.Series) -> pd.Series:
    return x.round(0).map(lambda v: "" if not math.isfinite(v) else f"{v:.0f}")


def write_neutral(data: CrmData, path: Path) -> Path:
    """The deals in the neutral format (one ``<stage>_entered_at`` column per stage)."""
    d = data.deals
    out = pd.DataFrame({"id": "L" + d["id"], "segment": d["segment"], "source": d["source"],
                        "created_at": _stamp(data.start, d["created"]),
                        "first_response_at": _stamp(data.start, d["first_response"]),
                        **{f"{s}_entered_at": _stamp(data.start, d[f"entered.{s}"]) for s in data.stages},
                        "stage": d["stage"], "outcome": d["outcome"], "lost_reason": d["lost_reason"],
                        "amount": _money(d["amount"]), "closed_at": _stamp(data.start, d["closed"])})
    return _write(out, path)


def write_customers(data: CrmData, path: Path) -> Path:
    """The customers table: ``id, segment, start_at, arr, churned_at, expansions, expansion_arr``."""
    c = data.customers
    assert c is not None
    out = pd.DataFrame({"id": "C" + c["id"], "segment": c["segment"], "start_at": _stamp(data.start, c["start"]),
                        "arr": _money(c["arr"]), "churned_at": _stamp(data.start, c["churned"]),
                        "expansions": c["expansions"].astype(int), "expansion_arr": _money(c["expansion_arr"])})
    return _write(out, path)


def write_salesforce(data: CrmData, path: Path) -> Path:
    """The opportunities as a Salesforce opportunity history report: a row per stage change."""
    d = data.deals
    opp = d[np.isfinite(d[f"entered.{data.stages[0]}"].to_numpy())]
    rows = []
    for _, r in opp.iterrows():
        oid = f"006{int(r['id']):012d}"
        close = _stamp(data.start, pd.Series([r["closed"]])).iloc[0]
        for s in data.stages:
            if math.isfinite(r[f"entered.{s}"]):
                rows.append((oid, SALESFORCE_STAGES[s], r, r[f"entered.{s}"], close))
        if r["outcome"] in ("won", "lost"):
            rows.append((oid, "Closed Won" if r["outcome"] == "won" else "Closed Lost", r, r["closed"], close))
    out = pd.DataFrame({"OpportunityId": [x[0] for x in rows], "StageName": [x[1] for x in rows],
                        "Amount": _money(pd.Series([x[2]["amount"] for x in rows], dtype=float)),
                        "CloseDate": [x[4][:10] for x in rows],
                        "CreatedDate": _stamp(data.start, pd.Series([x[3] for x in rows], dtype=float)),
                        "LeadSource": [x[2]["source"] for x in rows], "Segment__c": [x[2]["segment"] for x in rows]})
    return _write(out, path)


def write_hubspot(data: CrmData, path: Path) -> Path:
    """The opportunities as a HubSpot deals export (``hs_date_entered_<stage id>`` per stage)."""
    d = data.deals
    opp = d[np.isfinite(d[f"entered.{data.stages[0]}"].to_numpy())]
    current = opp["stage"].map(HUBSPOT_STAGES)
    current = current.where(opp["outcome"] != "won", "closedwon").where(opp["outcome"] != "lost", "closedlost")
    out = pd.DataFrame({"dealname": "Deal " + opp["id"], "pipeline": "default", "dealstage": current,
                        "amount": _money(opp["amount"]),
                        "createdate": _stamp(data.start, opp[f"entered.{data.stages[0]}"]),
                        "closedate": _stamp(data.start, opp["closed"]),
                        "hs_analytics_source": opp["source"], "segment": opp["segment"],
                        **{f"hs_date_entered_{HUBSPOT_STAGES[s]}": _stamp(data.start, opp[f"entered.{s}"])
                           for s in data.stages}})
    return _write(out, path)
