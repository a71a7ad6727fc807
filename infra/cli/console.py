"""``switchboard console [--stage prod] [--port 8790]``: the operator's web console on 127.0.0.1."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from infra.cli.core import Commands, target, where
from infra.ops.target import CliError

__all__ = ["register"]


def register(commands: Commands) -> None:
    console = commands.add_parser(
        "console",
        parents=[where()],
        help="a web console on 127.0.0.1: events, their stories, dead letters, connections, flow map",
    )
    console.add_argument(
        "--port",
        type=int,
        default=8790,
        help="port on 127.0.0.1 (default 8790, clear of `make dev`, whose own console is on the gateway's "
        "port + 1, 8788; 0: any free one)",
    )
    console.set_defaults(func=_console)


def _console(args: argparse.Namespace) -> int:
    from infra.console.server import ConsoleServer

    if not 0 <= args.port <= 65535:
        raise CliError(f"--port {args.port}: give a port number from 1 to 65535 (0: any free one)")
    where = target(args)
    try:
        server = ConsoleServer(where, port=args.port)
    except OSError as exc:
        raise CliError(
            f"cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); choose another --port"
        ) from exc
    print(f"Switchboard console for {where.where}; open (the link carries its access token):", flush=True)
    print(f"  {server.login_url}", flush=True)
    print("Ctrl-C to stop.", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with server:
        while not stop.wait(0.5):
            pass
    print("stopped", file=sys.stderr)
    return 0
