"""The stand-in's organisation: its chart of accounts, tax rates, items - and Xero's rules for documents.

What a document must satisfy before Xero books it, and the shape Xero answers with, for the three
documents Switchboard writes: sales invoices (``ACCREC``), sales credit notes (``ACCRECCREDIT``) and
payments against either; and contacts. Each rule refuses the way Xero does: HTTP 400 with
``{"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
"Elements": [<the document as sent, with "ValidationErrors": [{"Message": ...}]>]}``.

Messages are Xero's own where its documentation or the OpenAPI examples quote them ("Account code
'{code}' is not a valid code for this document.", "Please enter a unique Name.", "The contact name
... is already assigned to another contact."); where Xero's text is not published in those sources,
the text is ours, written the way Xero's read. Totals are computed as Xero does: line amount =
quantity x unit amount, less a discount rate or amount; tax per line from its tax type's effective
rate (exclusive: on top; inclusive: within), unless the line gives ``TaxAmount``; rounded to the cent,
half up. Sources: ``xero_accounting.yaml`` (schemas ``Invoice``, ``LineItem``, ``CreditNote``,
``Payment``, ``Account``, ``TaxRate``, ``Error``; the ``createInvoices`` example answer),
https://developer.xero.com/documentation/api/accounting/invoices, .../creditnotes, .../payments,
.../types.

The seeded organisation is the same small UK bakery the QuickBooks stand-in keeps (base currency GBP,
VAT): bank account ``090``, clearing accounts ``091`` (Square) and ``092`` (Stripe) - as QuickBooks'
36 and 37 - sales ``200``, and Xero's UK tax types (``OUTPUT2`` 20 %, ``ZERORATEDOUTPUT``,
``EXEMPTOUTPUT``, ``NONE`` ...).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

__all__ = [
    "ACCOUNTS",
    "BASE_CURRENCY",
    "ITEMS",
    "ORGANISATION_NAME",
    "TAX_RATES",
    "Invalid",
    "Stored",
    "validation_error",
]

ORGANISATION_NAME: Final = "Crumb & Co Bakery (UK)"
BASE_CURRENCY: Final = "GBP"
_CENT: Final = Decimal("0.01")


@dataclass(frozen=True)
class _Account:
    code: str
    name: str
    type: str
    klass: str
    status: str = "ACTIVE"
    tax_type: str = "NONE"
    payments: bool = False
    system: str = ""
    id: str = field(default="")

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "AccountID": self.id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"xero-account-{self.code}")),
            "Code": self.code,
            "Name": self.name,
            "Status": self.status,
            "Type": self.type,
            "TaxType": self.tax_type,
            "Class": self.klass,
            "EnablePaymentsToAccount": self.payments,
            "ShowInExpenseClaims": False,
            "ReportingCode": "",
            "HasAttachments": False,
            "UpdatedDateUTC": "/Date(1767225600000+0000)/",
            "AddToWatchlist": False,
        }
        if self.type == "BANK":
            body.update(
                BankAccountType="BANK", CurrencyCode=BASE_CURRENCY, BankAccountNumber="40123412345678"
            )
        if self.system:
            body["SystemAccount"] = self.system
        return body


ACCOUNTS: Final[Mapping[str, _Account]] = {
    a.code: a
    for a in (
        _Account("090", "Business Bank Account", "BANK", "ASSET"),
        _Account("091", "Square clearing", "BANK", "ASSET"),
        _Account("092", "Stripe clearing", "BANK", "ASSET"),
        _Account("200", "Sales", "REVENUE", "REVENUE", tax_type="OUTPUT2"),
        _Account("260", "Other Revenue", "REVENUE", "REVENUE", tax_type="OUTPUT2"),
        _Account("270", "Interest Income", "REVENUE", "REVENUE", status="ARCHIVED"),
        _Account("310", "Cost of Goods Sold", "DIRECTCOSTS", "EXPENSE", tax_type="INPUT2"),
        _Account("610", "Accounts Receivable", "CURRENT", "ASSET", system="DEBTORS"),
        _Account("620", "Prepayments", "CURRENT", "ASSET", payments=True),
        _Account("820", "VAT", "CURRLIAB", "LIABILITY", system="GST"),
    )
}


@dataclass(frozen=True)
class _TaxRate:
    tax_type: str
    name: str
    rate: Decimal
    revenue: bool = True
    status: str = "ACTIVE"
    report: str = "OUTPUT"

    def as_json(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "TaxType": self.tax_type,
            "ReportTaxType": self.report,
            "CanApplyToAssets": True,
            "CanApplyToEquity": True,
            "CanApplyToExpenses": not self.revenue,
            "CanApplyToLiabilities": True,
            "CanApplyToRevenue": self.revenue,
            "DisplayTaxRate": self.rate,
            "EffectiveRate": self.rate,
            "Status": self.status,
            "TaxComponents": [
                {"Name": "VAT", "Rate": self.rate, "IsCompound": False, "IsNonRecoverable": False}
            ],
        }


TAX_RATES: Final[Mapping[str, _TaxRate]] = {
    t.tax_type: t
    for t in (
        _TaxRate("OUTPUT2", "20% (VAT on Income)", Decimal("20.0000")),
        _TaxRate("RROUTPUT", "5% (VAT on Income)", Decimal("5.0000")),
        _TaxRate("ZERORATEDOUTPUT", "Zero Rated Income", Decimal("0.0000")),
        _TaxRate("EXEMPTOUTPUT", "Exempt Income", Decimal("0.0000"), report="EXEMPTOUTPUT"),
        _TaxRate("NONE", "No VAT", Decimal("0.0000"), report="NONE"),
        _TaxRate("INPUT2", "20% (VAT on Expenses)", Decimal("20.0000"), revenue=False, report="INPUT"),
        _TaxRate("OUTPUT", "17.5% (VAT on Income)", Decimal("17.5000"), status="ARCHIVED"),
    )
}

#: Item code -> (sales account, tax type): what a line naming only the item is booked with.
ITEMS: Final[Mapping[str, tuple[str, str]]] = {
    "BREAD": ("200", "ZERORATEDOUTPUT"),
    "CAKE": ("200", "OUTPUT2"),
    "PASTRY": ("200", "OUTPUT2"),
    "TILL": ("200", "OUTPUT2"),
}


class Invalid(Exception):
    """A document Xero would refuse: the messages, and the element as sent."""

    def __init__(self, messages: list[str], element: Mapping[str, Any] | None = None) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages
        self.element = dict(element or {})


def validation_error(messages: list[str], element: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Xero's 400 body for a refused document."""
    return {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [{**(element or {}), "ValidationErrors": [{"Message": m} for m in messages]}],
    }


@dataclass
class Stored:
    """A document as booked (its JSON, decimals exact) and its kind."""

    kind: str
    body: dict[str, Any]


def money(value: Any, element: str) -> Decimal:
    """A JSON number (parsed as ``Decimal``) or a numeric string, as Xero reads amounts."""
    if isinstance(value, bool):
        raise Invalid([f"{element} must be a number"])
    try:
        number = Decimal(str(value)) if isinstance(value, int | str) else value
    except InvalidOperation:
        raise Invalid([f"{element} must be a number"]) from None
    if not isinstance(number, Decimal) or not number.is_finite():
        raise Invalid([f"{element} must be a number"])
    return number


def cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, ROUND_HALF_UP)


def day(value: Any, element: str, today: date) -> date:
    if value is None:
        return today
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise Invalid([f"{element} must be a date (YYYY-MM-DD)"]) from None


def line_items(
    raw: Any, *, amount_types: str, credit: bool, unitdp: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """The lines as Xero books them (amounts, tax, account), and the problems found."""
    if not isinstance(raw, list) or not raw:
        return [], ["At least one line item is required for an approved document"]
    lines: list[dict[str, Any]] = []
    problems: list[str] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            problems.append(f"Line item {i + 1} is not an object")
            continue
        try:
            lines.append(_line(item, amount_types=amount_types, credit=credit, unitdp=unitdp))
        except Invalid as exc:
            problems.extend(exc.messages)
    return lines, problems


def _line(item: Mapping[str, Any], *, amount_types: str, credit: bool, unitdp: int) -> dict[str, Any]:
    code = item.get("ItemCode")
    account, tax_type = (None, None)
    if code is not None:
        if code not in ITEMS:
            raise Invalid([f"Item code '{code}' is not valid"])
        account, tax_type = ITEMS[code]
    account = item.get("AccountCode") or account
    tax_type = item.get("TaxType") or tax_type
    description = item.get("Description")
    if not description and code is None:
        raise Invalid(["Description needs to be at least 1 char long"])
    if account is None:
        raise Invalid(["Account code must be specified"])
    known = ACCOUNTS.get(str(account))
    if known is None:
        raise Invalid([f"Account code '{account}' is not a valid code for this document."])
    if known.status != "ACTIVE":
        raise Invalid(
            [
                f"The account code '{account}' has been archived, or has been deleted. Each line item must reference a valid account."
            ]
        )
    tax_type = tax_type or known.tax_type
    rate = TAX_RATES.get(str(tax_type))
    if rate is None or rate.status != "ACTIVE" or not rate.revenue:
        raise Invalid(
            [f"The TaxType code '{tax_type}' does not exist or cannot be used with account code '{account}'."]
        )
    discount_rate = item.get("DiscountRate")
    discount_amount = item.get("DiscountAmount")
    if credit and (discount_rate is not None or discount_amount is not None):
        raise Invalid(["Discounts are not supported on credit notes"])
    quantity = money(item.get("Quantity", 1), "Quantity")
    unit = item.get("UnitAmount")
    given = item.get("LineAmount")
    for name, value in (("UnitAmount", unit), ("LineAmount", given)):
        if value is not None:
            places = -money(value, name).as_tuple().exponent  # type: ignore[operator]
            if places > (unitdp if name == "UnitAmount" else 2):
                raise Invalid(
                    [f"{name} has more decimal places than allowed ({unitdp if name == 'UnitAmount' else 2})"]
                )
    if unit is None and given is None:
        raise Invalid(["A line item needs a UnitAmount or a LineAmount"])
    unit_amount = money(unit, "UnitAmount") if unit is not None else money(given, "LineAmount") / quantity
    gross = quantity * unit_amount
    if discount_rate is not None:
        gross = gross * (100 - money(discount_rate, "DiscountRate")) / 100
    elif discount_amount is not None:
        gross -= money(discount_amount, "DiscountAmount")
    line_amount = cents(gross)
    if given is not None and money(given, "LineAmount") != line_amount:
        raise Invalid(
            [f"The LineAmount {given} does not equal Quantity x UnitAmount less discount ({line_amount})"]
        )
    if item.get("TaxAmount") is not None:
        tax = cents(money(item["TaxAmount"], "TaxAmount"))
    elif amount_types == "NoTax":
        tax = Decimal("0.00")
    elif amount_types == "Inclusive":
        tax = cents(line_amount - line_amount / (1 + rate.rate / 100))
    else:
        tax = cents(line_amount * rate.rate / 100)
    if amount_types == "NoTax":
        tax = Decimal("0.00")
    booked: dict[str, Any] = {
        "LineItemID": str(uuid.uuid4()),
        "Description": description or code,
        "Quantity": quantity,
        "UnitAmount": unit_amount,
        "AccountCode": known.code,
        "AccountID": known.as_json()["AccountID"],
        "TaxType": rate.tax_type,
        "TaxAmount": tax,
        "LineAmount": line_amount,
        "Tracking": [],
        "ValidationErrors": [],
    }
    if code is not None:
        booked["ItemCode"] = code
    if discount_rate is not None:
        booked["DiscountRate"] = money(discount_rate, "DiscountRate")
    if discount_amount is not None:
        booked["DiscountAmount"] = money(discount_amount, "DiscountAmount")
    return booked


def totals(lines: list[dict[str, Any]], amount_types: str) -> dict[str, Decimal]:
    """``SubTotal``, ``TotalTax``, ``Total`` of booked lines, as Xero adds them up."""
    amounts = sum((li["LineAmount"] for li in lines), Decimal("0.00"))
    tax = sum((li["TaxAmount"] for li in lines), Decimal("0.00"))
    if amount_types == "Inclusive":
        return {"SubTotal": amounts - tax, "TotalTax": tax, "Total": amounts}
    return {"SubTotal": amounts, "TotalTax": tax, "Total": amounts + tax}
