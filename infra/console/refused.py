"""The refused-requests page: what the ingress turned away (401, 400, 413, 415 ...), and why.

The ingress records each refusal in the ledger table (:mod:`shared.refused`: when, the route, the
status, the error's code and redacted message, the sender's masked network, the *names* of the
signature headers, the body's size - never the body, never a credential's value) for a week;
:func:`infra.ops.refused.recent` reads them, newest first, as ``switchboard trace`` does. The page
masks every text field once more before it shows it.
"""

from __future__ import annotations

from dataclasses import replace

from infra.ops.refused import recent
from infra.ops.target import Target, aws_errors
from shared.redact import redact_text
from shared.refused import Refusal
from shared.table import Table

__all__ = ["SHOWN", "refusals"]

SHOWN = 200


def refusals(target: Target, integration: str = "", *, limit: int = SHOWN) -> list[Refusal]:
    """The refused requests still kept, newest first (one integration's when it is named)."""
    with aws_errors(target, f"reading refused requests from table {target.table}"):
        found = recent(
            Table(target.client("dynamodb"), target.table), integration=integration or None, limit=limit
        )
    return [
        replace(r, detail=str(redact_text(r.detail)), user_agent=str(redact_text(r.user_agent)))
        for r in found
    ]
