"""The AI keys page: the MCP endpoint's API keys (never the secret) and the audit of its tool calls.

Keys are :func:`infra.ops.keys.list_keys`' (the ledger's ``mcp#apikey#<id>`` items: id, name, tools,
quotas, created, revoked; the stored hash is never read out). The audit is
:mod:`functions.mcp.audit`'s ``mcp#audit#<time>#<random>`` items, newest first, whose arguments the
function already masked when it wrote them; they are masked again here before they are shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.mcp.audit import AUDIT_PREFIX
from functions.mcp.keys import ApiKey
from infra.ops.keys import list_keys
from infra.ops.target import Target, aws_errors
from shared.redact import redact_text
from shared.table import Table

__all__ = ["AUDIT_SHOWN", "AuditRow", "audit", "keys"]

#: Audit records shown at most (newest first).
AUDIT_SHOWN = 200
#: Audit items read at most.
AUDIT_SCAN_LIMIT = 20_000


@dataclass(frozen=True)
class AuditRow:
    at: str
    key_id: str
    tool: str
    outcome: str
    duration_ms: str
    arguments: str
    detail: str


def keys(target: Target) -> list[ApiKey]:
    with aws_errors(target, f"reading keys from table {target.table}"):
        return list_keys(target.client("dynamodb"), target.table)


def audit(target: Target, *, key_id: str = "", limit: int = AUDIT_SHOWN) -> list[AuditRow]:
    """The newest audit records (one key's when ``key_id`` is given)."""
    rows: list[AuditRow] = []
    table = Table(target.client("dynamodb"), target.table)
    with aws_errors(target, f"reading the audit from table {target.table}"):
        items = table.scan(
            where="begins_with(#id, :prefix)", names={"#id": "id"}, values={":prefix": AUDIT_PREFIX}
        )
        for count, item in enumerate(items):
            if count >= AUDIT_SCAN_LIMIT:
                break
            if key_id and item.get("key_id") != key_id:
                continue
            rows.append(
                AuditRow(
                    at=str(item.get("at", "")),
                    key_id=str(item.get("key_id", "")),
                    tool=str(item.get("tool", "")),
                    outcome=str(item.get("outcome", "")),
                    duration_ms=str(item.get("duration_ms", "")),
                    arguments=str(redact_text(str(item.get("arguments", ""))))[:400],
                    detail=str(redact_text(str(item.get("detail", ""))))[:300],
                )
            )
    rows.sort(key=lambda r: r.at, reverse=True)
    return rows[: max(0, limit)]
