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

Worker and MCP path only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from shared.actions.base import Action, ActionContext
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
from .models import InventoryItem

__all__ = ["ACTIONS", "ADJUST_STOCK", "COUNT_STOCK", "GET_STOCK", "SYNC_REASON", "available_at"]

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

ACTIONS: Final = (GET_STOCK, COUNT_STOCK, ADJUST_STOCK)
