"""Stock actions (Square): how many of each SKU can be sold now.

One catalog search finds the live item variation of every SKU (exact, case-insensitive); one
inventory batch-retrieve gets their IN_STOCK counts at the given locations. Quantities are summed
exactly and rounded *down* to whole units - a product page must never promise a unit that is not
there (7.25 kg of flour is 7 one-kilo bags); a negative total (sales ahead of counts) is 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field

from apps import square
from shared.actions.base import Action, ActionContext

__all__ = ["ACTIONS", "GET", "SkuStock", "Stock", "StockQuery", "in_stock"]

SKU: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
MAX_SKUS: Final = 100


class StockQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    skus: list[Annotated[str, Field(pattern=SKU)]] = Field(
        min_length=1,
        max_length=MAX_SKUS,
        description="SKUs to look up (Square matches them case-insensitively)",
    )
    location_ids: list[str] = Field(min_length=1, description="Square locations whose stock is counted")


class SkuStock(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str = Field(description="the SKU as asked")
    found: bool = Field(description="false: no live item variation has this SKU")
    variation_id: str | None = None
    available: int = Field(description="whole units in stock at the locations (0 if unknown)")
    updated_at: str | None = Field(default=None, description="when Square last counted (ISO 8601, UTC)")


class Stock(BaseModel):
    model_config = ConfigDict(frozen=True)

    items: list[SkuStock] = Field(description="one per SKU asked, in the order asked")


def in_stock(
    counts: Iterable[square.InventoryCount], variation_id: str | None, locations: Sequence[str]
) -> tuple[int, str | None]:
    """Whole units of one variation in stock at the locations, and the newest count time (ISO, UTC).

    Square's quantities are decimals (up to 5 places) because some things sell by weight. The sum is
    exact (``Decimal``); the answer is whole units, rounded *down*: 7.25 kg of flour is 7 one-kilo
    bags, and a product page must never promise a unit that is not there. A negative total (Square
    lets sales run ahead of counts) is 0. The time is the newest ``calculated_at`` among the counts
    used (``None`` if Square has no count at these locations: nothing tracked, 0 available).
    """
    wanted = set(locations)
    used = [
        c
        for c in counts
        if c.catalog_object_id == variation_id and c.state == "IN_STOCK" and c.location_id in wanted
    ]
    total = sum((c.quantity for c in used), Decimal(0))
    times = [c.calculated_at for c in used if c.calculated_at is not None]
    newest = max(times).astimezone(UTC) if times else None
    return max(0, math.floor(total)), _iso(newest) if newest else None


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _get(ctx: ActionContext, data: StockQuery) -> Stock:
    client = square.SquareClient(ctx.api(square.APP, square.CONNECTION))
    variations = client.search_variations_by_sku(data.skus)
    counts = client.batch_retrieve_counts(
        [v.id for v in variations.values()], data.location_ids, states=["IN_STOCK"]
    )
    items = []
    for sku in data.skus:
        variation = variations.get(sku)
        vid = variation.id if variation is not None else None
        available, updated_at = in_stock(counts, vid, data.location_ids)
        items.append(
            SkuStock(
                sku=sku, found=vid is not None, variation_id=vid, available=available, updated_at=updated_at
            )
        )
    return Stock(items=items)


GET: Final = Action(
    name="stock.get",
    description="Stock on hand (whole units) for up to 100 SKUs at the shop's locations (Square).",
    input=StockQuery,
    output=Stock,
    app=square.APP.name,
    connections=(square.CONNECTION,),
    run=_get,
    effect=False,
    config={"location_ids": "stock_location_ids"},
)

ACTIONS: Final = (GET,)
