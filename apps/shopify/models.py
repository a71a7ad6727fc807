"""The GraphQL Admin API's answers, as far as Switchboard reads them: the envelope, errors, and objects.

Every answer is ``{"data": ..., "errors": [...], "extensions": {"cost": ...}}`` with status 200 - a
query that failed validation, a throttled one and one that partly failed alike - so errors are read
from the body, not the status (:mod:`.client`). Field names are Shopify's own (camelCase), so a model
reads exactly what the query selected.

Sources, for :data:`apps.shopify.SHOPIFY_API_VERSION`:

* Envelope, ``errors[]`` ``{message, locations, path, extensions.code}``, cost extension
  ``{requestedQueryCost, actualQueryCost, throttleStatus {maximumAvailable, currentlyAvailable,
  restoreRate}}``: https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits and
  https://shopify.dev/docs/api/admin-graphql#status-and-error-codes; the throttled body as
  ``Shopify/shopify-app-js`` tests it (``HTTP_WEBHOOK_THROTTLING_ERROR_RESPONSE``:
  ``{"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}``).
* ``UserError`` / ``InventoryAdjustQuantitiesUserError`` ``{field, message, code}``:
  https://shopify.dev/docs/api/admin-graphql/2026-04/objects/InventoryAdjustQuantitiesUserError
* ``ProductVariant`` (``id``, ``sku``, ``title``, ``product``, ``inventoryItem``), ``InventoryItem``
  (``id``, ``sku``, ``tracked``, ``inventoryLevels``), ``InventoryLevel`` (``id``, ``location``,
  ``quantities(names:)``, ``updatedAt``), ``InventoryQuantity`` (``name``, ``quantity``,
  ``updatedAt``), ``InventoryAdjustmentGroup`` (``id``, ``createdAt``, ``reason``, ``changes``
  ``{name, delta, quantityAfterChange, item, location}``), ``Order`` (``currentTotalPriceSet`` ...):
  https://shopify.dev/docs/api/admin-graphql/2026-04/objects/ (one page per object).
* The sales read (``orders(query:, first:, after:)``): ``Order.totalPriceSet`` (the total before
  returns: lines, discounts, shipping, taxes and tips), ``totalTipReceivedSet``,
  ``displayFinancialStatus`` (``OrderDisplayFinancialStatus``: ``AUTHORIZED``, ``EXPIRED``, ``PAID``,
  ``PARTIALLY_PAID``, ``PARTIALLY_REFUNDED``, ``PENDING``, ``REFUNDED``, ``VOIDED``), ``test``,
  ``refunds(first:)`` (a list, not a connection) of ``Refund`` (``id``, ``createdAt``,
  ``totalRefundedSet``), and ``PageInfo`` (``hasNextPage``, ``endCursor``):
  https://shopify.dev/docs/api/admin-graphql/2026-04/queries/orders,
  https://shopify.dev/docs/api/admin-graphql/2026-04/objects/Refund.

Worker path only.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AdjustmentChange",
    "AdjustmentGroup",
    "Cost",
    "Envelope",
    "GraphQLError",
    "InventoryItem",
    "InventoryLevel",
    "InventoryQuantity",
    "Money",
    "MoneyBag",
    "Node",
    "Order",
    "OrderLineItem",
    "OrderRefund",
    "PageInfo",
    "ProductVariant",
    "SalesOrder",
    "SalesOrders",
    "ThrottleStatus",
    "UserError",
]


class _Model(BaseModel):
    # Shopify adds fields with every version; the client selects what it reads, the rest is ignored.
    model_config = ConfigDict(frozen=True, extra="ignore")


# --- the envelope ------------------------------------------------------------------------------


class ThrottleStatus(_Model):
    maximumAvailable: float
    currentlyAvailable: float
    restoreRate: float = Field(gt=0)


class Cost(_Model):
    requestedQueryCost: float | None = None
    actualQueryCost: float | None = None
    throttleStatus: ThrottleStatus | None = None


class _Extensions(_Model):
    cost: Cost | None = None


class GraphQLError(_Model):
    message: str
    path: list[str | int] | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)

    @property
    def code(self) -> str | None:
        code = self.extensions.get("code")
        return code if isinstance(code, str) else None


class Envelope(_Model):
    data: dict[str, Any] | None = None
    errors: list[GraphQLError] = Field(default_factory=list)
    extensions: _Extensions | None = None

    @property
    def cost(self) -> Cost | None:
        return self.extensions.cost if self.extensions else None


class UserError(_Model):
    field: list[str] | None = None
    message: str
    code: str | None = None


# --- objects -----------------------------------------------------------------------------------


class Node(_Model):
    id: str


class Money(_Model):
    amount: Decimal
    currencyCode: str


class MoneyBag(_Model):
    shopMoney: Money


class _Product(_Model):
    id: str
    title: str | None = None


class _VariantItem(_Model):
    id: str
    tracked: bool | None = None


class ProductVariant(_Model):
    id: str
    sku: str | None = None
    title: str | None = None
    product: _Product | None = None
    inventoryItem: _VariantItem | None = None


class InventoryQuantity(_Model):
    name: str
    quantity: int
    updatedAt: datetime | None = None


class InventoryLevel(_Model):
    id: str
    location: Node
    quantities: list[InventoryQuantity] = Field(default_factory=list)
    updatedAt: datetime | None = None

    def quantity(self, name: str) -> int | None:
        return next((q.quantity for q in self.quantities if q.name == name), None)


class _Levels(_Model):
    nodes: list[InventoryLevel] = Field(default_factory=list)


class InventoryItem(_Model):
    id: str
    sku: str | None = None
    tracked: bool | None = None
    inventoryLevels: _Levels = Field(default_factory=_Levels)


class AdjustmentChange(_Model):
    name: str
    delta: int
    quantityAfterChange: int | None = None
    item: Node | None = None
    location: Node | None = None


class AdjustmentGroup(_Model):
    id: str
    createdAt: datetime | None = None
    reason: str | None = None
    referenceDocumentUri: str | None = None
    changes: list[AdjustmentChange] = Field(default_factory=list)


class _TaxLine(_Model):
    title: str | None = None
    rate: Decimal | None = None
    priceSet: MoneyBag | None = None


class _Allocation(_Model):
    allocatedAmountSet: MoneyBag


class OrderLineItem(_Model):
    id: str
    title: str | None = None
    sku: str | None = None
    quantity: int
    originalUnitPriceSet: MoneyBag | None = None
    taxLines: list[_TaxLine] = Field(default_factory=list)
    discountAllocations: list[_Allocation] = Field(default_factory=list)


class _LineItems(_Model):
    nodes: list[OrderLineItem] = Field(default_factory=list)


class Order(_Model):
    id: str
    name: str | None = None
    currencyCode: str
    createdAt: datetime | None = None
    processedAt: datetime | None = None
    displayFinancialStatus: str | None = None
    test: bool = False
    taxesIncluded: bool = False
    currentTotalPriceSet: MoneyBag
    totalTaxSet: MoneyBag | None = None
    totalTipReceivedSet: MoneyBag | None = None
    lineItems: _LineItems = Field(default_factory=_LineItems)


class OrderRefund(_Model):
    """A refund of an order: it counts on the day it was made (``createdAt``)."""

    id: str
    createdAt: datetime | None = None
    totalRefundedSet: MoneyBag | None = None


class SalesOrder(_Model):
    """An order as the sales read selects it: totals, status and refunds - no lines, no customer."""

    id: str
    name: str | None = None
    processedAt: datetime | None = None
    displayFinancialStatus: str | None = None
    test: bool = False
    totalPriceSet: MoneyBag
    totalTipReceivedSet: MoneyBag | None = None
    refunds: list[OrderRefund] = Field(default_factory=list)


class PageInfo(_Model):
    hasNextPage: bool = False
    endCursor: str | None = None


class SalesOrders(_Model):
    """One page of ``orders``."""

    nodes: list[SalesOrder] = Field(default_factory=list)
    pageInfo: PageInfo = Field(default_factory=PageInfo)
