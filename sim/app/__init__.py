"""``orgsim app``: a local web page that answers a lever change while replications finish.

``pip install -e ".[app]"`` brings the web framework (Shiny for Python); the rest of orgsim does
not need it, and ``orgsim --help`` does not import it. The page is built in
:mod:`sim.app.server`; the runs, the cache and the levers (no web framework, no simulation
logic) in :mod:`sim.app.live` and :mod:`sim.app.levers`.
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "find_designs", "LOCAL_HOSTS"]

#: Hosts that only this machine can reach: any other ``--host`` is warned about.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def find_designs(paths: Sequence[Path]) -> dict[str, Path]:
    """The designs the page may show, id (file stem) -> file: the files given, else the shipped
    ``scenarios/*.yaml`` (of the current folder, else of the checkout orgsim runs from); markets
    (``abstract: true``) are left out. Raises ScenarioError for a file that does not load."""
    from ..scenario import Problem, ScenarioError, load_scenario

    if not paths:
        for root in (Path.cwd() / "scenarios", Path(__file__).resolve().parents[2] / "scenarios"):
            found = sorted(root.glob("*.yaml"))
            if found:
                paths = found
                break
    if not paths:
        raise ScenarioError([Problem("orgsim app", None, "", "no scenario files: give design files, e.g. "
                                                             "orgsim app scenarios/siloed.yaml scenarios/ai_automated.yaml")])
    designs: dict[str, Path] = {}
    problems = []
    for path in paths:
        try:
            scn = load_scenario(path)
        except ScenarioError as exc:
            problems += exc.problems
            continue
        if scn.abstract:
            continue
        key, n = path.stem, 2
        while key in designs:
            key = f"{path.stem}-{n}"
            n += 1
        designs[key] = Path(path)
    if problems:
        raise ScenarioError(problems)
    if not designs:
        raise ScenarioError([Problem(str(paths[0]), None, "abstract", "no design to show: every file is abstract")])
    return designs


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))  # port 0: a free one, chosen by the system
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def main(args: argparse.Namespace) -> int:
    """Serve the page until Ctrl-C; 2 when the app extra is missing or the input is bad."""
    try:
        import shiny  # noqa: F401
        import uvicorn
    except ImportError:
        print('orgsim: orgsim app needs the web framework: pip install -e ".[app]" (or pip install "orgsim[app]")',
              file=sys.stderr)
        return 2
    import matplotlib

    matplotlib.use("Agg")  # charts are drawn in the server: no window
    from .server import Config, make_app

    designs = find_designs(list(args.scenarios))
    if args.host not in LOCAL_HOSTS:
        print(f"orgsim: warning: --host {args.host}: the page and the files it writes are open to every machine "
              "that can reach this address; it has no login", file=sys.stderr)
    try:
        sock = _socket(args.host, args.port or 0)
    except OSError as exc:
        print(f"orgsim: cannot listen on {args.host}:{args.port or 0}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    config = Config(designs=designs, out=args.out, jobs=args.jobs, lang=args.lang)
    app = make_app(config)
    print(f"orgsim app: http://{shown}:{port}/  ({len(designs)} designs; Ctrl-C to stop)", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws_ping_interval=20))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0
