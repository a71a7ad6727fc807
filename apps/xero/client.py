"""Xero's typed client: the Accounting API calls Switchboard makes, each write once per key.

Every call names the organisation in ``xero-tenant-id``; every write (``PUT``) sends an
``Idempotency-Key`` derived from the sale or refund key and the entity (:func:`idempotency_key`), so a
retry after a lost answer - a timeout after Xero booked the invoice, a worker that died before the
ledger recorded the step - gets the first answer instead of a second invoice. The key is a hash: the
caller's key may be longer than Xero's 128 characters or hold characters a header cannot, and the
same key must never be reused for a *different* write in the same organisation (so the entity is part
of it: a sale's invoice and its payment have different keys).

Xero documents no retention for an ``Idempotency-Key`` in the sources we have, while a retry can come
hours later and a DLQ redrive days later - so, as for QuickBooks' ``requestid``, the ledger carries it
(docs/provider-guarantees.md): every invoice and credit note's ``Reference`` ends with its marker
(:func:`reference_marker`, ``[sb-<16 hex>]``), and a create made in a ledger step after an earlier
attempt of that step first looks for the marker (``GET .../Invoices?where=Reference.Contains("...")``)
and answers the document found, in its current state - so a sale whose payment already went through
is not paid twice either. On a first attempt nothing is looked up: one call.

Errors: the shared client (:class:`shared.http.ApiClient`) maps timeouts, 5xx and 429 (a wait of at
least ``Retry-After``; ``X-Rate-Limit-Problem`` says which of the minute, day or concurrent limits it
was, and a day-limit 429 carries its hours in the same ``Retry-After``, so one rule honours all). A ``400`` is read here: Xero's ``ValidationException`` becomes
:class:`XeroRejected` carrying Xero's own messages (``Elements[].ValidationErrors[].Message``) - a
permanent rejection, the same input fails the same way again. ``403`` (a tenant the token does not
reach) is a rejection too, naming the tenant setting.

Worker path only. httpx (via :mod:`shared.http`) is imported for type checking only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import ConfigurationError, TargetRejected, TargetUnavailable

from . import APP, MAX_IDEMPOTENCY_KEY, TENANT_HEADER
from .models import (
    Account,
    ContactOut,
    ContactRef,
    CreditNote,
    CreditNoteOut,
    Invoice,
    InvoiceOut,
    Payment,
    PaymentOut,
    TaxRate,
    TenantConnection,
    XeroError,
    parse_error,
)

if TYPE_CHECKING:
    import httpx

    from shared.http import ApiClient

__all__ = [
    "API",
    "TenantNotChosen",
    "XeroClient",
    "XeroRejected",
    "idempotency_key",
    "marked_reference",
    "organisations",
    "reference_marker",
    "resolve_tenant",
]

#: The Accounting API's root on ``api.xero.com``.
API: Final = "/api.xro/2.0"
#: ``Reference``'s length on an invoice or credit note.
MAX_REFERENCE: Final = 255
M = TypeVar("M", bound=BaseModel)


def reference_marker(entity: str, key: str) -> str:
    """The end of a document's ``Reference`` that names the key it was booked for: ``[sb-<16 hex>]``."""
    return f"[sb-{hashlib.sha256(f'{entity}:{key}'.encode()).hexdigest()[:16]}]"


def marked_reference(reference: str | None, marker: str) -> str:
    """``reference`` ending with ``marker``, within Xero's 255 characters (its beginning kept)."""
    tail = f" {marker}" if reference else marker
    return (reference or "")[: MAX_REFERENCE - len(tail)] + tail


def _earlier_attempt() -> bool:
    """Whether earlier attempts of the current ledger step ran (they may have booked); asked before
    the write, so that a write whose answer is lost is on record as attempted."""
    from shared.http import current_work

    stamp = current_work.get()
    return stamp is not None and stamp.earlier_attempt() is not None


def idempotency_key(entity: str, key: str) -> str:
    """The ``Idempotency-Key`` for writing ``entity`` once for ``key`` (a payment or refund id ...).

    ``switchboard-<entity>-`` and 64 hex digits of SHA-256 (256 bits): stable across retries, well
    inside 128 characters, and readable in Xero's request history.
    """
    value = f"switchboard-{entity}-" + hashlib.sha256(f"{entity}:{key}".encode()).hexdigest()
    if len(value) > MAX_IDEMPOTENCY_KEY:  # pragma: no cover - entity names are ours and short
        raise ValueError(f"idempotency key for {entity!r} is over {MAX_IDEMPOTENCY_KEY} characters")
    return value


class XeroRejected(TargetRejected):
    """Xero refused a request with its error body (a ``ValidationException`` ...): permanent."""

    def __init__(self, message: str, *, status: int, error: XeroError) -> None:
        super().__init__(message, status=status, app=APP.name)
        self.error = error


class TenantNotChosen(ConfigurationError):
    """The connection reaches no organisation, or several and names none (``tenant_id``)."""


def organisations(api: ApiClient) -> list[TenantConnection]:
    """The organisations the token reaches (``GET /connections``, entries of type ``ORGANISATION``)."""
    response = api.request("GET", "/connections", template="/connections")
    try:
        rows = [TenantConnection.model_validate(r) for r in json.loads(response.content)]
    except (ValueError, TypeError, ValidationError) as exc:
        raise TargetUnavailable(f"xero GET /connections: unexpected {response.status_code} body") from exc
    return [r for r in rows if r.tenantType == "ORGANISATION"]


def resolve_tenant(api: ApiClient, configured: str | None) -> str:
    """The organisation to book in: ``configured``, or the only one the token reaches.

    ``GET /connections`` lists the organisations the owner ticked on Xero's consent page. With one,
    there is nothing to choose; with several, booking into a guessed one would be wrong, so the
    operator is told to set ``tenant_id`` and shown the choices.
    """
    if configured:
        return configured
    found = organisations(api)
    if len(found) == 1:
        return found[0].tenantId
    if not found:
        raise TenantNotChosen(
            "the Xero connection reaches no organisation: connect again (switchboard connect xero) and tick one"
        )
    choices = ", ".join(f"{r.tenantName or '?'} = {r.tenantId}" for r in found)
    raise TenantNotChosen(
        f"the Xero connection reaches {len(found)} organisations; set tenant_id to one of them "
        f"(switchboard secrets set xero tenant_id=...): {choices}"
    )


class XeroClient:
    """Typed Xero Accounting API calls for one organisation, on top of :class:`shared.http.ApiClient`.

    ApiClient owns transport, the bearer token (refreshed by :mod:`shared.oauth`), timeouts and the
    status mapping; this class knows the paths, the tenant header, ``Idempotency-Key`` and Xero's
    error body.
    """

    def __init__(self, api: ApiClient, tenant_id: str) -> None:
        if not tenant_id or not tenant_id.strip() or len(tenant_id) > 100:
            raise ValueError("a Xero tenant id is the organisation's id (a UUID from /connections)")
        self._api = api
        self.tenant_id = tenant_id

    @property
    def api(self) -> ApiClient:
        """The HTTP client underneath (per connection and access token)."""
        return self._api

    # --- writes ------------------------------------------------------------------------------

    def create_invoice(self, invoice: Invoice, *, key: str) -> InvoiceOut:
        """Create an authorised sales invoice, once per ``key`` (found again on a later attempt)."""
        marker = reference_marker("invoice", key)
        if _earlier_attempt():
            found = self.find_by_marker(InvoiceOut, "Invoices", marker)
            if found is not None:
                return found
        body = invoice.model_copy(update={"Reference": marked_reference(invoice.Reference, marker)}).body()
        data = self._put("Invoices", {"Invoices": [body]}, idempotency_key("invoice", key))
        return self._first(InvoiceOut, data, "Invoices")

    def create_credit_note(self, note: CreditNote, *, key: str) -> CreditNoteOut:
        """Create an authorised sales credit note, once per ``key`` (found again on a later attempt)."""
        marker = reference_marker("creditnote", key)
        if _earlier_attempt():
            found = self.find_by_marker(CreditNoteOut, "CreditNotes", marker)
            if found is not None:
                return found
        body = note.model_copy(update={"Reference": marked_reference(note.Reference, marker)}).body()
        data = self._put("CreditNotes", {"CreditNotes": [body]}, idempotency_key("creditnote", key))
        return self._first(CreditNoteOut, data, "CreditNotes")

    def find_by_marker(self, model: type[M], collection: str, marker: str) -> M | None:
        """The document of ``collection`` whose ``Reference`` holds ``marker``, in its current state."""
        data = self._get(collection, {"where": f'Reference.Contains("{marker}")'})
        for row in data.get(collection) or []:
            if isinstance(row, Mapping) and marker in str(row.get("Reference") or ""):
                return self._model(model, row, collection)
        return None

    def create_payment(self, payment: Payment, *, key: str) -> PaymentOut:
        """Apply a payment (to an invoice) or a refund payment (from a credit note), once per ``key``."""
        entity = "payment" if payment.Invoice is not None else "refundpayment"
        data = self._put("Payments", {"Payments": [payment.body()]}, idempotency_key(entity, key))
        return self._first(PaymentOut, data, "Payments")

    def create_contact(self, name: str, *, key: str) -> ContactOut:
        """Create a contact by name, once per ``key``."""
        body = {"Contacts": [ContactRef(Name=name).body()]}
        data = self._put("Contacts", body, idempotency_key("contact", key))
        return self._first(ContactOut, data, "Contacts")

    # --- reads -------------------------------------------------------------------------------

    def find_contact(self, name: str) -> ContactOut | None:
        """The active contact called exactly ``name``, if there is one (Xero's ``where`` filter)."""
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        params = {"where": f'Name=="{quoted}"'}
        data = self._get("Contacts", params)
        for row in data.get("Contacts") or []:
            contact = self._model(ContactOut, row, "Contacts")
            if contact.Name == name and contact.ContactStatus in (None, "ACTIVE"):
                return contact
        return None

    def accounts(self) -> list[Account]:
        """The chart of accounts."""
        return [self._model(Account, row, "Accounts") for row in self._get("Accounts").get("Accounts") or []]

    def tax_rates(self) -> list[TaxRate]:
        """The organisation's tax rates."""
        return [self._model(TaxRate, row, "TaxRates") for row in self._get("TaxRates").get("TaxRates") or []]

    # --- plumbing ----------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {TENANT_HEADER: self.tenant_id}

    def _put(self, collection: str, body: dict[str, Any], key: str) -> Mapping[str, Any]:
        template = f"{API}/{collection}"
        headers = {**self._headers(), "idempotency-key": key}
        response = self._api.request(
            "PUT", template, json=body, headers=headers, template=template, ok=(400, 403)
        )
        return self._answer(response, f"xero PUT {template}")

    def _get(self, collection: str, params: Mapping[str, str] | None = None) -> Mapping[str, Any]:
        template = f"{API}/{collection}"
        response = self._api.request(
            "GET", template, params=params, headers=self._headers(), template=template, ok=(400, 403)
        )
        return self._answer(response, f"xero GET {template}")

    def _answer(self, response: httpx.Response, where: str) -> Mapping[str, Any]:
        """The parsed body (decimals exact), or the rejection its error body stands for."""
        try:
            data = json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise TargetUnavailable(f"{where}: unexpected {response.status_code} body (not JSON)") from exc
        if response.status_code == 403:
            detail = data.get("Detail") if isinstance(data, Mapping) else None
            raise TargetRejected(
                f"{where}: 403 {detail or 'Forbidden'} - the connection does not reach organisation "
                f"{self.tenant_id} (tenant_id); GET /connections lists the ones it does",
                status=403,
                app=APP.name,
            )
        error = parse_error(data)
        if response.status_code == 400 or error is not None:
            error = error or XeroError(Message=str(data)[:300])
            raise XeroRejected(f"{where}: {response.status_code} {error.summary()}", status=400, error=error)
        if not isinstance(data, Mapping):
            raise TargetUnavailable(f"{where}: unexpected {response.status_code} body")
        return data

    @staticmethod
    def _model(model: type[M], row: Any, where: str) -> M:
        try:
            return model.model_validate(row)
        except ValidationError as exc:
            raise TargetUnavailable(f"xero {where}: unexpected answer") from exc

    def _first(self, model: type[M], data: Mapping[str, Any], collection: str) -> M:
        rows = data.get(collection)
        if not isinstance(rows, list) or not rows:
            raise TargetUnavailable(f"xero PUT {API}/{collection}: answer holds no {collection}")
        row = rows[0]
        if isinstance(row, Mapping) and row.get("HasErrors"):  # summarizeErrors=false style answer
            error = parse_error({"ErrorNumber": 10, "Type": "ValidationException", "Elements": [row]})
            assert error is not None
            raise XeroRejected(f"xero PUT {API}/{collection}: {error.summary()}", status=400, error=error)
        return self._model(model, row, collection)
