"""The catalogue actions QuickBooks Online performs: ``accounting.record_sale`` and ``record_refund``.

Their contract is the domain's (:mod:`shared.actions.accounting`): one :class:`RecordReceipt` in,
one :class:`RecordedReceipt` out. This module turns the input into the Sales Receipt or Refund
Receipt body Intuit takes (the two share their fields) and books it under ``requestid`` derived from
the input's ``key`` (:func:`.client.request_id`), so a repeated key books nothing new while Intuit
remembers the id; past that (Intuit documents no retention), a retried ledger step finds the receipt
by the marker the client adds to its ``PrivateNote`` (:mod:`.client`). The realm (the company id) is
read from the connection's secret on each call.

The memo goes to ``PrivateNote``, which keeps :data:`~apps.quickbooks.MAX_PRIVATE_NOTE` characters;
a longer ``note`` (the contract allows :data:`~shared.actions.accounting.MAX_NOTE`) keeps its
beginning - where a handler puts the ids a person searches for - rather than refusing the booking.
The client keeps the last line for its marker (:func:`.client.marked_note`).

The contract's ids are provider-neutral strings; QuickBooks numbers its items, accounts, customers and
payment methods, so :func:`receipt` checks that each one given is a number first and refuses another
shape naming the field (:class:`~shared.actions.accounting.WrongIdShape`) - before Intuit would answer
2500 "Invalid Reference Id". It books a line to its item's income account, so the contract's
``sales_account`` is not taken (``unused``: refused if given), and ``default_item`` is required.

Worker and MCP path only.
"""

from __future__ import annotations

import re
from typing import Final

from shared.actions.accounting import ReceiptLine, RecordedReceipt, RecordReceipt, WrongIdShape
from shared.actions.base import Action, ActionContext

from . import APP, CONNECTION, MAX_PRIVATE_NOTE
from .client import QuickBooksClient
from .models import Line, Receipt, Ref, SalesItemLineDetail, Transaction, TxnTaxDetail

__all__ = ["ACTIONS", "RECORD_REFUND", "RECORD_SALE", "receipt"]


#: A QuickBooks list entity id: items, accounts, customers and payment methods are numbered.
_QB_ID: Final = re.compile(r"^\d{1,20}$")


def _checked(field: str, value: str | None) -> str | None:
    if value is not None and not _QB_ID.match(value):
        raise WrongIdShape(APP.name, field, value, "QuickBooks ids are numbers (e.g. 36)")
    return value


def receipt(data: RecordReceipt) -> Receipt:
    """The SalesReceipt / RefundReceipt body (the two entities share these fields)."""
    if data.default_item is None and any(line.item_id is None for line in data.lines):
        raise WrongIdShape(APP.name, "default_item", "", "QuickBooks books every line to an item; set one")
    for name in ("deposit_account", "customer_id", "payment_method_id", "default_item"):
        _checked(name, getattr(data, name))
    for index, line in enumerate(data.lines):
        _checked(f"lines[{index}].item_id", line.item_id)
    return Receipt(
        Line=tuple(_line(data, line) for line in data.lines),
        TxnDate=data.date,
        CurrencyRef=Ref(value=data.currency),
        DepositToAccountRef=Ref(value=data.deposit_account),
        CustomerRef=Ref(value=data.customer_id) if data.customer_id else None,
        PaymentMethodRef=Ref(value=data.payment_method_id) if data.payment_method_id else None,
        TxnTaxDetail=TxnTaxDetail(TotalTax=data.tax) if data.tax else None,
        GlobalTaxCalculation=data.tax_calculation,
        PrivateNote=data.note[:MAX_PRIVATE_NOTE] if data.note is not None else None,
    )


def _line(data: RecordReceipt, line: ReceiptLine) -> Line:
    detail = SalesItemLineDetail(
        ItemRef=Ref(value=line.item_id or data.default_item or ""),
        Qty=line.quantity,
        UnitPrice=line.unit_price,
        TaxCodeRef=Ref(value=line.tax_code) if line.tax_code else None,
    )
    return Line(Amount=line.amount, Description=line.description, SalesItemLineDetail=detail)


def _client(ctx: ActionContext) -> QuickBooksClient:
    from shared.secrets import get_connection  # Powertools parameters: imported on use

    realm_id = str(get_connection(ctx.rt, CONNECTION)["realm_id"])
    return QuickBooksClient(ctx.api(APP, CONNECTION), realm_id)


def _recorded(txn: Transaction) -> RecordedReceipt:
    return RecordedReceipt(id=txn.Id, doc_number=txn.DocNumber, total=txn.TotalAmt)


def _sale(ctx: ActionContext, data: RecordReceipt) -> RecordedReceipt:
    return _recorded(_client(ctx).create_sales_receipt(receipt(data), key=data.key))


def _refund(ctx: ActionContext, data: RecordReceipt) -> RecordedReceipt:
    return _recorded(_client(ctx).create_refund_receipt(receipt(data), key=data.key))


_CONFIG: Final = {
    "deposit_account": "quickbooks_deposit_account",
    "currency": "home_currency",
    "default_item": "quickbooks_default_item",
}

RECORD_SALE: Final = Action(
    name="accounting.record_sale",
    description="Book a sale as a QuickBooks Sales Receipt, once per key (repeating a key never books twice).",
    input=RecordReceipt,
    output=RecordedReceipt,
    app=APP.name,
    connections=(CONNECTION,),
    run=_sale,
    config=_CONFIG,
    unused=("sales_account",),
)
RECORD_REFUND: Final = Action(
    name="accounting.record_refund",
    description="Book a refund as a QuickBooks Refund Receipt, once per key (repeating a key never books twice).",
    input=RecordReceipt,
    output=RecordedReceipt,
    app=APP.name,
    connections=(CONNECTION,),
    run=_refund,
    config=_CONFIG,
    unused=("sales_account",),
)

ACTIONS: Final = (RECORD_SALE, RECORD_REFUND)
