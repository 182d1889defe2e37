"""``orgsim trace``: the story of individual buyers in one simulated replication.

Selects buyers (by id, ``--where`` conditions on the buyers table, or a sample), runs the
replication and prints each buyer's story (:mod:`sim.story`) or writes it as CSV. With
several scenarios, buyers are selected in the first and the same buyers (same arrival, same
attributes, same draws) are followed in the others: what a design changes, one buyer at a
time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .market import ENDOGENOUS_ID_BASE
from .model import SimResult, simulate
from .scenario import Problem, ScenarioError, load_scenario
from .story import WEEKDAYS, ending, format_story, market_buyers, story, when
from .streams import replication_seed
from .units import parse_duration

__all__ = ["add_arguments", "funnel_table", "main", "select", "where_columns"]

#: Buyers-table columns measured in days: ``--where`` accepts units for them (``>2d``).
_DAY_COLUMNS = {"arrive_at", "lost_at", "contact_at", "first_response_wait", "won_at", "churned_at", "ttv"}


# ---------------------------------------------------------------- selecting buyers


def where_columns(res: SimResult) -> pd.DataFrame:
    """The buyers table with the columns ``--where`` adds: lost_reason, contacted, won (in the
    run), installed (a customer of the installed base), contact_day, contact_hour, arrive_day,
    arrive_hour."""
    b = res.buyers.copy()
    b["lost_reason"] = b.reason
    b["contacted"] = b.contact_at.notna()
    b["installed"] = b.source == "installed"
    b["won"] = b.won_at.notna() & ~b.installed
    for col, src in (("contact", "contact_at"), ("arrive", "arrive_at")):
        t = b[src]
        day = np.floor(t)
        b[f"{col}_day"] = [WEEKDAYS[int(d) % 7].lower() if d == d else "" for d in day]
        b[f"{col}_hour"] = (t - day) * 24
    return b


_OPS = ("!=", ">=", "<=", "=", ">", "<")


def _condition(table: pd.DataFrame, text: str) -> pd.Series:
    for op in _OPS:
        if op in text:
            key, _, raw = text.partition(op)
            break
    else:
        raise ScenarioError([Problem("--where", None, text, "expected KEY=VALUE (or !=, >, >=, <, <=)")])
    key, raw = key.strip(), raw.strip()
    if key not in table.columns:
        known = ", ".join(sorted(table.columns))
        raise ScenarioError([Problem("--where", None, key, f"unknown column; expected one of {known}")])
    col = table[key]
    try:
        if col.dtype == bool:
            if raw.lower() not in ("yes", "no", "true", "false", "1", "0"):
                raise ValueError("expected yes or no")
            value: Any = raw.lower() in ("yes", "true", "1")
        elif pd.api.types.is_numeric_dtype(col):
            value = parse_duration(raw) if key in _DAY_COLUMNS else float(raw)
        else:
            value = raw
            if op not in ("=", "!="):
                raise ValueError(f"{key} is text: use = or !=")
    except ValueError as exc:
        raise ScenarioError([Problem("--where", None, text, str(exc))]) from None
    return {"=": col == value, "!=": col != value, ">": col > value, ">=": col >= value,
            "<": col < value, "<=": col <= value}[op]


def select(res: SimResult, buyers: Sequence[int] = (), where: Sequence[str] = (), sample: int | None = None,
           seed: int = 0) -> list[int]:
    """Buyer ids: the ``buyers`` asked for, or up to ``sample`` (default 3) of those matching
    every ``where`` (default: buyers who asked for contact), drawn with ``seed``, in id order."""
    table = where_columns(res)
    if buyers:
        missing = sorted(set(buyers) - set(table.id))
        if missing:
            raise ScenarioError([Problem("--buyer", None, "", f"no buyer {', '.join(map(str, missing))} in this run "
                                                              f"(ids 0-{int(table.id[table.id < ENDOGENOUS_ID_BASE].max())})")])
        return sorted(set(buyers))
    keep = pd.Series(True, index=table.index)
    for text in where:
        keep &= _condition(table, text)
    if not where:
        keep &= table.contacted
    ids = table.id[keep].to_numpy()
    n = 3 if sample is None else sample
    if len(ids) > n:
        ids = np.random.default_rng(seed).choice(ids, size=n, replace=False)
    return sorted(int(i) for i in ids)


# ---------------------------------------------------------------- where buyers were lost


def funnel_table(res: SimResult) -> str:
    """Where this replication's buyers (those who arrived in the measured window) were lost, and why."""
    scn, b, ev = res.scenario, res.buyers, res.events
    t0, t1 = scn.simulation.warmup, scn.simulation.horizon
    cohort = b[(b.arrive_at >= t0) & (b.arrive_at < t1)]
    ids = set(cohort.id)
    seen = ev[ev.buyer.isin(ids) & ev.event.isin(["queue", "lost"])]
    rows = [["step", "reached", "lost here", "why"]]

    def lost_at(mask: pd.Series) -> tuple[str, str]:
        lost = cohort[mask]
        counts = lost.reason.value_counts()
        return f"{len(lost):,}", ", ".join(f"{reason} {n:,}" for reason, n in counts.items())

    rows.append(["arrived", f"{len(cohort):,}", *lost_at((cohort.state == "lost") & (cohort.lost_activity == ""))])
    rows.append(["asked for contact", f"{int(cohort.contact_at.notna().sum()):,}", "", ""])
    for act in scn.market.journey.acquisition:
        reached = seen.buyer[seen.activity == act].nunique()
        rows.append([act, f"{reached:,}", *lost_at((cohort.state == "lost") & (cohort.lost_activity == act))])
    rows.append(["won", f"{int(cohort.won_at.notna().sum()):,}", "", ""])
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.rjust(w) if i in (1, 2) else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    lines.insert(1, "-" * max(map(len, lines)))
    flight = int((cohort.state == "in_flight").sum())
    customers = int(cohort.won_at.notna().sum())
    title = (f"Where buyers were lost: {scn.name} (one replication; the {len(cohort):,} buyers who arrived "
             f"between day {t0:g} and day {t1:g})")
    tail = (f"still in the journey at the end: {flight:,}; of the {customers:,} who signed, "
            f"{int((cohort.state == 'churned').sum()):,} have churned since.")
    return "\n".join([title, "", *lines, "", tail])


# ---------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``orgsim trace``."""
    parser.description = ("Tell the story of individual buyers in one simulated replication: every step with "
                          "its time, queue, wait, handoffs and the probability each decision was drawn against. "
                          "With several scenarios, buyers are chosen in the first and the same buyers are "
                          "followed in the others.")
    parser.add_argument("scenarios", type=Path, nargs="+", metavar="SCENARIO")
    parser.add_argument("--buyer", type=int, action="append", default=[], metavar="ID", help="a buyer id (repeatable)")
    parser.add_argument("--sample", type=int, metavar="N", help="how many matching buyers to show (default 3)")
    parser.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                        help="select buyers by a buyers-table column, e.g. lost_reason=no_response, segment=ent, "
                             "source=outbound, contact_day=fri, contact_hour>=17, acv>100000 (repeatable: all must hold)")
    parser.add_argument("--funnel", action="store_true",
                        help="print where this replication's buyers were lost, step by step (with --buyer, --where "
                             "or --sample, the stories follow)")
    parser.add_argument("--csv", action="store_true", help="one CSV row per step instead of text")
    parser.add_argument("--seed", type=int, help="root seed, as in orgsim run (default: the scenario's)")
    parser.add_argument("--replication", type=int, default=0, help="which replication of that seed (default 0)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override a scenario value (applies to every scenario; repeatable)")


def main(args: argparse.Namespace) -> int:
    """Run ``orgsim trace``: 0 done, 1 no buyer matched, 2 bad input."""
    if args.buyer and (args.where or args.sample is not None):
        print("orgsim trace: --buyer picks buyers itself; leave out --where and --sample", file=sys.stderr)
        return 2
    for name in ("sample", "seed", "replication"):
        value = getattr(args, name)
        if value is not None and value < (1 if name == "sample" else 0):
            print(f"orgsim trace: --{name} must be at least {1 if name == 'sample' else 0}, got {value}", file=sys.stderr)
            return 2
    scenarios = [load_scenario(p, args.overrides) for p in args.scenarios]
    for scn, path in zip(scenarios, args.scenarios):
        if scn.abstract:
            raise ScenarioError([Problem(str(path), None, "abstract", "a market to extend, not a design to run")])
    root = scenarios[0].simulation.seed if args.seed is None else args.seed
    seed = replication_seed(root, args.replication)
    runs = [simulate(scenarios[0], seed, decisions=True)]
    ids = select(runs[0], args.buyer, args.where, args.sample, seed)
    runs += [simulate(s, seed, decisions=True) for s in scenarios[1:]]
    if args.funnel and not args.csv:
        print("\n\n".join(funnel_table(res) for res in runs))
        if not (args.buyer or args.where or args.sample):
            return 0  # the funnel alone
        print()
    if not ids:
        print("orgsim trace: no buyer matches " + " and ".join(args.where or ["the selection"]), file=sys.stderr)
        return 1
    drawn = market_buyers(scenarios[0], seed, ids)
    rows: list[dict[str, Any]] = []
    texts = []
    for buyer_id in ids:
        for k, res in enumerate(runs):
            scn = res.scenario
            table = res.buyers.set_index("id", drop=False)
            if buyer_id not in table.index:
                texts.append(f"buyer {buyer_id} in {scn.name}: not created in this design")
                continue
            row = table.loc[buyer_id]
            events = res.events[res.events.buyer == buyer_id]
            buyer = drawn.get(buyer_id)
            made = None if res.decisions is None else res.decisions[res.decisions.buyer == buyer_id]
            steps = story(scn, row, events, buyer, made)
            text = format_story(scn, row, steps, buyer)
            if k > 0 and buyer_id >= ENDOGENOUS_ID_BASE:
                text += "\n  (organization-created buyers are numbered in the order each design creates them: not the same person)"
            texts.append(text)
            rows += [{"scenario": scn.name, "replication": args.replication, "seed": seed, "buyer": buyer_id,
                      "day": int(s.time), "weekday": WEEKDAYS[int(s.time) % 7], "clock": when(s.time)[-5:],
                      **{k2: v for k2, v in asdict(s).items() if k2 != "consistent"}} for s in steps]
            rows.append({"scenario": scn.name, "replication": args.replication, "seed": seed, "buyer": buyer_id,
                         "time": np.nan, "step": "end", "text": ending(scn, row), "outcome": row.state})
    if args.csv:
        pd.DataFrame(rows).to_csv(sys.stdout, index=False)
    else:
        print(f"Replication {args.replication} of seed {root} (replication seed {seed}); "
              f"time 0 is Monday 00:00.\n")
        print("\n\n".join(texts))
    return 0


def _cli(argv: Sequence[str] | None = None) -> int:
    """``python -m sim.trace``: the command on its own, until it is wired into ``orgsim``."""
    parser = argparse.ArgumentParser(prog="orgsim trace")
    add_arguments(parser)
    try:
        return main(parser.parse_args(argv))
    except ScenarioError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_cli())
