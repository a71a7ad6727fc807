"""``switchboard doctor``: a checklist of what still blocks go-live, each failing line with its fix."""

from __future__ import annotations

import argparse
import sys

from infra.cli.core import Commands, target, where
from infra.ops.target import CliError

__all__ = ["register"]


def register(commands: Commands) -> None:
    doctor = commands.add_parser(
        "doctor",
        parents=[where()],
        help="what still blocks go-live, one line each with the fix (local or --stage)",
        description=(
            "Check the CDK bootstrap, the stacks, every connection's fields, the OAuth refreshes, the "
            "webhook subscriptions, SES, the alarm subscription and the DLQs. Exit status 1 while "
            "anything blocks go-live (a FAIL line), 0 otherwise."
        ),
    )
    doctor.add_argument("--json", action="store_true", help="print the results as one JSON document")
    doctor.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long one check may take before it counts as failed (default 60)",
    )
    doctor.set_defaults(func=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from infra.ops.doctor import doctor

    if not 1 <= args.timeout <= 600:
        raise CliError("--timeout must be 1..600 seconds")
    report = doctor(target(args), sys.stdout, as_json=args.json, timeout_s=args.timeout)
    return 1 if report.blocked else 0
