"""The stand-in's data: Bramble Bakery's locations, catalog and stock, and its till's payments and refunds.

Everything is fixed (not relative to the clock, and not random), so a test or a report for a given
day always has the same answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from sandbox.base import iso_ms

from .wire import square_id

__all__ = [
    "CARD_FEE_BASIS_POINTS",
    "CURRENCY",
    "HIGH_STREET",
    "KITCHEN",
    "LOCATIONS",
    "MARKET",
    "MERCHANT_ID",
    "SEED_ITEMS",
    "SEED_PAYMENTS",
    "SEED_REFUNDS",
    "TIMEZONE",
    "SeedItem",
    "SeedLine",
    "SeedPayment",
    "SeedRefund",
    "SeedVariation",
    "card_fee",
]

# --- locations, catalog and stock ------------------------------------------------------------------

#: Location id -> name. The first is the default location of ``POST /_stock``.
LOCATIONS: Final[Mapping[str, str]] = {
    "L8M2Q9ZB3XW1P": "Bramble Bakery - High Street",
    "LQ7T4N1V6K2RD": "Bramble Bakery - Market Hall stall",
    "LW3C5H8J0P9SE": "Bramble Bakery - Central kitchen",
}
HIGH_STREET, MARKET, KITCHEN = LOCATIONS


@dataclass(frozen=True)
class SeedVariation:
    id: str
    name: str
    sku: str
    price: int
    #: (location id, state, quantity) as Square would report them.
    counts: tuple[tuple[str, str, str], ...] = ()
    is_deleted: bool = False


@dataclass(frozen=True)
class SeedItem:
    id: str
    name: str
    description: str
    variations: tuple[SeedVariation, ...]


SEED_ITEMS: Final = (
    SeedItem(
        "R4QKX2MZ7VHJ3TNB5WGEP6DA",
        "Sourdough loaf",
        "Naturally leavened white sourdough, 800 g.",
        (
            SeedVariation(
                "GZ4BN6QYT2XWCM7RLVKP3HDJ",
                "Regular",
                "LOAF-SOURDOUGH",
                650,
                ((HIGH_STREET, "IN_STOCK", "12"), (MARKET, "IN_STOCK", "6"), (HIGH_STREET, "WASTE", "1")),
            ),
        ),
    ),
    SeedItem(
        "M7TD2KQW9XBR4HNV6CZPJ3EF",
        "Rye loaf",
        "Dark Danish-style rye with seeds.",
        (
            SeedVariation(
                "P2VK8XHN4QMB7ZRT3WJD6CLA",
                "Regular",
                "LOAF-RYE",
                595,
                ((HIGH_STREET, "IN_STOCK", "3"), (MARKET, "IN_STOCK", "0")),
            ),
        ),
    ),
    SeedItem(
        "T9HB3WQZ6KXM2DRN7VJC4PFE",
        "Chocolate cake",
        "Dark chocolate sponge with ganache.",
        (
            SeedVariation(
                "K6RW2TJX9NBQ4MZH7VDC3PLE",
                "8 inch",
                "CAKE-CHOC-8IN",
                3200,
                ((HIGH_STREET, "IN_STOCK", "2"), (KITCHEN, "IN_STOCK", "10")),
            ),
            SeedVariation(
                "X3NC7QHM2WKT9BRZ4JVD6PGA",
                "6 inch",
                "CAKE-CHOC-6IN",
                2200,
                ((HIGH_STREET, "IN_STOCK", "0"),),
            ),
        ),
    ),
    SeedItem(
        "B5KZ9TMQ3XWH7NRD2VJC6PLE",
        "Butter croissant",
        "Laminated with cultured butter.",
        (
            SeedVariation(
                "W8DJ3KQX6NMB2TZR9VHC4PFA",
                "Single",
                "CROISSANT-BUTTER",
                280,
                ((HIGH_STREET, "IN_STOCK", "30"), (MARKET, "IN_STOCK", "14")),
            ),
        ),
    ),
    SeedItem(
        "F2WQ7ZKX4TMB9HRN3VJD6CPE",
        "Stoneground rye flour",
        "Sold loose, by the kilogram.",
        (
            SeedVariation(
                "J7MX2QKT9WZB4NRH6VDC3PLA",
                "Per kg",
                "FLOUR-RYE-KG",
                320,
                ((HIGH_STREET, "IN_STOCK", "7.25"),),
            ),
        ),
    ),
    SeedItem(
        "D6TN3XQK8ZWM2BRH7VJC4PFA",
        "Classic baguette",
        "Discontinued.",
        (SeedVariation("H4QZ9KXT2WMB7NRD3VJC6PLE", "Regular", "BAGUETTE-CLASSIC", 250, (), is_deleted=True),),
    ),
)

#: The currency of every seeded price, payment and refund.
CURRENCY: Final = "GBP"


# --- the till: payments (with their orders) and refunds ---------------------------------------------
#
# Bramble Bakery's till (Europe/London). The dates are fixed, not relative to the clock, so a report
# for a given day always has the same answer: a summer week (BST, UTC+1, where local midnight is
# 23:00 UTC the day before) and a November week (GMT) around Friday 2026-11-20, the busy market day
# that needs two pages of ListPayments. Times sit on purpose at and around local midnight.

#: The seller's time zone (Square keeps it per location; all three locations share it).
TIMEZONE: Final = "Europe/London"
MERCHANT_ID: Final = "ML4QZ7XKB2T9R"
#: Square's UK in-person card rate (1.75 %), rounded half-up to the penny, for ``processing_fee``.
CARD_FEE_BASIS_POINTS: Final = 175


@dataclass(frozen=True)
class SeedLine:
    """One order line: a catalog variation's SKU, a decimal quantity, the unit price in pence."""

    sku: str
    quantity: str
    price: int

    @property
    def total(self) -> int:
        return int((Decimal(self.quantity) * self.price).to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class SeedPayment:
    """A till payment as Square would hold it. ``amount`` is the order total; ``tip`` comes on top."""

    id: str
    created_at: str  # RFC 3339, UTC
    location_id: str
    lines: tuple[SeedLine, ...]
    tip: int = 0
    #: ``CARD``, ``CASH`` or ``EXTERNAL`` (a paper gift voucher).
    source_type: str = "CARD"
    card_brand: str | None = None
    status: str = "COMPLETED"
    currency: str = CURRENCY

    @property
    def amount(self) -> int:
        return sum(line.total for line in self.lines)

    @property
    def total(self) -> int:
        return self.amount + self.tip

    @property
    def fee(self) -> int:
        """Square's processing fee: card payments only, once completed."""
        if self.source_type != "CARD" or self.status != "COMPLETED":
            return 0
        return card_fee(self.total)

    @property
    def order_id(self) -> str:
        return square_id("order", self.id, 27)


@dataclass(frozen=True)
class SeedRefund:
    id: str
    payment_id: str
    created_at: str
    amount: int
    status: str = "COMPLETED"
    reason: str = "Returned goods"


def card_fee(total: int) -> int:
    return int((Decimal(total) * CARD_FEE_BASIS_POINTS / 10_000).to_integral_value(rounding=ROUND_HALF_UP))


def _at(value: str) -> str:
    """``"2026-11-20 08:15:30"`` (UTC) -> ``"2026-11-20T08:15:30.000Z"``."""
    when = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return iso_ms(when.timestamp())


_SOURDOUGH = SeedLine("LOAF-SOURDOUGH", "1", 650)
_RYE = SeedLine("LOAF-RYE", "1", 595)
_CAKE_8 = SeedLine("CAKE-CHOC-8IN", "1", 3200)
_CAKE_6 = SeedLine("CAKE-CHOC-6IN", "1", 2200)
_CROISSANT = SeedLine("CROISSANT-BUTTER", "1", 280)
_TWO_CROISSANTS = SeedLine("CROISSANT-BUTTER", "2", 280)
_FLOUR = SeedLine("FLOUR-RYE-KG", "0.75", 320)
_BASKETS = (
    (_SOURDOUGH,),
    (_TWO_CROISSANTS,),
    (_RYE, _CROISSANT),
    (_SOURDOUGH, _TWO_CROISSANTS),
    (_CAKE_6,),
    (_FLOUR, _RYE),
    (_CROISSANT,),
    (_CAKE_8, _SOURDOUGH),
)
_BRANDS = ("VISA", "VISA", "MASTERCARD", "VISA", "AMERICAN_EXPRESS", "MASTERCARD", "MAESTRO")


def _busy_day() -> list[SeedPayment]:
    """Friday 2026-11-20: 150 sales over the day, over 100 of them at High Street (two pages)."""
    out: list[SeedPayment] = []
    for n in range(150):
        h = hashlib.sha256(f"2026-11-20:{n}".encode()).digest()
        minute = 7 * 60 + n * 4 + h[0] % 4  # 07:00 .. 17:00, a sale every ~4 minutes
        location = MARKET if h[1] % 4 == 0 else HIGH_STREET
        basket = _BASKETS[h[2] % len(_BASKETS)]
        cash = h[3] % 4 == 0
        status = "COMPLETED"
        if n in (17, 88):
            status = "FAILED"  # declined card
        elif n == 54:
            status = "CANCELED"  # voided before capture
        elif n == 101:
            status = "APPROVED"  # authorised, never captured (delayed capture left open)
        out.append(
            SeedPayment(
                id=square_id("payment", f"2026-11-20:{n}", 29),
                created_at=_at(f"2026-11-20 {minute // 60:02d}:{minute % 60:02d}:{h[4] % 60:02d}"),
                location_id=location,
                lines=basket,
                tip=0 if cash or h[5] % 5 else 50 * (1 + h[6] % 4),
                source_type="CASH" if cash and status == "COMPLETED" else "CARD",
                card_brand=None if cash and status == "COMPLETED" else _BRANDS[h[7] % len(_BRANDS)],
                status=status,
            )
        )
    return out


def _p(
    key: str, at: str, location: str, lines: tuple[SeedLine, ...], source: str = "CARD", **kw: Any
) -> SeedPayment:
    brand = kw.pop("card_brand", "VISA" if source == "CARD" else None)
    return SeedPayment(
        square_id("payment", key, 29),
        _at(at),
        location,
        lines,
        source_type=source,
        card_brand=brand,
        **kw,
    )


def _seed_payments() -> tuple[SeedPayment, ...]:
    summer = [
        # Tuesday 14 July 2026 (BST): local midnight is 23:00 UTC the day before.
        _p("jul13-late", "2026-07-13 22:59:59", HIGH_STREET, (_SOURDOUGH,)),  # 23:59:59 BST on the 13th
        _p("jul14-first", "2026-07-13 23:00:00", HIGH_STREET, (_RYE,), "CASH"),  # 00:00 BST on the 14th
        _p("jul14-am", "2026-07-14 07:30:12", HIGH_STREET, (_TWO_CROISSANTS,), tip=40),
        _p("jul14-cake", "2026-07-14 10:05:00", MARKET, (_CAKE_8,), card_brand="AMERICAN_EXPRESS"),
        _p("jul14-pm", "2026-07-14 15:45:09", HIGH_STREET, (_FLOUR, _RYE), "CASH"),
        _p("jul14-late", "2026-07-14 22:50:00", HIGH_STREET, (_CROISSANT,), card_brand="MASTERCARD"),
        # 23:10 UTC on the 14th is 00:10 BST on the 15th.
        _p("jul15-night", "2026-07-14 23:10:00", HIGH_STREET, (_SOURDOUGH,), card_brand="MASTERCARD"),
        _p("jul15-am", "2026-07-15 08:00:00", MARKET, (_CAKE_6,)),
        _p("jul15-pm", "2026-07-15 13:20:00", HIGH_STREET, (_SOURDOUGH, _CROISSANT), "CASH"),
    ]
    november = [
        # Thursday 19 November 2026 (GMT = UTC).
        _p("nov19-am", "2026-11-19 08:10:00", HIGH_STREET, (_SOURDOUGH, _TWO_CROISSANTS), tip=100),
        _p("nov19-cake", "2026-11-19 11:30:00", HIGH_STREET, (_CAKE_8,), card_brand="MASTERCARD"),
        _p("nov19-cash", "2026-11-19 12:00:00", MARKET, (_RYE,), "CASH"),
        _p("nov19-voucher", "2026-11-19 15:00:00", HIGH_STREET, (_CAKE_6,), "EXTERNAL"),
        _p("nov19-late", "2026-11-19 23:58:30", HIGH_STREET, (_CROISSANT,)),
        _p("nov19-last-ms", "2026-11-19 23:59:59.999", HIGH_STREET, (_RYE,), card_brand="MAESTRO"),
        # Friday 20 November 2026: exactly midnight belongs to the 20th (begin_time is inclusive).
        _p("nov20-midnight", "2026-11-20 00:00:00", HIGH_STREET, (_SOURDOUGH,), card_brand="MASTERCARD"),
        _p("nov20-voucher", "2026-11-20 12:34:56", HIGH_STREET, (_CAKE_8,), "EXTERNAL"),
        _p("nov20-last-ms", "2026-11-20 23:59:59.999", MARKET, (_CROISSANT,), tip=20),
        # Saturday 21 November 2026: exactly midnight is not the 20th's (end_time is exclusive).
        _p("nov21-midnight", "2026-11-21 00:00:00", HIGH_STREET, (_TWO_CROISSANTS,), card_brand="MASTERCARD"),
        _p("nov21-am", "2026-11-21 09:00:00", MARKET, (_CAKE_6, _SOURDOUGH), tip=150),
        _p("nov21-cash", "2026-11-21 10:00:00", HIGH_STREET, (_RYE,), "CASH"),
    ]
    return tuple(sorted([*summer, *november, *_busy_day()], key=lambda p: (p.created_at, p.id)))


SEED_PAYMENTS: Final = _seed_payments()
_BY_KEY: Final = {key: square_id("payment", key, 29) for key in ("nov19-cake", "nov20-voucher", "jul14-cake")}


def _refund(
    key: str, payment_id: str, at: str, amount: int, status: str = "COMPLETED", reason: str = ""
) -> SeedRefund:
    return SeedRefund(
        f"{payment_id}_{square_id('refund', key, 20)}",
        payment_id,
        _at(at),
        amount,
        status,
        reason or "Returned goods",
    )


def _seed_refunds() -> tuple[SeedRefund, ...]:
    busy = [p for p in SEED_PAYMENTS if p.created_at.startswith("2026-11-20") and p.status == "COMPLETED"]
    card = next(p for p in busy if p.source_type == "CARD")
    cash = next(p for p in busy if p.source_type == "CASH")
    later = next(p for p in reversed(busy) if p.source_type == "CARD" and p.id != card.id and p.total >= 600)
    return (
        # Yesterday's cake, partly refunded today: counts on the 20th (a refund's own created_at).
        _refund(
            "partial", _BY_KEY["nov19-cake"], "2026-11-20 09:15:00", 1200, reason="Cake damaged in transit"
        ),
        _refund("full-card", card.id, "2026-11-20 10:00:00", card.total, reason="Wrong order"),
        _refund("cash", cash.id, "2026-11-20 16:00:00", cash.amount, reason="Customer changed their mind"),
        _refund("pending", later.id, "2026-11-20 17:50:00", 280, "PENDING"),
        _refund("rejected", _BY_KEY["nov20-voucher"], "2026-11-20 18:00:00", 500, "REJECTED"),
        _refund("next-day", later.id, "2026-11-21 08:30:00", 300),
        _refund("summer", _BY_KEY["jul14-cake"], "2026-07-14 16:00:00", 800, reason="Partial: one slice"),
    )


SEED_REFUNDS: Final = _seed_refunds()
