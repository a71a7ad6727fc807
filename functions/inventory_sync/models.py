"""inventory_sync's models: the work item and the settings. Ingress path: pydantic only.

The work item says *that* a SKU may have changed on one side, never by how much: the worker reads
both sides itself (the webhooks carry quantities, not the sales behind them), so a duplicate, late
or re-ordered delivery cannot apply a change twice or apply an old one.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.actions.stock import SKU

__all__ = ["Settings", "Side", "SyncRequest", "shopify_location_number"]

Side = Literal["square", "shopify"]
SIDES: Final[tuple[Side, Side]] = ("square", "shopify")
_SHOPIFY_LOCATION: Final = re.compile(r"^(?:gid://shopify/Location/)?(\d{1,20})$")


def shopify_location_number(value: str | int) -> str:
    """``gid://shopify/Location/71834255449`` or ``71834255449`` -> ``71834255449``."""
    match = _SHOPIFY_LOCATION.match(str(value))
    if match is None:
        raise ValueError(f"{value!r} is not a Shopify location id (a number or gid://shopify/Location/<n>)")
    return match.group(1)


class SyncRequest(BaseModel):
    """One unit of work: a level changed on one side (``change``), or the daily check (``reconcile``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["change", "reconcile"]
    #: The side whose level changed (``change`` only).
    side: Side | None = None
    #: Square's item variation id, or Shopify's inventory item gid.
    item_id: str | None = Field(default=None, max_length=200)
    #: Square's location id, or Shopify's location number.
    location_id: str | None = Field(default=None, max_length=200)
    #: The quantity the webhook reported (whole units; ``None`` if fractional or absent): equal to the
    #: one last recorded, it is our own write coming back (or a repeat) and nothing is read.
    quantity: int | None = None
    #: The local day a ``reconcile`` checks (for its key and its report).
    day: date | None = None

    @model_validator(mode="after")
    def _complete(self) -> SyncRequest:
        if self.kind == "change" and not (self.side and self.item_id and self.location_id):
            raise ValueError("a change names its side, item_id and location_id")
        if self.kind == "reconcile" and self.day is None:
            raise ValueError("a reconcile names its day")
        return self


class Settings(BaseModel):
    """inventory_sync's configuration, per stage (CDK context ``settings.inventory_sync``)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    #: The Square location whose ``IN_STOCK`` count is kept in step (the shop's till).
    square_location_id: str = Field(pattern=r"^[A-Z0-9]{6,32}$")
    #: The Shopify location whose ``available`` is kept in step (a number or its gid).
    shopify_location_id: str
    #: The SKUs kept in step, as Square spells them (a SKU not listed is left alone on both sides).
    skus: tuple[Annotated[str, Field(pattern=SKU)], ...] = Field(min_length=1, max_length=200)
    #: Square SKU -> Shopify SKU, only where the web shop spells it differently (default: the same SKU).
    shopify_skus: dict[str, Annotated[str, Field(pattern=SKU)]] = Field(default_factory=dict)
    #: Which side's count is right when the daily check finds the two apart.
    source_of_truth: Side = "square"
    #: Whether the daily check corrects drift (the other side is set to the source of truth's count),
    #: or only reports it (the default: a person looks first).
    fix_drift: bool = False

    @field_validator("shopify_location_id")
    @classmethod
    def _location(cls, value: str) -> str:
        return shopify_location_number(value)

    @model_validator(mode="after")
    def _mapping(self) -> Settings:
        folded = [s.casefold() for s in self.skus]
        if len(set(folded)) != len(folded):
            raise ValueError("skus lists a SKU twice")
        unknown = sorted(set(self.shopify_skus) - set(self.skus))
        if unknown:
            raise ValueError(f"shopify_skus renames SKUs that skus does not list: {unknown}")
        targets = [self.sku_on("shopify", s).casefold() for s in self.skus]
        if len(set(targets)) != len(targets):
            raise ValueError("two SKUs map to one Shopify SKU")
        return self

    def sku_on(self, side: Side, sku: str) -> str:
        """The SKU as ``side`` spells it."""
        return self.shopify_skus.get(sku, sku) if side == "shopify" else sku

    def location_on(self, side: Side) -> str:
        return self.square_location_id if side == "square" else self.shopify_location_id
