"""stock_level's pure parts: settings, SKU parsing, summing counts, the memory cache."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from apps.square.actions import in_stock
from apps.square.models import InventoryCount
from functions.stock_level.cache import MemoryCache
from functions.stock_level.models import (
    MAX_SKUS,
    Settings,
    StockLevel,
    parse_sku,
    parse_skus,
)
from shared.errors import InvalidPayload

SHOP, STALL, KITCHEN = "L8M2Q9ZB3XW1P", "LQ7T4N1V6K2RD", "LW3C5H8J0P9SE"


def count(
    quantity: str, *, location: str = SHOP, state: str = "IN_STOCK", var: str = "V1", at: int = 0
) -> InventoryCount:
    return InventoryCount.model_validate(
        {
            "catalog_object_id": var,
            "catalog_object_type": "ITEM_VARIATION",
            "state": state,
            "location_id": location,
            "quantity": quantity,
            "calculated_at": datetime.fromtimestamp(1_800_000_000 + at, UTC).isoformat(),
        }
    )


def test_in_stock_adds_in_stock_at_the_locations_only() -> None:
    counts = [
        count("12", at=5),
        count("6.5", location=STALL, at=9),
        count("40", location=KITCHEN, at=20),  # not a configured location
        count("2", state="WASTE", at=30),
        count("100", var="V2", at=40),  # another variation
    ]
    available, updated_at = in_stock(counts, "V1", (SHOP, STALL))
    assert available == 18  # 18.5 rounded down
    assert updated_at == "2027-01-15T08:00:09.000Z"  # the newest count that was used


@pytest.mark.parametrize(
    ("quantities", "available"),
    [([], 0), (["0.99999"], 0), (["-3", "1"], 0), (["1.00001"], 1), (["2", "0.5", "0.5"], 3)],
)
def test_whole_units_are_rounded_down_and_never_negative(quantities: list[str], available: int) -> None:
    assert in_stock([count(q) for q in quantities], "V1", (SHOP,))[0] == available


def test_an_unknown_sku_has_no_variation() -> None:
    assert in_stock([count("5")], None, (SHOP,)) == (0, None)


def test_the_answer_carries_age_and_staleness() -> None:
    level = StockLevel("LOAF", "V1", 4, "2027-01-15T08:00:00.000Z", 100.0, (SHOP,))
    assert level.answer("loaf", now=160.9, stale=True) == {
        "sku": "loaf",
        "available": 4,
        "in_stock": True,
        "updated_at": "2027-01-15T08:00:00.000Z",
        "stale": True,
        "age_s": 60,
    }
    assert level.age(now=50.0) == 0  # a clock behind the writer's is not a negative age


def test_parse_skus_keeps_the_first_spelling_of_each_sku() -> None:
    assert parse_skus(" LOAF-RYE , cake.8in,loaf-rye,Loaf_2 ") == ["LOAF-RYE", "cake.8in", "Loaf_2"]
    assert len(parse_skus(",".join(f"S{i}" for i in range(MAX_SKUS)))) == MAX_SKUS


@pytest.mark.parametrize("sku", ["", "-A", ".A", "A B", "A/B", "A,B", "ÄPFEL", "A" * 65, "A%20B"])
def test_malformed_skus_are_refused(sku: str) -> None:
    with pytest.raises(InvalidPayload) as info:
        parse_sku(sku)
    assert info.value.errors[0]["field"] == "sku"


def test_settings_validate_locations_and_origins() -> None:
    ok = Settings(location_ids=(SHOP, SHOP, STALL), allowed_origins=("https://shop.example/",))
    assert ok.location_ids == (SHOP, STALL) and ok.allowed_origins == ("https://shop.example",)
    assert ok.cache_seconds == 30 and ok.require_key_without_origin is True
    bad: list[dict[str, Any]] = [
        {"location_ids": ()},
        {"location_ids": ("not a location",)},
        {"location_ids": (SHOP,), "allowed_origins": ("shop.example",)},
        {"location_ids": (SHOP,), "allowed_origins": ("https://shop.example/products",)},
        {"location_ids": (SHOP,), "cache_seconds": -1},
        {"location_ids": (SHOP,), "surprise": True},
    ]
    for raw in bad:
        with pytest.raises(ValidationError):
            Settings.model_validate(raw)


def test_memory_cache_is_bounded_and_keeps_the_newer_answer() -> None:
    cache = MemoryCache(max_entries=2)
    a, b, c = (StockLevel(k, "V", 1, None, 10.0, (SHOP,)) for k in "ABC")
    cache.put([a, b])
    assert cache.get("A") is a  # A is now the most recently used
    cache.put([c])
    assert cache.get("B") is None and cache.get("A") is a and cache.get("C") is c
    older = StockLevel("A", "V", 99, None, 5.0, (SHOP,))
    cache.put([older])
    assert cache.get("A") is a


def test_counts_parse_quantities_exactly() -> None:
    assert count("0.00001").quantity == Decimal("0.00001")
