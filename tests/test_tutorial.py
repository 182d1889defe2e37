"""docs/tutorial.md and examples/ run: every ``$ orgsim`` command, on a short horizon.

The tutorial marks what to check with an HTML comment right before a console block::

    <!-- test
    expect: conversion_rate        (a line the output must contain; the block shows it too)
    requires: sweep                (skip while `orgsim sweep` is not available)
    -->

and files to create with ``<!-- file: lab/unified.yaml -->`` before a yaml block. The checks
are structural (labels, headers, stable facts), never random numbers, so they survive a
recalibration of the market. Commands run in a temporary folder where ``scenarios`` links to
the repository's, with ``--reps 2`` and a 120-day horizon, in this process (through
``sim.cli.main``, or ``sim.check`` / ``sim.trace`` directly until they are wired into it).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import re
import runpy
import shlex
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

from conftest import ROOT

TUTORIAL = ROOT / "docs" / "tutorial.md"
SHORT = ["--set", "simulation.horizon=120d", "--set", "simulation.warmup=20d"]
#: Subcommands that write a results folder (charts are skipped to save time).
WRITERS = {"run", "compare", "sweep"}
#: Subcommands that run replications (``--reps`` is forced to 2).
REPLICATING = {"run", "compare", "sweep", "check"}


@dataclass
class Block:
    line: int
    commands: list[str]
    shown: str
    expect: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)


def parse(text: str) -> tuple[list[Block], dict[str, str]]:
    """The console blocks (with their checks) and the files of a tutorial."""
    blocks, files = [], {}
    pattern = re.compile(r"(?:<!--(?P<meta>(?:(?!-->).)*)-->\s*\n)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.DOTALL)
    for m in pattern.finditer(text):
        meta, lang, body = (m.group("meta") or "").strip(), m.group("lang"), m.group("body")
        line = text[: m.start("body")].count("\n") + 1
        if meta.startswith("file:"):
            files[meta.removeprefix("file:").strip()] = body
            continue
        if lang != "console":
            continue
        commands = [ln[2:] for ln in body.splitlines() if ln.startswith("$ ")]
        shown = "\n".join(ln for ln in body.splitlines() if not ln.startswith("$ "))
        block = Block(line, commands, shown)
        if meta.startswith("test"):
            for item in meta.splitlines()[1:]:
                key, _, value = item.partition(":")
                if key.strip() == "expect":
                    block.expect.append(value.strip())
                elif key.strip() == "requires":
                    block.requires.append(value.strip())
        blocks.append(block)
    return blocks, files


BLOCKS, FILES = parse(TUTORIAL.read_text(encoding="utf-8"))


@cache
def available(subcommand: str) -> bool:
    """Is ``orgsim SUBCOMMAND`` wired into the command line?"""
    from sim.cli import build_parser

    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            build_parser().parse_args([subcommand, "--help"])
    except SystemExit as exc:
        return exc.code == 0
    return True


def argv(command: str) -> list[str]:
    """The command's arguments as the test runs it: shorter, quieter, 2 replications, 1 process."""
    words = shlex.split(command)
    assert words[0] == "orgsim", command
    sub = words[1]
    out = []
    skip = False
    for w in words[1:]:
        if skip:
            skip = False
            continue
        if w in ("--reps", "--jobs"):
            skip = True
            continue
        out.append(w)
    if sub in REPLICATING:
        out += ["--reps", "2", "--jobs", "1"]
    if sub in WRITERS:
        out += ["--no-charts", "--quiet"]
    return out + SHORT


def orgsim(args: list[str]) -> tuple[int, str, str]:
    """Run ``orgsim ARGS`` in this process (no start-up cost): status, stdout, stderr."""
    from sim.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        if available(args[0]):
            status = main(args)
        else:
            # Before `check` and `trace` are wired into the CLI, run their modules directly.
            assert args[0] in ("check", "trace"), f"orgsim {args[0]} is not available"
            module = importlib.import_module(f"sim.{args[0]}")
            status = module._cli(args[1:])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder with the repository's scenarios and the tutorial's files."""
    folder = tmp_path_factory.mktemp("lab")
    (folder / "scenarios").symlink_to(ROOT / "scenarios", target_is_directory=True)
    for name, body in FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return folder


def test_the_tutorial_has_its_steps():
    text = TUTORIAL.read_text(encoding="utf-8")
    subcommands = {shlex.split(c)[1] for b in BLOCKS for c in b.commands}
    assert {"run", "trace", "compare", "sweep", "check"} <= subcommands
    for heading in ("Run THE MODEL", "Where are buyers lost", "Follow three buyers", "Change one lever",
                    "Compare designs", "paired difference", "A sweep", "Exercises"):
        assert heading in text, heading
    assert text.count("<details><summary>Answer</summary>") >= 5
    assert "lab/unified.yaml" in FILES


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: f"line{b.line}-{shlex.split(b.commands[0])[1]}")
def test_tutorial_block_runs(block: Block, lab: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(lab)
    for need in block.requires:
        if not available(need):
            pytest.skip(f"orgsim {need} is not available yet")
    assert block.commands, f"console block at line {block.line} has no $ orgsim command"
    for expected in block.expect:
        if block.shown.strip():
            assert expected in block.shown, f"line {block.line}: the tutorial's own output lacks {expected!r}"
    for command in block.commands:
        status, stdout, stderr = orgsim(argv(command))
        assert status == 0, f"{command}\n{stderr[-2000:]}"
        for expected in block.expect:
            assert expected in stdout, f"{command}: output lacks {expected!r}\n{stdout[:3000]}"
        folder = re.search(r"^results: (.+)$", stdout, re.MULTILINE)
        if shlex.split(command)[1] in WRITERS:
            assert folder and (lab / folder.group(1)).is_dir(), command
        if shlex.split(command)[1] == "compare":
            paired = (lab / folder.group(1) / "paired.csv").read_text().splitlines()[0]  # type: ignore[union-attr]
            assert paired == "scenario,baseline,kpi,diff_mean,diff_ci_low,diff_ci_high,n"


def _shape(text: str) -> list[str]:
    """Lines with every number masked: what must not change when the numbers do."""
    masked = re.sub(r"[-+]?\$?\d[\d,]*(\.\d+)?(e[-+]?\d+)?[%KM]?", "#", text)
    return [" ".join(line.split()) for line in masked.splitlines() if line.strip()]


def test_notebook_example_prints_what_its_stored_output_shows(lab: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(lab)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(str(ROOT / "examples" / "notebook_api.py"), run_name="__main__")
    stored = (ROOT / "examples" / "notebook_api.out.txt").read_text(encoding="utf-8")
    assert _shape(out.getvalue()) == _shape(stored)
    assert (lab / "results" / "notebook_api.png").is_file()
