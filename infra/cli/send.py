"""``switchboard send``: sign a sample event with its connection's secret and POST it."""

from __future__ import annotations

import argparse
from pathlib import Path

from infra.cli.core import Commands

__all__ = ["register"]


def register(commands: Commands) -> None:
    send = commands.add_parser("send", help="sign a sample event with its connection's secret and POST it")
    send.add_argument("integration")
    send.add_argument("event_file", type=Path)
    send.add_argument("--url", help="base URL (default: the running local gateway)")
    send.add_argument("--stage", help="read the signing secret from this deployed stage's Secrets Manager")
    send.set_defaults(func=_send)


def _send(args: argparse.Namespace) -> int:
    from infra.ops.send import send_sample
    from infra.ops.target import integration

    delivery = send_sample(integration(args.integration), args.event_file, url=args.url, stage=args.stage)
    print(f"{delivery.status} {delivery.url}")
    print(delivery.text)
    return 0 if delivery.ok else 1
