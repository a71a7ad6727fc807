"""``switchboard connect <app>``: print a link that connects an OAuth 2.0 app (QuickBooks, Google ...)."""

from __future__ import annotations

import argparse
import sys

from infra.cli.core import Commands, target, where

__all__ = ["register"]


def register(commands: Commands) -> None:
    connect = commands.add_parser(
        "connect",
        parents=[where()],
        help="a link the business owner opens to connect an OAuth app (local or --stage)",
        description=(
            "Print the provider's authorization link for the app's connection. The owner opens it, "
            "allows access, and the deployment's /oauth/<app>/callback stores the tokens."
        ),
    )
    connect.add_argument("app", help="the OAuth 2.0 app: quickbooks, google_calendar ...")
    connect.add_argument("--connection", help="which of the app's connections (when it has several)")
    connect.add_argument(
        "--valid-for",
        type=int,
        default=60,
        metavar="MINUTES",
        help="how long the link works (default 60; at most 7 days)",
    )
    connect.set_defaults(func=_connect)


def _connect(args: argparse.Namespace) -> int:
    from infra.ops.connect import connect

    connect(target(args), args.app, sys.stdout, connection=args.connection, valid_for_s=args.valid_for * 60)
    return 0
