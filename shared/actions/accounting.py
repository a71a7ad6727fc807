"""Accounting actions: book a sale (a Sales Receipt) or a refund (a Refund Receipt), once per key.

Both take the same input, :class:`RecordReceipt`: the lines with exact ``Decimal`` amounts, the tax,
the date - and a required ``key``, the stable id of the sale or refund (a till payment id ...).
The key becomes QuickBooks' ``requestid`` (hashed with the entity,
:func:`apps.quickbooks.client.request_id`), so the same key books one receipt however often the call
is repeated - after a timeout, a retry, a redrive, or a model calling the tool twice. That is why it
is required: an accounting entry must not be doubled by a caller that forgot an idempotency key.

What the *company* decides - the account the takings go to, the home currency, the item a line
without one is booked to - are config fields (``deposit_account``, ``currency``, ``default_item``):
an AI tool fills them from the deployment's settings and never lets a model choose them; a handler
fills them from its own settings. The realm (the company id) is part of the connection's secret,
read on each call, not an input at all.

Amounts stay ``Decimal`` end to end (:func:`apps.quickbooks.models.wire` writes them as exact JSON
numbers). Quantity and unit price are optional; when both are given, QuickBooks requires
``amount == quantity * unit_price`` (its fault 6070), so that is checked here first, with a message a
caller can act on. The private memo (``note``) is at most :data:`MAX_NOTE` characters, the domain's
own limit; an app whose books keep a shorter memo says so in its actions.

This module is the contract (inputs, outputs); QuickBooks Online performs both actions
(:mod:`apps.quickbooks.actions`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "MAX_NOTE",
    "ReceiptLine",
    "RecordReceipt",
    "RecordedReceipt",
]

#: The longest private memo a receipt takes (an app whose books keep less stores its beginning).
MAX_NOTE: Final = 4000
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
    note: str | None = Field(default=None, max_length=MAX_NOTE, description="private memo")
    tax_calculation: Literal["TaxExcluded", "TaxInclusive", "NotApplicable"] | None = Field(
        default=None, description="GlobalTaxCalculation (outside the US: TaxExcluded); default: the company's"
    )
    #: Config: the account the money goes to (a sale) or comes out of (a refund).
    deposit_account: QbId
    #: Config: the company's home currency (ISO 4217).
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    #: Config: the item of a line that names none.
    default_item: QbId


class RecordedReceipt(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(description="QuickBooks' id of the receipt")
    doc_number: str | None = Field(default=None, description="the receipt's number, as QuickBooks shows it")
    total: Decimal | None = Field(default=None, description="the receipt's total, as QuickBooks computed it")
