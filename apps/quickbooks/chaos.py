"""QuickBooks under the chaos harness: a ValidationFault for poison, its API path (the token endpoint
is spared late answers and crashes), and the receipts booked per payment or refund.

Generators that make money events say which receipt each must cause (:func:`expect_receipt`); the
observer attributes every receipt in the company to one of them by the payment or refund its
``PrivateNote`` names, and checks its ``TotalAmt``. A sale's note names its payment (``Square payment
<id>``, ``Stripe payment <id>``) or, for a web shop sale, its order (``Shopify order <id>``); a refund's
names the refund first (``Shopify refund <id> of order <id>``).

The harness forgets the stand-in's ``requestid`` answers every few seconds (``key_expiry``), as once
Intuit's undocumented retention has passed, so a receipt whose create answer was lost is kept single
by the ledger's look-up (the query for its ``Switchboard ref``), not by the id; :func:`lookups` says
how often that look-up found one (:mod:`infra.ops.chaos.lookups`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from infra.ops.chaos.lookups import lookups_in
from infra.ops.chaos.protocol import AppChaos, EffectKey
from infra.ops.chaos.state import ChaosRun

__all__ = ["CHAOS", "ExpectedReceipt", "expect_receipt"]

POISON_BODY = {
    "Fault": {
        "Error": [
            {
                "Message": "Invalid Reference Id",
                "Detail": "Invalid Reference Id : Item assigned to this line is inactive (marked as poison by the chaos run)",
                "code": "2500",
                "element": "ItemRef",
            }
        ],
        "type": "ValidationFault",
    },
    "time": "2026-11-20T08:14:03.112-00:00",
}
#: "Square payment <id>", "Stripe refund <id> of payment <id>", "Shopify order <id>": the money a
#: receipt books (the first such phrase of the note).
_NOTE = re.compile(r"\b[A-Z][a-z]+ (?:payment|refund|order) ([A-Za-z0-9_:]+)")
_RECEIPTS = "quickbooks.receipts"


@dataclass(frozen=True)
class ExpectedReceipt:
    """The receipt one event must cause."""

    #: ``salesreceipt`` or ``refundreceipt``.
    entity: str
    #: The payment (sale) or refund id the receipt's PrivateNote names.
    money_id: str
    #: The event key the receipt is attributed to.
    key: str
    #: The receipt's ``TotalAmt`` in pence.
    total: int


def expect_receipt(run: ChaosRun, receipt: ExpectedReceipt) -> None:
    run.remember(_RECEIPTS, (receipt.entity, receipt.money_id), lambda: receipt)


def effects_seen(run: ChaosRun) -> Counter[EffectKey]:
    """``qb.sales_receipt`` / ``qb.refund_receipt`` per receipt; ``qb.total`` (a check) per receipt
    whose ``TotalAmt`` is the money taken (or refunded)."""
    seen: Counter[EffectKey] = Counter()
    sandbox: Any = run.runtime.sandboxes.get("quickbooks")
    if sandbox is None:
        return seen
    with sandbox.lock:
        receipts = [
            (r.entity, str(r.body.get("PrivateNote", "")), r.body.get("TotalAmt"))
            for r in sandbox.receipts.values()
        ]
    known = run.memory(_RECEIPTS)
    for entity, note, total in receipts:
        found = _NOTE.search(note)
        if found is None:
            continue
        kind = "qb.sales_receipt" if entity == "salesreceipt" else "qb.refund_receipt"
        expected: ExpectedReceipt | None = known.get((entity, found.group(1)))
        key = expected.key if expected else f"?{found.group(1)}"
        seen[(kind, key)] += 1
        if expected and total is not None and Decimal(str(total)) * 100 == expected.total:
            seen[("qb.total", key)] += 1
    return seen


def _receipt_create(record: Mapping[str, Any]) -> str | None:
    """The ``requestid`` of a logged receipt create (the look-up can find its receipt), else ``None``."""
    path = str(record.get("path", "")).split("?", 1)[0]
    if record.get("method") != "POST" or not path.endswith(("/salesreceipt", "/refundreceipt")):
        return None
    ids = (record.get("query") or {}).get("requestid") or []
    return str(ids[0]) if ids else None


def _is_query(record: Mapping[str, Any]) -> bool:
    return record.get("method") == "GET" and str(record.get("path", "")).split("?", 1)[0].endswith("/query")


def lookups(run: ChaosRun) -> dict[str, int]:
    """Receipt creates whose answer was lost, and how each was kept single (look-up or requestid)."""
    return lookups_in(run, "quickbooks", _receipt_create, _is_query)


CHAOS = AppChaos(
    poison_body=POISON_BODY,
    api_path="/v3/company/",
    observe=effects_seen,
    checks=("qb.total",),
    key_expiry="/_requestids/expire",
    lookups=lookups,
)
