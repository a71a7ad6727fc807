"""``switchboard urls`` and ``switchboard secrets``: where the integrations are reached, and with what."""

from __future__ import annotations

import argparse
import sys

from infra.cli.core import Commands, Parser, target, where

__all__ = ["register"]


def register(commands: Commands) -> None:
    urls = commands.add_parser(
        "urls", parents=[where()], help="webhook, form and route URLs (local or --stage)"
    )
    urls.set_defaults(func=_urls)

    secrets = commands.add_parser(
        "secrets", help="set or inspect a connection's secret (values masked; local samples with --reveal)"
    )
    actions = secrets.add_subparsers(dest="action", required=True, parser_class=Parser)
    listed = actions.add_parser("list", parents=[where()], help="every connection and its secret's name")
    listed.set_defaults(func=_list)
    show = actions.add_parser("show", parents=[where()], help="a connection's fields, values masked")
    show.add_argument("connection")
    show.add_argument(
        "--reveal",
        action="store_true",
        help="local runtime only: print the values that are the stand-ins' fixed samples (the rest stay "
        "masked; refused on a deployed stage)",
    )
    show.set_defaults(func=_show)
    set_ = actions.add_parser(
        "set", parents=[where()], help="merge key=value pairs into a connection's secret (key=- to type it)"
    )
    set_.add_argument("connection")
    set_.add_argument("assignments", nargs="*", metavar="key=value")
    set_.set_defaults(func=_set)


def _urls(args: argparse.Namespace) -> int:
    from infra.ops.urls import print_urls

    print_urls(target(args), sys.stdout)
    return 0


def _list(args: argparse.Namespace) -> int:
    from infra.ops.secrets import list_connections

    list_connections(target(args), sys.stdout)
    return 0


def _show(args: argparse.Namespace) -> int:
    from infra.ops.secrets import show_secret

    show_secret(target(args), args.connection, sys.stdout, reveal=args.reveal)
    return 0


def _set(args: argparse.Namespace) -> int:
    from infra.ops.secrets import set_secret

    set_secret(target(args), args.connection, args.assignments, sys.stdout)
    return 0
