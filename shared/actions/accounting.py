"""Accounting actions: book a sale or a refund in the business's books, once per key - whichever books.

Two apps perform them, on this one contract: QuickBooks Online (a Sales Receipt / Refund Receipt,
:mod:`apps.quickbooks.actions`) and Xero (an invoice paid at once / a credit note refunded at once,
:mod:`apps.xero.actions`). A flow's settings name the app (:func:`shared.actions.provider`); the
flow's code is the same for both.

Both actions take :class:`RecordReceipt`: the lines with exact ``Decimal`` amounts, the tax, the date -
and a required ``key``, the stable id of the sale or refund (a till payment id ...). Each app turns the
key into its own idempotency feature (QuickBooks' ``requestid``, Xero's ``Idempotency-Key``, both
hashed with the entity), so the same key books one entry however often the call is repeated - after a
timeout, a retry, a redrive, or a model calling the tool twice. That is why it is required: an
accounting entry must not be doubled by a caller that forgot an idempotency key.

Ids are the books' own and differ per app, so the contract takes them as provider-neutral strings
(:data:`BookId`: no spaces at the ends, no control characters, at most 50) and each app checks the
shape it uses - QuickBooks numbers its items, accounts, customers and payment methods; Xero names
accounts by code (``200``, ``090``), tax by tax type (``OUTPUT2``), items by item code and contacts by
UUID - with a clear error naming the field (:class:`WrongIdShape`).

What the *company* decides are config fields: an AI tool fills them from the deployment's settings
and never lets a model choose them; a handler fills them from its own settings. Each app interprets
them in its books' terms:

* ``deposit_account`` - where the takings go (a sale) or come out of (a refund): a QuickBooks account
  id, a Xero bank account's code;
* ``currency`` - the home currency (ISO 4217);
* ``default_item`` - the item of a line that names none: required by QuickBooks (a line is booked to
  an item's income account), optional for Xero (an item code, if the organisation uses items);
* ``sales_account`` - the revenue account of the lines, for books whose lines name an account (Xero,
  e.g. ``200``). QuickBooks takes the account from the item and refuses the field.

The company (QuickBooks' realm, Xero's tenant) is part of the connection's secret, read on each call,
not an input at all.

Amounts stay ``Decimal`` end to end. Quantity and unit price are optional; when both are given,
``amount == quantity * unit_price`` (QuickBooks' fault 6070; Xero computes the line amount from them),
so that is checked here first, with a message a caller can act on. The private memo (``note``) is at
most :data:`MAX_NOTE` characters, the domain's own limit; an app whose books keep a shorter memo says
so in its actions.

:data:`DEFAULT_PROVIDER` names the app the catalogue offers these actions from when a deployment
names none (:func:`shared.actions.catalogue`): QuickBooks, the first that performed them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.errors import InvalidEvent

__all__ = [
    "DEFAULT_PROVIDER",
    "MAX_NOTE",
    "BookId",
    "ReceiptLine",
    "RecordReceipt",
    "RecordedReceipt",
    "WrongIdShape",
]

#: The longest private memo a receipt takes (an app whose books keep less stores its beginning).
MAX_NOTE: Final = 4000
#: The app these actions come from in the catalogue when a deployment names none.
DEFAULT_PROVIDER: Final = "quickbooks"
#: An id in the books - an account, item, customer, tax code, payment method - as the app names it
#: (QuickBooks: a number; Xero: a code, a tax type or a UUID). Each app checks its own shape.
BookId = Annotated[
    str, Field(min_length=1, max_length=50, pattern=r"^[^\s\x00-\x1f](?:[^\x00-\x1f]*[^\s\x00-\x1f])?$")
]
#: An amount: exact, at most 4 places (the most any currency has), at most 15 digits in all.
Amount = Annotated[Decimal, Field(max_digits=15, decimal_places=4, allow_inf_nan=False)]


class WrongIdShape(InvalidEvent):
    """An id has a shape the chosen books cannot hold (a code where QuickBooks numbers its accounts).

    Permanent: the same input fails the same way on every attempt. The message names the field.
    """

    def __init__(self, app: str, field: str, value: str, expected: str) -> None:
        super().__init__(f"{field} {value[:60]!r} is not a {app} id: {expected}")
        self.field = field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ReceiptLine(_In):
    """One line of a receipt: an amount booked to an item, with an optional tax code and quantity."""

    amount: Amount = Field(description="the line's amount, tax excluded (e.g. 12.50)")
    description: str | None = Field(default=None, max_length=4000, description="what was sold")
    item_id: BookId | None = Field(
        default=None,
        description="the item in the books (QuickBooks item id, Xero item code); default: the configured one",
    )
    tax_code: str | None = Field(
        default=None,
        max_length=20,
        description="the line's tax code in the books (QuickBooks tax code id, e.g. 3 or NON; Xero tax type, e.g. OUTPUT2)",
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
            raise ValueError("amount must equal quantity x unit_price (the books refuse it otherwise)")
        return self


class RecordReceipt(_In):
    """A sale or refund to book, once per ``key``."""

    key: str = Field(
        min_length=1,
        max_length=200,
        description=(
            "a unique id of this sale or refund (e.g. the till's payment id): the same key books one "
            "entry, however often the call is repeated"
        ),
    )
    date: dt.date = Field(description="the day it happened (the entry's date), YYYY-MM-DD")
    lines: list[ReceiptLine] = Field(min_length=1, max_length=250)
    tax: Amount | None = Field(default=None, description="the total tax on top of the lines, if any")
    customer_id: BookId | None = Field(
        default=None,
        description="the customer in the books (QuickBooks customer id, Xero ContactID); default: none in QuickBooks, the walk-in contact in Xero",
    )
    payment_method_id: BookId | None = Field(
        default=None, description="QuickBooks payment method id (Xero payments have none)"
    )
    note: str | None = Field(default=None, max_length=MAX_NOTE, description="private memo")
    tax_calculation: Literal["TaxExcluded", "TaxInclusive", "NotApplicable"] | None = Field(
        default=None,
        description=(
            "whether line amounts exclude tax (QuickBooks GlobalTaxCalculation, Xero LineAmountTypes "
            "Exclusive/Inclusive/NoTax); default: the company's (Xero: TaxExcluded)"
        ),
    )
    #: Config: the account the money goes to (a sale) or comes out of (a refund).
    deposit_account: BookId
    #: Config: the company's home currency (ISO 4217).
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    #: Config: the item of a line that names none (QuickBooks requires one; Xero: optional).
    default_item: BookId | None = None
    #: Config: the revenue account of the lines, for books whose lines name one (Xero: e.g. ``200``).
    sales_account: BookId | None = None


class RecordedReceipt(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(
        description="the books' id of the entry (QuickBooks receipt id, Xero InvoiceID or CreditNoteID)"
    )
    doc_number: str | None = Field(default=None, description="the entry's number, as the books show it")
    total: Decimal | None = Field(default=None, description="the entry's total, as the books computed it")
