"""``switchboard status``: each target app's circuit (open since when, events waiting) and queue depths."""

from __future__ import annotations

import argparse
import sys

from infra.cli.core import Commands, where

__all__ = ["register"]


def register(commands: Commands) -> None:
    status = commands.add_parser(
        "status",
        parents=[where()],
        help="target health per app (circuit open since when, events waiting) and queue/DLQ depths",
    )
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(func=_status)


def _status(args: argparse.Namespace) -> int:
    from infra.cli.core import target
    from infra.ops import status

    found = status.collect(target(args))
    if args.json:
        status.render_json(found, sys.stdout)
    else:
        status.render(found, sys.stdout)
    return 0
