"""Shared fixtures: small scenarios written to a temporary folder."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"

#: A tiny complete scenario: one segment, one channel, every buyer contacts sales at once.
TINY: dict[str, Any] = {
    "name": "tiny",
    "simulation": {"horizon": "4w", "warmup": "0d", "reps": 2, "seed": 7},
    "market": {
        "channels": {"web": {"rate_per_week": 0}},
        "segments": {
            "smb": {
                "share": 1.0,
                "acv": {"dist": "constant", "value": 10000},
                "fit": {"dist": "constant", "value": 0.5},
                "contact_probability": 1.0,
                "rep_free_preference": 0.0,
                "automation_aversion": 0.0,
                "patience": {"dist": "constant", "value": "30d"},
                "research_time": {"dist": "constant", "value": 0},
                "stage_conversion": {"demo": 1.0},
                "time_to_value": {"dist": "constant", "value": "5d"},
                "ttv_target": "30d",
                "base_churn_annual": 0.0,
            }
        },
        "activities": {
            "first_response": {"kind": "contact", "work": {"dist": "constant", "value": "1h"}},
            "demo": {"kind": "stage", "work": {"dist": "constant", "value": "2h"}},
        },
        "journey": {"acquisition": ["first_response", "demo"], "retention": []},
        "effects": {"lead_decay": {"floor": 1.0}, "context_loss_probability": 0.0},
    },
    "roles": {
        "sdr": {"headcount": 1},
        "ae": {"headcount": 1},
    },
    "routing": {"first_response": "sdr", "demo": "ae"},
}


def _set(tree: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for p in parts[:-1]:
        tree = tree.setdefault(p, {})
    tree[parts[-1]] = value


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[..., Path]:
    """Write TINY with dotted-key changes to a YAML file and return its path."""

    def make(changes: dict[str, Any] | None = None, name: str = "tiny.yaml", base: dict | None = None) -> Path:
        tree = copy.deepcopy(TINY if base is None else base)
        for key, value in (changes or {}).items():
            _set(tree, key, value)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(tree, sort_keys=False))
        return path

    return make


#: The test files that take longest, longest first (wall seconds of each under coverage with two
#: processes, measured 2026-12-02; update when a file's cost changes a lot). pytest-xdist hands
#: out whole files (--dist loadfile) in collection order (--no-loadscope-reorder in pyproject):
#: started first, the long files run side by side while the short ones fill in around them;
#: started last, one of them would run alone at the end while the other process waits.
#: Only the order of files changes: every file's tests still run in their own order.
SLOWEST_FIRST = [
    "test_docs_golden_tutorial.py",
    "test_docs_golden_scenarios.py",
    "test_robustness.py",
    "test_docs_golden_readme.py",
    "test_fuzz.py",
    "test_app.py",
    "test_calibrate.py",
    "test_sweep.py",
    "test_crn.py",
    "test_faults.py",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order
