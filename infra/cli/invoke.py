"""``switchboard invoke``: one event through an integration here - ingress, queue, worker - or a day's tick."""

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
        help="run one event through an integration here (ingress, queue, worker), or a schedule tick for "
        "--date; exit 1 if it was refused, dead-lettered or is still waiting for a retry",
    )
    invoke.add_argument("integration")
    invoke.add_argument(
        "event_file",
        type=Path,
        nargs="?",
        help="a sample (events/<integration>/*.json), an API Gateway HTTP API event or an SQS batch",
    )
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
    invoke.add_argument(
        "--ingress-only",
        action="store_true",
        help="run the ingress path only (verify, validate, queue) and leave the worker out",
    )
    invoke.add_argument(
        "--json",
        action="store_true",
        help="print the report as JSON (answer, each event's status and steps, emitted events) instead "
        "of the trace",
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
        if args.ingress_only:
            raise CliError("--ingress-only goes with an event file: a schedule tick has no ingress")
        ticks = invoke.date_ticks(spec, args.date, resend=args.resend)
    if args.queue or args.stage:
        if ticks is None:
            raise CliError("--queue (and --stage) go with --date: only a schedule tick can be queued")
        invoke.queue_ticks(target(args), spec, args.date, ticks, sys.stdout)
        return 0
    if ticks is not None:
        report = invoke.run_ticks(spec, ticks, quiet=args.json)
    elif args.event_file is None:
        raise CliError("invoke needs an event file, or --date YYYY-MM-DD for an integration with a schedule")
    elif args.resend:
        raise CliError("--resend goes with --date")
    else:
        report = invoke.run_event_file(spec, args.event_file, ingress_only=args.ingress_only, quiet=args.json)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        invoke.print_report(report, sys.stdout)
    return 0 if report.ok else 1
