"""The catalogue actions Xero performs: ``accounting.record_sale`` and ``record_refund``.

Their contract is the domain's (:mod:`shared.actions.accounting`), the same QuickBooks performs: one
:class:`RecordReceipt` in, one :class:`RecordedReceipt` out.

**A sale is a sales invoice paid at once, not a "Receive Money" bank transaction.** Xero has no sales
receipt; a paid sale is either. The invoice (``ACCREC``, authorised, due the day of the sale) with a
payment of its total into the deposit account is what an accountant expects from a till:

* the sale is in Accounts Receivable's sales reports - sales by item, by contact, the invoice list -
  where a bank transaction is only a line on a bank account;
* a refund is then its mirror, a credit note (``ACCRECCREDIT``) with a refund payment out of the same
  account - as QuickBooks pairs a Sales Receipt with a Refund Receipt - and the tax on both lands in
  the same VAT return boxes; a bank transaction has no credit note to refund it with;
* the payment sits in the deposit account, typically a clearing account per card processor
  ("Square clearing"), whose balance reconciles against the processor's payouts.

The price is a second call per sale (invoice, then payment), which Xero's 60 calls a minute per
organisation allows for 30 sales a minute - far beyond a small shop's till. Both calls are idempotent
(:func:`.client.idempotency_key`: ``invoice`` and ``payment`` of the same key), so a retry after the
invoice was booked and the payment failed books no second invoice and pays the first once.

The refund's credit note is paid out (a ``Payment`` against the ``CreditNote``), not allocated to the
sale's invoice: the invoice was paid at the till, so there is nothing outstanding to allocate against.

How the contract's fields map (Xero's ``Invoice``/``CreditNote``/``LineItem``):

* ``lines`` -> ``LineItems``: ``Description`` (default "Sale"/"Refund"), ``Quantity`` and
  ``UnitAmount`` (or 1 x the amount), ``LineAmount``, ``ItemCode`` (the line's ``item_id`` or the
  ``default_item``, if any), ``AccountCode`` (``sales_account``; may be left to the item's own sales
  account when an item is named), ``TaxType`` (``tax_code``); amounts go with ``unitdp=4``;
* ``tax`` -> each taxed line's ``TaxAmount`` (Xero's "can be overridden if the calculated TaxAmount is
  not correct"): the till's tax, split over the lines with a tax code in proportion to their amounts
  (to the penny, the remainder on the largest line), so the books carry the tax the till charged;
  without it Xero computes the tax from the tax types;
* ``tax_calculation`` -> ``LineAmountTypes`` (TaxExcluded: Exclusive, TaxInclusive: Inclusive,
  NotApplicable: NoTax; Exclusive when unset, Xero's own default);
* ``customer_id`` -> ``Contact.ContactID``; without one, the organisation's :data:`WALK_IN_CONTACT`,
  found by name or created once (Xero requires a contact on every invoice);
* ``note`` -> ``Reference`` (its beginning, then the client's ``[sb-...]`` marker, within 255
  characters: Xero invoices have no private memo field; the reference is searchable and shows the
  till's ids to whoever reconciles);
* ``deposit_account`` -> the payment's ``Account.Code``; ``currency`` -> ``CurrencyCode``;
* ``payment_method_id`` is not taken (``unused``): Xero payments have no payment method.

Ids are checked for Xero's shapes before any call (:class:`~shared.actions.accounting.WrongIdShape`):
account codes (at most 10 letters, digits, ``.``, ``-``, ``_``), tax types (capitals and digits),
item codes (at most 30 characters), contact ids (UUIDs).

Worker and MCP path only.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Final

from shared.actions.accounting import RecordedReceipt, RecordReceipt, WrongIdShape
from shared.actions.base import Action, ActionContext

from . import APP, CONNECTION
from .client import XeroClient, resolve_tenant
from .models import (
    LINE_AMOUNT_TYPES,
    AccountRef,
    ContactRef,
    CreditNote,
    CreditNoteId,
    Invoice,
    InvoiceId,
    LineItem,
    Payment,
)

if TYPE_CHECKING:
    from shared.http import ApiClient

__all__ = [
    "ACTIONS",
    "RECORD_REFUND",
    "RECORD_SALE",
    "WALK_IN_CONTACT",
    "credit_note",
    "invoice",
    "line_items",
]

#: The contact a sale without a customer is booked to (found by name, or created once).
WALK_IN_CONTACT: Final = "Walk-in customer"
#: ``Reference``'s length on an invoice or credit note.
MAX_REFERENCE: Final = 255

_ACCOUNT_CODE: Final = re.compile(r"^[A-Za-z0-9._-]{1,10}$")
_TAX_TYPE: Final = re.compile(r"^[A-Z0-9_]{1,50}$")
_UUID: Final = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_CENT: Final = Decimal("0.01")


def _check(field: str, value: str | None, pattern: re.Pattern[str], expected: str) -> None:
    if value is not None and not pattern.match(value):
        raise WrongIdShape(APP.name, field, value, expected)


def _checked(data: RecordReceipt) -> None:
    code = "Xero account codes are at most 10 letters and digits (e.g. 200, 090)"
    _check("deposit_account", data.deposit_account, _ACCOUNT_CODE, code)
    _check("sales_account", data.sales_account, _ACCOUNT_CODE, code)
    _check("customer_id", data.customer_id, _UUID, "Xero contacts are named by their ContactID (a UUID)")
    items = [("default_item", data.default_item)] + [
        (f"lines[{i}].item_id", li.item_id) for i, li in enumerate(data.lines)
    ]
    for field, item in items:
        if item is not None and len(item) > 30:
            raise WrongIdShape(APP.name, field, item, "Xero item codes are at most 30 characters")
    for i, line in enumerate(data.lines):
        _check(
            f"lines[{i}].tax_code",
            line.tax_code,
            _TAX_TYPE,
            "Xero tax types are capitals and digits (e.g. OUTPUT2, NONE)",
        )
        if data.sales_account is None and line.item_id is None and data.default_item is None:
            raise WrongIdShape(
                APP.name,
                "sales_account",
                "",
                "Xero lines name a revenue account (e.g. 200) or an item; set sales_account",
            )


def _tax_shares(data: RecordReceipt, rates: Mapping[str, Decimal] | None = None) -> list[Decimal | None]:
    """Each line's ``TaxAmount``: ``data.tax`` split over the taxed lines (all, if none names a tax code).

    Split by what each line's tax type charges (``rates``: tax type -> the organisation's effective
    rate), so a zero-rated line of a mixed sale carries no VAT - Xero's VAT return adds up the lines'
    tax per rate. Without the rates, by the lines' amounts.
    """
    if data.tax is None:
        return [None] * len(data.lines)
    taxed = [i for i, li in enumerate(data.lines) if li.tax_code] or list(range(len(data.lines)))
    shares: list[Decimal | None] = [None] * len(data.lines)

    def rate(i: int) -> Decimal:
        code = data.lines[i].tax_code
        return Decimal(1) if rates is None or code is None else rates.get(code, Decimal(1))

    charged = [i for i in taxed if rate(i) > 0]
    for i in taxed:
        if i not in charged:
            shares[i] = Decimal("0.00")  # zero-rated or exempt: no VAT on this line
    taxed = charged or taxed
    base = sum((abs(data.lines[i].amount) * rate(i) for i in taxed), Decimal(0))
    total = data.tax.quantize(_CENT, ROUND_HALF_UP)
    for i in taxed:
        weight = abs(data.lines[i].amount) * rate(i) / base if base else Decimal(1) / len(taxed)
        shares[i] = (total * weight).quantize(_CENT, ROUND_HALF_UP)
    largest = max(taxed, key=lambda i: abs(data.lines[i].amount))
    shares[largest] = (shares[largest] or Decimal(0)) + total - sum((s or Decimal(0)) for s in shares)
    return shares


def line_items(
    data: RecordReceipt, *, default: str, rates: Mapping[str, Decimal] | None = None
) -> tuple[LineItem, ...]:
    """The contract's lines as Xero line items (see the module docstring for the mapping)."""
    _checked(data)
    shares = _tax_shares(data, rates)
    items = []
    for line, tax in zip(data.lines, shares, strict=True):
        items.append(
            LineItem(
                Description=line.description or default,
                Quantity=line.quantity if line.quantity is not None else Decimal(1),
                UnitAmount=line.unit_price if line.unit_price is not None else line.amount,
                LineAmount=line.amount,
                ItemCode=line.item_id or data.default_item,
                AccountCode=data.sales_account,
                TaxType=line.tax_code,
                TaxAmount=tax,
            )
        )
    return tuple(items)


def _reference(data: RecordReceipt) -> str | None:
    return data.note[:MAX_REFERENCE] if data.note else None  # the client makes room for its marker


def invoice(data: RecordReceipt, contact: ContactRef, rates: Mapping[str, Decimal] | None = None) -> Invoice:
    """The authorised sales invoice of a sale, due the day it was paid."""
    return Invoice(
        Contact=contact,
        LineItems=line_items(data, default="Sale", rates=rates),
        Date=data.date,
        DueDate=data.date,
        LineAmountTypes=LINE_AMOUNT_TYPES[data.tax_calculation or "TaxExcluded"],
        Reference=_reference(data),
        CurrencyCode=data.currency,
    )


def credit_note(
    data: RecordReceipt, contact: ContactRef, rates: Mapping[str, Decimal] | None = None
) -> CreditNote:
    """The authorised sales credit note of a refund."""
    return CreditNote(
        Contact=contact,
        LineItems=line_items(data, default="Refund", rates=rates),
        Date=data.date,
        LineAmountTypes=LINE_AMOUNT_TYPES[data.tax_calculation or "TaxExcluded"],
        Reference=_reference(data),
        CurrencyCode=data.currency,
    )


# --- per-container caches: the organisation and its walk-in contact, looked up once ---------------

# Kept per HTTP client: a client lives as long as its access token (30 minutes), so a contact someone
# archived in Xero, or a tenant chosen anew, is looked up again within the half hour.
_lock = threading.Lock()
_tenants: weakref.WeakKeyDictionary[ApiClient, str] = weakref.WeakKeyDictionary()
_rates: weakref.WeakKeyDictionary[ApiClient, dict[str, dict[str, Decimal]]] = weakref.WeakKeyDictionary()
_contacts: weakref.WeakKeyDictionary[ApiClient, dict[str, str]] = weakref.WeakKeyDictionary()


def _client(ctx: ActionContext) -> XeroClient:
    from shared.secrets import get_connection  # Powertools parameters: imported on use

    configured = str(get_connection(ctx.rt, CONNECTION).get("tenant_id") or "")
    api = ctx.api(APP, CONNECTION)
    if configured:
        return XeroClient(api, configured)
    with _lock:
        known = _tenants.get(api)
    if known is None:
        known = resolve_tenant(api, None)
        with _lock:
            _tenants[api] = known
    return XeroClient(api, known)


def _contact(client: XeroClient, data: RecordReceipt) -> ContactRef:
    if data.customer_id:
        return ContactRef(ContactID=data.customer_id)
    with _lock:
        known = _contacts.get(client.api, {}).get(client.tenant_id)
    if known is None:
        found = client.find_contact(WALK_IN_CONTACT)
        # Created under one key per organisation: two workers creating it at once make one contact.
        found = found or client.create_contact(WALK_IN_CONTACT, key=f"{client.tenant_id}:{WALK_IN_CONTACT}")
        known = found.ContactID
        with _lock:
            _contacts.setdefault(client.api, {})[client.tenant_id] = known
    return ContactRef(ContactID=known)


def _tax_rates(client: XeroClient, data: RecordReceipt) -> dict[str, Decimal] | None:
    """The organisation's effective rate per tax type, read once per container (only when a tax is split)."""
    if data.tax is None or not any(line.tax_code for line in data.lines):
        return None
    with _lock:
        known = _rates.get(client.api, {}).get(client.tenant_id)
    if known is None:
        known = {r.TaxType: r.EffectiveRate for r in client.tax_rates() if r.EffectiveRate is not None}
        with _lock:
            _rates.setdefault(client.api, {})[client.tenant_id] = known
    return known


def _sale(ctx: ActionContext, data: RecordReceipt) -> RecordedReceipt:
    _checked(data)
    client = _client(ctx)
    document = invoice(data, _contact(client, data), _tax_rates(client, data))
    booked = client.create_invoice(document, key=data.key)
    # What is still owed: the total on a new invoice; less on one an earlier attempt already paid.
    due = booked.AmountDue if booked.AmountDue is not None else booked.Total
    total = due if due is not None else sum((li.amount for li in data.lines), Decimal(0))
    if total > 0:
        payment = Payment(
            Invoice=InvoiceId(InvoiceID=booked.InvoiceID),
            Account=AccountRef(Code=data.deposit_account),
            Date=data.date,
            Amount=total,
            Reference=_reference(data),
        )
        client.create_payment(payment, key=data.key)
    return RecordedReceipt(id=booked.InvoiceID, doc_number=booked.InvoiceNumber, total=booked.Total)


def _refund(ctx: ActionContext, data: RecordReceipt) -> RecordedReceipt:
    _checked(data)
    client = _client(ctx)
    document = credit_note(data, _contact(client, data), _tax_rates(client, data))
    note = client.create_credit_note(document, key=data.key)
    left = note.RemainingCredit if note.RemainingCredit is not None else note.Total
    total = left if left is not None else sum((li.amount for li in data.lines), Decimal(0))
    if total > 0:
        payment = Payment(
            CreditNote=CreditNoteId(CreditNoteID=note.CreditNoteID),
            Account=AccountRef(Code=data.deposit_account),
            Date=data.date,
            Amount=total,
            Reference=_reference(data),
        )
        client.create_payment(payment, key=data.key)
    return RecordedReceipt(id=note.CreditNoteID, doc_number=note.CreditNoteNumber, total=note.Total)


_CONFIG: Final = {
    "deposit_account": "xero_deposit_account",
    "currency": "home_currency",
    "sales_account": "xero_sales_account",
}

RECORD_SALE: Final = Action(
    name="accounting.record_sale",
    description="Book a sale in Xero as an invoice paid at once, once per key (repeating a key never books twice).",
    input=RecordReceipt,
    output=RecordedReceipt,
    app=APP.name,
    connections=(CONNECTION,),
    run=_sale,
    config=_CONFIG,
    unused=("payment_method_id",),
)
RECORD_REFUND: Final = Action(
    name="accounting.record_refund",
    description="Book a refund in Xero as a credit note paid out at once, once per key (repeating a key never books twice).",
    input=RecordReceipt,
    output=RecordedReceipt,
    app=APP.name,
    connections=(CONNECTION,),
    run=_refund,
    config=_CONFIG,
    unused=("payment_method_id",),
)

ACTIONS: Final = (RECORD_SALE, RECORD_REFUND)
