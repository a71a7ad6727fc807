"""The Shopify stand-in's shop: a small bakery's products, variants, SKUs and stock at two locations.

The SKUs are those of the ``events/pos_to_accounting/shopify_*.json`` samples (and of Square's
bakery, so the same product pages can read either till): a sourdough loaf, a lemon drizzle cake, a
four-pack of croissants. Ids are numbers as Shopify's are (global ids ``gid://shopify/<Type>/<n>``
are made from them), in Shopify's ranges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["LOCATIONS", "SEED_VARIANTS", "SHOP_CURRENCY", "SHOP_DOMAIN", "SeedVariant"]

SHOP_DOMAIN: Final = "bramble-bakery.myshopify.com"
SHOP_CURRENCY: Final = "GBP"
#: Location number -> name.
LOCATIONS: Final = {71834222681: "Mill Road shop", 71834255449: "Online warehouse"}


@dataclass(frozen=True)
class SeedVariant:
    product_id: int
    product_title: str
    variant_id: int
    title: str
    sku: str
    price: str
    inventory_item_id: int
    tracked: bool
    #: Location number -> units available there.
    available: dict[int, int]


SEED_VARIANTS: Final = (
    SeedVariant(
        8812345670001,
        "Sourdough loaf",
        46123456780001,
        "Large",
        "LOAF-SOURDOUGH",
        "4.50",
        48234567890001,
        True,
        {71834222681: 14, 71834255449: 6},
    ),
    SeedVariant(
        8812345670002,
        "Lemon drizzle cake",
        46123456780002,
        "Whole",
        "CAKE-LEMON-DRIZZLE",
        "18.00",
        48234567890002,
        True,
        {71834222681: 3, 71834255449: 0},
    ),
    SeedVariant(
        8812345670003,
        "Butter croissants",
        46123456780003,
        "Pack of 4",
        "PASTRY-CROISSANT-4",
        "6.50",
        48234567890003,
        True,
        {71834222681: 9},
    ),
    SeedVariant(
        8812345670004,
        "Gift wrapping",
        46123456780004,
        "Default Title",
        "GIFT-WRAP",
        "1.50",
        48234567890004,
        False,
        {},
    ),
)
