"""The audit trail of the MCP endpoint: one ledger item per tool call, whatever its outcome, and one
per request refused for its API key.

``mcp#audit#<UTC time>#<random>`` items hold who (the key's id, never the key; empty when no
well-formed key was sent), the JSON-RPC method, which tool - named as MCP clients see it,
``crm_upsert_contact`` - the arguments with personal data and secrets masked, the outcome (``ok``,
``duplicate``, ``denied``, ``unknown_tool``, ``quota_exceeded``, ``refusal_limit``,
``invalid_arguments``, ``invalid_idempotency_key``, ``idempotency_conflict``, ``in_progress``,
``error:<code>``, ``pending_approval``; for an approval decided in Slack (method ``approval``, with
``decided_by`` and ``approval_id``) ``approved``, ``approved_failed``, ``rejected``, ``expired``,
``approval_denied``; for a refused key ``missing_key``, ``malformed_key``, ``unknown_key``,
``revoked_key``; for a body that is not a JSON-RPC message ``invalid_request``), the duration and the idempotency key's hash. They expire after ``audit_days``
(TTL). A failed audit write is logged, never fatal: it must not turn a call that happened into one
the caller retries. ``switchboard audit`` (:mod:`infra.ops.audit`) reads them.

Masking is stricter than the logs': a field that names or reaches a person (``first_name``, ``to``,
``text`` ...) keeps only its length, so a record shows *that* a contact was written, not *who*.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from shared.redact import SENSITIVE_KEYS, redact_text
from shared.table import Table

__all__ = ["AUDIT_PREFIX", "mask_arguments", "write"]

AUDIT_PREFIX: Final = "mcp#audit#"
#: Fields whose values are about a person (or free text that may be): only their size is kept.
PERSONAL_KEYS: Final = frozenset(
    {
        "email",
        "first_name",
        "last_name",
        "firstname",
        "lastname",
        "name",
        "phone",
        "mobilephone",
        "address",
        "to",
        "reply_to",
        "from_address",
        "subject",
        "text",
        "html",
        "body",
        "message",
        "blocks",
    }
)
_MAX_TEXT: Final = 200


def mask_arguments(value: Any, key: str | None = None) -> Any:
    """``value`` fit for the audit trail: secrets ``***``, personal fields their size, text redacted."""
    lowered = (key or "").lower()
    if lowered in SENSITIVE_KEYS or lowered == "idempotency_key":
        return "***"
    if lowered in PERSONAL_KEYS and value not in (None, "", [], {}):
        size = len(value) if isinstance(value, str | list | dict) else 1
        return f"***({size})"
    if isinstance(value, Mapping):
        return {str(k): mask_arguments(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_arguments(v) for v in value[:20]]
    if isinstance(value, str):
        return redact_text(value[:_MAX_TEXT])
    return value


def write(
    ddb: Any,
    table: str,
    *,
    key_id: str,
    tool: str,
    arguments: Mapping[str, Any],
    outcome: str,
    duration_ms: float,
    retention_days: int,
    request_id: str | None = None,
    idempotency: str | None = None,
    detail: str | None = None,
    method: str = "tools/call",
    decided_by: str | None = None,
    approval_id: str | None = None,
    logger: Any = None,
) -> str:
    """Write one audit record; returns its id (also on failure, when it is only logged)."""
    now = datetime.now(UTC)
    record_id = f"{AUDIT_PREFIX}{now.strftime('%Y-%m-%dT%H:%M:%S.%f')}Z#{secrets.token_hex(4)}"
    item: dict[str, Any] = {
        "id": record_id,
        "kind": "audit",
        "key_id": key_id,
        "tool": tool,
        "method": method,
        "arguments": json.dumps(mask_arguments(dict(arguments)), separators=(",", ":"), default=str),
        "outcome": outcome,
        "duration_ms": Decimal(f"{duration_ms:.1f}"),
        "at": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "expiration": int(time.time()) + retention_days * 86_400,
    }
    if request_id is not None:
        item["request_id"] = str(request_id)[:100]
    if idempotency:
        item["idempotency_key_sha256"] = idempotency
    if detail:
        item["detail"] = redact_text(detail)[:500]
    if decided_by:
        item["decided_by"] = decided_by[:200]
    if approval_id:
        item["approval_id"] = approval_id
    try:
        Table(ddb, table).put(item)
    except Exception as exc:  # botocore errors: the call's outcome stands; say the record is missing
        if logger is not None:
            logger.error("audit record not written", extra={"tool": tool, "error": type(exc).__name__})
    return record_id
