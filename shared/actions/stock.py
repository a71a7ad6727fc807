"""Stock actions: how many of each SKU can be sold now.

The answer is in whole units, rounded *down* - a product page must never promise a unit that is not
there (7.25 kg of flour is 7 one-kilo bags); a negative total (sales ahead of counts) is 0. This
module is the contract (inputs, outputs, limits); Square (:mod:`apps.square.actions`) and Shopify
(:mod:`apps.shopify.actions`) perform ``stock.get``, and ``stock.count`` / ``stock.adjust`` (one
location's exact count, a relative change with compare-and-set) that ``inventory_sync`` uses. :data:`DEFAULT_PROVIDER` is the one the catalogue
offers when a deployment names none (:func:`shared.actions.catalogue`); a flow whose settings name the
shop's app takes ``shared.actions.provider("stock.get", app)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.errors import Contended

__all__ = [
    "DEFAULT_PROVIDER",
    "MAX_SKUS",
    "SKU",
    "Adjust",
    "Adjusted",
    "Count",
    "CountQuery",
    "SkuStock",
    "Stock",
    "StockChanged",
    "StockQuery",
]

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


# --- one location's exact count, and relative adjustments (inventory_sync) -------------------------
#
# ``stock.get`` answers a product page: whole units, rounded down, never negative. Keeping two tills
# in step needs the count as it is - negative when sales ran ahead of counts - and a way to change it
# by a difference, guarded by what the caller expects to be there now. As tools, the caller names the
# location (the provider's id); an API key offers them only if it names them (least privilege).


class StockChanged(Contended):
    """A compare-and-set adjustment found another quantity than expected: read again, then retry.

    Another sale (or a count) changed the level between the caller's read and its write; nothing was
    applied. Contended, so a wait that spends no attempt: the next try reads the new quantity and
    computes again, however busy the SKU is.
    """

    code = "stock_changed"


class CountQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: str = Field(pattern=SKU, description="the SKU (matched case-insensitively)")
    location_id: str = Field(min_length=1, max_length=200, description="the provider's location id")


class Count(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    found: bool = Field(description="false: no live item or variant has this SKU")
    item_id: str | None = Field(default=None, description="the provider's id of what is counted")
    quantity: int = Field(description="units available at the location, exact (negative if oversold)")
    tracked: bool = Field(default=True, description="false: the provider keeps no count for it")


class Adjust(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: str = Field(pattern=SKU)
    location_id: str = Field(min_length=1, max_length=200)
    delta: int = Field(description="units to add (negative: to take away); never 0")
    expected: int | None = Field(
        default=None,
        description="the quantity the caller read; another one refuses the change (StockChanged)",
    )
    key: str | None = Field(
        default=None,
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9:_.-]+$",
        description="idempotency key of this change: a retry sends the same one (default: a new one)",
    )
    reference: str | None = Field(
        default=None, max_length=255, description="what caused it (a URI or an id), kept by the provider"
    )
    occurred_at: datetime | None = Field(
        default=None, description="when the change happened (default now); a retry must send the first one"
    )

    @field_validator("delta")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("an adjustment of 0 changes nothing: do not send it")
        return value


class Adjusted(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    delta: int
    quantity_after: int | None = Field(
        default=None, description="the provider's quantity after this change, if it says"
    )
