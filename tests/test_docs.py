"""docs/model.md documents every key of every shipped scenario, and its tables are up to date."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

import sim

from conftest import ROOT, SCENARIOS

MODEL_MD = ROOT / "docs" / "model.md"

#: Mappings keyed by names the user chooses, and the placeholder each name becomes in the docs.
NAMED = {
    ("roles",): "<role>", ("calendars",): "<calendar>", ("routing",): "<activity>", ("assists",): "<activity>",
    ("market", "segments"): "<segment>", ("market", "channels"): "<channel>",
    ("market", "activities"): "<activity>", ("market", "segments", "<segment>", "stage_conversion"): "<activity>",
    ("market", "channels", "<channel>", "segment_tilt"): "<segment>", ("market", "outbound", "segment_tilt"): "<segment>",
    ("routing", "<activity>"): "<segment>",
    ("market", "job_costs"): "<job>", ("market", "job_ramp_times"): "<job>", ("roles", "<role>", "mix"): "<job>",
    ("market", "installed_base", "segments"): "<segment>",
}


def key_paths(node: Any, path: tuple[str, ...] = ()) -> set[str]:
    """Every key path of a dumped scenario, with user-chosen names as placeholders.

    A distribution (a mapping with ``dist``) and a list of plain values are one key; a list of
    mappings (``bridges``) is written ``bridges[].sender``.
    """
    if isinstance(node, dict) and "dist" not in node and node:
        out: set[str] = set()
        for key, value in node.items():
            out |= key_paths(value, path + (NAMED.get(path, str(key)),))
        return out
    if isinstance(node, list) and node and all(isinstance(item, dict) for item in node):
        head = path[:-1] + (path[-1] + "[]",)
        return {p for item in node for p in key_paths(item, head)}
    return {".".join(path).replace("[].", "[].")}


def shipped_scenarios() -> list[Path]:
    return sorted(SCENARIOS.glob("*.yaml")) + sorted(SCENARIOS.glob("validation/*.yaml"))


def test_placeholders_stand_for_user_chosen_names():
    scn = sim.load_scenario(SCENARIOS / "hybrid.yaml")
    paths = key_paths(scn.model_dump())
    assert {"roles.<role>.headcount", "market.segments.<segment>.stage_conversion.<activity>",
            "routing.<activity>", "routing.<activity>.<segment>", "bridges",
            "market.channels.<channel>.segment_tilt.<segment>", "market.segments.<segment>.acv"} <= paths
    assert "roles.key_accounts.headcount" not in paths
    bridges = key_paths(sim.load_scenario(SCENARIOS / "bridge_sales.yaml").model_dump())
    assert "bridges[].sender_work" in bridges


@pytest.mark.parametrize("path", shipped_scenarios(), ids=lambda p: p.name)
def test_every_key_of_every_shipped_scenario_is_documented(path):
    text = MODEL_MD.read_text(encoding="utf-8")
    documented = set(re.findall(r"`([^`\s]+)`", text))
    missing = sorted(key_paths(sim.load_scenario(path).model_dump()) - documented)
    assert not missing, f"{path.name}: not documented in docs/model.md: {', '.join(missing)}"


def test_parameter_tables_are_up_to_date():
    spec = importlib.util.spec_from_file_location("gen_model_tables", ROOT / "docs" / "gen_model_tables.py")
    gen = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(gen)
    text = MODEL_MD.read_text(encoding="utf-8")
    assert gen.render(text) == text, "docs/model.md is out of date: run python docs/gen_model_tables.py"


def test_every_parameter_row_says_where_it_acts_and_where_its_value_comes_from():
    rows = [line for line in MODEL_MD.read_text(encoding="utf-8").splitlines()
            if line.startswith("| `") and line.count(" | ") == 7]
    assert len(rows) > 100
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        key, where, source = cells[0], cells[5], cells[6]
        assert where.startswith("`") and where != "``", key
        if key.strip("`").split(".")[0] in ("name", "description", "extends", "abstract", "simulation"):
            continue
        assert source and source != "-", key
        assert ("assumption" in source or "sources.md#" in source or "design choice" in source
                or "none in the default market" in source or "HBR" in source), key
        if source.startswith("assumption"):  # and its plausible range beside it (sim/assumptions.py)
            assert cells[7] not in ("", "-"), key


def test_every_kpi_has_its_formula_on_the_page():
    text = MODEL_MD.read_text(encoding="utf-8")
    for kpi in sim.KPI_DOCS:
        assert f"| `{kpi}` |" in text, kpi


def test_every_enters_at_names_a_function_that_exists():
    rows = [line for line in MODEL_MD.read_text(encoding="utf-8").splitlines()
            if line.startswith("| `") and line.count(" | ") == 7]
    checked = 0
    for row in rows:
        where = row.strip("|").split(" | ")[5].strip().strip("`")
        for item in re.split(r",|->", where):
            name = item.strip().split(" (")[0]
            if "." not in name:
                continue
            module, _, attr = name.partition(".")
            obj: Any = importlib.import_module(f"sim.{module}")
            for part in attr.split("."):
                obj = getattr(obj, part, None)
                assert obj is not None, f"docs/model.md says a key enters at {name}, which does not exist"
            checked += 1
    assert checked > 100
