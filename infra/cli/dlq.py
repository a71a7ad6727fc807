"""``switchboard dlq``: dead letters - list, show, replay one, redrive all."""

from __future__ import annotations

import argparse
import sys

from infra.cli.core import Commands, Parser, target, where
from infra.ops.target import CliError

__all__ = ["register"]

_ID_HELP = "event id or message id (or a unique prefix of 6+ characters)"


def register(commands: Commands) -> None:
    dlq = commands.add_parser("dlq", help="dead letters: list, show, replay one, redrive all")
    actions = dlq.add_subparsers(dest="action", required=True, parser_class=Parser)
    listed = actions.add_parser(
        "list", parents=[where()], help="an integration's dead letters (or counts of all)"
    )
    listed.add_argument("integration", nargs="?")
    listed.set_defaults(func=_list)
    show = actions.add_parser("show", parents=[where()], help="one dead letter: attributes and body, masked")
    show.add_argument("id", help=_ID_HELP)
    show.add_argument("--integration", help="look only in this integration's DLQ")
    show.set_defaults(func=_show)
    replay = actions.add_parser("replay", parents=[where()], help="put one dead letter back on its queue")
    replay.add_argument("id", help=_ID_HELP)
    replay.add_argument("--integration", help="look only in this integration's DLQ")
    replay.set_defaults(func=_replay)
    redrive = actions.add_parser("redrive", parents=[where()], help="move all dead letters back to the queue")
    redrive.add_argument("integration")
    redrive.add_argument("--rate", type=int, help="messages per second (default: as fast as SQS goes)")
    redrive.set_defaults(func=_redrive)


def _list(args: argparse.Namespace) -> int:
    from infra.ops import dlq

    where_ = target(args)
    if args.integration:
        dlq.list_dlq(where_, args.integration, sys.stdout)
        return 0
    running = dlq.running_names(where_)
    for name, count in dlq.counts(where_, running):
        print(f"{name:<28} {count:>5} dead letter(s)   {where_.queue_name(name, dlq=True)}")
    if not running:
        print(f"{where_.where} runs no integration with a queue.")
    absent = [n for n in dlq.queued_names() if n not in running]
    if absent:
        # Declared in this checkout, not run there: scaffolded since `make dev` started, or not deployed.
        fix = "restart `make dev` to run them" if where_.is_local else "deploy them to list their DLQs"
        print(f"(not in {where_.where}: {', '.join(absent)} - {fix})")
    return 0


def _show(args: argparse.Namespace) -> int:
    from infra.ops import dlq

    dlq.show(target(args), args.id, args.integration, sys.stdout)
    return 0


def _replay(args: argparse.Namespace) -> int:
    from infra.ops import dlq

    dlq.replay(target(args), args.id, args.integration, sys.stdout)
    return 0


def _redrive(args: argparse.Namespace) -> int:
    from infra.ops import dlq

    if args.rate is not None and not 1 <= args.rate <= 500:
        raise CliError("--rate must be 1..500 messages per second (SQS's limit for a move task)")
    dlq.redrive(target(args), args.integration, sys.stdout, rate=args.rate)
    return 0
