"""The refused-requests page: what the ingress turned away (401, 400, 413, 415 ...), and why.

The ingress records each refusal in the ledger table (:mod:`shared.refused`) as one item keyed
``<integration>#refused#<ISO time>#<request id>``, expiring by TTL (``expiration``): when, the route,
the status, the error's code (``reason``) and redacted message (``detail``), the sender's masked
network (``remote``), the content type, the user agent, the *names* of the signature headers, the
body's size - never the body, never a credential's value. This page reads those items (a scan, with
the operator's credentials), leaves out the expired ones DynamoDB has not deleted yet, and shows the
newest first; every text field is masked again before it is shown.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from infra.ops.target import Target, aws_errors
from shared.redact import redact_text
from shared.table import Item, Table

__all__ = ["KIND", "SCAN_LIMIT", "SHOWN", "Refusal", "refusals"]

#: The key segment after the integration's name (``shared.refused``'s ``KEY_KIND``).
KIND = "refused"
SHOWN = 200
#: Items read at most per page view.
SCAN_LIMIT = 20_000


@dataclass(frozen=True)
class Refusal:
    request_id: str
    time: str
    integration: str
    route: str
    status: int
    reason: str
    detail: str
    remote: str
    content_type: str
    user_agent: str
    signature_headers: tuple[str, ...]
    body_bytes: int

    @classmethod
    def from_item(cls, item: Item) -> Refusal:
        def text(key: str) -> str:
            return str(redact_text(str(item.get(key) or "")))

        try:
            status, size = int(item.get("status") or 0), int(item.get("body_bytes") or 0)
        except (TypeError, ValueError):
            status, size = 0, 0
        headers = item.get("signature_headers") or ()
        return cls(
            request_id=text("request_id"),
            time=text("time"),
            integration=text("integration") or str(item["id"]).partition("#")[0],
            route=text("route"),
            status=status,
            reason=text("reason"),
            detail=text("detail"),
            remote=text("remote"),
            content_type=text("content_type"),
            user_agent=text("user_agent"),
            signature_headers=tuple(str(h) for h in headers) if isinstance(headers, list | tuple) else (),
            body_bytes=size,
        )


def refusals(
    target: Target, integration: str = "", *, limit: int = SHOWN, now: float | None = None
) -> list[Refusal]:
    """The refused requests still kept, newest first (one integration's when it is named)."""
    current = int(time.time() if now is None else now)
    if integration:
        where = "begins_with(#id, :prefix) AND expiration > :now"
        values: dict[str, object] = {":prefix": f"{integration}#{KIND}#", ":now": current}
    else:
        where = "contains(#id, :kind) AND attribute_exists(request_id) AND expiration > :now"
        values = {":kind": f"#{KIND}#", ":now": current}
    found: list[Refusal] = []
    with aws_errors(target, f"reading refused requests from table {target.table}"):
        items = Table(target.client("dynamodb"), target.table).scan(
            where=where, names={"#id": "id"}, values=values
        )
        for count, item in enumerate(items):
            if count >= SCAN_LIMIT:
                break
            found.append(Refusal.from_item(item))
    found.sort(key=lambda r: (r.time, r.request_id), reverse=True)
    return found[: max(0, limit)]
