"""Models of stock_level: its settings, what a SKU may look like, and one SKU's stock as answered.

The answer is computed once from the stock app's counts (``stock.get`` of Square or Shopify, as
``stock_app`` says) and then only read: from the in-process cache, from the DynamoDB copy, or as a
stale value while the app is unavailable. Keeping it
one small frozen value makes "the same answer whichever way it was found" easy to hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.errors import InvalidPayload

__all__ = [
    "MAX_SKUS",
    "SKU_PATTERN",
    "Settings",
    "StockLevel",
    "StockQuery",
    "parse_sku",
    "parse_skus",
    "sku_key",
]

#: At most this many SKUs in one ``GET /stock?skus=...`` (one catalog search, one DynamoDB batch read).
MAX_SKUS: Final = 100
#: 1-64 characters: letters, digits, ``-``, ``_`` and ``.``. Every character is URL-safe as is, so a
#: SKU reads the same in a path, in a query list (no commas) and in a DynamoDB key; Square accepts
#: longer and odder SKUs, but a product page asking for one of those is far more likely a probe.
SKU_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_LOCATION_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SHOPIFY_LOCATION: Final = re.compile(r"^(?:gid://shopify/Location/)?(\d{1,20})$")
_ORIGIN: Final = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


class Settings(BaseModel):
    """stock_level's configuration, per stage (CDK context ``settings.stock_level``)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    #: Which app holds the shop's catalogue and counts: ``square`` (the till's) or ``shopify`` (the web
    #: shop's). The answer comes from ``stock.get`` as that app performs it.
    stock_app: Literal["square", "shopify"] = "square"
    #: The locations whose stock is added up (the shops that sell online orders), in the app's own
    #: ids: Square location ids, or Shopify location numbers (``71834255449`` or its
    #: ``gid://shopify/Location/...``). Required: counting "every location" would include a central
    #: kitchen or a warehouse.
    location_ids: tuple[str, ...] = Field(min_length=1)
    #: Sites whose pages may ask from the browser (scheme://host[:port]); they need no API key.
    allowed_origins: tuple[str, ...] = ()
    #: How long an answer is reused before Square is asked again (0: ask every time).
    cache_seconds: int = Field(default=30, ge=0, le=3600)
    #: How old a last known value may be and still be served (marked stale) while Square is down.
    stale_max_seconds: int = Field(default=86_400, ge=0, le=30 * 86_400)
    #: Requests with neither an allowed Origin nor an API key: refused (401) when true.
    require_key_without_origin: bool = True

    @model_validator(mode="before")
    @classmethod
    def _location_ids(cls, data: Any) -> Any:
        """Each location id in its app's form (Shopify's as bare numbers), without repeats."""
        if not isinstance(data, dict) or not isinstance(data.get("location_ids"), list | tuple):
            return data
        app = data.get("stock_app", "square")
        value = [str(v) for v in data["location_ids"]]
        if app == "shopify":
            bad = [v for v in value if not _SHOPIFY_LOCATION.match(v)]
            if bad:
                raise ValueError(
                    f"{bad} are not Shopify location ids (a number or gid://shopify/Location/<n>)"
                )
            value = [_SHOPIFY_LOCATION.match(v).group(1) for v in value]  # type: ignore[union-attr]
        else:
            bad = [v for v in value if not _LOCATION_ID.match(v)]
            if bad:
                raise ValueError(f"{bad} are not Square location ids")
        return {**data, "location_ids": tuple(dict.fromkeys(value))}

    @property
    def cache_locations(self) -> tuple[str, ...]:
        """What a cached answer was summed over: the locations, and the app where it is not Square's
        (a value read from one app is never served after switching to the other)."""
        if self.stock_app == "square":
            return self.location_ids
        return tuple(f"{self.stock_app}:{loc}" for loc in self.location_ids)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(v.strip().rstrip("/") for v in value)
        bad = [v for v in cleaned if not _ORIGIN.match(v)]
        if bad:
            raise ValueError(f"{bad} are not browser origins (scheme://host[:port])")
        return cleaned


class StockQuery(BaseModel):
    """What a stock request asks for, once parsed: the spec's ``input_model`` (routes queue nothing)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    skus: tuple[str, ...] = Field(min_length=1, max_length=MAX_SKUS)


_SKU_RULE: Final = (
    "a SKU is 1-64 characters: letters, digits, '-', '_' and '.', starting with a letter or digit"
)


def parse_sku(value: str, field: str = "sku") -> str:
    """``value`` if it is a well-formed SKU; else :class:`InvalidPayload` naming ``field``."""
    if not SKU_PATTERN.match(value):
        raise InvalidPayload([{"field": field, "message": _SKU_RULE}])
    return value


def parse_skus(raw: str | None, field: str = "skus") -> list[str]:
    """A comma-separated SKU list: each well-formed, duplicates (any case) once, at most :data:`MAX_SKUS`."""
    if raw is None or not raw.strip():
        raise InvalidPayload([{"field": field, "message": "give one or more SKUs: ?skus=A,B,C"}])
    parts = [p.strip() for p in raw.split(",")]
    errors = [
        {"field": f"{field}[{i}]", "message": _SKU_RULE}
        for i, p in enumerate(parts)
        if not SKU_PATTERN.match(p)
    ]
    if errors:
        raise InvalidPayload(errors)
    unique: dict[str, str] = {}
    for part in parts:
        unique.setdefault(sku_key(part), part)  # the first spelling of a SKU is the one answered
    if len(unique) > MAX_SKUS:
        raise InvalidPayload([{"field": field, "message": f"at most {MAX_SKUS} SKUs, got {len(unique)}"}])
    return list(unique.values())


def sku_key(sku: str) -> str:
    """The cache key of a SKU. Square matches SKUs case-insensitively, so ``loaf-rye`` is ``LOAF-RYE``."""
    return sku.upper()


@dataclass(frozen=True)
class StockLevel:
    """One SKU's stock as last learned from Square; ``variation_id`` is ``None`` for an unknown SKU."""

    key: str
    variation_id: str | None
    available: int
    updated_at: str | None
    #: Unix time Square was asked; the answer's age is measured from here.
    fetched_at: float
    #: The configured locations it was summed over: a value for other locations is not reused.
    locations: tuple[str, ...]

    @property
    def found(self) -> bool:
        return self.variation_id is not None

    def age(self, now: float) -> int:
        return max(0, int(now - self.fetched_at))

    def answer(self, sku: str, now: float, *, stale: bool) -> dict[str, Any]:
        """The JSON answer for one SKU, as the caller spelled it."""
        return {
            "sku": sku,
            "available": self.available,
            "in_stock": self.available > 0,
            "updated_at": self.updated_at,
            "stale": stale,
            "age_s": self.age(now),
        }
