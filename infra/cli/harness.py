"""``switchboard chaos`` and ``switchboard load``: the harnesses, each on a local runtime of its own."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from infra.cli.core import Commands
from infra.ops.target import CliError, integration

__all__ = ["register"]


def register(commands: Commands) -> None:
    from infra.ops.chaos import DEFAULT_FAULTS

    chaos = commands.add_parser(
        "chaos", help="prove nothing is lost or doubled: N events against flaky sandboxes (own runtime)"
    )
    chaos.add_argument("--events", type=int, default=300, help="events to send (default 300)")
    chaos.add_argument("--seed", type=int, default=1, help="seed of the plan and of the faults (default 1)")
    chaos.add_argument(
        "--faults",
        default=DEFAULT_FAULTS,
        help=f"kind=rate[@app+app],… of 5xx, 429, timeout, crash, dup, poison (default {DEFAULT_FAULTS})",
    )
    chaos.add_argument(
        "--only",
        default="",
        help="comma-separated integrations to send events to (default: all with a factory)",
    )
    chaos.add_argument(
        "--timeout", type=float, default=900.0, help="seconds each wait for the queues may take (default 900)"
    )
    chaos.add_argument(
        "--token-endpoint-faults",
        action="store_true",
        help="also give OAuth token endpoints late answers and crashes (a rotated refresh token in a lost "
        "answer is gone for good: expect connection_revoked)",
    )
    chaos.add_argument(
        "--outage",
        action="append",
        default=[],
        metavar="APP=DURATION",
        help="take a target app down (503 to everything) for DURATION (90m, 6h, 3d) during the sending, "
        "time-compressed; repeatable. No redrive is pressed: a dead letter other than poison fails the run",
    )
    chaos.add_argument(
        "--reorder",
        action="store_true",
        help="also send entities changed several times (bookings moved and cancelled, payments refunded, "
        "contacts submitted again), their changes shuffled and duplicated; judged by each final state",
    )
    chaos.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="wall seconds per simulated second for back-offs and outages (default 0.02; with --outage, "
        "what makes the longest outage last about 4 minutes)",
    )
    chaos.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="INTEGRATION.FIELD=VALUE",
        help="lay a settings field over an integration's settings.local.json for the run (value as JSON, "
        "else text), e.g. pos_to_accounting.accounting_app=xero to book in Xero; repeatable",
    )
    chaos.add_argument(
        "--lag",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="eventual consistency: every stand-in's list and search reads (Slack history, HubSpot "
        "associations and search, the QuickBooks query, Xero's Reference filter) leave out a record "
        "for SECONDS of wall time after it was written (default 0: off)",
    )
    chaos.add_argument(
        "--keep-logs",
        metavar="DIR",
        default=None,
        help="write the functions' log lines to DIR (one JSON-lines file per integration) and keep "
        "them, to follow a dead letter or a doubled effect by its event id (default: a temporary "
        "folder, removed)",
    )
    chaos.add_argument("--json", action="store_true", help="print the result as one JSON object")
    chaos.set_defaults(func=_chaos)

    load = commands.add_parser(
        "load",
        help="signed webhooks at a fixed rate against a local runtime of its own, judged by what the "
        "targets hold (nothing lost or doubled)",
    )
    load.add_argument("--rps", type=float, default=20.0, help="requests per second (default 20)")
    load.add_argument("--seconds", type=float, default=10.0, help="how long to send (default 10)")
    load.add_argument("--senders", type=int, default=8, help="sending threads (default 8)")
    load.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the queues to drain (default 300)"
    )
    load.add_argument("--json", action="store_true", help="print the result as one JSON object")
    load.set_defaults(func=_load)


def _chaos(args: argparse.Namespace) -> int:
    from infra.ops.chaos import ChaosConfig, parse_faults, print_report, run_chaos
    from infra.ops.chaos.config import parse_outage, parse_setting
    from sandbox.consistency import InvalidLagSetting, checked_lag

    if not 1 <= args.events <= 1_000_000:
        raise CliError("--events must be 1..1000000")
    if not 1 <= args.timeout <= 86_400:
        raise CliError("--timeout must be 1..86400 seconds")
    if args.time_scale is not None and not 0.00001 <= args.time_scale <= 1:
        raise CliError("--time-scale must be 0.00001..1 (wall seconds per simulated second)")
    try:
        lag = checked_lag(args.lag, "--lag")
    except InvalidLagSetting as exc:
        raise CliError(str(exc)) from None
    outages = tuple(parse_outage(text) for text in args.outage)
    apps = [o.app for o in outages]
    if len(set(apps)) != len(apps):
        raise CliError("--outage: one outage per app")
    settings: dict[str, dict[str, Any]] = {}
    for text in args.setting:
        name, setting, value = parse_setting(text)
        if setting not in integration(name).settings.model_fields:
            raise CliError(f"--setting {text!r}: {name} has no setting {setting!r}")
        settings.setdefault(name, {})[setting] = value
    config = ChaosConfig(
        events=args.events,
        seed=args.seed,
        faults=parse_faults(args.faults),
        drain_timeout_s=args.timeout,
        integrations=tuple(n.strip() for n in args.only.split(",") if n.strip()),
        token_endpoint_faults=args.token_endpoint_faults,
        outages=outages,
        reorder=args.reorder,
        time_scale=args.time_scale,
        settings=settings,
        lag_s=lag,
        logs_dir=args.keep_logs,
    )
    for name in config.integrations:
        integration(name)
    report = run_chaos(config)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print_report(report, sys.stdout)
    return 0 if report.ok else 1


def _load(args: argparse.Namespace) -> int:
    from infra.ops.load import LoadConfig, print_report, run_load

    if not 0 < args.rps <= 10_000:
        raise CliError("--rps must be more than 0 and at most 10000")
    if not 0 < args.seconds <= 3_600:
        raise CliError("--seconds must be more than 0 and at most 3600")
    if not 1 <= args.senders <= 256:
        raise CliError("--senders must be 1..256")
    report = run_load(
        LoadConfig(rps=args.rps, seconds=args.seconds, senders=args.senders, drain_timeout_s=args.timeout)
    )
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print_report(report, sys.stdout)
    return 0 if report.ok else 1
