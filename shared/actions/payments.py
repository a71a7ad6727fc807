"""Payment actions: the payments and refunds of a period, and one order. Reads only.

``payments.list`` answers what the till took: every payment *created* in ``[begin_time, end_time)``
at the given locations, and every refund created in it there, with every status - the caller
decides what counts (``daily_sales_report``'s arithmetic keeps ``completed`` only). The locations are
the deployment's (config ``location_ids``): a model asks "what did we take yesterday", not "at which
location id". A period is at most 31 days, so one call stays a bounded number of pages.

``sales.get_order`` reads one order: its lines, taxes and totals - what a sale was *for*, where a
payment only says how much.

``payments.list_online`` answers the same for an online shop (Shopify performs it,
:mod:`apps.shopify.actions`): its orders *processed* in the period as payments, and the refunds
*made* in it (whatever day the order was). It is a sibling of ``payments.list``, not a second
provider of it, because an online shop's orders have no till location: ``payments.list`` needs the
till's ``location_ids``, which an online order cannot be filtered by. Its answer is the same
:class:`PaymentList`, so the sums a flow makes of the till's payments apply to it unchanged.

This module is the contract: the inputs, and the payment, refund and order in the domain's own
terms (:class:`Payment`, :class:`Refund`, :class:`Order`), never in one provider's - the app that
performs the actions (today :mod:`apps.square.actions`) maps its records onto them. Nothing in them
identifies a person (no buyer's email, cardholder's name, card fingerprint or free-text note): an AI
tool's answer goes to a model, and nothing Switchboard does with a payment needs them. The card's
brand and last four digits are kept: they are how a person finds a payment.

Money is exact: an integer amount in the currency's minor unit, with the currency and its exponent
(:class:`Money`); :data:`ISO_EXPONENTS` holds the ISO 4217 exponents that are not 2, for apps whose
amounts follow ISO 4217.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "DEFAULT_PROVIDER",
    "ISO_EXPONENTS",
    "MAX_PERIOD",
    "FoundOrder",
    "GetOrder",
    "ListOnlinePayments",
    "ListPayments",
    "Money",
    "Order",
    "OrderLine",
    "OrderState",
    "OrderTax",
    "Payment",
    "PaymentList",
    "PaymentSource",
    "PaymentStatus",
    "Refund",
    "RefundStatus",
    "iso_exponent",
]

#: The app the tool surfaces (MCP, OpenAPI) offer for a payments action several apps perform, unless
#: a deployment chooses another (``{"payments": ...}``): the till.
DEFAULT_PROVIDER: Final = "square"

#: The longest period one call lists (a month: bounded pages, a clear answer).
MAX_PERIOD: Final = timedelta(days=31)

#: ISO 4217 minor-unit exponents other than 2 (the currencies a till could plausibly see), from
#: the ISO 4217 list of codes (SIX, "Current currency & funds code list", column "Minor unit").
ISO_EXPONENTS: Final = {
    **dict.fromkeys(
        (
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}

#: ``completed`` is money taken; ``authorized`` is approved but not captured yet.
PaymentStatus = Literal["authorized", "pending", "completed", "canceled", "failed"]
#: ``completed`` is money given back.
RefundStatus = Literal["pending", "completed", "rejected", "failed"]
#: How the buyer paid.
PaymentSource = Literal["card", "cash", "wallet", "bank_account", "buy_now_pay_later", "external", "other"]
OrderState = Literal["open", "completed", "canceled", "draft"]


def iso_exponent(currency: str) -> int:
    """Digits after the point of ``currency`` (ISO 4217 code, any case); 2 for the rest."""
    return ISO_EXPONENTS.get(currency.upper(), 2)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Money(_Out):
    """An exact amount: ``amount`` minor units of ``currency`` (``1999`` GBP, exponent 2, is £19.99)."""

    amount: int = Field(description="in the currency's minor unit (pence, cents); negative is money back")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    exponent: int = Field(ge=0, le=4, description="digits after the point: the value is amount / 10^exponent")


class ListPayments(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    begin_time: AwareDatetime = Field(description="start of the period, inclusive (RFC 3339 with offset)")
    end_time: AwareDatetime = Field(description="end of the period, exclusive (RFC 3339 with offset)")
    #: Config: the till's locations whose payments are listed.
    location_ids: list[str] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _period(self) -> ListPayments:
        if self.end_time <= self.begin_time:
            raise ValueError("end_time must be after begin_time")
        if self.end_time - self.begin_time > MAX_PERIOD:
            raise ValueError("the period can be at most 31 days; list a long range month by month")
        return self


class ListOnlinePayments(BaseModel):
    """A period of an online shop's sales: the shop is the connection's, so there are no locations."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    begin_time: AwareDatetime = Field(description="start of the period, inclusive (RFC 3339 with offset)")
    end_time: AwareDatetime = Field(description="end of the period, exclusive (RFC 3339 with offset)")

    @model_validator(mode="after")
    def _period(self) -> ListOnlinePayments:
        if self.end_time <= self.begin_time:
            raise ValueError("end_time must be after begin_time")
        if self.end_time - self.begin_time > MAX_PERIOD:
            raise ValueError("the period can be at most 31 days; list a long range month by month")
        return self


class Payment(_Out):
    """A payment taken (or tried) at the till; ``None`` where the provider does not say."""

    id: str
    status: PaymentStatus | None = Field(default=None, description="only completed took money")
    created_at: datetime | None = None
    location_id: str | None = None
    amount: Money | None = Field(default=None, description="what was sold, tax included, tip excluded")
    tip: Money | None = Field(default=None, description="the tip (owed to staff, not a sale)")
    fees: tuple[Money, ...] = Field(default=(), description="the provider's processing fees on it")
    source: PaymentSource | None = Field(default=None, description="how the buyer paid")
    card_brand: str | None = Field(default=None, description="the card's brand as people write it: Visa ...")
    card_last4: str | None = Field(default=None, description="the card's last four digits")
    order_id: str | None = Field(default=None, description="the order it paid for (sales.get_order)")


class Refund(_Out):
    """Money given back on a payment; it counts on the day it was made."""

    id: str
    status: RefundStatus | None = Field(default=None, description="only completed gave money back")
    created_at: datetime | None = None
    location_id: str | None = None
    payment_id: str | None = None
    order_id: str | None = None
    amount: Money | None = Field(default=None, description="the amount given back (positive)")
    fees: tuple[Money, ...] = Field(default=(), description="fee changes; negative: a fee given back")
    reason: str | None = None


class PaymentList(_Out):
    payments: list[Payment] = Field(description="every status; only completed ones took money")
    refunds: list[Refund] = Field(description="every status; only completed ones gave money back")


class GetOrder(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    order_id: str = Field(min_length=1, max_length=192, description="the order's id (a payment's order_id)")


class OrderTax(_Out):
    """A tax an order charges."""

    id: str | None = Field(default=None, description="its id within the order (a line's tax_ids)")
    catalog_id: str | None = Field(default=None, description="the provider's catalog id of the tax")
    name: str | None = None
    percentage: Decimal | None = Field(default=None, description="the rate: 20 is 20 %")
    inclusive: bool | None = Field(
        default=None, description="true: included in the prices (UK VAT); false: added on top"
    )
    applied: Money | None = Field(default=None, description="what the order pays of it")


class OrderLine(_Out):
    """One line of an order."""

    name: str | None = None
    variation: str | None = Field(default=None, description="which variant of the item (size, flavour)")
    catalog_id: str | None = Field(default=None, description="the provider's catalog id of what was sold")
    quantity: Decimal = Field(description="exact; may be fractional (0.75 kg)")
    unit_price: Money | None = None
    discount: Money | None = None
    tax: Money | None = Field(default=None, description="the tax on this line")
    total: Money | None = Field(default=None, description="what the line cost, tax and discounts applied")
    tax_ids: tuple[str, ...] = Field(default=(), description="the order's taxes (OrderTax.id) it pays")


class Order(_Out):
    """What a sale was for: its lines, taxes and totals."""

    id: str
    state: OrderState | None = None
    location_id: str | None = None
    created_at: datetime | None = None
    closed_at: datetime | None = None
    lines: tuple[OrderLine, ...] = ()
    taxes: tuple[OrderTax, ...] = ()
    total: Money | None = None
    tax: Money | None = None
    discount: Money | None = None
    tip: Money | None = None
    service_charge: Money | None = None
    payment_ids: tuple[str, ...] = Field(default=(), description="the payments that paid for it")


class FoundOrder(_Out):
    order: Order
