"""``switchboard keys create | list | revoke``: the API keys of the MCP endpoint (``/mcp``).

Keys live hashed in the stage's ledger table (:mod:`functions.mcp.keys`); the plaintext is printed
once, by ``create``, and cannot be shown again - a lost key is revoked and replaced. Each key names
the tools it may call (tool names, ``crm_upsert_contact``, or action names, ``crm.upsert_contact``;
``*`` for all, meant for the operator's own use) and its quota; they are kept and shown as tool
names, the names MCP clients see.
"""

from __future__ import annotations

from typing import Any, TextIO

from functions.mcp import keys
from infra.ops.target import CliError, Target, aws_errors
from shared.actions import catalogue
from shared.table import Table

__all__ = ["create", "list_", "list_keys", "revoke"]


def _action_names(tools: list[str]) -> list[str]:
    """Tool names as action names; unknown ones are an error listing what there is."""
    by_any = {a.name: a.name for a in catalogue()} | {a.tool_name: a.name for a in catalogue()}
    wanted = [t.strip() for t in tools if t.strip()]
    if not wanted:
        raise CliError(
            "--tools is empty: name the tools the key may call, e.g. --tools stock.get,crm.upsert_contact"
        )
    unknown = [t for t in wanted if t != keys.ALL_TOOLS and t not in by_any]
    if unknown:
        raise CliError(
            f"no tool {', '.join(unknown)}; there are: {', '.join(a.tool_name for a in catalogue())} (or * for all)"
        )
    return sorted({by_any.get(t, t) for t in wanted})


def create(
    target: Target, *, name: str, tools: list[str], per_minute: int, per_day: int, out: TextIO
) -> None:
    if not name.strip() or len(name) > 100:
        raise CliError("--name must be 1-100 characters: who or what uses the key (e.g. claude-desktop-anna)")
    if not 1 <= per_minute <= 10_000 or not 1 <= per_day <= 10_000_000 or per_minute > per_day:
        raise CliError(
            "quotas: 1 <= --per-minute <= 10000, --per-day up to 10000000, and per minute <= per day"
        )
    names = _action_names(tools)
    with aws_errors(target, f"writing the key to table {target.table}"):
        key, plaintext = keys.create_key(
            target.client("dynamodb"),
            target.table,
            name=name.strip(),
            tools=names,
            per_minute=per_minute,
            per_day=per_day,
        )
    url = (
        f"{target.gateway}/mcp"
        if target.gateway
        else "https://<api id>.execute-api.<region>.amazonaws.com/mcp"
    )
    print(f"created key {key.id} ({key.name}) on {target.where}", file=out)
    print(f"  tools      {', '.join(key.tools)}", file=out)
    print(f"  quota      {key.per_minute} calls/minute, {key.per_day} calls/day", file=out)
    print(f"  endpoint   {url}", file=out)
    print("", file=out)
    print(f"  {plaintext}", file=out)
    print("", file=out)
    print(
        "This is the only time the key is shown: store it in the assistant's configuration now "
        "(header Authorization: Bearer <key>). Lost? `switchboard keys revoke` it and create another.",
        file=out,
    )


def list_keys(ddb: Any, table: str) -> list[keys.ApiKey]:
    """Every key, revoked ones included, oldest first.

    A scan (with the operator's credentials): no function's role may scan the ledger table, since a
    scan names no key that ``dynamodb:LeadingKeys`` could scope it by (``infra/cdk/access.py``).
    """
    items = Table(ddb, table).scan(
        where="begins_with(#id, :prefix) AND #k = :apikey",
        names={"#id": "id", "#k": "kind"},
        values={":prefix": keys.ITEM_PREFIX, ":apikey": "apikey"},
    )
    return sorted((keys.key_from_item(i) for i in items), key=lambda k: k.created_at)


def list_(target: Target, out: TextIO) -> None:
    with aws_errors(target, f"reading keys from table {target.table}"):
        found = list_keys(target.client("dynamodb"), target.table)
    if not found:
        print(
            f"no API keys on {target.where}; create one: switchboard keys create --name … --tools …", file=out
        )
        return
    print(
        f"{'ID':<11} {'NAME':<24} {'PER MIN':>7} {'PER DAY':>8}  {'CREATED':<20}  {'STATUS':<28} TOOLS",
        file=out,
    )
    for k in found:
        status = f"revoked {k.revoked_at}" if k.revoked_at else "active"
        print(
            f"{k.id:<11} {k.name[:24]:<24} {k.per_minute:>7} {k.per_day:>8}  {k.created_at:<20}  "
            f"{status:<28} {','.join(k.tools)}",
            file=out,
        )


def revoke(target: Target, key: str, out: TextIO) -> None:
    """Revoke by id (``abcd234efg``) or by the whole key (whichever the operator has)."""
    key_id = keys.parse_key(key) or key.strip()
    if not key_id.isalnum() or len(key_id) != 10:
        raise CliError(f"{key!r} is neither a key id (10 characters, see `switchboard keys list`) nor a key")
    with aws_errors(target, f"revoking key {key_id}"):
        revoked = keys.revoke_key(target.client("dynamodb"), target.table, key_id)
    if revoked is None:
        raise CliError(f"no key {key_id} on {target.where}; see `switchboard keys list`")
    print(
        f"revoked key {revoked.id} ({revoked.name}) at {revoked.revoked_at}; it is refused from now on",
        file=out,
    )
