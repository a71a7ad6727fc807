"""Accounting actions (QuickBooks Online): book a sale (Sales Receipt) or a refund (Refund Receipt).

Both take the same input, :class:`RecordReceipt`: the lines with exact ``Decimal`` amounts, the tax,
the date - and a required ``key``, the stable id of the sale or refund (a till payment id ...).
The key becomes QuickBooks' ``requestid`` (hashed with the entity, :func:`apps.quickbooks.request_id`),
so the same key books one receipt however often the call is repeated - after a timeout, a retry, a
redrive, or a model calling the tool twice. That is why it is required: an accounting entry must not
be doubled by a caller that forgot an idempotency key.

What the *company* decides - the account the takings go to, the home currency, the item a line
without one is booked to - are config fields (``deposit_account``, ``currency``, ``default_item``):
an AI tool fills them from the deployment's settings and never lets a model choose them; a handler
fills them from its own settings. The realm (the company id) is part of the connection's secret,
read on each call, not an input at all.

Amounts stay ``Decimal`` end to end (:func:`apps.quickbooks.wire` writes them as exact JSON
numbers). Quantity and unit price are optional; when both are given, QuickBooks requires
``amount == quantity * unit_price`` (its fault 6070), so that is checked here first, with a message a
caller can act on.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from apps import quickbooks
from shared.actions.base import Action, ActionContext

__all__ = [
    "ACTIONS",
    "RECORD_REFUND",
    "RECORD_SALE",
    "ReceiptLine",
    "RecordReceipt",
    "RecordedReceipt",
]

#: A QuickBooks list entity id (items, accounts, customers, payment methods are numbered).
QbId = Annotated[str, Field(pattern=r"^\d{1,20}$")]
#: An amount: exact, at most 4 places (the most any currency has), at most 15 digits in all.
Amount = Annotated[Decimal, Field(max_digits=15, decimal_places=4, allow_inf_nan=False)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ReceiptLine(_In):
    """One line of a receipt: an amount booked to an item, with an optional tax code and quantity."""

    amount: Amount = Field(description="the line's amount, tax excluded (e.g. 12.50)")
    description: str | None = Field(default=None, max_length=4000, description="what was sold")
    item_id: QbId | None = Field(default=None, description="QuickBooks item id (default: the configured one)")
    tax_code: str | None = Field(
        default=None, max_length=20, description="QuickBooks tax code id of this line (e.g. 3, or NON)"
    )
    quantity: Decimal | None = Field(default=None, gt=0, max_digits=15, decimal_places=5)
    unit_price: Amount | None = Field(
        default=None, description="with quantity: amount = quantity x unit price"
    )

    @model_validator(mode="after")
    def _adds_up(self) -> ReceiptLine:
        if (self.quantity is None) != (self.unit_price is None):
            raise ValueError("give quantity and unit_price together, or neither")
        if (
            self.quantity is not None
            and self.unit_price is not None
            and self.quantity * self.unit_price != self.amount
        ):
            raise ValueError("amount must equal quantity x unit_price (QuickBooks refuses it otherwise)")
        return self


class RecordReceipt(_In):
    """A sale or refund to book in QuickBooks, once per ``key``."""

    key: str = Field(
        min_length=1,
        max_length=200,
        description=(
            "a unique id of this sale or refund (e.g. the till's payment id): the same key books one "
            "receipt, however often the call is repeated"
        ),
    )
    date: dt.date = Field(description="the day it happened (the receipt's date), YYYY-MM-DD")
    lines: list[ReceiptLine] = Field(min_length=1, max_length=250)
    tax: Amount | None = Field(default=None, description="the total tax on top of the lines, if any")
    customer_id: QbId | None = Field(default=None, description="QuickBooks customer id (default: none)")
    payment_method_id: QbId | None = Field(default=None, description="QuickBooks payment method id")
    note: str | None = Field(default=None, max_length=quickbooks.MAX_PRIVATE_NOTE, description="private memo")
    tax_calculation: Literal["TaxExcluded", "TaxInclusive", "NotApplicable"] | None = Field(
        default=None, description="GlobalTaxCalculation (outside the US: TaxExcluded); default: the company's"
    )
    #: Config: the account the money goes to (a sale) or comes out of (a refund).
    deposit_account: QbId
    #: Config: the company's home currency (ISO 4217).
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    #: Config: the item of a line that names none.
    default_item: QbId

    def receipt(self) -> quickbooks.Receipt:
        """The SalesReceipt / RefundReceipt body (the two entities share these fields)."""
        return quickbooks.Receipt(
            Line=tuple(self._line(line) for line in self.lines),
            TxnDate=self.date,
            CurrencyRef=quickbooks.Ref(value=self.currency),
            DepositToAccountRef=quickbooks.Ref(value=self.deposit_account),
            CustomerRef=quickbooks.Ref(value=self.customer_id) if self.customer_id else None,
            PaymentMethodRef=quickbooks.Ref(value=self.payment_method_id) if self.payment_method_id else None,
            TxnTaxDetail=quickbooks.TxnTaxDetail(TotalTax=self.tax) if self.tax else None,
            GlobalTaxCalculation=self.tax_calculation,
            PrivateNote=self.note,
        )

    def _line(self, line: ReceiptLine) -> quickbooks.Line:
        detail = quickbooks.SalesItemLineDetail(
            ItemRef=quickbooks.Ref(value=line.item_id or self.default_item),
            Qty=line.quantity,
            UnitPrice=line.unit_price,
            TaxCodeRef=quickbooks.Ref(value=line.tax_code) if line.tax_code else None,
        )
        return quickbooks.Line(Amount=line.amount, Description=line.description, SalesItemLineDetail=detail)


class RecordedReceipt(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(description="QuickBooks' id of the receipt")
    doc_number: str | None = Field(default=None, description="the receipt's number, as QuickBooks shows it")
    total: Decimal | None = Field(default=None, description="the receipt's total, as QuickBooks computed it")


def _client(ctx: ActionContext) -> quickbooks.QuickBooksClient:
    from shared.secrets import get_connection  # Powertools parameters: imported on use

    realm_id = str(get_connection(ctx.rt, quickbooks.CONNECTION)["realm_id"])
    return quickbooks.QuickBooksClient(ctx.api(quickbooks.APP, quickbooks.CONNECTION), realm_id)


def _recorded(txn: quickbooks.Transaction) -> RecordedReceipt:
    return RecordedReceipt(id=txn.Id, doc_number=txn.DocNumber, total=txn.TotalAmt)


def _sale(ctx: ActionContext, data: RecordReceipt) -> RecordedReceipt:
    return _recorded(_client(ctx).create_sales_receipt(data.receipt(), key=data.key))


def _refund(ctx: ActionContext, data: RecordReceipt) -> RecordedReceipt:
    return _recorded(_client(ctx).create_refund_receipt(data.receipt(), key=data.key))


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
    app=quickbooks.APP.name,
    connections=(quickbooks.CONNECTION,),
    run=_sale,
    config=_CONFIG,
)
RECORD_REFUND: Final = Action(
    name="accounting.record_refund",
    description="Book a refund as a QuickBooks Refund Receipt, once per key (repeating a key never books twice).",
    input=RecordReceipt,
    output=RecordedReceipt,
    app=quickbooks.APP.name,
    connections=(quickbooks.CONNECTION,),
    run=_refund,
    config=_CONFIG,
)

ACTIONS: Final = (RECORD_SALE, RECORD_REFUND)
