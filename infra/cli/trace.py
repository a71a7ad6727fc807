"""``switchboard trace <event-id>``: where one event went - ledger steps, DLQ, logs."""

from __future__ import annotations

import argparse
import sys

from infra.cli.core import Commands, target, where
from infra.ops.target import CliError

__all__ = ["register"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def register(commands: Commands) -> None:
    trace = commands.add_parser(
        "trace", parents=[where()], help="where one event went: ledger steps, DLQ, logs"
    )
    trace.add_argument(
        "event_id", help="the event id, or a unique prefix of 6+ characters (as make dev shows it)"
    )
    trace.add_argument("--since", default="7d", help="how far back to search logs: 30m, 12h, 7d (default 7d)")
    trace.set_defaults(func=_trace)


def _trace(args: argparse.Namespace) -> int:
    from infra.ops.trace import trace

    since_s = _duration_s(args.since)
    found = trace(target(args), args.event_id, sys.stdout, since_s=since_s)
    return 0 if found else 1


def _duration_s(text: str) -> float:
    value, unit = text[:-1], text[-1:]
    if unit not in _UNITS or not value.isdigit() or int(value) == 0:
        raise CliError(f"--since {text!r}: say how far back as a number and a unit, e.g. 30m, 12h or 7d")
    return int(value) * _UNITS[unit]
