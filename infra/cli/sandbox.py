"""``switchboard sandbox``: the local stand-ins — list them, look inside, break one, fix it."""

from __future__ import annotations

import argparse
import json

from infra.cli.core import Commands, Parser
from infra.ops.target import resolve

__all__ = ["register"]


def register(commands: Commands) -> None:
    group = commands.add_parser(
        "sandbox",
        help="the local stand-ins of the SaaS apps: list, state, break (make one fail), fix",
        description=(
            "Look inside the local runtime's stand-ins and make one fail on purpose, to see retries, "
            "dead letters and replays. Local only: a deployed stage talks to the real apps."
        ),
    )
    actions = group.add_subparsers(dest="action", required=True, parser_class=Parser)
    actions.add_parser("list", help="the stand-ins the running local runtime serves").set_defaults(func=_list)
    state = actions.add_parser("state", help="what a stand-in holds (contacts, receipts, events …) as JSON")
    state.add_argument("app")
    state.set_defaults(func=_state)
    broken = actions.add_parser(
        "break",
        help="make a stand-in fail until `sandbox fix` (or for --times requests)",
        description=(
            "Make a stand-in answer every request with an HTTP error. 400 (the default) is a permanent "
            "error: the event goes to its dead-letter queue at once, with the app's reason. 503 is an "
            "outage: the event is retried with back-off."
        ),
    )
    broken.add_argument("app")
    broken.add_argument("--status", type=int, default=400, help="the HTTP status to answer (default 400)")
    broken.add_argument("--times", type=int, help="fail only the next N requests, then serve normally")
    broken.add_argument("--path", help="fail only requests whose path contains this, e.g. /notes")
    broken.set_defaults(func=_break)
    fixed = actions.add_parser("fix", help="clear every fault of a stand-in: it serves normally again")
    fixed.add_argument("app")
    fixed.set_defaults(func=_fix)


def _list(args: argparse.Namespace) -> int:
    from infra.ops.sandbox import standins

    target = resolve(None)
    for app in standins(target):
        print(f"{app:<18} {target.gateway}/_sandbox/{app}")
    return 0


def _state(args: argparse.Namespace) -> int:
    from infra.ops.sandbox import standin_state

    print(json.dumps(standin_state(resolve(None), args.app), indent=2, sort_keys=True))
    return 0


def _break(args: argparse.Namespace) -> int:
    from infra.ops.sandbox import break_app

    breakage = break_app(resolve(None), args.app, status=args.status, times=args.times, path=args.path)
    print(f"{breakage.describe()}; undo with `switchboard sandbox fix {args.app}`")
    return 0


def _fix(args: argparse.Namespace) -> int:
    from infra.ops.sandbox import fix_app

    cleared = fix_app(resolve(None), args.app)
    print(f"{args.app} serves normally again ({cleared} fault{'s' if cleared != 1 else ''} cleared)")
    return 0
