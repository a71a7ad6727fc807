"""Models of pos_to_accounting: what Square, Stripe and Shopify send, the one work item the worker sees, settings.

The arrivals are the providers' shapes, defined with their apps (:mod:`apps.square.webhooks`,
:mod:`apps.stripe.webhooks`, :mod:`apps.shopify.webhooks`; tolerant: a field a provider adds must not
start refusing sales). :class:`Booking` is ours (strict): one sale or one refund to book, with its
amount in integer minor units and the exponent that says where the point goes - decided by the
provider's rules when the event is read, never by the worker. A Shopify order arrives whole, so its
sale carries its own lines (:class:`SaleLine`); a Square sale's lines are read from its order by the
worker.

:class:`Settings` is the mapping from what the till knows (Square catalog variations and taxes,
card brands, tender types) to what the books have. ``accounting_app`` chooses the books:
QuickBooks Online (the default; its mapping is the top-level fields: item, tax code, payment method,
account and customer ids) or Xero (its mapping is the ``xero`` block, :class:`XeroBooks`: account
codes, tax types, item codes). Both are checked for their books' id shapes when the settings load,
each error naming the field. :meth:`Settings.books` gives the worker the chosen target's mapping as
one :class:`Books`, so the code that lays out a sale is the same for both. It is data, per stage
(``settings.local.json`` locally, CDK context in AWS), because the ids are the company's: a test
company and the real one differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from apps.square.webhooks import SquareNotification
from shared.errors import PermanentError

__all__ = [
    "ACCOUNTING_APPS",
    "PROVIDERS",
    "AccountingApp",
    "Booking",
    "Books",
    "Provider",
    "QbId",
    "SaleLine",
    "Settings",
    "SquareNotification",
    "StripeTax",
    "XeroBooks",
    "XeroStripeTax",
]

#: A QuickBooks list entity id (items, accounts, tax codes ... are numbered).
QbId = Annotated[str, Field(pattern=r"^\d{1,20}$")]
#: Where sales come from.
Provider = Literal["square", "stripe", "shopify"]
PROVIDERS: tuple[Provider, ...] = ("square", "stripe", "shopify")
#: The books a sale can be booked in: the apps performing ``accounting.record_sale``/``record_refund``.
AccountingApp = Literal["quickbooks", "xero"]
ACCOUNTING_APPS: tuple[AccountingApp, ...] = ("quickbooks", "xero")
#: A Xero account code (``200``, ``090``): at most 10 letters, digits, ``.``, ``-``, ``_``.
XeroCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,10}$")]
#: A Xero tax type (``OUTPUT2``, ``ZERORATEDOUTPUT``, ``NONE``): capitals, digits, ``_``.
XeroTaxType = Annotated[str, Field(pattern=r"^[A-Z0-9_]{1,50}$")]
#: A Xero item code: at most 30 characters, no spaces at the ends.
XeroItem = Annotated[str, Field(min_length=1, max_length=30, pattern=r"^\S(?:.*\S)?$")]
#: A Xero ContactID.
XeroContact = Annotated[
    str, Field(pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
]


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

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    tax_code: QbId
    rate_percent: Decimal = Field(gt=0, le=100)


class XeroStripeTax(BaseModel):
    """Tax included in Stripe charges, for Xero: the charge total includes ``rate_percent`` % tax."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    tax_type: XeroTaxType
    rate_percent: Decimal = Field(gt=0, le=100)


class XeroBooks(BaseModel):
    """The mapping to a Xero organisation (``accounting_app: "xero"``): what the top-level fields are
    for QuickBooks, in Xero's terms - account codes, tax types, item codes, a ContactID.

    Xero books a line to an account (``sales_account``, required) and optionally an item; a sale is
    an invoice paid into ``deposit_accounts[<source>]`` (a bank account, or one that takes payments),
    a refund a credit note paid out of it (:mod:`apps.xero.actions`). There is no payment method.
    """

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    #: The revenue account every line is booked to (``200`` Sales).
    sales_account: XeroCode
    #: The bank (or payments-enabled) account each source's takings go to and refunds come out of:
    #: ``{"square": "091", "stripe": "092"}``; Square and Stripe required, Shopify if it sells.
    deposit_accounts: dict[Provider, XeroCode]
    #: A tax (Square: its catalog object id or name; Shopify: its title) -> Xero tax type (``OUTPUT2``).
    tax_types: dict[str, XeroTaxType] = Field(default_factory=dict)
    #: Tax type of lines without tax (tips, refunds, zero-rated food): ``ZERORATEDOUTPUT``, ``NONE``.
    untaxed_tax_type: XeroTaxType | None = None
    #: Tax included in Stripe charges, if any.
    stripe_tax: XeroStripeTax | None = None
    #: Square catalog object id -> Xero item code; SKU -> Xero item code (Shopify). Optional: a line
    #: without an item is booked to ``sales_account`` by its description.
    items: dict[str, XeroItem] = Field(default_factory=dict)
    skus: dict[str, XeroItem] = Field(default_factory=dict)
    #: Item codes of unmapped lines, tips, refunds and shipping; none if unset.
    default_item: XeroItem | None = None
    tip_item: XeroItem | None = None
    refund_item: XeroItem | None = None
    shipping_item: XeroItem | None = None
    #: The ContactID every sale is booked to; unset: the organisation's "Walk-in customer" contact.
    customer: XeroContact | None = None
    #: Whether line amounts exclude tax (Xero ``LineAmountTypes`` Exclusive): the till's net lines do.
    tax_calculation: Literal["TaxExcluded", "TaxInclusive", "NotApplicable"] = "TaxExcluded"

    @field_validator("deposit_accounts")
    @classmethod
    def _both_providers(cls, value: dict[str, str]) -> dict[str, str]:
        missing = {"square", "stripe"} - set(value)
        if missing:
            raise ValueError(f"needs an account code for {', '.join(sorted(missing))}")
        return value


@dataclass(frozen=True)
class Books:
    """The chosen books' mapping, in one shape for the worker (:meth:`Settings.books`).

    ``setting`` names where each kind of id came from in the settings, so an error can say which
    setting to fix (``tax_codes`` for QuickBooks, ``xero.tax_types`` for Xero).
    """

    app: AccountingApp
    #: "QuickBooks" / "Xero", for messages.
    label: str
    #: The settings field holding the tax mapping (``tax_codes`` / ``xero.tax_types``).
    tax_setting: str
    #: The settings field holding the deposit accounts.
    deposit_setting: str
    deposit_accounts: Mapping[Provider, str]
    default_item: str | None
    tip_item: str | None
    refund_item: str | None
    shipping_item: str | None
    items: Mapping[str, str]
    skus: Mapping[str, str]
    tax_codes: Mapping[str, str]
    untaxed_tax_code: str | None
    #: (tax code, rate) of the tax included in Stripe charges.
    stripe_tax: tuple[str, Decimal] | None
    customer: str | None
    payment_methods: Mapping[str, str]
    tax_calculation: Literal["TaxExcluded", "TaxInclusive", "NotApplicable"] | None
    sales_account: str | None

    def deposit_account(self, provider: Provider) -> str:
        """The account ``provider``'s takings go to; a missing one stops the booking, naming the setting."""
        account = self.deposit_accounts.get(provider)
        if account is None:
            raise PermanentError(
                f"a {provider} sale or refund arrived but {self.deposit_setting} has no {provider!r} "
                "account: not booked. Add it to the settings, then redrive the dead letters."
            )
        return account

    def payment_method(self, provider: str, source: str | None, brand: str | None) -> str | None:
        """``provider:source[:brand]`` -> payment method id, most specific first (QuickBooks only)."""
        if not source or not self.payment_methods:
            return None
        keys = [f"{provider}:{source.lower()}"]
        if brand:
            keys.insert(0, f"{keys[0]}:{brand.lower()}")
        return next((self.payment_methods[k] for k in keys if k in self.payment_methods), None)


class Settings(BaseModel):
    """pos_to_accounting's configuration, per stage (CDK context ``settings.pos_to_accounting``)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    #: The books sales and refunds are booked in: QuickBooks Online (the top-level mapping) or Xero
    #: (the ``xero`` block). The flow calls ``provider("accounting.record_sale", accounting_app)``.
    accounting_app: AccountingApp = "quickbooks"
    #: The books' home currency. A sale in another currency is not booked (DLQ).
    home_currency: str = Field(pattern=r"^[A-Z]{3}$")
    #: The business's time zone: a sale at 00:30 local time belongs to that local day (``TxnDate``).
    timezone: str = "Europe/London"
    #: QuickBooks: account the takings go to, per provider (a clearing account for each processor, or
    #: Undeposited Funds); refunds come out of the same account. Square and Stripe are required;
    #: Shopify only if Shopify sales come in (one arriving without it is dead-lettered, naming it).
    #: Required when ``accounting_app`` is ``quickbooks``.
    deposit_accounts: dict[Provider, QbId] = Field(default_factory=dict)
    #: Customer every till sale is booked to ("Walk-in customer"); none if unset.
    customer: QbId | None = None
    #: QuickBooks item for lines the item mapping does not name (and for Stripe charges). Required
    #: when ``accounting_app`` is ``quickbooks``.
    default_item: QbId | None = None
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
    #: The Xero mapping: required when ``accounting_app`` is ``xero``.
    xero: XeroBooks | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value

    @field_validator("payment_methods")
    @classmethod
    def _method_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            parts = key.split(":")
            if key != key.lower() or parts[0] not in PROVIDERS or not 2 <= len(parts) <= 3:
                raise ValueError(f"payment method key {key!r} must be provider:source[:brand], lower case")
        return value

    @model_validator(mode="after")
    def _target_mapped(self) -> Settings:
        """The chosen books' mapping is complete: named by the field that is missing."""
        if self.accounting_app == "xero":
            if self.xero is None:
                raise ValueError(
                    "accounting_app is 'xero' but there is no xero mapping: add "
                    '"xero": {"sales_account": ..., "deposit_accounts": {...}, "tax_types": {...}}'
                )
            return self
        if self.default_item is None:
            raise ValueError("default_item is required when accounting_app is 'quickbooks'")
        missing = {"square", "stripe"} - set(self.deposit_accounts)
        if missing:
            raise ValueError(
                f"deposit_accounts needs an account for {', '.join(sorted(missing))} "
                "(accounting_app is 'quickbooks')"
            )
        return self

    def books(self) -> Books:
        """The chosen books' mapping (see :class:`Books`)."""
        if self.accounting_app == "xero":
            x = self.xero
            assert x is not None  # the validator made sure
            return Books(
                app="xero",
                label="Xero",
                tax_setting="xero.tax_types",
                deposit_setting="xero.deposit_accounts",
                deposit_accounts=x.deposit_accounts,
                default_item=x.default_item,
                tip_item=x.tip_item or x.default_item,
                refund_item=x.refund_item or x.default_item,
                shipping_item=x.shipping_item or x.default_item,
                items=x.items,
                skus=x.skus,
                tax_codes=x.tax_types,
                untaxed_tax_code=x.untaxed_tax_type,
                stripe_tax=(x.stripe_tax.tax_type, x.stripe_tax.rate_percent) if x.stripe_tax else None,
                customer=x.customer,
                payment_methods={},
                tax_calculation=x.tax_calculation,
                sales_account=x.sales_account,
            )
        return Books(
            app="quickbooks",
            label="QuickBooks",
            tax_setting="tax_codes",
            deposit_setting="deposit_accounts",
            deposit_accounts=self.deposit_accounts,
            default_item=self.default_item,
            tip_item=self.tip_item or self.default_item,
            refund_item=self.refund_item or self.default_item,
            shipping_item=self.shipping_item or self.default_item,
            items=self.items,
            skus=self.skus,
            tax_codes=self.tax_codes,
            untaxed_tax_code=self.untaxed_tax_code,
            stripe_tax=(self.stripe_tax.tax_code, self.stripe_tax.rate_percent) if self.stripe_tax else None,
            customer=self.customer,
            payment_methods=self.payment_methods,
            tax_calculation=self.global_tax_calculation,
            sales_account=None,
        )
