"""Hostile cases against the command line, as an attacker or a careless user would try them.

Each case runs ``python -m sim ...`` in a fresh process with a time limit and is classified:

- ok: exit 0 (and its results folder exists);
- refused: exit 1 or 2 with a one-line ``orgsim``-style message, no traceback;
- traceback: a Python traceback on stderr;
- hang: still running at the time limit (killed);
- lost: a simulation finished but its results are neither where asked nor where the
  message says they were saved;
- unsafe: it ran, but a CSV cell starts like a spreadsheet formula.

    python benchmarks/hostile.py            # prints one line per case, then the counts
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCN = str(ROOT / "scenarios" / "siloed.yaml")
QUICK = ["--reps", "2", "--jobs", "1", "--quiet", "--no-charts"]
SHORT = ["--set", "simulation.horizon=60d", "--set", "simulation.warmup=0d", "--reps", "2", "--jobs", "1",
         "--quiet", "--no-charts"]
TINY = """
name: {name}
simulation: {{horizon: 8w, warmup: 0d, reps: 2, seed: 7}}
market:
  channels: {{web: {{rate_per_week: 20}}}}
  segments:
    smb:
      share: 1.0
      acv: {{dist: constant, value: 10000}}
      fit: {{dist: constant, value: 0.5}}
      contact_probability: 1.0
      rep_free_preference: 0.0
      automation_aversion: 0.0
      patience: {{dist: constant, value: 30d}}
      research_time: {{dist: constant, value: 0}}
      stage_conversion: {{demo: 1.0}}
      time_to_value: {{dist: constant, value: 5d}}
      ttv_target: 30d
      base_churn_annual: 0.0
  activities:
    first_response: {{kind: contact, work: {{dist: constant, value: 1h}}}}
    demo: {{kind: stage, work: {{dist: constant, value: {work}}}}}
  journey: {{acquisition: [first_response, demo], retention: []}}
roles: {{sdr: {{headcount: 1}}, ae: {{headcount: {ae}}}}}
routing: {{first_response: sdr, demo: ae}}
"""


def tiny(tmp: Path, name: str = "tiny", work: str = "2h", ae: str = "1") -> str:
    path = tmp / f"{abs(hash((name, work, ae)))}.yaml"
    path.write_text(TINY.format(name=json.dumps(name, ensure_ascii=False), work=work, ae=ae), encoding="utf-8")
    return str(path)


def run(argv: list[str], timeout: float = 90, cwd: Path = ROOT) -> tuple[int | None, str, str]:
    proc = subprocess.Popen([sys.executable, "-m", "sim", *argv], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return None, out, err


def classify(code: int | None, out: str, err: str, finished_work: bool = False) -> str:
    if code is None:
        return "hang"
    if "Traceback" in err:
        return "traceback"
    if code == 0:
        m = re.search(r"^results: (.+)$", out, re.M)
        if m and not Path(m.group(1)).is_dir():
            return "lost"
        return "ok"
    saved = re.search(r"saved in (\S+) instead", err)
    kept = re.search(r"kept in (\S+) \(", err)
    if "could not write the results" in err:
        if (saved and Path(saved.group(1)).is_dir()) or (kept and Path(kept.group(1)).is_dir()):
            return "refused"
        return "lost"
    if finished_work:
        return "lost"
    problems = [line for line in err.strip().splitlines() if line.strip() and not line.startswith(("usage:", " "))]
    return "refused" if code in (1, 2, 130) and problems else "unclear"


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="orgsim-hostile-"))
    out = str(tmp / "results")
    cases: list[tuple[str, list[str]]] = []

    def add(name: str, argv: list[str]) -> None:
        cases.append((name, argv))

    # Silently wrong
    add("headcount 0 reached by nurture", ["run", str(ROOT / "tests/data/bad/headcount_zero_reached_by_nurture.yaml"),
                                          "--out", out])
    add("headcount 0 reached by assists", ["run", str(ROOT / "tests/data/bad/headcount_zero_reached_by_assist.yaml"),
                                          "--out", out])
    add("headcount 0 bridge sender", ["run", str(ROOT / "scenarios/bridge_sales.yaml"), "--set",
                                     "roles.partner={headcount: 0}", "--set",
                                     "bridges=[{sender: partner, receiver: field_sales}]", "--out", out])
    add("headcount: true", ["run", SCN, "--set", "roles.inside_sales.headcount=true", "--out", out])
    add("reps: true", ["run", SCN, "--set", "simulation.reps=true", "--out", out])
    add("probability: false", ["run", SCN, "--set", "data_integration=false", "--out", out])
    # Never hang, never exhaust memory
    add("--reps 1e9", ["run", SCN, "--reps", "1000000000", "--out", out])
    add("--reps 100000", ["run", SCN, "--reps", "100000", "--out", out])
    add("simulation.reps=10^8", ["run", SCN, "--set", "simulation.reps=100000000", "--out", out])
    add("--vary tiny step", ["sweep", SCN, "--vary", "data_integration=0:1:1e-9", "--out", out])
    add("--vary subnormal step", ["sweep", SCN, "--vary", "data_integration=0:1:5e-324", "--out", out])
    add("--vary 1000x1000 grid", ["sweep", SCN, "--vary", "data_integration=0:1:0.001", "--vary",
                                  "market.segments.smb.contact_probability=0:1:0.001", "--out", out])
    add("--lhs 10^7", ["sweep", SCN, "--lhs", "10000000", "--vary", "data_integration=0:1", "--out", out])
    add("--lhs 10^12", ["sweep", SCN, "--lhs", "1000000000000", "--vary", "data_integration=0:1", "--out", out])
    add("--vary list of 20000 values", ["sweep", SCN, "--vary", "roles.inside_sales.headcount=" +
                                        ",".join(str(i) for i in range(1, 20001)), "--out", out])
    add("--jobs 1000 for 2 reps", ["run", tiny(tmp), "--jobs", "1000", "--reps", "2", "--quiet", "--no-charts",
                                   "--out", out])
    add("work of 1e12 days", ["run", tiny(tmp, "trillion", work="1000000000000"), *QUICK, "--out", out])
    add("work of 1e11 days, ae 3", ["run", tiny(tmp, "big", work="100000000000", ae="3"), *QUICK,
                                    "--out", out])
    add("overloaded queue (warns)", ["run", tiny(tmp, "overload", work="10d"), *QUICK, "--out", out])
    add("contract_term 1e-6 d", ["run", SCN, "--set", "market.segments.smb.contract_term=1e-6", "--out", out])
    add("checkin_interval 1 min", ["run", SCN, "--set", "market.journey.checkin_interval=1min", "--out", out])
    add("horizon 200 years", ["run", SCN, "--set", "simulation.horizon=200y", "--out", out])
    add("horizon 1e12 days", ["run", tiny(tmp), "--set", "simulation.horizon=1000000000000", "--out", out])
    add("rate 1e7 a week", ["run", SCN, "--set", "market.channels.search.rate_per_week=10000000", "--out", out])
    add("scenario /dev/zero", ["run", "/dev/zero", "--out", out])
    add("scenario /dev/urandom", ["validate", "/dev/urandom"])
    fifo = tmp / "fifo.yaml"
    os.mkfifo(fifo)
    add("scenario is a FIFO (never ends)", ["run", str(fifo), "--out", out])
    big = tmp / "big.yaml"
    big.write_bytes(b"name: big\n#" + b"x" * (5 << 20) + b"\n")
    add("scenario of 5 MB", ["validate", str(big)])
    add("scenario is a folder", ["run", str(tmp), "--out", out])
    bomb = tmp / "bomb.yaml"
    bomb.write_text("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi")))
    add("YAML alias bomb", ["validate", str(bomb)])
    # Every input class answered cleanly
    for address in ("tcp://host:port", "", "tcp://:8786", "not an address", "tcp://h:99999", "tcp://h:1/x"):
        add(f"--scheduler {address!r}", ["run", SCN, "--executor", "dask", "--scheduler", address, "--out", out])
    add("--set deeply nested", ["run", SCN, "--set", "x" + ".x" * 3000 + "=1", "--out", out])
    add("--set deeply nested value", ["run", SCN, "--set", "description=" + "[" * 5000 + "]" * 5000, "--out", out])
    add("--vary .nan bound", ["sweep", SCN, "--vary", "data_integration=.nan:1:0.1", "--out", out])
    add("--vary .inf stop", ["sweep", SCN, "--vary", "data_integration=0:.inf:0.1", "--out", out])
    add("name with a formula", ["run", tiny(tmp, "=HYPERLINK(\"http://evil\")"), *QUICK, "--out", out])
    add("name starting with @", ["run", tiny(tmp, "@SUM(1+1)"), *QUICK, "--out", out])
    add("name with control characters", ["run", tiny(tmp, "a\u001b[31mred\u0007"), *QUICK, "--out", out])
    add("name 60 4-byte letters", ["run", tiny(tmp, "\U0001d49c" * 60 + "x" * 100), *QUICK, "--out", out])
    # Output locations
    (tmp / "file").write_text("x")
    add("--out is a file", ["run", tiny(tmp), *QUICK, "--out", str(tmp / "file")])
    add("--out below a file", ["run", tiny(tmp), *QUICK, "--out", str(tmp / "file" / "sub")])
    add("--out name 300 bytes", ["run", tiny(tmp), *QUICK, "--out", str(tmp / ("x" * 300))])
    add("--out in /proc", ["run", tiny(tmp), *QUICK, "--out", "/proc/orgsim-results"])

    counts: Counter[str] = Counter()
    for name, argv in cases:
        started = time.monotonic()
        code, stdout, stderr = run(argv)
        kind = classify(code, stdout, stderr)
        if kind == "ok" and _formula_cells(stdout):
            kind = "unsafe"  # a CSV cell a spreadsheet would run as a formula
        counts[kind] += 1
        first = next((ln for ln in stderr.splitlines() if ln.startswith("orgsim") or ": " in ln), "")
        print(f"{kind:9} {time.monotonic() - started:5.1f}s  {name}: {first[:150]}")

    for name, fn in _special(tmp):
        started = time.monotonic()
        kind, note = fn()
        counts[kind] += 1
        print(f"{kind:9} {time.monotonic() - started:5.1f}s  {name}: {note[:150]}")

    total = sum(counts.values())
    print(f"\ncases tried: {total}; ok: {counts['ok']}; clean refusals: {counts['refused']}; "
          f"tracebacks: {counts['traceback']}; hangs: {counts['hang']}; lost results: {counts['lost']}; "
          f"unclear: {counts['unclear']}; formula cells in CSVs: {counts['unsafe']}")
    return 0 if not (counts["traceback"] or counts["hang"] or counts["lost"] or counts["unclear"]
                     or counts["unsafe"]) else 1


def _special(tmp: Path):  # type: ignore[no-untyped-def]
    """Cases that need more than one command: faults, concurrency, kills, damaged folders."""
    cases = []

    def on_tmpfs(size: str, fill: int, argv: list[str]) -> tuple[str, str]:
        """Run ``argv`` (``OUT`` marks --out's place) with --out on a small tmpfs holding ``fill`` bytes."""
        mnt = Path(tempfile.mkdtemp(dir=tmp))
        if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                          capture_output=True).returncode != 0:
            return "ok", "skipped: cannot mount a tmpfs"
        try:
            if fill:
                (mnt / "filler").write_bytes(b"x" * fill)
            code, out, err = run([str(mnt / "results") if a == "OUT" else a for a in argv])
            return classify(code, out, err, finished_work=code not in (0, 2)), err.strip()[-150:]
        finally:
            subprocess.run(["umount", "-l", str(mnt)], check=False)

    def full_disk_at_the_end() -> tuple[str, str]:
        # A tmpfs that passes the check before simulating (about 1 MiB free) and that the folder,
        # measured first, outgrows: the disk fills while the folder is written, whatever the
        # files' sizes are now (five designs: a run of one takes less than the check asks for).
        designs = [tiny(tmp, f"charts {i}") for i in range(5)]
        argv = ["compare", *designs, "--reps", "2", "--jobs", "1", "--quiet", "--out", "OUT"]
        room = tmp / "room"
        code, _, err = run([str(room) if a == "OUT" else a for a in argv])
        if code != 0:
            return classify(code, "", err), err.strip()[-150:]
        size = sum(f.stat().st_size for f in room.rglob("*") if f.is_file()) >> 10
        verdict, said = on_tmpfs(f"{max(1100, size * 3 // 4)}k", 0, argv)
        if verdict == "ok":  # it fitted after all: the case did not test what it names
            return "unclear", f"the folder ({size} KiB) fitted on the tmpfs"
        return verdict, said

    def full_disk_before() -> tuple[str, str]:
        return on_tmpfs("256k", 250 << 10, ["run", tiny(tmp), *QUICK, "--out", "OUT"])

    def concurrent_writes() -> tuple[str, str]:
        out = tmp / "concurrent"
        scn = tiny(tmp, "same")
        procs = [subprocess.Popen([sys.executable, "-m", "sim", "run", scn, *QUICK, "--reps", "1", "--out",
                                   str(out)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for _ in range(10)]
        codes = [p.wait(timeout=300) for p in procs]
        folders = [p for p in out.iterdir() if not p.name.startswith(".")] if out.is_dir() else []
        if any(p.stderr and "Traceback" in p.stderr.read() for p in procs):
            return "traceback", ""
        return ("ok" if codes == [0] * 10 and len(folders) == 10 else "lost"), f"{len(folders)} of 10 folders"

    def sigkill_parent() -> tuple[str, str]:
        proc = subprocess.Popen([sys.executable, "-m", "sim", "run", SCN, "--reps", "40", "--jobs", "2", "--quiet",
                                 "--set", "simulation.horizon=1y", "--set", "simulation.warmup=30d",
                                 "--out", str(tmp / "killed")], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and len(workers) < 2:
            workers = _children(proc.pid)
            time.sleep(0.1)
        time.sleep(1.0)
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and [w for w in workers if _alive(w)]:
            time.sleep(0.1)
        left = [w for w in workers if _alive(w)]
        for w in left:
            os.kill(w, signal.SIGKILL)
        return ("hang" if left else "refused"), f"{len(workers)} workers, {len(left)} alive 5 s after SIGKILL"

    def leftovers() -> tuple[str, str]:
        out = tmp / "leftovers"
        dead = out / ".tmp-999999999-x"
        dead.mkdir(parents=True)
        (dead / "summary.csv").write_text("scenario,kpi,mean,ci_low,ci_high,n\n")
        code, o, err = run(["report", str(dead)])
        kind = classify(code, o, err)
        code, o, err = run(["run", tiny(tmp), *QUICK, "--out", str(out)])
        if dead.exists():
            return "lost", "leftover not cleaned"
        return (kind if kind != "ok" else "unclear"), err.strip()

    def damaged(name: str, content: bytes) -> tuple[str, str]:
        out = tmp / f"damaged-{abs(hash((name, content)))}"
        code, o, err = run(["run", tiny(tmp), *QUICK, "--out", str(out)])
        (folder,) = [p for p in out.iterdir() if not p.name.startswith(".")]
        (folder / name).write_bytes(content)
        code, o, err = run(["report", str(folder)])
        return classify(code, o, err), err.strip()

    def resume_locked() -> tuple[str, str]:
        sys.path.insert(0, str(ROOT))
        from sim.plan import _open_checkpoint
        from sim.sweep import plan_sweep

        scn = tiny(tmp, "locked")
        plan = plan_sweep(scn, ["roles.sdr.headcount=1,2"], reps=2)
        folder = tmp / "cp"
        folder.mkdir()
        _open_checkpoint(folder, plan)
        fd = os.open(folder, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            code, o, err = run(["sweep", scn, "--vary", "roles.sdr.headcount=1,2", "--reps", "2", "--resume",
                                str(folder), "--out", str(tmp / "r-locked"), "--quiet", "--no-charts"])
        finally:
            os.close(fd)
        return classify(code, o, err), err.strip()

    def resume_damaged_plan() -> tuple[str, str]:
        folder = tmp / "cp2"
        folder.mkdir()
        (folder / "plan.json").write_text("{torn")
        code, o, err = run(["sweep", tiny(tmp), "--vary", "roles.sdr.headcount=1,2", "--resume", str(folder),
                            "--out", str(tmp / "r2"), "--quiet"])
        return classify(code, o, err), err.strip()

    def sigterm_report() -> tuple[str, str]:
        out = tmp / "report-term"
        run(["run", tiny(tmp), "--reps", "2", "--jobs", "1", "--quiet", "--out", str(out)])
        (folder,) = [p for p in out.iterdir() if not p.name.startswith(".")]
        before = {p: p.stat().st_mtime for p in folder.rglob("*") if p.is_file()}
        proc = subprocess.Popen([sys.executable, "-m", "sim", "report", str(folder), "--pptx"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)  # while it renders the charts
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        after = {p: p.stat().st_mtime for p in folder.rglob("*") if p.is_file()}
        changed = [p for p in after if before.get(p) != after[p]]
        if "Traceback" in err:
            return "traceback", err[-150:]
        if changed and "nothing was written" in err:
            return "lost", f"claims nothing was written; {len(changed)} files changed"
        return ("ok" if proc.returncode == 0 else "refused"), err.strip() or "finished before the signal"

    cases += [("disk fills up while writing", full_disk_at_the_end), ("disk full before simulating", full_disk_before),
              ("10 concurrent writes into one --out", concurrent_writes), ("parent killed with SIGKILL", sigkill_parent),
              ("leftover .tmp of a killed run", leftovers), ("second --resume while locked", resume_locked),
              ("--resume with a torn plan.json", resume_damaged_plan), ("SIGTERM during orgsim report", sigterm_report)]
    for name, content in [("summary.csv", b"\x00\xff"), ("summary.csv", b"a,b\n1,2\n"),
                          ("summary.csv", b"scenario,kpi,mean,ci_low,ci_high,n\ntiny,won,abc,x,y,z\n"),
                          ("manifest.json", b"{not json"), ("manifest.json", b"[]"), ("scenario.yaml", b"a: [b\n"),
                          ("scenario.yaml", b"- 1\n"), ("funnel.csv", b"x\n1\n"), ("arr.csv", b"\xff\xfe"),
                          ("survival.csv", b"")]:
        cases.append((f"report with damaged {name} ({content[:12]!r})", lambda n=name, c=content: damaged(n, c)))
    return cases


def _formula_cells(stdout: str) -> list[str]:
    """Cells of the results' CSVs that start like a spreadsheet formula (and are not numbers)."""
    m = re.search(r"^results: (.+)$", stdout, re.M)
    found = []
    for path in Path(m.group(1)).glob("*.csv") if m else []:
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(cell):
                        found.append(f"{path.name}: {cell[:30]}")
    return found


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
