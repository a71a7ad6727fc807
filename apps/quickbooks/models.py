"""QuickBooks Online's shapes: the receipts Switchboard sends (strict) and what Intuit answers (tolerant).

Sources, for minor version :data:`~apps.quickbooks.MINOR_VERSION`:

* SalesReceipt and RefundReceipt create (``POST .../salesreceipt``, ``POST .../refundreceipt``):
  ``Line`` with ``DetailType: SalesItemLineDetail`` (``ItemRef``, ``Qty``, ``UnitPrice``,
  ``TaxCodeRef``) and ``Amount``; ``TxnTaxDetail.TotalTax``; ``GlobalTaxCalculation``;
  ``PaymentMethodRef``; ``DepositToAccountRef`` (required on a RefundReceipt: the account the money is
  refunded from); ``CustomerRef``; ``CurrencyRef``; ``TxnDate``; ``PrivateNote`` (at most 4000
  characters); ``DocNumber`` (at most 21). The answer is ``{"SalesReceipt": {..., "Id", "SyncToken",
  "TotalAmt"}, "time": ...}``.
  https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/salesreceipt,
  https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/refundreceipt
* Errors: ``{"Fault": {"Error": [{"Message", "Detail", "code", "element"}], "type":
  "ValidationFault"}, "time": ...}``; "200 OK ... the response body may contain a <Fault> element",
  so a 200 is checked too; 6070 "Amount is not equal to Qty * UnitPrice"; 610 "Object Not Found";
  2500 "Invalid Reference Id". A 401 from the gateway is lower-case JSON (``{"fault": {"error":
  [{"message": "message=AuthenticationFailed; errorCode=003200; statusCode=401", "detail": "Token
  expired: ...", "code": "3200"}], "type": "AUTHENTICATION"}}``), so both casings are read.
  https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes,
  https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/handling-common-errors

Amounts are ``Decimal`` throughout and leave as JSON numbers whose text is exactly that decimal (see
:func:`wire`): never a binary float that might print ``19.990000000000002``.

Worker path only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from . import MAX_PRIVATE_NOTE

__all__ = [
    "Fault",
    "Line",
    "Receipt",
    "Ref",
    "SalesItemLineDetail",
    "Transaction",
    "TxnTaxDetail",
    "parse_fault",
    "wire",
]


def wire(value: Any) -> Any:
    """``value`` ready for a JSON body, every ``Decimal`` as a number whose text is that decimal.

    httpx encodes with :func:`json.dumps`, which writes numbers only from ``int`` and ``float``. A
    float's shortest representation (``repr``) round-trips every decimal of up to 15 significant
    digits exactly, which is far beyond any amount; the check below makes sure that holds for each
    value, so ``Decimal("19.99")`` is sent as ``19.99`` and a value that would not survive raises
    instead of being silently changed.
    """
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value() and abs(value) < 2**53:
            return int(value)  # 1 rather than 1.0: the same number, as Intuit writes whole quantities
        number = float(value)
        if not value.is_finite() or Decimal(repr(number)) != value:
            raise ValueError(f"{value} cannot be written as an exact JSON number")
        return number
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [wire(v) for v in value]
    return value


# --- request models (ours: strict) ---------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ref(_Out):
    """A reference to a list entity (item, account, tax code ...) by its id."""

    value: str = Field(min_length=1, max_length=100)
    name: str | None = None


class SalesItemLineDetail(_Out):
    ItemRef: Ref
    Qty: Decimal | None = None
    UnitPrice: Decimal | None = None
    TaxCodeRef: Ref | None = None


_ItemDetail = SalesItemLineDetail  # the field below has the class's name; annotate with an alias


class Line(_Out):
    DetailType: Literal["SalesItemLineDetail"] = "SalesItemLineDetail"
    Amount: Decimal
    Description: str | None = Field(default=None, max_length=4000)
    SalesItemLineDetail: _ItemDetail


class TxnTaxDetail(_Out):
    TotalTax: Decimal
    #: US companies: the combined sales tax rate (``TxnTaxCodeRef``); elsewhere the line codes decide.
    TxnTaxCodeRef: Ref | None = None


_Line = Line
_TaxDetail = TxnTaxDetail


class Receipt(_Out):
    """The body of a SalesReceipt or RefundReceipt create (the two share these fields)."""

    Line: tuple[_Line, ...] = Field(min_length=1)
    TxnDate: date
    CurrencyRef: Ref
    DepositToAccountRef: Ref
    CustomerRef: Ref | None = None
    PaymentMethodRef: Ref | None = None
    TxnTaxDetail: _TaxDetail | None = None
    GlobalTaxCalculation: Literal["TaxExcluded", "TaxInclusive", "NotApplicable"] | None = None
    PrivateNote: str | None = Field(default=None, max_length=MAX_PRIVATE_NOTE)
    DocNumber: str | None = Field(default=None, max_length=21)

    def body(self) -> dict[str, Any]:
        """The JSON body as Intuit takes it (absent fields left out, decimals exact)."""
        return dict(wire(self.model_dump(mode="python", exclude_none=True)))


# --- response models (theirs: tolerant) ----------------------------------------------------------


class Transaction(BaseModel):
    """What a create answers, as far as Switchboard keeps it (ids, not content)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    Id: str
    SyncToken: str | None = None
    TotalAmt: Decimal | None = None
    DocNumber: str | None = None
    TxnDate: date | None = None

    @field_validator("TotalAmt", mode="before")
    @classmethod
    def _exact(cls, value: Any) -> Any:
        # A JSON number arrives as float when parsed generically; go through its text, not its binary.
        return Decimal(repr(value)) if isinstance(value, float) else value


class Fault(BaseModel):
    """Intuit's error body, in either casing; ``type`` e.g. ``ValidationFault``, ``AUTHENTICATION``."""

    model_config = ConfigDict(frozen=True)

    type: str = ""
    errors: tuple[dict[str, str], ...] = ()

    def summary(self) -> str:
        """``ValidationFault 6070 Amount calculation incorrect in the request: <detail>``."""
        parts = []
        for e in self.errors:
            text = " ".join(p for p in (e.get("code", ""), e.get("message", "")) if p)
            if e.get("detail"):
                text += f": {e['detail']}"
            if e.get("element"):
                text += f" (element {e['element']})"
            parts.append(text)
        return f"{self.type} {'; '.join(parts)}".strip()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(e.get("code", "") for e in self.errors)


def parse_fault(data: Any) -> Fault | None:
    """The fault in a parsed answer (``Fault``/``Error`` or ``fault``/``error``), or ``None``."""
    if not isinstance(data, Mapping):
        return None
    raw = data.get("Fault", data.get("fault"))
    if not isinstance(raw, Mapping):
        return None
    entries = raw.get("Error", raw.get("error")) or []
    errors = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping):
            errors.append({k.lower(): str(v) for k, v in entry.items() if v is not None})
    return Fault(type=str(raw.get("type", "")), errors=tuple(errors))
