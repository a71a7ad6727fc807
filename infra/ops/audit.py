"""``switchboard audit``: the MCP endpoint's audit trail, newest first.

The records are :mod:`functions.mcp.audit`'s ``mcp#audit#<UTC time>#<random>`` items in the stage's
ledger table: one per tool call, whatever its outcome, and one per request refused for its API key
(with the key's id when the key was well-formed; never a secret). Their arguments were masked when
written - secrets ``***``, personal fields reduced to their length - and are passed through
:func:`shared.redact.redact_text` again before they are shown.

Reading is a filtered scan, as ``keys list`` and ``trace`` read the table: with the operator's
credentials (no function's role may scan), the key and time filters applied by DynamoDB (the id
starts with the record's time, so ``--since`` is a key range), the tool filter here - tool names are
compared in their one form (``crm_find_contact``), so records written with the dotted action name
before that rule still match.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from functions.mcp.audit import AUDIT_PREFIX
from functions.mcp.keys import as_tool_name, parse_key
from infra.ops.target import CliError, Target, aws_errors
from shared.redact import redact_text
from shared.table import Item, Table

__all__ = [
    "MAX_LIMIT",
    "AuditRecord",
    "check_limit",
    "key_id",
    "parse_since",
    "read",
    "render",
    "render_json",
]

#: Records printed at most (``--limit``).
MAX_LIMIT: Final = 10_000
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_KEY_ID_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz234567")


@dataclass(frozen=True)
class AuditRecord:
    """One audit record as shown: what the item holds, with the tool in its one form."""

    at: str
    key_id: str
    method: str
    tool: str
    outcome: str
    duration_ms: float
    request_id: str
    arguments: Any
    detail: str
    id: str
    #: For an approval decided in Slack: who (name and user id), and which approval.
    decided_by: str = ""
    approval_id: str = ""

    @property
    def shown_detail(self) -> str:
        """The detail column: who decided an approval first, then why a call was refused or failed."""
        parts = [f"by {self.decided_by}" if self.decided_by else "", self.detail]
        return "; ".join(p for p in parts if p)

    @classmethod
    def from_item(cls, item: Item) -> AuditRecord:
        raw = redact_text(str(item.get("arguments") or "{}"))
        try:
            arguments: Any = json.loads(raw)
        except ValueError:
            arguments = raw[:400]
        tool = str(item.get("tool", ""))
        return cls(
            at=str(item.get("at", "")),
            key_id=str(item.get("key_id", "")),
            method=str(item.get("method", "tools/call")),
            tool=as_tool_name(tool) if tool else "",
            outcome=str(item.get("outcome", "")),
            duration_ms=float(item.get("duration_ms", 0)),
            request_id=str(item.get("request_id", "")),
            arguments=arguments,
            detail=redact_text(str(item.get("detail", "")))[:300],
            id=str(item["id"]),
            decided_by=str(item.get("decided_by", ""))[:200],
            approval_id=str(item.get("approval_id", "")),
        )


def parse_since(text: str) -> float:
    """``30s``, ``15m``, ``1h``, ``7d`` -> seconds; anything else a :class:`CliError` saying the form."""
    value, unit = text.strip()[:-1], text.strip()[-1:]
    if unit not in _UNITS or not value.isdigit() or int(value) == 0:
        raise CliError(f"--since {text!r}: say how far back as a number and a unit, e.g. 30m, 1h or 7d")
    return float(int(value) * _UNITS[unit])


def key_id(text: str) -> str:
    """The key id ``--key`` names: an id (``switchboard keys list``) or a whole key (only its id is used)."""
    found = parse_key(text) or text.strip()
    if len(found) != 10 or not set(found) <= _KEY_ID_CHARS:
        raise CliError(
            f"--key {text[:30]!r}: give a key id (10 characters, see `switchboard keys list`) or the key"
        )
    return found


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise CliError(f"--limit {limit}: give 1 to {MAX_LIMIT} records")
    return limit


def _since_id(since_s: float, now: float) -> str:
    start = datetime.fromtimestamp(now - since_s, UTC)
    return f"{AUDIT_PREFIX}{start.strftime('%Y-%m-%dT%H:%M:%S.%f')}Z"


def read(
    target: Target,
    *,
    key: str | None = None,
    tool: str | None = None,
    since_s: float | None = None,
    limit: int = 50,
    now: float | None = None,
) -> list[AuditRecord]:
    """The newest ``limit`` records matching the filters, newest first."""
    check_limit(limit)
    now = time.time() if now is None else now
    where = ["begins_with(#id, :prefix)"]
    values: dict[str, Any] = {":prefix": AUDIT_PREFIX}
    names = {"#id": "id"}
    if since_s is not None:
        where.append("#id >= :from")
        values[":from"] = _since_id(since_s, now)
    if key is not None:
        where.append("#key = :key")
        names["#key"] = "key_id"
        values[":key"] = key
    wanted_tool = as_tool_name(tool) if tool else None
    table = Table(target.client("dynamodb"), target.table)
    with aws_errors(target, f"reading the audit from table {target.table}"):
        items = list(table.scan(where=" AND ".join(where), names=names, values=values))
    records = [AuditRecord.from_item(i) for i in items]
    if wanted_tool is not None:
        records = [r for r in records if r.tool == wanted_tool]
    records.sort(key=lambda r: r.id, reverse=True)  # the id starts with the record's UTC time
    return records[:limit]


def render(records: list[AuditRecord], target: Target, out: TextIO) -> None:
    """A table, newest first; the detail (why a call was refused or failed) after the outcome."""
    if not records:
        print(f"no audit records on {target.where} match", file=out)
        return
    print(f"{'AT':<24} {'KEY':<11} {'TOOL':<26} {'OUTCOME':<24} {'MS':>7}  DETAIL", file=out)
    for r in records:
        tool = r.tool or (f"({r.method})" if r.method else "-")
        print(
            f"{r.at:<24} {r.key_id or '-':<11} {tool[:26]:<26} {r.outcome[:24]:<24} {r.duration_ms:>7.1f}  "
            f"{r.shown_detail[:120]}",
            file=out,
        )


def render_json(records: list[AuditRecord], out: TextIO) -> None:
    print(json.dumps([asdict(r) for r in records], indent=2, ensure_ascii=False), file=out)
