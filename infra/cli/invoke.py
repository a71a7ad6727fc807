"""``switchboard invoke``: an integration's handler once, with an event file or a day's schedule tick."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from infra.cli.core import Commands, target, where
from infra.ops.target import CliError

__all__ = ["register"]


def register(commands: Commands) -> None:
    invoke = commands.add_parser(
        "invoke",
        parents=[where()],
        help="run an integration's handler once with an event file, or a schedule tick for --date",
    )
    invoke.add_argument("integration")
    invoke.add_argument("event_file", type=Path, nargs="?")
    invoke.add_argument(
        "--date",
        help="run the integration's schedule for this day (YYYY-MM-DD): the first tick after the day ended",
    )
    invoke.add_argument(
        "--resend",
        action="store_true",
        help="with --date: a new event id, so steps already done for that day run again",
    )
    invoke.add_argument(
        "--queue",
        action="store_true",
        help="with --date: put the tick on the integration's queue of the running local runtime (or of "
        "--stage) instead of running it here; a day already sent there sends nothing again",
    )
    invoke.set_defaults(func=_invoke)


def _invoke(args: argparse.Namespace) -> int:
    from infra.ops import invoke
    from infra.ops.target import integration

    spec = integration(args.integration)
    ticks = None
    if args.date is not None:
        if args.event_file is not None:
            raise CliError("give an event file or --date, not both")
        ticks = invoke.date_ticks(spec, args.date, resend=args.resend)
    if args.queue or args.stage:
        if ticks is None:
            raise CliError("--queue (and --stage) go with --date: only a schedule tick can be queued")
        invoke.queue_ticks(target(args), spec, args.date, ticks, sys.stdout)
        return 0
    if ticks is not None:
        result = invoke.run_ticks(spec, ticks)
    elif args.event_file is None:
        raise CliError("invoke needs an event file, or --date YYYY-MM-DD for an integration with a schedule")
    elif args.resend:
        raise CliError("--resend goes with --date")
    else:
        result = invoke.run_event_file(spec, args.event_file)
    print(json.dumps(result, indent=2))
    return 0
