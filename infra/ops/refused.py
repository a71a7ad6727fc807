"""Reading the refused requests back: the operator console's list and ``switchboard trace``'s lookup.

The records are written by the ingress (:mod:`shared.refused`); reading them takes a scan of the
ledger table, which no function may make (``dynamodb:LeadingKeys`` cannot scope a scan, see
:mod:`infra.cdk.access`), so the reader lives here, on the operator's side, and runs with the
operator's credentials. A table of the local runtime or of a stage:
``Table(target.client("dynamodb"), target.table)``.
"""

from __future__ import annotations

import time
from typing import Any, Final

from shared.refused import KEY_KIND, Refusal, refused_prefix
from shared.table import Table

__all__ = ["MAX_LISTED", "find", "recent"]

#: What :func:`recent` returns at most, whatever the caller asks.
MAX_LISTED: Final = 1000


def recent(
    table: Table, *, integration: str | None = None, limit: int = 100, now: float | None = None
) -> list[Refusal]:
    """The refused requests still kept, newest first, at most ``limit`` (capped at :data:`MAX_LISTED`).

    One integration's when ``integration`` is given. A scan (operators' credentials only): DynamoDB
    deletes expired items within a day or two of their ``expiration``, so those are left out here.
    """
    limit = max(0, min(limit, MAX_LISTED))
    current = time.time() if now is None else now
    if integration is None:
        where = "contains(#id, :kind) AND attribute_exists(request_id) AND expiration > :now"
        values: dict[str, Any] = {":kind": f"#{KEY_KIND}#", ":now": int(current)}
    else:
        where = "begins_with(#id, :prefix) AND expiration > :now"
        values = {":prefix": refused_prefix(integration), ":now": int(current)}
    found = [Refusal.from_item(i) for i in table.scan(where=where, names={"#id": "id"}, values=values)]
    found.sort(key=lambda r: (r.time, r.request_id), reverse=True)
    return found[:limit]


def find(table: Table, request_id: str) -> list[Refusal]:
    """The refused request(s) whose id is ``request_id`` or starts with it, newest first."""
    values = {":kind": f"#{KEY_KIND}#", ":rid": request_id}
    items = table.scan(
        where="contains(#id, :kind) AND begins_with(request_id, :rid)", names={"#id": "id"}, values=values
    )
    return sorted((Refusal.from_item(i) for i in items), key=lambda r: r.time, reverse=True)
