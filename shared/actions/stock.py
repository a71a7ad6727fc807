"""Stock actions: how many of each SKU can be sold now.

The answer is in whole units, rounded *down* - a product page must never promise a unit that is not
there (7.25 kg of flour is 7 one-kilo bags); a negative total (sales ahead of counts) is 0. This
module is the contract (inputs, outputs, limits); Square (:mod:`apps.square.actions`) and Shopify
(:mod:`apps.shopify.actions`) perform ``stock.get``. :data:`DEFAULT_PROVIDER` is the one the catalogue
offers when a deployment names none (:func:`shared.actions.catalogue`); a flow whose settings name the
shop's app takes ``shared.actions.provider("stock.get", app)``.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DEFAULT_PROVIDER", "MAX_SKUS", "SKU", "SkuStock", "Stock", "StockQuery"]

SKU: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
MAX_SKUS: Final = 100
#: The app ``stock.get`` comes from in the catalogue when a deployment names none (the first to perform it).
DEFAULT_PROVIDER: Final = "square"


class StockQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    skus: list[Annotated[str, Field(pattern=SKU)]] = Field(
        min_length=1,
        max_length=MAX_SKUS,
        description="SKUs to look up (matched case-insensitively)",
    )
    location_ids: list[str] = Field(
        min_length=1, description="the shop's locations whose stock is counted (the provider's location ids)"
    )


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
