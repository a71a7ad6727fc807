"""``switchboard webhooks register|list|remove <integration>``: the webhook subscriptions at the providers."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable

from infra.cli.core import Commands, Parser, target, where

__all__ = ["register"]


def register(commands: Commands) -> None:
    hooks = commands.add_parser(
        "webhooks",
        help="register an integration's webhooks at the providers (Square, Stripe, Calendly, Cal.com)",
        description=(
            "Create, list or remove the webhook subscriptions of an integration at its providers, through "
            "their APIs; the signing secret they return is stored in the trigger's signing connection. "
            "For providers without such an API the manual steps are printed. The operator's provider keys "
            "are not stored: they are read from STRIPE_API_KEY, CALENDLY_TOKEN (optional CALENDLY_SCOPE) "
            "and CALCOM_API_KEY, or asked for when run in a terminal; Square's token is its connection's."
        ),
    )
    actions = hooks.add_subparsers(dest="action", required=True, parser_class=Parser)
    url = Parser(add_help=False)
    url.add_argument("integration", help="the integration, e.g. pos_to_accounting")
    url.add_argument(
        "--base-url",
        help="the public base URL the providers call, if not the deployment's own (a custom domain): "
        "https://hooks.example.com",
    )
    add = actions.add_parser(
        "register",
        parents=[url, where()],
        help="create (or reuse) each trigger's subscription and store its signing secret",
    )
    add.add_argument(
        "--rotate",
        action="store_true",
        help="give the subscriptions a new signing secret (the old stays valid a while)",
    )
    add.set_defaults(func=_register)
    actions.add_parser(
        "list", parents=[url, where()], help="each trigger's subscription at its provider and its state"
    ).set_defaults(func=_list)
    actions.add_parser(
        "remove", parents=[url, where()], help="delete Switchboard's subscriptions of the integration"
    ).set_defaults(func=_remove)


def _ask() -> Callable[[str], str] | None:
    """A hidden prompt for a provider key the environment does not hold, in a terminal only: piped
    or scheduled, a missing key is an error naming the variable to set."""
    return getpass.getpass if sys.stdin.isatty() else None


def _register(args: argparse.Namespace) -> int:
    from infra.ops.target import integration
    from infra.ops.webhooks import register as register_hooks

    register_hooks(
        target(args),
        integration(args.integration),
        sys.stdout,
        base_url=args.base_url,
        rotate=args.rotate,
        ask=_ask(),
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    from infra.ops.target import integration
    from infra.ops.webhooks import show

    show(target(args), integration(args.integration), sys.stdout, base_url=args.base_url, ask=_ask())
    return 0


def _remove(args: argparse.Namespace) -> int:
    from infra.ops.target import integration
    from infra.ops.webhooks import remove

    remove(target(args), integration(args.integration), sys.stdout, base_url=args.base_url, ask=_ask())
    return 0
