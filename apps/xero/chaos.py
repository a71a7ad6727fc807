"""Xero under the chaos harness: a ValidationException for poison, its API path (the identity
endpoints are spared late answers and crashes), and the documents booked per sale or refund.

Generators that make money events say which document each must cause (:func:`expect_document`): an
invoice per sale key, a credit note per refund key. The observer attributes every invoice and credit
note of the organisation to one of them by the payment or refund its ``Reference`` names (the
handler's note, as with QuickBooks' ``PrivateNote``): ``xero.invoice`` / ``xero.credit_note``, so a
document booked twice, or never, shows.

Each document is also checked (``xero.total``, a check: once per event): its ``Total`` is the money
taken or refunded, and it is ``PAID`` - the payment into (or out of) the deposit account went through,
so the clearing account holds what the processor paid out. A document whose expectation names no
total (``total=None``) is counted but not checked.

The harness forgets the stand-in's ``Idempotency-Key`` answers every few seconds (``key_expiry``), as
once Xero's retention (not in our sources) has passed, so a document whose create answer was lost is
kept single by the ledger's look-up (``where=Reference.Contains`` its marker), not by the key;
:func:`lookups` says how often that look-up found one (:mod:`infra.ops.chaos.lookups`).
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

__all__ = ["CHAOS", "ExpectedDocument", "effects_seen", "expect_document"]

#: Xero's 400 for a request it will never take (its own shape: the client reads it as permanent).
POISON_BODY = {
    "ErrorNumber": 10,
    "Type": "ValidationException",
    "Message": "A validation exception occurred",
    "Elements": [
        {
            "ValidationErrors": [
                {
                    "Message": "Account code 'POISON' is not a valid code for this document. (marked as poison by the chaos run)"
                }
            ]
        }
    ],
}
#: "Square payment <id>", "Stripe refund <id> of payment <id>": the money a document books.
_REFERENCE = re.compile(r"\b[A-Z][a-z]+ (?:payment|refund|order) ([A-Za-z0-9_:]+)")
_DOCUMENTS = "xero.documents"


@dataclass(frozen=True)
class ExpectedDocument:
    """The document one event must cause."""

    #: ``invoice`` (a sale) or ``creditnote`` (a refund).
    kind: str
    #: The payment (sale) or refund id the document's Reference names.
    money_id: str
    #: The event key the document is attributed to.
    key: str
    #: The document's ``Total`` in minor units (pence), for the ``xero.total`` check; ``None``: unchecked.
    total: int | None = None


def expect_document(run: ChaosRun, document: ExpectedDocument) -> None:
    run.remember(_DOCUMENTS, (document.kind, document.money_id), lambda: document)


def effects_seen(run: ChaosRun) -> Counter[EffectKey]:
    """``xero.invoice`` / ``xero.credit_note`` per document, attributed to the event that caused it;
    ``xero.total`` (a check) per document whose ``Total`` is the money and whose ``Status`` is PAID."""
    seen: Counter[EffectKey] = Counter()
    sandbox: Any = run.runtime.sandboxes.get("xero")
    if sandbox is None:
        return seen
    with sandbox.lock:
        documents = [
            (d.kind, str(d.body.get("Reference") or ""), d.body.get("Total"), d.body.get("Status"))
            for d in sandbox.documents.values()
            if d.kind in ("invoice", "creditnote")
        ]
    known = run.memory(_DOCUMENTS)
    for kind, reference, total, status in documents:
        found = _REFERENCE.search(reference)
        if found is None:
            continue
        effect = "xero.invoice" if kind == "invoice" else "xero.credit_note"
        expected: ExpectedDocument | None = known.get((kind, found.group(1)))
        key = expected.key if expected else f"?{found.group(1)}"
        seen[(effect, key)] += 1
        if (
            expected is not None
            and expected.total is not None
            and total is not None
            and status == "PAID"
            and Decimal(str(total)) * 100 == expected.total
        ):
            seen[("xero.total", key)] += 1
    return seen


_DOCUMENTS_PATHS = ("/api.xro/2.0/Invoices", "/api.xro/2.0/CreditNotes")


def _document_create(record: Mapping[str, Any]) -> str | None:
    """The ``Idempotency-Key`` of a logged invoice or credit note create, else ``None``."""
    path = str(record.get("path", "")).split("?", 1)[0].rstrip("/")
    if record.get("method") != "PUT" or not path.endswith(_DOCUMENTS_PATHS):
        return None
    headers = {str(k).lower(): v for k, v in (record.get("headers") or {}).items()}
    key = headers.get("idempotency-key")
    return str(key) if key else None


def _is_reference_lookup(record: Mapping[str, Any]) -> bool:
    path = str(record.get("path", "")).split("?", 1)[0].rstrip("/")
    return (
        record.get("method") == "GET"
        and path.endswith(_DOCUMENTS_PATHS)
        and "where" in (record.get("query") or {})
    )


def lookups(run: ChaosRun) -> dict[str, int]:
    """Document creates whose answer was lost, and how each was kept single (look-up or key)."""
    return lookups_in(run, "xero", _document_create, _is_reference_lookup)


CHAOS = AppChaos(
    poison_body=POISON_BODY,
    api_path="/api.xro/",
    observe=effects_seen,
    checks=("xero.total",),
    key_expiry="/_idempotency/expire",
    lookups=lookups,
)
