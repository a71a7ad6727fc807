"""Xero's Accounting API shapes: what Switchboard sends (strict) and what Xero answers (tolerant).

Sources: ``XeroAPI/Xero-OpenAPI`` ``xero_accounting.yaml`` 16.1.0 - ``Invoice``, ``LineItem``,
``CreditNote``, ``Payment``, ``Contact``, ``Account``, ``TaxRate`` and the envelope every answer has
(``{"Id", "Status": "OK", "ProviderName", "DateTimeUTC": "/Date(...)/", "Invoices": [...]}``, the
``createInvoices`` example); errors: ``Error`` (``ErrorNumber``, ``Type``, ``Message``, ``Elements[]``
with ``ValidationErrors[].Message``; ``ErrorNumber: 10, Type: ValidationException, Message: "A
validation exception occurred"`` in its examples) and https://developer.xero.com/documentation/api/accounting/responsecodes;
the pages https://developer.xero.com/documentation/api/accounting/invoices, .../creditnotes,
.../payments, .../types (``LineAmountTypes`` Exclusive / Inclusive / NoTax; invoice status codes).

Xero's JSON dates come in three spellings, all read by :func:`parse_xero_datetime`:
``/Date(1552262400000+0000)/`` (.NET JSON: milliseconds since the epoch in UTC, then the offset of the
zone the value was written in), ``/Date(1552327126164)/`` (the envelope's ``DateTimeUTC``) and ISO
8601 without an offset (``DateString: 2019-03-11T00:00:00``, webhook ``eventDateUtc``). A date-only
field (an invoice's ``Date``) is midnight of that day with ``+0000``; :func:`parse_xero_date` gives
the day in the zone written, so ``/Date(1552262400000+0000)/`` is 2019-03-11 everywhere.

Amounts are ``Decimal`` throughout and leave as JSON numbers whose text is exactly that decimal
(:func:`wire`), and are read back through their text (never a binary float).

Worker path only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "Account",
    "AccountRef",
    "ContactOut",
    "ContactRef",
    "CreditNote",
    "CreditNoteId",
    "CreditNoteOut",
    "Invoice",
    "InvoiceId",
    "InvoiceOut",
    "LineItem",
    "Payment",
    "PaymentOut",
    "TaxRate",
    "TenantConnection",
    "XeroError",
    "ms_date",
    "parse_error",
    "parse_xero_date",
    "parse_xero_datetime",
    "wire",
]

_MS_DATE = re.compile(r"^/Date\((-?\d{1,15})([+-]\d{4})?\)/$")

#: Xero's ``LineAmountTypes``: whether line amounts exclude tax, include it, or carry none.
LineAmountType = Literal["Exclusive", "Inclusive", "NoTax"]
#: The contract's names for how line amounts treat tax -> Xero's ``LineAmountTypes``.
LINE_AMOUNT_TYPES: Mapping[str, LineAmountType] = {
    "TaxExcluded": "Exclusive",
    "TaxInclusive": "Inclusive",
    "NotApplicable": "NoTax",
}


def parse_xero_datetime(value: str) -> datetime:
    """A Xero JSON time as an aware ``datetime`` (in the zone it was written in; UTC if none)."""
    text = value.strip()
    match = _MS_DATE.match(text)
    if match:
        instant = datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
        offset = match.group(2)
        if offset:
            sign = -1 if offset[0] == "-" else 1
            zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
            return instant.astimezone(zone)
        return instant
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a Xero date (/Date(ms+hhmm)/ or ISO 8601)") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def parse_xero_date(value: str) -> date:
    """The day a Xero date names, in the zone it was written in."""
    return parse_xero_datetime(value).date()


def ms_date(when: datetime | date) -> str:
    """``/Date(<ms>+0000)/`` as Xero writes times (a ``date``: its midnight, UTC)."""
    if not isinstance(when, datetime):
        when = datetime(when.year, when.month, when.day, tzinfo=UTC)
    elif when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return f"/Date({round(when.timestamp() * 1000)}+0000)/"


def wire(value: Any) -> Any:
    """``value`` ready for a JSON body, every ``Decimal`` a JSON number whose text is that decimal.

    httpx encodes with :func:`json.dumps`, which writes numbers from ``int`` and ``float`` only; a
    float's shortest text round-trips every decimal of up to 15 significant digits, and the check
    below refuses (rather than changes) any value that would not survive.
    """
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value() and abs(value) < 2**53:
            return int(value)
        number = float(value)
        if not value.is_finite() or Decimal(repr(number)) != value:
            raise ValueError(f"{value} cannot be written as an exact JSON number")
        return number
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [wire(v) for v in value]
    return value


def _exact(value: Any) -> Any:
    """A JSON number parsed as float goes through its text, not its binary value."""
    return Decimal(repr(value)) if isinstance(value, float) else value


# --- request models (ours: strict) ---------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def body(self) -> dict[str, Any]:
        """The JSON object as Xero takes it (absent fields left out, decimals exact)."""
        return dict(wire(self.model_dump(mode="python", exclude_none=True)))


class LineItem(_Out):
    """One line of an invoice or credit note.

    Xero computes ``LineAmount`` from ``Quantity`` and ``UnitAmount`` (less a discount) and the tax
    from ``TaxType`` unless ``TaxAmount`` overrides it. Discounts exist on ACCREC invoices only
    ("ACCPAY invoices and credit notes in Xero do not support discounts"); one kind per line.
    """

    Description: str = Field(min_length=1, max_length=4000)
    Quantity: Decimal | None = None
    UnitAmount: Decimal | None = None
    ItemCode: str | None = Field(default=None, max_length=30)
    AccountCode: str | None = Field(default=None, max_length=10)
    TaxType: str | None = Field(default=None, max_length=50)
    TaxAmount: Decimal | None = None
    LineAmount: Decimal | None = None
    DiscountRate: Decimal | None = Field(default=None, ge=0, le=100)
    DiscountAmount: Decimal | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_discount(self) -> LineItem:
        if self.DiscountRate is not None and self.DiscountAmount is not None:
            raise ValueError("give DiscountRate or DiscountAmount, not both")
        return self


class ContactRef(_Out):
    """A contact by its id (or, where Xero allows it, by name)."""

    ContactID: str | None = None
    Name: str | None = Field(default=None, max_length=255)

    @model_validator(mode="after")
    def _named(self) -> ContactRef:
        if not self.ContactID and not self.Name:
            raise ValueError("a contact needs a ContactID or a Name")
        return self


class Invoice(_Out):
    """A sales invoice (``ACCREC``) as created: authorised, so a payment can be applied at once."""

    Type: Literal["ACCREC"] = "ACCREC"
    Contact: ContactRef
    LineItems: tuple[LineItem, ...] = Field(min_length=1)
    Date: date
    DueDate: date
    LineAmountTypes: LineAmountType = "Exclusive"
    Reference: str | None = Field(default=None, max_length=255)
    CurrencyCode: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    Status: Literal["DRAFT", "SUBMITTED", "AUTHORISED"] = "AUTHORISED"


class CreditNote(_Out):
    """A sales credit note (``ACCRECCREDIT``): what a refund is in Xero (no discounts on its lines)."""

    Type: Literal["ACCRECCREDIT"] = "ACCRECCREDIT"
    Contact: ContactRef
    LineItems: tuple[LineItem, ...] = Field(min_length=1)
    Date: date
    LineAmountTypes: LineAmountType = "Exclusive"
    Reference: str | None = Field(default=None, max_length=255)
    CurrencyCode: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    Status: Literal["DRAFT", "SUBMITTED", "AUTHORISED"] = "AUTHORISED"

    @field_validator("LineItems")
    @classmethod
    def _no_discounts(cls, value: tuple[LineItem, ...]) -> tuple[LineItem, ...]:
        if any(li.DiscountRate is not None or li.DiscountAmount is not None for li in value):
            raise ValueError("credit notes in Xero do not support discounts")
        return value


class InvoiceId(_Out):
    InvoiceID: str


class CreditNoteId(_Out):
    CreditNoteID: str


class AccountRef(_Out):
    Code: str | None = Field(default=None, max_length=10)
    AccountID: str | None = None


class Payment(_Out):
    """Money received against an invoice, or paid out against a credit note (a cash refund)."""

    Invoice: InvoiceId | None = None
    CreditNote: CreditNoteId | None = None
    Account: AccountRef
    Date: date
    Amount: Decimal = Field(gt=0)
    Reference: str | None = Field(default=None, max_length=255)

    @model_validator(mode="after")
    def _one_document(self) -> Payment:
        if (self.Invoice is None) == (self.CreditNote is None):
            raise ValueError("a payment is against one invoice or one credit note")
        return self


# --- response models (theirs: tolerant) ----------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Money(_In):
    @field_validator("*", mode="before")
    @classmethod
    def _exact_numbers(cls, value: Any) -> Any:
        return _exact(value)


class InvoiceOut(_Money):
    InvoiceID: str
    InvoiceNumber: str | None = None
    Type: str | None = None
    Status: str | None = None
    Reference: str | None = None
    SubTotal: Decimal | None = None
    TotalTax: Decimal | None = None
    Total: Decimal | None = None
    AmountDue: Decimal | None = None
    AmountPaid: Decimal | None = None
    Date: str | None = None

    @property
    def day(self) -> date | None:
        return parse_xero_date(self.Date) if self.Date else None


class CreditNoteOut(_Money):
    CreditNoteID: str
    CreditNoteNumber: str | None = None
    Type: str | None = None
    Status: str | None = None
    Reference: str | None = None
    SubTotal: Decimal | None = None
    TotalTax: Decimal | None = None
    Total: Decimal | None = None
    RemainingCredit: Decimal | None = None


class PaymentOut(_Money):
    PaymentID: str
    Amount: Decimal | None = None
    Status: str | None = None
    PaymentType: str | None = None


class ContactOut(_In):
    ContactID: str
    Name: str | None = None
    ContactStatus: str | None = None


class Account(_In):
    AccountID: str | None = None
    Code: str | None = None
    Name: str | None = None
    Type: str | None = None
    Status: str | None = None
    Class: str | None = None
    EnablePaymentsToAccount: bool | None = None
    TaxType: str | None = None


class TaxRate(_Money):
    Name: str | None = None
    TaxType: str
    Status: str | None = None
    EffectiveRate: Decimal | None = None
    CanApplyToRevenue: bool | None = None


class TenantConnection(_In):
    """One entry of ``GET /connections``: an organisation the token reaches."""

    id: str | None = None
    tenantId: str
    tenantType: str
    tenantName: str | None = None


class XeroError(_In):
    """Xero's error body (``ValidationException`` and the like), as far as a person needs to read it."""

    ErrorNumber: int | None = None
    Type: str | None = None
    Message: str | None = None
    messages: tuple[str, ...] = ()

    def summary(self) -> str:
        """``ValidationException: Account code '999' is not a valid code for this document.; ...``."""
        head = self.Type or "Error"
        detail = "; ".join(self.messages) or (self.Message or "")
        return f"{head}: {detail}" if detail else head


def parse_error(data: Any) -> XeroError | None:
    """The error in a parsed answer (``ErrorNumber``/``Type``/``Elements``), or ``None``.

    The messages are every ``Elements[].ValidationErrors[].Message`` (and the line items' own, where
    Xero puts a line's problem), in order, without repeats.
    """
    if not isinstance(data, Mapping) or not ("ErrorNumber" in data or "Elements" in data):
        return None
    messages: list[str] = []

    def collect(errors: Any) -> None:
        for entry in errors if isinstance(errors, list) else []:
            text = entry.get("Message") if isinstance(entry, Mapping) else None
            if isinstance(text, str) and text and text not in messages:
                messages.append(text)

    for element in data.get("Elements") or []:
        if not isinstance(element, Mapping):
            continue
        collect(element.get("ValidationErrors"))
        for line in element.get("LineItems") or []:
            if isinstance(line, Mapping):
                collect(line.get("ValidationErrors"))
    number = data.get("ErrorNumber")
    return XeroError(
        ErrorNumber=number if isinstance(number, int) else None,
        Type=str(data["Type"]) if data.get("Type") else None,
        Message=str(data["Message"]) if data.get("Message") else None,
        messages=tuple(messages),
    )
