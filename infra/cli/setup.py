"""``switchboard setup <app>``: the one-time set-up a SaaS needs before going live."""

from __future__ import annotations

import argparse
import sys

from infra.cli.core import Commands, target, where

__all__ = ["register"]


def register(commands: Commands) -> None:
    setup = commands.add_parser("setup", help="one-time set-up a SaaS needs before going live")
    apps = setup.add_subparsers(dest="app", required=True)
    hubspot = apps.add_parser(
        "hubspot", parents=[where()], help="create the custom contact properties the integrations write"
    )
    hubspot.set_defaults(func=_hubspot)


def _hubspot(args: argparse.Namespace) -> int:
    from infra.ops.setup import setup_hubspot

    setup_hubspot(target(args), sys.stdout)
    return 0
