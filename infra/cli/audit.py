"""``switchboard audit``: the MCP endpoint's audit trail - who called which tool, and what came of it."""

from __future__ import annotations

import argparse
import sys

from infra.cli.core import Commands, target, where

__all__ = ["register"]


def register(commands: Commands) -> None:
    audit = commands.add_parser(
        "audit",
        parents=[where()],
        help="the MCP endpoint's audit trail, newest first: key, tool, outcome (refused keys too)",
    )
    audit.add_argument("--key", help="one key's records: its id (see keys list) or the key itself")
    audit.add_argument("--tool", help="one tool's records: crm_find_contact (or crm.find_contact)")
    audit.add_argument("--since", help="only this far back: 30m, 1h, 7d (default: every record kept)")
    audit.add_argument("--limit", type=int, default=50, help="print at most this many records (default 50)")
    audit.add_argument("--json", action="store_true", help="print the records as JSON")
    audit.set_defaults(func=_audit)


def _audit(args: argparse.Namespace) -> int:
    from infra.ops import audit

    key = audit.key_id(args.key) if args.key is not None else None
    since_s = audit.parse_since(args.since) if args.since is not None else None
    audit.check_limit(args.limit)
    where_ = target(args)
    records = audit.read(where_, key=key, tool=args.tool, since_s=since_s, limit=args.limit)
    if args.json:
        audit.render_json(records, sys.stdout)
    else:
        audit.render(records, where_, sys.stdout)
    return 0
