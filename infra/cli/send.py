"""``switchboard send``: deliver a sample or a bare provider payload, signed, and say what became of it."""

from __future__ import annotations

import argparse
from pathlib import Path

from infra.cli.core import Commands

__all__ = ["register"]


def register(commands: Commands) -> None:
    send = commands.add_parser(
        "send",
        help="deliver a payload (the provider's JSON body, or a sample) signed as the provider would",
    )
    send.add_argument("integration")
    send.add_argument(
        "event_file",
        type=Path,
        help='the provider\'s JSON body as it is, or a sample: {"trigger": ..., "body": {...}}',
    )
    send.add_argument("--url", help="base URL (default: the running local gateway)")
    send.add_argument("--stage", help="read the signing secret from this deployed stage's Secrets Manager")
    send.add_argument("--trigger", help="which HTTP trigger a bare payload is for (when there are several)")
    send.add_argument(
        "--fresh-id",
        action="store_true",
        help="a new delivery id (webhook-id), so a repeated sample counts as a new event",
    )
    send.set_defaults(func=_send)


def _send(args: argparse.Namespace) -> int:
    from infra.ops.dlq import when
    from infra.ops.send import send_sample
    from infra.ops.target import integration

    delivery = send_sample(
        integration(args.integration),
        args.event_file,
        url=args.url,
        stage=args.stage,
        trigger=args.trigger,
        fresh_id=args.fresh_id,
    )
    print(f"{delivery.status} {delivery.url}")
    print(delivery.text)
    if delivery.earlier:
        state = "processed" if delivery.earlier.status == "COMPLETED" else "still being processed"
        again = (
            "send --fresh-id to send it as a new event"
            if delivery.id_from_delivery
            else "its id comes from the payload: change it in the file to send it as a new event"
        )
        print(
            f"duplicate: event {delivery.event_id} was already received ({state} "
            f"{when(delivery.earlier.at.isoformat())}); nothing was done again ({again})"
        )
    elif delivery.unknown:
        print(f"(whether event {delivery.event_id} was a duplicate is unknown: {delivery.unknown})")
    elif delivery.event_id:
        where = f" --stage {args.stage}" if args.stage else ""
        print(f"Follow it: switchboard trace {delivery.event_id}{where}")
    return 0 if delivery.ok else 1
