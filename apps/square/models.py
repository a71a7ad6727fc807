"""Square's API answers, as the worker reads them: catalog objects, inventory counts, orders, errors, pages.

Payments and refunds are answers too (ListPayments, ListPaymentRefunds), but Square's webhooks deliver
the same objects, so they are defined in :mod:`.webhooks` and re-exported here. Every model ignores
fields it does not know (Square adds some with every version). Worker path only.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import ValidationError

from .webhooks import Card, Money, Payment, PaymentRefund, SquareModel

__all__ = [
    "Card",
    "CatalogItem",
    "CatalogItemVariation",
    "CatalogObject",
    "ChangesAnswer",
    "CountsPage",
    "InventoryCount",
    "Money",
    "Order",
    "OrderAnswer",
    "OrderLineItem",
    "OrderLineItemAppliedTax",
    "OrderLineItemTax",
    "OrderRefund",
    "Page",
    "Payment",
    "PaymentRefund",
    "PaymentsPage",
    "RefundsPage",
    "SearchPage",
    "SquareError",
    "SquareErrorBody",
    "Tender",
    "TenderCardDetails",
    "TenderCashDetails",
    "parse_error",
]


class SquareError(SquareModel):
    """One entry of Square's ``errors`` array."""

    category: str
    code: str
    detail: str | None = None
    field: str | None = None


class SquareErrorBody(SquareModel):
    errors: tuple[SquareError, ...] = ()


def parse_error(text: str | bytes) -> SquareErrorBody | None:
    """Square's error body in ``text``, or ``None`` if it is not one (an edge proxy's HTML page ...)."""
    try:
        body = SquareErrorBody.model_validate_json(text)
    except ValidationError:
        return None
    return body if body.errors else None


class CatalogItemVariation(SquareModel):
    """``item_variation_data``: the sellable thing a SKU names."""

    item_id: str | None = None
    name: str | None = None
    sku: str | None = None
    upc: str | None = None
    ordinal: int | None = None
    pricing_type: str | None = None
    price_money: Money | None = None
    track_inventory: bool | None = None


class CatalogItem(SquareModel):
    """``item_data`` of an ``ITEM`` (the product a variation belongs to)."""

    name: str | None = None
    description: str | None = None
    product_type: str | None = None


class CatalogObject(SquareModel):
    """A catalog object. Only the ``*_data`` member of its ``type`` is set."""

    type: str
    id: str
    updated_at: datetime | None = None
    version: int | None = None
    is_deleted: bool = False
    present_at_all_locations: bool | None = None
    present_at_location_ids: tuple[str, ...] = ()
    item_variation_data: CatalogItemVariation | None = None
    item_data: CatalogItem | None = None

    @property
    def sku(self) -> str | None:
        return self.item_variation_data.sku if self.item_variation_data else None


class InventoryCount(SquareModel):
    """Square's computed quantity of one variation, in one state, at one location."""

    catalog_object_id: str
    catalog_object_type: str | None = None
    state: str
    location_id: str
    #: A decimal string on the wire (up to 5 places); exact here, never a float.
    quantity: Decimal
    calculated_at: datetime | None = None
    is_estimated: bool | None = None


# --- orders ----------------------------------------------------------------------------------------
#
# Shapes of Square-Version 2025-10-16 (``square/square-python-sdk`` 43.2.0.20251016,
# ``src/square/types/order.py``, ``order_line_item.py``, ``order_line_item_tax.py``, ``tender.py``,
# ``refund.py``). Every field is optional except the id, as for payments.


class OrderLineItemAppliedTax(SquareModel):
    uid: str | None = None
    tax_uid: str
    applied_money: Money | None = None


class OrderLineItemTax(SquareModel):
    """A tax of an order. ``percentage`` is a decimal string ("20" is 20 %); ``type`` ``ADDITIVE``
    or ``INCLUSIVE`` (UK VAT is usually inclusive); ``scope`` ``ORDER`` or ``LINE_ITEM``."""

    uid: str | None = None
    catalog_object_id: str | None = None
    name: str | None = None
    percentage: Decimal | None = None
    type: str | None = None
    scope: str | None = None
    applied_money: Money | None = None


class OrderLineItem(SquareModel):
    """One line of an order. ``quantity`` is a decimal string on the wire ("1", "0.75" kg)."""

    uid: str | None = None
    name: str | None = None
    quantity: Decimal
    catalog_object_id: str | None = None
    catalog_version: int | None = None
    variation_name: str | None = None
    item_type: str | None = None
    note: str | None = None
    base_price_money: Money | None = None
    variation_total_price_money: Money | None = None
    gross_sales_money: Money | None = None
    total_tax_money: Money | None = None
    total_discount_money: Money | None = None
    total_money: Money | None = None
    applied_taxes: tuple[OrderLineItemAppliedTax, ...] = ()


class TenderCardDetails(SquareModel):
    status: str | None = None
    card: Card | None = None
    entry_method: str | None = None


class TenderCashDetails(SquareModel):
    buyer_tendered_money: Money | None = None
    change_back_money: Money | None = None


class Tender(SquareModel):
    """How (part of) an order was paid; ``payment_id`` links it to the Payments API."""

    id: str | None = None
    location_id: str | None = None
    transaction_id: str | None = None
    created_at: datetime | None = None
    note: str | None = None
    amount_money: Money | None = None
    tip_money: Money | None = None
    processing_fee_money: Money | None = None
    customer_id: str | None = None
    type: str | None = None
    card_details: TenderCardDetails | None = None
    cash_details: TenderCashDetails | None = None
    payment_id: str | None = None


class OrderRefund(SquareModel):
    """``Order.refunds[]`` (Square's ``Refund`` object): a refund as the order records it."""

    id: str
    location_id: str | None = None
    transaction_id: str | None = None
    tender_id: str | None = None
    created_at: datetime | None = None
    reason: str | None = None
    amount_money: Money | None = None
    status: str | None = None
    processing_fee_money: Money | None = None


class Order(SquareModel):
    """An order (Orders API): line items, taxes, tenders. ``state``: ``OPEN``, ``COMPLETED``,
    ``CANCELED``, ``DRAFT``.
    https://developer.squareup.com/reference/square/objects/Order
    """

    id: str
    location_id: str | None = None
    reference_id: str | None = None
    customer_id: str | None = None
    line_items: tuple[OrderLineItem, ...] = ()
    taxes: tuple[OrderLineItemTax, ...] = ()
    tenders: tuple[Tender, ...] = ()
    refunds: tuple[OrderRefund, ...] = ()
    total_money: Money | None = None
    total_tax_money: Money | None = None
    total_discount_money: Money | None = None
    total_tip_money: Money | None = None
    total_service_charge_money: Money | None = None
    state: str | None = None
    version: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    closed_at: datetime | None = None


# --- pages -----------------------------------------------------------------------------------------


class Page(SquareModel):
    """One page of a list or search answer: ``cursor`` asks for the next; errors may come with a 2xx."""

    cursor: str | None = None
    errors: tuple[SquareError, ...] = ()


class SearchPage(Page):
    objects: tuple[CatalogObject, ...] = ()
    related_objects: tuple[CatalogObject, ...] = ()


class CountsPage(Page):
    counts: tuple[InventoryCount, ...] = ()


class ChangesAnswer(Page):
    """BatchChangeInventory's answer: the counts after the changes (and ``errors`` on a refusal).
    https://developer.squareup.com/reference/square/inventory-api/batch-change-inventory"""

    counts: tuple[InventoryCount, ...] = ()


class PaymentsPage(Page):
    # An empty result is ``{}``: no ``payments`` key at all.
    payments: tuple[Payment, ...] = ()


class RefundsPage(Page):
    refunds: tuple[PaymentRefund, ...] = ()


class OrderAnswer(SquareModel):
    order: Order | None = None
    errors: tuple[SquareError, ...] = ()
