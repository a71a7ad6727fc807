"""What Shopify's webhooks deliver: orders (``orders/paid``), refunds (``refunds/create``), inventory levels.

A Shopify webhook body is the resource itself, as the REST Admin API renders it in the subscription's
API version - no envelope: the topic is the ``X-Shopify-Topic`` header and the delivery id
``X-Shopify-Webhook-Id`` (:mod:`apps.shopify`). Money is a decimal *string* in the shop's currency
(``"19.99"``), with ``*_set`` twins holding ``shop_money`` and ``presentment_money`` (the buyer's
currency); quantities are integers.

Sources:

* Webhook topics and their payloads (``orders/paid``: "Occurs each time an order is paid";
  ``refunds/create``; ``inventory_levels/update``):
  https://shopify.dev/docs/api/webhooks?reference=toml (topic list and example payloads).
* The order (``current_total_price``, ``total_price``, ``total_tax``, ``total_discounts``,
  ``taxes_included``, ``total_shipping_price_set``, ``total_tip_received``, ``line_items[]`` with
  ``sku``, ``quantity``, ``price``, ``tax_lines[]`` ``{title, price, rate}``,
  ``discount_allocations[]`` ``{amount, discount_application_index}``; ``shipping_lines[]`` with
  ``price``, ``discounted_price``, ``tax_lines``): https://shopify.dev/docs/api/admin-rest/latest/resources/order
  and Shopify's sample ``orders/paid`` payload (order 820982911946154508).
* The refund (``refund_line_items[]`` ``{line_item_id, quantity, subtotal, total_tax, line_item}``,
  ``transactions[]`` ``{id, kind, status, amount, currency, gateway}``, ``order_adjustments``):
  https://shopify.dev/docs/api/admin-rest/latest/resources/refund
* The inventory level (``inventory_item_id``, ``location_id``, ``available``, ``updated_at``,
  ``admin_graphql_api_id``): https://shopify.dev/docs/api/admin-rest/latest/resources/inventorylevel
* Tips are line items of their own (GraphQL ``TipSale.lineItem``), summed in ``total_tip_received``:
  https://shopify.dev/docs/api/admin-graphql/latest/objects/TipSale

Only what the flows read is declared; every model tolerates (and ignores) the rest. The ingress path
imports this module: pydantic and the standard library only.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "TOPIC_INVENTORY_LEVELS_UPDATE",
    "TOPIC_ORDERS_PAID",
    "TOPIC_REFUNDS_CREATE",
    "DiscountAllocation",
    "InventoryLevel",
    "LineItem",
    "MoneyBag",
    "Order",
    "Refund",
    "RefundLineItem",
    "ShippingLine",
    "ShopMoney",
    "ShopifyModel",
    "ShopifyPayload",
    "TaxLine",
    "Transaction",
]

TOPIC_ORDERS_PAID: Final = "orders/paid"
TOPIC_REFUNDS_CREATE: Final = "refunds/create"
TOPIC_INVENTORY_LEVELS_UPDATE: Final = "inventory_levels/update"

#: Shopify's decimal money strings ("19.99"); numbers are read exactly too (refund line subtotals are
#: JSON numbers in the REST rendering).
Amount = Decimal


class ShopifyModel(BaseModel):
    """The base of every Shopify shape: Shopify adds fields with every version - they are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class ShopifyPayload(BaseModel):
    """Any webhook body: a JSON object, read by topic in a spec's ``accept`` (the topic is a header)."""

    model_config = ConfigDict(frozen=True, extra="allow")


class ShopMoney(ShopifyModel):
    amount: Amount
    currency_code: str = Field(min_length=3, max_length=3)


class MoneyBag(ShopifyModel):
    """``*_set``: the amount in the shop's currency and in the buyer's (presentment) currency."""

    shop_money: ShopMoney
    presentment_money: ShopMoney | None = None


class TaxLine(ShopifyModel):
    title: str = ""
    #: The tax amount, in the shop currency.
    price: Amount = Decimal(0)
    #: The rate as a fraction: ``0.2`` is 20 %.
    rate: Decimal | None = None
    price_set: MoneyBag | None = None


class DiscountAllocation(ShopifyModel):
    #: The discount amount allocated to the line, in the shop currency.
    amount: Amount
    amount_set: MoneyBag | None = None
    discount_application_index: int | None = None


class LineItem(ShopifyModel):
    id: int
    admin_graphql_api_id: str | None = None
    title: str | None = None
    variant_title: str | None = None
    name: str | None = None
    sku: str | None = None
    product_id: int | None = None
    variant_id: int | None = None
    quantity: int = Field(ge=0)
    #: The quantity after edits and removals (absent in older renderings).
    current_quantity: int | None = None
    #: The unit price before discounts, in the shop currency.
    price: Amount
    price_set: MoneyBag | None = None
    taxable: bool = True
    gift_card: bool = False
    tax_lines: tuple[TaxLine, ...] = ()
    discount_allocations: tuple[DiscountAllocation, ...] = ()


class ShippingLine(ShopifyModel):
    id: int | None = None
    title: str | None = None
    code: str | None = None
    price: Amount
    #: The price after shipping discounts (absent in older renderings: then price less allocations).
    discounted_price: Amount | None = None
    tax_lines: tuple[TaxLine, ...] = ()
    discount_allocations: tuple[DiscountAllocation, ...] = ()


class Order(ShopifyModel):
    """An order as ``orders/paid`` delivers it (the REST Admin API's Order resource)."""

    id: int
    admin_graphql_api_id: str | None = None
    name: str | None = None
    #: The shop's currency: every plain money string of the order is in it.
    currency: str = Field(min_length=3, max_length=3)
    presentment_currency: str | None = None
    created_at: datetime
    processed_at: datetime | None = None
    financial_status: str | None = None
    test: bool = False
    taxes_included: bool = False
    #: What the order costs now: after edits, returns and refunds.
    current_total_price: Amount
    total_price: Amount | None = None
    subtotal_price: Amount | None = None
    total_tax: Amount = Decimal(0)
    total_discounts: Amount = Decimal(0)
    total_tip_received: Amount = Decimal(0)
    total_shipping_price_set: MoneyBag | None = None
    line_items: tuple[LineItem, ...] = ()
    shipping_lines: tuple[ShippingLine, ...] = ()
    tax_lines: tuple[TaxLine, ...] = ()
    payment_gateway_names: tuple[str, ...] = ()
    #: ``web``, ``pos``, ``shopify_draft_order``, an app's id ...
    source_name: str | None = None
    #: The POS location, for a till sale (absent or null online).
    location_id: int | None = None


class Transaction(ShopifyModel):
    id: int
    order_id: int | None = None
    #: ``sale``, ``capture``, ``authorization``, ``void``, ``refund``, ``change``.
    kind: str
    #: ``success``, ``pending``, ``failure``, ``error``.
    status: str
    amount: Amount
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    gateway: str | None = None
    processed_at: datetime | None = None
    created_at: datetime | None = None
    location_id: int | None = None
    parent_id: int | None = None
    test: bool = False


class RefundLineItem(ShopifyModel):
    id: int | None = None
    line_item_id: int | None = None
    quantity: int = Field(ge=0)
    subtotal: Amount | None = None
    total_tax: Amount | None = None
    subtotal_set: MoneyBag | None = None
    total_tax_set: MoneyBag | None = None
    #: ``no_restock``, ``cancel``, ``return``, ``legacy_restock``.
    restock_type: str | None = None
    location_id: int | None = None
    line_item: LineItem | None = None


class Refund(ShopifyModel):
    """A refund as ``refunds/create`` delivers it (the REST Admin API's Refund resource)."""

    id: int
    admin_graphql_api_id: str | None = None
    order_id: int
    created_at: datetime
    processed_at: datetime | None = None
    note: str | None = None
    restock: bool | None = None
    refund_line_items: tuple[RefundLineItem, ...] = ()
    transactions: tuple[Transaction, ...] = ()


class InventoryLevel(ShopifyModel):
    """An inventory level as ``inventory_levels/update`` delivers it."""

    inventory_item_id: int
    location_id: int
    #: Units available at the location; ``null`` when the item is not tracked.
    available: int | None = None
    updated_at: datetime
    admin_graphql_api_id: str | None = None
