"""Models of pos_to_accounting: what Square, Stripe and Shopify send, the one work item the worker sees, settings.

The arrivals are the providers' shapes, defined with their apps (:mod:`apps.square.webhooks`,
:mod:`apps.stripe.webhooks`, :mod:`apps.shopify.webhooks`; tolerant: a field a provider adds must not
start refusing sales). :class:`Booking` is ours (strict): one sale or one refund to book, with its
amount in integer minor units and the exponent that says where the point goes - decided by the
provider's rules when the event is read, never by the worker. A Shopify order arrives whole, so its
sale carries its own lines (:class:`SaleLine`); a Square sale's lines are read from its order by the
worker.

:class:`Settings` is the mapping from what the till knows (Square catalog variations and taxes,
card brands, tender types) to what the QuickBooks company has (item, tax code, payment method,
account and customer ids). It is data, per stage (``settings.local.json`` locally, CDK context in
AWS), because the ids are the company's: a test company and the real one differ.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from apps.square.webhooks import SquareNotification
from shared.errors import PermanentError

__all__ = [
    "PROVIDERS",
    "Booking",
    "Provider",
    "QbId",
    "SaleLine",
    "Settings",
    "SquareNotification",
    "StripeTax",
]

#: A QuickBooks list entity id (items, accounts, tax codes ... are numbered).
QbId = Annotated[str, Field(pattern=r"^\d{1,20}$")]
#: Where sales come from.
Provider = Literal["square", "stripe", "shopify"]
PROVIDERS: tuple[Provider, ...] = ("square", "stripe", "shopify")


# --- what the worker sees ------------------------------------------------------------------------


class SaleLine(BaseModel):
    """One line of a sale whose source sends its lines (Shopify), in minor units of the sale's currency."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["item", "shipping"]
    description: str = Field(min_length=1, max_length=500)
    #: The product's SKU (the item mapping's key, ``skus``).
    sku: str | None = Field(default=None, max_length=255)
    quantity: Decimal | None = Field(default=None, gt=0)
    #: What the line is worth after its discounts, tax excluded.
    net: int = Field(ge=0)
    #: The tax on the line.
    tax: int = Field(default=0, ge=0)
    #: The names of the taxes charged on it (the tax code mapping's keys, ``tax_codes``).
    tax_names: tuple[str, ...] = ()
    #: The discount the line got, for the description (already taken off ``net``).
    discount: int = Field(default=0, ge=0)


class Booking(BaseModel):
    """One entry to book in QuickBooks: a sale (Sales Receipt) or a refund (Refund Receipt)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["sale", "refund"]
    provider: Provider
    #: The payment (Square), charge (Stripe) or order (Shopify) the entry is about.
    payment_id: str = Field(min_length=1, max_length=64)
    #: Square's or Shopify's refund id; for Stripe, ``<charge id>:<amount_refunded after this refund>``.
    refund_id: str | None = Field(default=None, max_length=100)
    #: Square's order (line items and taxes come from it), or the Shopify order.
    order_id: str | None = Field(default=None, max_length=64)
    location_id: str | None = Field(default=None, max_length=64)
    #: The amount to book, tip included, in the currency's minor unit (for a refund: this refund).
    amount: int = Field(ge=0)
    #: The tip in ``amount`` (Square, Shopify), booked on its own line.
    tip: int = Field(default=0, ge=0)
    #: ISO 4217, upper case.
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    #: Digits after the point in ``amount`` for this currency, as the provider counts them.
    exponent: int = Field(ge=0, le=4)
    occurred_at: datetime
    #: How it was paid, for the payment-method mapping: ``card``, ``cash``, ``card_present`` ...
    source: str | None = Field(default=None, max_length=40)
    #: Card brand, lower case (``visa``, ``mastercard``, ``american_express`` / ``amex``).
    brand: str | None = Field(default=None, max_length=40)
    #: The charge's description (Stripe), used as the line description.
    description: str | None = Field(default=None, max_length=500)
    #: The sale's own lines (Shopify: tip excluded, it is ``tip``); empty: the worker finds them.
    lines: tuple[SaleLine, ...] = Field(default=(), max_length=500)

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def key(self) -> str:
        """The stable id of this entry: booked once per key (the work item's event id too)."""
        if self.kind == "sale":
            # A Shopify sale is its order: orders/paid comes once per order, the order id is the sale.
            return f"{self.provider}:{'order' if self.provider == 'shopify' else 'payment'}:{self.payment_id}"
        return f"{self.provider}:refund:{self.refund_id}"


# --- settings ------------------------------------------------------------------------------------


class StripeTax(BaseModel):
    """Tax included in Stripe charges: the charge total includes ``rate_percent`` % tax."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tax_code: QbId
    rate_percent: Decimal = Field(gt=0, le=100)


class Settings(BaseModel):
    """pos_to_accounting's configuration, per stage (CDK context ``settings.pos_to_accounting``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The QuickBooks company's home currency. A sale in another currency is not booked (DLQ).
    home_currency: str = Field(pattern=r"^[A-Z]{3}$")
    #: The business's time zone: a sale at 00:30 local time belongs to that local day (``TxnDate``).
    timezone: str = "Europe/London"
    #: Account the takings go to, per provider (a clearing account for each processor, or
    #: Undeposited Funds); refunds come out of the same account. Square and Stripe are required;
    #: Shopify only if Shopify sales come in (one arriving without it is dead-lettered, naming it).
    deposit_accounts: dict[Provider, QbId]
    #: Customer every till sale is booked to ("Walk-in customer"); none if unset.
    customer: QbId | None = None
    #: Item for lines the item mapping does not name (and for Stripe charges).
    default_item: QbId
    #: Item for tips (Square); ``default_item`` if unset.
    tip_item: QbId | None = None
    #: Item for refunds (booked as one line); ``default_item`` if unset.
    refund_item: QbId | None = None
    #: Square catalog object id (item variation) -> QuickBooks item id.
    items: dict[str, QbId] = Field(default_factory=dict)
    #: SKU -> QuickBooks item id, for sources whose lines carry their SKU (Shopify).
    skus: dict[str, QbId] = Field(default_factory=dict)
    #: Item for shipping charged on an order (Shopify); ``default_item`` if unset.
    shipping_item: QbId | None = None
    #: A tax (Square: its catalog object id or its name; Shopify: its title) -> QuickBooks tax code id.
    tax_codes: dict[str, QbId] = Field(default_factory=dict)
    #: Tax code for lines without tax (tips, refunds, zero-rated food): "0.0% Z", or "NON" in the US.
    untaxed_tax_code: str | None = Field(default=None, max_length=20)
    #: Tax included in Stripe charges, if any.
    stripe_tax: StripeTax | None = None
    #: ``provider:source[:brand]`` (lower case) -> QuickBooks payment method id, most specific wins:
    #: ``square:card:visa``, ``square:card``, ``square:cash``, ``stripe:card:amex``, ``stripe:card``,
    #: ``shopify:<payment gateway>`` (``shopify:shopify_payments``, ``shopify:paypal``, ``shopify:cash``).
    payment_methods: dict[str, QbId] = Field(default_factory=dict)
    #: ``TaxExcluded`` (lines are net, tax added) outside the US; ``None`` for US companies.
    global_tax_calculation: Literal["TaxExcluded", "TaxInclusive", "NotApplicable"] | None = "TaxExcluded"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value

    @field_validator("deposit_accounts")
    @classmethod
    def _both_providers(cls, value: dict[str, str]) -> dict[str, str]:
        missing = {"square", "stripe"} - set(value)
        if missing:
            raise ValueError(f"needs an account for {', '.join(sorted(missing))}")
        return value

    @field_validator("payment_methods")
    @classmethod
    def _method_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            parts = key.split(":")
            if key != key.lower() or parts[0] not in PROVIDERS or not 2 <= len(parts) <= 3:
                raise ValueError(f"payment method key {key!r} must be provider:source[:brand], lower case")
        return value

    def deposit_account(self, provider: Provider) -> str:
        """The account ``provider``'s takings go to; a missing one stops the booking, naming the setting."""
        account = self.deposit_accounts.get(provider)
        if account is None:
            raise PermanentError(
                f"a {provider} sale or refund arrived but deposit_accounts has no {provider!r} account: "
                "not booked. Add it to the settings, then redrive the dead letters."
            )
        return account

    def payment_method(self, provider: str, source: str | None, brand: str | None) -> str | None:
        if not source:
            return None
        keys = [f"{provider}:{source.lower()}"]
        if brand:
            keys.insert(0, f"{keys[0]}:{brand.lower()}")
        return next((self.payment_methods[k] for k in keys if k in self.payment_methods), None)
