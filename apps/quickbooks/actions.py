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

Worker and MCP path only.
"""

from __future__ import annotations

from typing import Final

from shared.actions.accounting import ReceiptLine, RecordedReceipt, RecordReceipt
from shared.actions.base import Action, ActionContext

from . import APP, CONNECTION, MAX_PRIVATE_NOTE
from .client import QuickBooksClient
from .models import Line, Receipt, Ref, SalesItemLineDetail, Transaction, TxnTaxDetail

__all__ = ["ACTIONS", "RECORD_REFUND", "RECORD_SALE", "receipt"]


def receipt(data: RecordReceipt) -> Receipt:
    """The SalesReceipt / RefundReceipt body (the two entities share these fields)."""
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
        ItemRef=Ref(value=line.item_id or data.default_item),
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
)

ACTIONS: Final = (RECORD_SALE, RECORD_REFUND)
