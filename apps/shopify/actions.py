"""The catalogue actions Shopify performs: ``stock.get``, ``stock.count``, ``stock.adjust`` - the stock contract.

Its contract is the stock domain's (:mod:`shared.actions.stock`: SKUs in, whole units available out,
rounded down, never negative), the one Square answers too. The catalogue offers one app per action
name (Square's, :data:`shared.actions.stock.DEFAULT_PROVIDER`, unless a deployment chooses
``{"stock": "shopify"}``); a flow whose settings name Shopify takes
``shared.actions.provider("stock.get", "shopify")``. The locations are the deployment's, as for Square:
the host's ``stock_location_ids`` setting, here Shopify location ids (numeric or
``gid://shopify/Location/<n>``).

How Shopify answers it, in two GraphQL reads (:mod:`.client`): ``productVariants`` finds the variant
of every SKU (exact, case-insensitive) and its inventory item; ``nodes`` reads those items' levels,
and the ``available`` quantities at the wanted locations are summed. An item whose inventory Shopify
does not track (``tracked: false``) has no count: it is reported found with 0 available and no time,
as a Square variation without counts is.

``stock.count`` reads one item's exact ``available`` at one location (negative if oversold);
``stock.adjust`` is ``inventoryAdjustQuantities`` with the caller's ``expected`` as
``changeFromQuantity`` (Shopify's own compare-and-swap: a stale one applies nothing and is
:class:`~shared.actions.stock.StockChanged`), the caller's key as ``@idempotent(key:)`` and its
reference as the group's ``referenceDocumentUri``; reason ``correction`` (the count is corrected to
match a sale made elsewhere).

``payments.list_online`` (:mod:`shared.actions.payments`) is the shop's sales of a period: one
``orders(query: "updated_at:>=<begin>")`` search, every page (:meth:`.client.ShopifyClient.orders_updated_since`),
from which the orders *processed* in ``[begin, end)`` become payments and the refunds *created* in it
become refunds - so a refund today of last week's order counts today, as the till's do. An order is a
payment of ``totalPriceSet`` (before returns) less ``totalTipReceivedSet``, with the tip beside it;
``displayFinancialStatus`` decides whether it took money (:data:`ORDER_STATUS`); test orders
(``test: true``, the bogus gateway) are left out. Shopify's fees are not in the Admin API's order,
so an online payment carries none.

Worker and MCP path only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from shared.actions.base import Action, ActionContext
from shared.actions.payments import (
    ListOnlinePayments,
    Money,
    Payment,
    PaymentList,
    PaymentStatus,
    Refund,
    iso_exponent,
)
from shared.actions.stock import (
    Adjust,
    Adjusted,
    Count,
    CountQuery,
    SkuStock,
    Stock,
    StockChanged,
    StockQuery,
)
from shared.errors import PermanentError

from . import APP, CONNECTION
from .client import InventoryChange, QuantityStale, ShopifyClient, gid
from .models import InventoryItem, MoneyBag, SalesOrder

__all__ = [
    "ACTIONS",
    "ADJUST_STOCK",
    "COUNT_STOCK",
    "GET_STOCK",
    "LIST_ONLINE_PAYMENTS",
    "ORDER_STATUS",
    "SYNC_REASON",
    "as_money",
    "available_at",
    "sales_of",
]

#: The ``reason`` of a stock.adjust: the online count is corrected to match a sale made elsewhere.
SYNC_REASON: Final = "correction"


def _client(ctx: ActionContext) -> ShopifyClient:
    return ShopifyClient(ctx.api(APP, CONNECTION))


def available_at(item: InventoryItem | None, locations: Sequence[str]) -> tuple[int, str | None]:
    """Units ``available`` at the locations (summed; never below 0) and the newest change (ISO, UTC)."""
    if item is None or item.tracked is False:
        return 0, None
    wanted = {gid("Location", loc) for loc in locations}
    total = 0
    times: list[datetime] = []
    for level in item.inventoryLevels.nodes:
        if level.location.id not in wanted:
            continue
        total += level.quantity("available") or 0
        stamps = [q.updatedAt for q in level.quantities if q.name == "available" and q.updatedAt]
        times.extend(stamps or ([level.updatedAt] if level.updatedAt else []))
    newest = max(times).astimezone(UTC) if times else None
    return max(0, total), _iso(newest) if newest else None


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _get_stock(ctx: ActionContext, data: StockQuery) -> Stock:
    client = _client(ctx)
    variants = client.variants_by_sku(data.skus)
    item_ids = [v.inventoryItem.id for v in variants.values() if v.inventoryItem]
    items = client.inventory_items(item_ids) if item_ids else {}
    answers = []
    for sku in data.skus:
        variant = variants.get(sku)
        item = items.get(variant.inventoryItem.id) if variant and variant.inventoryItem else None
        available, updated_at = available_at(item, data.location_ids)
        answers.append(
            SkuStock(
                sku=sku,
                found=variant is not None,
                variation_id=variant.id if variant else None,
                available=available,
                updated_at=updated_at,
            )
        )
    return Stock(items=answers)


def _located(
    client: ShopifyClient, sku: str, location_id: str
) -> tuple[str | None, InventoryItem | None, int | None]:
    """The item id, the item, and its ``available`` at the location (``None``: not stocked there)."""
    variant = client.variants_by_sku([sku]).get(sku)
    if variant is None or variant.inventoryItem is None:
        return None, None, None
    item_id = variant.inventoryItem.id
    item = client.inventory_items([item_id]).get(item_id)
    where = gid("Location", location_id)
    level = next((lv for lv in item.inventoryLevels.nodes if lv.location.id == where), None) if item else None
    return item_id, item, level.quantity("available") if level is not None else None


def _count(ctx: ActionContext, data: CountQuery) -> Count:
    item_id, item, available = _located(_client(ctx), data.sku, data.location_id)
    if item_id is None:
        return Count(sku=data.sku, found=False, quantity=0)
    tracked = item is not None and item.tracked is not False
    return Count(sku=data.sku, found=True, item_id=item_id, quantity=available or 0, tracked=tracked)


def _adjust(ctx: ActionContext, data: Adjust) -> Adjusted:
    client = _client(ctx)
    variant = client.variants_by_sku([data.sku]).get(data.sku)
    if variant is None or variant.inventoryItem is None:
        raise PermanentError(f"{APP.name}: no variant has SKU {data.sku}")
    change = InventoryChange(variant.inventoryItem.id, data.location_id, data.delta, data.expected)
    try:
        group = client.adjust_available(
            [change],
            reason=SYNC_REASON,
            key=data.key or f"sb-{uuid.uuid4().hex}",
            reference_uri=data.reference,
        )
    except QuantityStale as exc:
        raise StockChanged(f"{APP.name} {data.sku}: {exc}") from exc
    after = next((c.quantityAfterChange for c in group.changes if c.name == "available"), None)
    return Adjusted(sku=data.sku, delta=data.delta, quantity_after=after)


#: ``displayFinancialStatus`` -> the payment's status: paid (and later refunded: the refunds count on
#: their own day) took money; ``PARTIALLY_PAID`` and ``PENDING`` not yet all of it; ``VOIDED`` was
#: cancelled; ``EXPIRED`` an authorisation never captured. An unknown status is ``None``: not counted.
ORDER_STATUS: Final[dict[str, PaymentStatus]] = {
    "PAID": "completed",
    "PARTIALLY_REFUNDED": "completed",
    "REFUNDED": "completed",
    "AUTHORIZED": "authorized",
    "PARTIALLY_PAID": "pending",
    "PENDING": "pending",
    "VOIDED": "canceled",
    "EXPIRED": "failed",
}


def as_money(bag: MoneyBag | None) -> Money | None:
    """Shopify's decimal ``shopMoney`` as exact minor units; a fraction of a minor unit is refused."""
    if bag is None:
        return None
    currency = bag.shopMoney.currencyCode.upper()
    exponent = iso_exponent(currency)
    minor = bag.shopMoney.amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise PermanentError(f"{APP.name}: {bag.shopMoney.amount} {currency} is not whole minor units")
    return Money(amount=int(minor), currency=currency, exponent=exponent)


def _less(total: Money | None, tip: Money | None) -> Money | None:
    if total is None or tip is None or tip.currency != total.currency:
        return total
    return total.model_copy(update={"amount": total.amount - tip.amount})


def sales_of(orders: Sequence[SalesOrder], begin: datetime, end: datetime) -> PaymentList:
    """The payments (orders processed in ``[begin, end)``) and refunds (created in it) of ``orders``."""
    payments: list[Payment] = []
    refunds: list[Refund] = []
    for order in orders:
        if order.test:
            continue
        if order.processedAt is not None and begin <= order.processedAt < end:
            total, tip = as_money(order.totalPriceSet), as_money(order.totalTipReceivedSet)
            payments.append(
                Payment(
                    id=order.id,
                    status=ORDER_STATUS.get((order.displayFinancialStatus or "").upper()),
                    created_at=order.processedAt,
                    amount=_less(total, tip),
                    tip=tip if tip is not None and tip.amount else None,
                    order_id=order.id,
                )
            )
        for refund in order.refunds:
            if refund.createdAt is not None and begin <= refund.createdAt < end:
                refunds.append(
                    Refund(
                        id=refund.id,
                        status="completed",
                        created_at=refund.createdAt,
                        payment_id=order.id,
                        order_id=order.id,
                        amount=as_money(refund.totalRefundedSet),
                    )
                )
    return PaymentList(payments=payments, refunds=refunds)


def _list_online(ctx: ActionContext, data: ListOnlinePayments) -> PaymentList:
    orders = _client(ctx).orders_updated_since(data.begin_time)
    return sales_of(orders, data.begin_time, data.end_time)


GET_STOCK: Final = Action(
    name="stock.get",
    description="Stock available (whole units) for up to 100 SKUs at the shop's locations (Shopify).",
    input=StockQuery,
    output=Stock,
    app=APP.name,
    connections=(CONNECTION,),
    run=_get_stock,
    effect=False,
    config={"location_ids": "stock_location_ids"},
)

COUNT_STOCK: Final = Action(
    name="stock.count",
    description="The exact count of one SKU at one location, negative if oversold (Shopify).",
    input=CountQuery,
    output=Count,
    app=APP.name,
    connections=(CONNECTION,),
    run=_count,
    effect=False,
)
ADJUST_STOCK: Final = Action(
    name="stock.adjust",
    description="Add or take away units of one SKU at one location, if its count is as expected (Shopify).",
    input=Adjust,
    output=Adjusted,
    app=APP.name,
    connections=(CONNECTION,),
    run=_adjust,
)

LIST_ONLINE_PAYMENTS: Final = Action(
    name="payments.list_online",
    description="List the online shop's paid orders and refunds of a period, up to 31 days (Shopify).",
    input=ListOnlinePayments,
    output=PaymentList,
    app=APP.name,
    connections=(CONNECTION,),
    run=_list_online,
    effect=False,
)

ACTIONS: Final = (GET_STOCK, COUNT_STOCK, ADJUST_STOCK, LIST_ONLINE_PAYMENTS)
