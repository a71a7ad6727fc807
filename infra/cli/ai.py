"""``switchboard openapi`` and ``switchboard keys``: what AI assistants (and other clients) are given.

``openapi --tools`` prints the tools as ``tools/list`` gives them (``--format mcp``, the default), or
reshaped for assistants wired by hand: OpenAI function calling or Anthropic tool use
(:mod:`functions.mcp.formats`). Every format carries ``idempotency_key`` where the tool takes it.
"""

from __future__ import annotations

import argparse
import json
import sys

from infra.cli.core import Commands, Parser, target, where
from infra.ops.target import CliError

__all__ = ["register"]


def register(commands: Commands) -> None:
    openapi = commands.add_parser(
        "openapi", help="the OpenAPI 3.1 document of every route and the MCP endpoint (or --tools)"
    )
    openapi.add_argument("--server", help="server URL to put in the document (e.g. the API's URL)")
    openapi.add_argument(
        "--tools", action="store_true", help="print the tool definitions instead (see --format)"
    )
    openapi.add_argument(
        "--format",
        choices=("mcp", "openai", "anthropic"),
        help="with --tools: mcp = as tools/list gives them (default); openai = Chat Completions "
        '{"type": "function", "function": {…}}; anthropic = Messages API {"name", "description", "input_schema"}',
    )
    openapi.set_defaults(func=_openapi)

    keys = commands.add_parser("keys", help="API keys of the MCP endpoint: create (shown once), list, revoke")
    actions = keys.add_subparsers(dest="action", required=True, parser_class=Parser)
    create = actions.add_parser("create", parents=[where()], help="a new key; printed once, stored hashed")
    create.add_argument("--name", required=True, help="who or what uses it, e.g. claude-desktop-anna")
    create.add_argument(
        "--tools",
        required=True,
        help="comma-separated tools it may call (stock_get,crm_upsert_contact; dotted names work too; * = all)",
    )
    create.add_argument("--per-minute", type=int, default=30, help="calls per minute (default 30)")
    create.add_argument("--per-day", type=int, default=1000, help="calls per day (default 1000)")
    create.set_defaults(func=_keys_create)
    listed = actions.add_parser("list", parents=[where()], help="every key: id, name, tools, quota, status")
    listed.set_defaults(func=_keys_list)
    revoke = actions.add_parser("revoke", parents=[where()], help="refuse a key from now on")
    revoke.add_argument("key", help="the key's id (see keys list) or the key itself")
    revoke.set_defaults(func=_keys_revoke)


def _openapi(args: argparse.Namespace) -> int:
    if args.format is not None and not args.tools:
        raise CliError(f"--format {args.format} applies to the tool definitions: add --tools")
    if args.tools:
        from functions.mcp.formats import tool_definitions

        print(json.dumps(tool_definitions(args.format or "mcp"), indent=2, ensure_ascii=False))
        return 0
    from infra.ops.target import local_state
    from shared.openapi import openapi_document
    from shared.registry import load_specs

    server = args.server or (local_state() or {}).get("gateway")
    print(json.dumps(openapi_document(load_specs(), server_url=server), indent=2))
    return 0


def _keys_create(args: argparse.Namespace) -> int:
    from infra.ops import keys

    tools = [t for t in args.tools.split(",") if t.strip()]
    keys.create(
        target(args),
        name=args.name,
        tools=tools,
        per_minute=args.per_minute,
        per_day=args.per_day,
        out=sys.stdout,
    )
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    from infra.ops import keys

    keys.list_(target(args), sys.stdout)
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    from infra.ops import keys

    keys.revoke(target(args), args.key, sys.stdout)
    return 0
