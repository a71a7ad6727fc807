"""``switchboard new`` and ``switchboard new-app``: scaffold an integration, or an app package."""

from __future__ import annotations

import argparse
import sys

from infra.cli.core import Commands

__all__ = ["register"]


def register(commands: Commands) -> None:
    new = commands.add_parser("new", help="scaffold an integration: function, sample event, tests")
    new.add_argument("name", help="lower-case identifier, e.g. booking_reminders")
    new.add_argument("--trigger", required=True, choices=["webhook", "schedule", "event"])
    new.add_argument("--app", required=True, help="the app it calls (a package of apps/: hubspot, slack …)")
    new.add_argument("--description", help="one line for the spec and the README")
    new.set_defaults(func=_new)

    new_app = commands.add_parser(
        "new-app", help="scaffold an app package: declaration, client, actions, stand-in, tests"
    )
    new_app.add_argument("name", help="lower-case identifier, e.g. acme_crm")
    new_app.add_argument(
        "--auth",
        default="bearer",
        help="how the API authenticates: bearer (Authorization: Bearer) or header (X-API-Key)",
    )
    new_app.add_argument("--title", help="the app's display name, e.g. 'Acme CRM'")
    new_app.add_argument("--base-url", help="the API's https:// base URL in production")
    new_app.set_defaults(func=_new_app)


def _new(args: argparse.Namespace) -> int:
    from infra.ops.scaffold import scaffold

    scaffold(args.name, args.trigger, args.app, sys.stdout, description=args.description)
    return 0


def _new_app(args: argparse.Namespace) -> int:
    from infra.ops.scaffold_app import scaffold_app

    scaffold_app(args.name, sys.stdout, auth=args.auth, title=args.title, base_url=args.base_url)
    return 0
