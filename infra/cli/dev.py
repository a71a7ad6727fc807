"""``switchboard dev``: run locally (embedded AWS, sandbox apps, webhook URLs, sample replay)."""

from __future__ import annotations

import argparse
import os
import sys

from infra.cli.core import Commands

__all__ = ["register"]


def register(commands: Commands) -> None:
    dev = commands.add_parser(
        "dev", help="run locally: embedded AWS, sandbox apps, webhook URLs, sample replay"
    )
    dev.add_argument("--port", type=int, default=int(os.environ.get("SWITCHBOARD_PORT", "8787")))
    dev.add_argument(
        "--once", action="store_true", help="replay the samples, wait for the queues, summarise, exit"
    )
    dev.add_argument("--no-replay", action="store_true", help="do not replay the sample events on start")
    dev.add_argument(
        "--timeout", type=float, default=120.0, help="--once: seconds to wait for the queues to drain"
    )
    dev.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print every step of every replayed sample, not only one line per sample",
    )
    state = dev.add_mutually_exclusive_group()
    state.add_argument(
        "--keep",
        dest="keep",
        action="store_const",
        const=True,
        help="continue from the state saved at the last clean stop (the default; not with --once)",
    )
    state.add_argument(
        "--fresh",
        dest="keep",
        action="store_const",
        const=False,
        help="start empty and replay the samples (the saved state is replaced at the next clean stop)",
    )
    dev.set_defaults(func=_dev)


def _dev(args: argparse.Namespace) -> int:
    from infra.ops.dev import serve
    from infra.ops.target import CliError

    if args.once and args.keep:
        raise CliError("--once always starts empty and saves nothing: drop --keep")
    ok = serve(
        args.port,
        sys.stdout,
        once=args.once,
        replay=not args.no_replay,
        timeout_s=args.timeout,
        verbose=args.verbose,
        keep=args.keep,
    )
    return 0 if ok else 1
