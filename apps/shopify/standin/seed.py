"""The Shopify stand-in's shop: a small bakery's products, variants, SKUs and stock at two locations.

The SKUs are those of the ``events/pos_to_accounting/shopify_*.json`` samples (and of Square's
bakery, so the same product pages can read either till): a sourdough loaf, a lemon drizzle cake, a
four-pack of croissants. Ids are numbers as Shopify's are (global ids ``gid://shopify/<Type>/<n>``
are made from them), in Shopify's ranges.

:data:`SEED_ORDERS` is a day of online orders - Friday 20 November 2026, the day the
``events/daily_sales_report`` samples report on - in the REST shape ``orders/paid`` delivers (the
stand-in keeps orders in that shape and renders them as the GraphQL ``Order``), with the edges a
daily report must get right: more than one page (26 paid orders), a tip, a test order, an order not
paid yet, an order of the day before refunded on the day, an order of the day refunded the next
morning, and orders a second either side of the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

__all__ = ["LOCATIONS", "SEED_ORDERS", "SEED_VARIANTS", "SHOP_CURRENCY", "SHOP_DOMAIN", "SeedVariant"]

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


def _at(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _order(
    number: int,
    processed_at: str,
    total: str,
    *,
    tip: str = "0.00",
    status: str = "paid",
    test: bool = False,
    updated_at: str | None = None,
    refunds: tuple[tuple[int, str, str], ...] = (),
) -> dict[str, Any]:
    """One order in the REST shape (``refunds``: ``(id, created_at, amount)``, one successful transaction)."""
    when = _at(processed_at)
    return {
        "id": 6100000000000 + number,
        "name": f"#{1000 + number}",
        "currency": SHOP_CURRENCY,
        "created_at": when,
        "processed_at": when,
        "updated_at": _at(updated_at) if updated_at else when,
        "financial_status": status,
        "total_price": total,
        "current_total_price": str(Decimal(total) - sum((Decimal(r[2]) for r in refunds), Decimal("0"))),
        "total_tax": str((Decimal(total) / 6).quantize(Decimal("0.01"))),
        "total_tip_received": tip,
        "test": test,
        "taxes_included": True,
        "line_items": [],
        "refunds": [
            {
                "id": 9200000000000 + refund_id,
                "order_id": 6100000000000 + number,
                "created_at": _at(created_at),
                "transactions": [{"kind": "refund", "status": "success", "amount": amount}],
            }
            for refund_id, created_at, amount in refunds
        ],
    }


_PRICES: Final = ("4.50", "18.00", "6.50", "11.00", "24.50")
_DAY: Final = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

SEED_ORDERS: Final[tuple[dict[str, Any], ...]] = (
    # Thursday: after midnight London time is Friday, but this one is a second before it.
    _order(1, "2026-11-19T23:59:59+00:00", "18.00"),
    # Wednesday's cake, refunded on Friday at 10:15: a refund of the day.
    _order(
        2,
        "2026-11-18T14:00:00+00:00",
        "18.00",
        status="refunded",
        updated_at="2026-11-20T10:15:00+00:00",
        refunds=((1, "2026-11-20T10:15:00+00:00", "18.00"),),
    ),
    # Friday's 26 paid orders, every 25 minutes from 08:00 (two pages of 25).
    *(
        _order(10 + i, (_DAY + timedelta(minutes=25 * i)).isoformat(), _PRICES[i % len(_PRICES)])
        for i in range(26)
    ),
    # Friday, with a £2.00 tip (inside the total, as Shopify's total_price holds tips).
    _order(40, "2026-11-20T12:34:00+00:00", "26.50", tip="2.00"),
    # Friday, refunded in part on Saturday morning: a sale of Friday, a refund of Saturday.
    _order(
        41,
        "2026-11-20T16:20:00+00:00",
        "24.50",
        status="partially_refunded",
        updated_at="2026-11-21T09:05:00+00:00",
        refunds=((2, "2026-11-21T09:05:00+00:00", "6.50"),),
    ),
    # Friday, but a test order (Shopify's bogus gateway) and an order whose payment is still pending.
    _order(42, "2026-11-20T17:00:00+00:00", "99.00", test=True),
    _order(43, "2026-11-20T18:00:00+00:00", "11.00", status="pending"),
    # Saturday at midnight: the next day.
    _order(44, "2026-11-21T00:00:00+00:00", "6.50"),
)
