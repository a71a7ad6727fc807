"""The catalogue action Shopify performs: ``stock.get`` - the stock contract, answered by Shopify.

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

Worker and MCP path only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from shared.actions.base import Action, ActionContext
from shared.actions.stock import SkuStock, Stock, StockQuery

from . import APP, CONNECTION
from .client import ShopifyClient, gid
from .models import InventoryItem

__all__ = ["ACTIONS", "GET_STOCK", "available_at"]


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

ACTIONS: Final = (GET_STOCK,)
