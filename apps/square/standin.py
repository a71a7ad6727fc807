"""Square's Catalog and Inventory APIs, offline, in Square's own request and response shapes.

Served (paths as on ``https://connect.squareup.com``, API version :data:`apps.square.SQUARE_VERSION`):

* ``POST /v2/catalog/search`` (SearchCatalogObjects) - ``object_types``, ``query`` with
  ``exact_query``, ``set_query`` (at most 250 values) or ``prefix_query`` on ``sku`` or ``name``,
  ``include_deleted_objects``, ``include_related_objects`` (a variation's parent item),
  ``begin_time``, ``limit`` and ``cursor``; answers ``objects``, ``related_objects``, ``cursor``,
  ``latest_time``. Value matching is case-insensitive, as Square documents.
* ``POST /v2/inventory/counts/batch-retrieve`` (BatchRetrieveInventoryCounts) -
  ``catalog_object_ids``, ``location_ids``, ``states``, ``updated_after``, ``limit`` (1-1000) and
  ``cursor``; answers ``counts`` newest ``calculated_at`` first, quantities as decimal strings.

Checks as Square makes them: a bearer token (401 ``AUTHENTICATION_ERROR``/``UNAUTHORIZED`` with
Square's own ``detail`` texts), the ``Square-Version`` format (400
``INVALID_SQUARE_VERSION_FORMAT``), cursors (400 ``INVALID_CURSOR``), enum values, limits. Every
answer carries the ``Square-Version`` it was served with, as Square's do. Error bodies are
``{"errors": [{"category", "code", "detail", "field"}]}``; where Square documents no exact ``detail``
text, the text is ours, in that shape.

The seeded data is a small bakery (:data:`LOCATIONS`, :data:`SEED_ITEMS`). Besides the base class's
control endpoints, ``POST /_stock {"sku": "LOAF-RYE", "quantity": "12", "location_id": "...",
"state": "IN_STOCK"}`` sets a count (as a physical count would), for tests and demos.

Built to grow by API: each Square API is a section with its own data (``reset_data``), routes
(``routes``) and controls (``controls``), so Payments, Refunds and outgoing webhooks slot in beside
Catalog and Inventory.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, ClassVar, Final

from apps.square import MAX_COUNTS_PAGE, MAX_PAYMENTS_PAGE, MAX_SET_QUERY_VALUES, SQUARE_VERSION
from sandbox.base import Handler, SandboxApp, SandboxRequest, SandboxResponse, iso_ms
from sandbox.sender import WebhookSender

__all__ = [
    "DEFAULT_TOKEN",
    "LOCATIONS",
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
    "SquareSandbox",
    "square_signature",
]

DEFAULT_TOKEN: Final = "sandbox-square-token"

#: Location id -> name. The first is the default location of ``POST /_stock``.
LOCATIONS: Final[Mapping[str, str]] = {
    "L8M2Q9ZB3XW1P": "Bramble Bakery - High Street",
    "LQ7T4N1V6K2RD": "Bramble Bakery - Market Hall stall",
    "LW3C5H8J0P9SE": "Bramble Bakery - Central kitchen",
}
_HIGH_STREET, _MARKET, _KITCHEN = LOCATIONS


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
                ((_HIGH_STREET, "IN_STOCK", "12"), (_MARKET, "IN_STOCK", "6"), (_HIGH_STREET, "WASTE", "1")),
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
                ((_HIGH_STREET, "IN_STOCK", "3"), (_MARKET, "IN_STOCK", "0")),
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
                ((_HIGH_STREET, "IN_STOCK", "2"), (_KITCHEN, "IN_STOCK", "10")),
            ),
            SeedVariation(
                "X3NC7QHM2WKT9BRZ4JVD6PGA",
                "6 inch",
                "CAKE-CHOC-6IN",
                2200,
                ((_HIGH_STREET, "IN_STOCK", "0"),),
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
                ((_HIGH_STREET, "IN_STOCK", "30"), (_MARKET, "IN_STOCK", "14")),
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
                ((_HIGH_STREET, "IN_STOCK", "7.25"),),
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

_CURRENCY: Final = "GBP"
#: States BatchRetrieveInventoryCounts accepts in ``states`` (``InventoryState``).
_STATES: Final = frozenset(
    {
        "CUSTOM",
        "IN_STOCK",
        "SOLD",
        "RETURNED_BY_CUSTOMER",
        "RESERVED_FOR_SALE",
        "SOLD_ONLINE",
        "ORDERED_FROM_VENDOR",
        "RECEIVED_FROM_VENDOR",
        "IN_TRANSIT_TO",
        "NONE",
        "WASTE",
        "UNLINKED_RETURN",
        "COMPOSED",
        "DECOMPOSED",
        "SUPPORTED_BY_NEWER_VERSION",
        "IN_TRANSIT",
    }
)
#: "Ignored are untracked states of NONE, SOLD, and UNLINKED_RETURN."
_UNTRACKED: Final = frozenset({"NONE", "SOLD", "UNLINKED_RETURN"})
#: Searchable attributes the sandbox knows, per object type.
_SEARCHABLE: Final[Mapping[str, frozenset[str]]] = {
    "ITEM": frozenset({"name", "description"}),
    "ITEM_VARIATION": frozenset({"name", "sku"}),
}
#: Page size when a search sends no usable ``limit`` (Square documents no default; ours).
_DEFAULT_SEARCH_PAGE: Final = 100
_VERSION: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_QUANTITY: Final = re.compile(r"^-?\d{1,12}(\.\d{1,5})?$")

# Square's own ``detail`` texts for authentication failures.
_NO_AUTH: Final = (
    "Your request did not include an `Authorization` http header with an access token. The header "
    'value is expected to be of the format "Bearer TOKEN" (without quotation marks), where TOKEN is to '
    'be replaced with your access token (e.g. "Bearer ABC123def456GHI789jkl0").'
)
_MALFORMED_AUTH: Final = (
    "The `Authorization` http header of your request was malformed. The header value is expected to "
    'be of the format "Bearer TOKEN" (without quotation marks), where TOKEN is to be replaced with '
    'your access token (e.g. "Bearer ABC123def456GHI789jkl0").'
)
_BAD_TOKEN: Final = "This request could not be authorized."

#: Status -> (category, code) for answers without a more specific error (faults, unknown routes).
_STATUS_ERRORS: Final[Mapping[int, tuple[str, str]]] = {
    400: ("INVALID_REQUEST_ERROR", "BAD_REQUEST"),
    401: ("AUTHENTICATION_ERROR", "UNAUTHORIZED"),
    403: ("AUTHENTICATION_ERROR", "FORBIDDEN"),
    404: ("INVALID_REQUEST_ERROR", "NOT_FOUND"),
    405: ("INVALID_REQUEST_ERROR", "METHOD_NOT_ALLOWED"),
    409: ("INVALID_REQUEST_ERROR", "CONFLICT"),
    429: ("RATE_LIMIT_ERROR", "RATE_LIMITED"),
    500: ("API_ERROR", "INTERNAL_SERVER_ERROR"),
    501: ("API_ERROR", "NOT_IMPLEMENTED"),
    502: ("API_ERROR", "BAD_GATEWAY"),
    503: ("API_ERROR", "SERVICE_UNAVAILABLE"),
    504: ("API_ERROR", "GATEWAY_TIMEOUT"),
}


def _error(status: int, category: str, code: str, detail: str, field: str | None = None) -> SandboxResponse:
    entry: dict[str, str] = {"category": category, "code": code, "detail": detail}
    if field is not None:
        entry["field"] = field
    return SandboxResponse.json({"errors": [entry]}, status)


class _Invalid(Exception):
    """Raised inside a handler to answer with a Square error body."""

    def __init__(self, response: SandboxResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _invalid(code: str, detail: str, field: str | None = None) -> _Invalid:
    return _Invalid(_error(400, "INVALID_REQUEST_ERROR", code, detail, field))


#: ``card_details.status`` for each payment status.
_CARD_STATUS: Final[Mapping[str, str]] = {
    "COMPLETED": "CAPTURED",
    "APPROVED": "AUTHORIZED",
    "PENDING": "AUTHORIZED",
    "CANCELED": "VOIDED",
    "FAILED": "FAILED",
}
#: Last four digits of Square's sandbox test cards, per brand.
_LAST_4: Final[Mapping[str, str]] = {
    "VISA": "1111",
    "MASTERCARD": "5100",
    "MAESTRO": "0004",
    "AMERICAN_EXPRESS": "0009",
    "DISCOVER": "0004",
    "JCB": "5841",
}
_REFUND_STATUSES: Final = frozenset({"PENDING", "COMPLETED", "REJECTED", "FAILED"})
#: Square's sandbox payment tokens ("Payment tokens for testing the Payments API",
#: https://developer.squareup.com/docs/devtools/sandbox/payments) that succeed, and their brand.
_NONCE_BRANDS: Final[Mapping[str, str]] = {"cnon:card-nonce-ok": "VISA", "ccof:customer-card-id-ok": "VISA"}
#: ... and those that fail: code and Square's "Authorization error" detail.
_DECLINING_NONCES: Final[Mapping[str, tuple[str, str]]] = {
    "cnon:card-nonce-declined": ("GENERIC_DECLINE", "Authorization error: 'GENERIC_DECLINE'"),
    "cnon:card-nonce-rejected-cvv": ("CVV_FAILURE", "Authorization error: 'CVV_FAILURE'"),
    "cnon:card-nonce-rejected-postalcode": (
        "ADDRESS_VERIFICATION_FAILURE",
        "Authorization error: 'ADDRESS_VERIFICATION_FAILURE'",
    ),
}
#: CreatePayment / RefundPayment ``idempotency_key``: "The maximum length is 45 characters."
_MAX_IDEMPOTENCY_KEY: Final = 45


def square_signature(url: str, body: bytes, secret: str, now: float) -> dict[str, str]:
    """Square's webhook signature, written from Square's documentation (not from shared/webhooks).

    "Square generates the signature by concatenating the notification URL and the raw request body,
    then HMAC-SHA256 hashing it with the subscription's signature key, and base64-encoding the
    result" - in the ``x-square-hmacsha256-signature`` header. Square signs no timestamp (``now`` is
    unused). https://developer.squareup.com/docs/webhooks/step3validate
    """
    digest = hmac.new(secret.encode("utf-8"), url.encode("utf-8") + body, hashlib.sha256).digest()
    return {"x-square-hmacsha256-signature": base64.b64encode(digest).decode("ascii")}


def _money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def _not_found(detail: str, field: str) -> _Invalid:
    return _Invalid(_error(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", detail, field))


def _quantity_text(value: Decimal) -> str:
    """``Decimal("12.50")`` -> ``"12.5"``; ``Decimal("1E+1")`` -> ``"10"``: Square's decimal strings."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _parse_time(value: Any, name: str) -> float:
    if not isinstance(value, str):
        raise _invalid("EXPECTED_STRING", f"Expected a string value for `{name}`.", name)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid("INVALID_TIME", f"`{name}` must be an RFC 3339 timestamp.", name) from None
    if when.tzinfo is None:
        raise _invalid("INVALID_TIME", f"`{name}` must carry a UTC offset.", name)
    return when.timestamp()


# --- payments, refunds and orders: seed data ---------------------------------------------------------
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
    currency: str = _CURRENCY

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
        return _fee(self.total)

    @property
    def order_id(self) -> str:
        return _sq_id("order", self.id, 27)


@dataclass(frozen=True)
class SeedRefund:
    id: str
    payment_id: str
    created_at: str
    amount: int
    status: str = "COMPLETED"
    reason: str = "Returned goods"


def _sq_id(kind: str, key: str, length: int) -> str:
    """A stable Square-looking id (base-62-ish) for seed objects."""
    digest = hashlib.sha256(f"{kind}:{key}".encode()).digest()
    return base64.b32encode(digest).decode().rstrip("=")[:length]


def _fee(total: int) -> int:
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
        location = _MARKET if h[1] % 4 == 0 else _HIGH_STREET
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
                id=_sq_id("payment", f"2026-11-20:{n}", 29),
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
        _sq_id("payment", key, 29),
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
        _p("jul13-late", "2026-07-13 22:59:59", _HIGH_STREET, (_SOURDOUGH,)),  # 23:59:59 BST on the 13th
        _p("jul14-first", "2026-07-13 23:00:00", _HIGH_STREET, (_RYE,), "CASH"),  # 00:00 BST on the 14th
        _p("jul14-am", "2026-07-14 07:30:12", _HIGH_STREET, (_TWO_CROISSANTS,), tip=40),
        _p("jul14-cake", "2026-07-14 10:05:00", _MARKET, (_CAKE_8,), card_brand="AMERICAN_EXPRESS"),
        _p("jul14-pm", "2026-07-14 15:45:09", _HIGH_STREET, (_FLOUR, _RYE), "CASH"),
        _p("jul14-late", "2026-07-14 22:50:00", _HIGH_STREET, (_CROISSANT,), card_brand="MASTERCARD"),
        # 23:10 UTC on the 14th is 00:10 BST on the 15th.
        _p("jul15-night", "2026-07-14 23:10:00", _HIGH_STREET, (_SOURDOUGH,), card_brand="MASTERCARD"),
        _p("jul15-am", "2026-07-15 08:00:00", _MARKET, (_CAKE_6,)),
        _p("jul15-pm", "2026-07-15 13:20:00", _HIGH_STREET, (_SOURDOUGH, _CROISSANT), "CASH"),
    ]
    november = [
        # Thursday 19 November 2026 (GMT = UTC).
        _p("nov19-am", "2026-11-19 08:10:00", _HIGH_STREET, (_SOURDOUGH, _TWO_CROISSANTS), tip=100),
        _p("nov19-cake", "2026-11-19 11:30:00", _HIGH_STREET, (_CAKE_8,), card_brand="MASTERCARD"),
        _p("nov19-cash", "2026-11-19 12:00:00", _MARKET, (_RYE,), "CASH"),
        _p("nov19-voucher", "2026-11-19 15:00:00", _HIGH_STREET, (_CAKE_6,), "EXTERNAL"),
        _p("nov19-late", "2026-11-19 23:58:30", _HIGH_STREET, (_CROISSANT,)),
        _p("nov19-last-ms", "2026-11-19 23:59:59.999", _HIGH_STREET, (_RYE,), card_brand="MAESTRO"),
        # Friday 20 November 2026: exactly midnight belongs to the 20th (begin_time is inclusive).
        _p("nov20-midnight", "2026-11-20 00:00:00", _HIGH_STREET, (_SOURDOUGH,), card_brand="MASTERCARD"),
        _p("nov20-voucher", "2026-11-20 12:34:56", _HIGH_STREET, (_CAKE_8,), "EXTERNAL"),
        _p("nov20-last-ms", "2026-11-20 23:59:59.999", _MARKET, (_CROISSANT,), tip=20),
        # Saturday 21 November 2026: exactly midnight is not the 20th's (end_time is exclusive).
        _p(
            "nov21-midnight", "2026-11-21 00:00:00", _HIGH_STREET, (_TWO_CROISSANTS,), card_brand="MASTERCARD"
        ),
        _p("nov21-am", "2026-11-21 09:00:00", _MARKET, (_CAKE_6, _SOURDOUGH), tip=150),
        _p("nov21-cash", "2026-11-21 10:00:00", _HIGH_STREET, (_RYE,), "CASH"),
    ]
    return tuple(sorted([*summer, *november, *_busy_day()], key=lambda p: (p.created_at, p.id)))


SEED_PAYMENTS: Final = _seed_payments()
_BY_KEY: Final = {key: _sq_id("payment", key, 29) for key in ("nov19-cake", "nov20-voucher", "jul14-cake")}


def _refund(
    key: str, payment_id: str, at: str, amount: int, status: str = "COMPLETED", reason: str = ""
) -> SeedRefund:
    return SeedRefund(
        f"{payment_id}_{_sq_id('refund', key, 20)}",
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


@dataclass
class _Object:
    """A catalog object as the sandbox stores it (``ITEM`` or ``ITEM_VARIATION``)."""

    type: str
    id: str
    data: dict[str, Any]
    updated_at: float
    version: int
    is_deleted: bool = False
    parent_id: str | None = None


@dataclass
class _Count:
    catalog_object_id: str
    location_id: str
    state: str
    quantity: Decimal
    calculated_at: float

    def as_json(self) -> dict[str, Any]:
        return {
            "catalog_object_id": self.catalog_object_id,
            "catalog_object_type": "ITEM_VARIATION",
            "state": self.state,
            "location_id": self.location_id,
            "quantity": _quantity_text(self.quantity),
            "calculated_at": iso_ms(self.calculated_at),
        }


@dataclass
class _Page:
    """Cursor pagination: an opaque cursor naming the endpoint and the offset of the next page."""

    endpoint: str
    items: list[Any]
    size: int
    offset: int = 0
    out: list[Any] = field(default_factory=list)

    def take(self) -> str | None:
        self.out = self.items[self.offset : self.offset + self.size]
        nxt = self.offset + self.size
        if nxt >= len(self.items):
            return None
        raw = json.dumps({"e": self.endpoint, "o": nxt}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def open(cls, endpoint: str, cursor: Any, items: list[Any], size: int) -> _Page:
        if cursor in (None, ""):
            return cls(endpoint, items, size)
        try:
            text = str(cursor)
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            offset = int(data["o"]) if data.get("e") == endpoint else -1
        except (ValueError, TypeError, KeyError, binascii.Error, AttributeError):
            offset = -1
        if offset < 0:
            raise _invalid("INVALID_CURSOR", "The pagination cursor is not valid.", "cursor")
        return cls(endpoint, items, size, offset)


class SquareSandbox(SandboxApp):
    """Square stand-in. See the module docstring for what it serves and checks."""

    name: ClassVar[str] = "square"

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        items: Sequence[SeedItem] = SEED_ITEMS,
        max_page_size: int = MAX_COUNTS_PAGE,
        payments: Sequence[SeedPayment] = SEED_PAYMENTS,
        refunds: Sequence[SeedRefund] = SEED_REFUNDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.seed = tuple(items)
        self.seed_payments = tuple(payments)
        self.seed_refunds = tuple(refunds)
        #: Square's webhooks: payment.created/updated, refund.created/updated, signed as Square does.
        self.webhooks = WebhookSender(
            square_signature, event_id=lambda p: str(p.get("event_id", "")), clock=clock
        )
        #: Caps every page below what the request asked, so tests can see cursors with few objects.
        self.max_page_size = max_page_size
        super().__init__(clock=clock)

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        return (
            ("POST", "/v2/catalog/search", self._search_catalog),
            ("POST", "/v2/inventory/counts/batch-retrieve", self._batch_retrieve_counts),
            ("GET", "/v2/payments", self._list_payments),
            ("POST", "/v2/payments", self._create_payment),
            ("GET", "/v2/payments/{payment_id}", self._get_payment),
            ("GET", "/v2/refunds", self._list_refunds),
            ("POST", "/v2/refunds", self._refund_payment),
            ("GET", "/v2/orders/{order_id}", self._retrieve_order),
        )

    def controls(self) -> Mapping[tuple[str, str], Handler]:
        """This app's own control endpoints (beside the base class's ``/_requests``, ``/_faults`` ...)."""
        return {("POST", "/_stock"): self._set_stock}

    def reset_data(self) -> None:
        now = self.clock()
        self.catalog: dict[str, _Object] = {}
        self.counts: dict[tuple[str, str, str], _Count] = {}
        for n, item in enumerate(self.seed):
            updated = now - 86_400 + n * 60  # created a day ago, a minute apart
            version = int(updated * 1000)
            variations = []
            for ordinal, v in enumerate(item.variations):
                data = {
                    "item_id": item.id,
                    "name": v.name,
                    "sku": v.sku,
                    "ordinal": ordinal,
                    "pricing_type": "FIXED_PRICING",
                    "price_money": {"amount": v.price, "currency": _CURRENCY},
                    "track_inventory": True,
                }
                obj = _Object("ITEM_VARIATION", v.id, data, updated, version, v.is_deleted, item.id)
                self.catalog[v.id] = obj
                variations.append(obj)
                for location, state, quantity in v.counts:
                    self.counts[(v.id, location, state)] = _Count(
                        v.id, location, state, Decimal(quantity), now - 3600 + n * 60
                    )
            item_data = {"name": item.name, "description": item.description, "product_type": "REGULAR"}
            deleted = all(v.is_deleted for v in variations)
            self.catalog[item.id] = _Object("ITEM", item.id, item_data, updated, version, deleted)
        self._reset_payments()

    def state(self) -> Any:
        return {
            "locations": [{"id": k, "name": v} for k, v in LOCATIONS.items()],
            "variations": [
                {"id": o.id, "sku": o.data["sku"], "name": o.data["name"], "item_id": o.parent_id}
                for o in self.catalog.values()
                if o.type == "ITEM_VARIATION" and not o.is_deleted
            ],
            "counts": [c.as_json() for c in self.counts.values()],
            "payments": len(self.payments),
            "refunds": len(self.refunds),
            "orders": len(self.orders),
            "notifications": [
                {"event_id": n["event_id"], "type": n["type"], "id": n["data"]["id"]}
                for n in self.notifications
            ],
        }

    # --- hooks: auth, version, error shapes -----------------------------------------------------

    def handle(self, req: SandboxRequest, *, read_timeout: float | None = None) -> SandboxResponse:
        control = self.controls().get((req.method.upper(), req.path.split("?", 1)[0]))
        if control is None:
            try:
                return super().handle(req, read_timeout=read_timeout)
            finally:
                # Outside the lock: a subscriber may take its time, other requests go on meanwhile.
                self._flush_webhooks()
        with self.lock:
            return control(req, {})

    def authorize(self, req: SandboxRequest) -> SandboxResponse | None:
        header = req.header("authorization")
        if not header:
            return _error(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", _NO_AUTH)
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token.strip():
            return _error(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", _MALFORMED_AUTH)
        if token.strip() != self.token:
            return _error(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", _BAD_TOKEN)
        version = req.header("square-version")
        if version is not None and not _VERSION.match(version):
            detail = f"Invalid Square-Version format: {version!r}. Expected YYYY-MM-DD."
            return _error(400, "INVALID_REQUEST_ERROR", "INVALID_SQUARE_VERSION_FORMAT", detail)
        return None

    def finish(self, req: SandboxRequest, resp: SandboxResponse) -> SandboxResponse:
        version = req.header("square-version") or SQUARE_VERSION
        return resp.with_headers({"square-version": version})

    def error_response(self, status: int, message: str) -> SandboxResponse:
        category, code = _STATUS_ERRORS.get(status, ("API_ERROR", "INTERNAL_SERVER_ERROR"))
        return _error(status, category, code, message)

    def rate_limit_response(self, retry_after: float) -> SandboxResponse:
        return _error(429, "RATE_LIMIT_ERROR", "RATE_LIMITED", "Rate limit exceeded. Retry later.")

    # --- Catalog API ----------------------------------------------------------------------------

    def _search_catalog(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            body = self._json_object(req)
            types = self._object_types(body.get("object_types"))
            matches = self._query(body.get("query"), types)
            if body.get("begin_time") is not None:
                since = _parse_time(body["begin_time"], "begin_time")
                matches = [o for o in matches if o.updated_at > since]
            if body.get("include_deleted_objects") is not True:
                matches = [o for o in matches if not o.is_deleted]
            limit = body.get("limit")
            size = limit if isinstance(limit, int) and 0 < limit <= MAX_COUNTS_PAGE else _DEFAULT_SEARCH_PAGE
            page = _Page.open(
                "catalog/search",
                body.get("cursor"),
                sorted(matches, key=lambda o: o.id),
                min(size, self.max_page_size),
            )
        except _Invalid as invalid:
            return invalid.response
        cursor = page.take()
        out: dict[str, Any] = {"objects": [self._object_json(o) for o in page.out]}
        if body.get("include_related_objects") is True:
            parents = {o.parent_id for o in page.out if o.parent_id} - {o.id for o in page.out}
            related = [self._object_json(self.catalog[p]) for p in sorted(parents) if p in self.catalog]
            if related:
                out["related_objects"] = related
        if cursor:
            out["cursor"] = cursor
        out["latest_time"] = iso_ms(max((o.updated_at for o in self.catalog.values()), default=0))
        return SandboxResponse.json(out)

    @staticmethod
    def _object_types(value: Any) -> frozenset[str]:
        if value is None:
            return frozenset({"ITEM"})  # ITEM_VARIATION is nested: not among the default types
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise _invalid(
                "EXPECTED_ARRAY", "Expected `object_types` to be an array of strings.", "object_types"
            )
        unknown = [t for t in value if t not in _SEARCHABLE]
        if unknown:
            detail = f"The sandbox catalog holds ITEM and ITEM_VARIATION objects, not {', '.join(unknown)}."
            raise _invalid("INVALID_ENUM_VALUE", detail, "object_types")
        return frozenset(value)

    def _query(self, query: Any, types: frozenset[str]) -> list[_Object]:
        candidates = [o for o in self.catalog.values() if o.type in types]
        if query is None:
            return candidates
        if not isinstance(query, dict) or len(query) != 1:
            raise _invalid(
                "BAD_REQUEST", "The sandbox supports exactly one of exact_query, set_query, prefix_query."
            )
        ((kind, spec),) = query.items()
        if not isinstance(spec, dict) or not isinstance(spec.get("attribute_name"), str):
            raise _invalid("MISSING_REQUIRED_PARAMETER", "Missing `attribute_name`.", f"query.{kind}")
        attribute = spec["attribute_name"]
        wanted: Any
        if kind == "exact_query":
            wanted = [spec.get("attribute_value")]
        elif kind == "set_query":
            wanted = spec.get("attribute_values")
            where = "query.set_query.attribute_values"
            if not isinstance(wanted, list) or not wanted:
                raise _invalid("ARRAY_EMPTY", "`attribute_values` must not be empty.", where)
            if len(wanted) > MAX_SET_QUERY_VALUES:
                detail = f"A maximum of {MAX_SET_QUERY_VALUES} values may be searched in a request."
                raise _invalid("ARRAY_LENGTH_TOO_LONG", detail, where)
        elif kind == "prefix_query":
            prefix = spec.get("attribute_prefix")
            if not isinstance(prefix, str) or not prefix:
                raise _invalid("VALUE_EMPTY", "`attribute_prefix` must not be empty.", "query.prefix_query")
            return [
                o for o in candidates if self._attr(o, attribute).casefold().startswith(prefix.casefold())
            ]
        else:
            raise _invalid("BAD_REQUEST", f"The sandbox does not support `{kind}`.", "query")
        if not all(isinstance(w, str) for w in wanted):
            raise _invalid("EXPECTED_STRING", "Attribute values must be strings.", f"query.{kind}")
        folded = {w.casefold() for w in wanted}
        return [o for o in candidates if self._attr(o, attribute).casefold() in folded]

    @staticmethod
    def _attr(obj: _Object, attribute: str) -> str:
        if attribute not in _SEARCHABLE[obj.type]:
            return ""
        value = obj.data.get(attribute)
        return value if isinstance(value, str) else ""

    def _object_json(self, obj: _Object) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": obj.type,
            "id": obj.id,
            "updated_at": iso_ms(obj.updated_at),
            "version": obj.version,
            "is_deleted": obj.is_deleted,
            "present_at_all_locations": True,
        }
        if obj.type == "ITEM_VARIATION":
            out["item_variation_data"] = dict(obj.data)
        else:
            variations = [
                self._object_json(v)
                for v in self.catalog.values()
                if v.parent_id == obj.id and (obj.is_deleted or not v.is_deleted)
            ]
            out["item_data"] = {**obj.data, "variations": variations}
        return out

    # --- Inventory API --------------------------------------------------------------------------

    def _batch_retrieve_counts(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            body = self._json_object(req)
            ids = self._strings(body, "catalog_object_ids")
            locations = self._strings(body, "location_ids")
            states = self._strings(body, "states")
            bad = [s for s in states or () if s not in _STATES]
            if bad:
                raise _invalid("INVALID_ENUM_VALUE", f"`{bad[0]}` is not a valid InventoryState.", "states")
            since = None
            if body.get("updated_after") is not None:
                since = _parse_time(body["updated_after"], "updated_after")
            limit = body.get("limit", MAX_COUNTS_PAGE)
            if not isinstance(limit, int) or isinstance(limit, bool):
                raise _invalid("EXPECTED_INTEGER", "Expected an integer value for `limit`.", "limit")
            if limit < 1:
                raise _invalid("VALUE_TOO_LOW", "`limit` must be at least 1.", "limit")
            if limit > MAX_COUNTS_PAGE:
                raise _invalid("VALUE_TOO_HIGH", f"`limit` must be at most {MAX_COUNTS_PAGE}.", "limit")
            found = [
                c
                for c in self.counts.values()
                if (ids is None or c.catalog_object_id in ids)
                and (locations is None or c.location_id in locations)
                and (states is None or c.state in set(states) - _UNTRACKED)
                and (since is None or c.calculated_at > since)
            ]
            found.sort(key=lambda c: (-c.calculated_at, c.catalog_object_id, c.location_id, c.state))
            page = _Page.open("inventory/counts", body.get("cursor"), found, min(limit, self.max_page_size))
        except _Invalid as invalid:
            return invalid.response
        cursor = page.take()
        # As in Square's documented example answer: an empty "errors" array beside the counts.
        out: dict[str, Any] = {"errors": [], "counts": [c.as_json() for c in page.out]}
        if cursor:
            out["cursor"] = cursor
        return SandboxResponse.json(out)

    @staticmethod
    def _strings(body: Mapping[str, Any], name: str) -> list[str] | None:
        value = body.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _invalid("EXPECTED_ARRAY", f"Expected `{name}` to be an array of strings.", name)
        return value

    # --- Payments, Refunds and Orders APIs ------------------------------------------------------

    def _reset_payments(self) -> None:
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        #: CreatePayment / RefundPayment idempotency: key -> (request body, answer).
        self._idempotency: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}
        #: Notifications built under the lock, sent after it is released (see :meth:`handle`).
        self._outbox: list[dict[str, Any]] = []
        #: Every notification built (tests read them even with no subscription).
        self.notifications: list[dict[str, Any]] = []
        self._sequence = 0
        variations = {
            o.data["sku"]: o for o in self.catalog.values() if o.type == "ITEM_VARIATION" and not o.is_deleted
        }
        for seed in self.seed_payments:
            when = _parse_time(seed.created_at, "created_at")
            lines = [(variations.get(line.sku), line) for line in seed.lines]
            order = self._order_json(seed.order_id, seed.location_id, lines, seed.currency, when - 30)
            self.orders[order["id"]] = order
            payment = self._payment_json(
                payment_id=seed.id,
                created=when,
                location_id=seed.location_id,
                amount=seed.amount,
                tip=seed.tip,
                currency=seed.currency,
                source_type=seed.source_type,
                card_brand=seed.card_brand,
                status=seed.status,
                order_id=order["id"],
            )
            self.payments[seed.id] = payment
            self._settle_order(order, payment)
        for refund in self.seed_refunds:
            payment = self.payments[refund.payment_id]
            when = _parse_time(refund.created_at, "created_at")
            self._record_refund(refund.id, payment, refund.amount, refund.reason, refund.status, when)

    def _order_json(
        self,
        order_id: str,
        location_id: str,
        lines: Sequence[tuple[_Object | None, SeedLine]],
        currency: str,
        created: float,
    ) -> dict[str, Any]:
        """An order in Square's shape. Cakes carry 20 % VAT, included in the price (UK food is zero-rated)."""
        vat_uid = "vat-standard"
        items: list[dict[str, Any]] = []
        total = tax_total = 0
        for n, (variation, line) in enumerate(lines):
            money = line.total
            item: dict[str, Any] = {
                "uid": f"line-{n + 1}",
                "name": self.catalog[variation.parent_id].data["name"]
                if variation and variation.parent_id
                else line.sku,
                "quantity": line.quantity,
                "item_type": "ITEM",
                "base_price_money": _money(line.price, currency),
                "variation_total_price_money": _money(money, currency),
                "gross_sales_money": _money(money, currency),
                "total_discount_money": _money(0, currency),
                "total_money": _money(money, currency),
            }
            if variation is not None:
                item["catalog_object_id"] = variation.id
                item["catalog_version"] = variation.version
                item["variation_name"] = variation.data["name"]
            tax = 0
            if line.sku.startswith("CAKE-"):
                tax = int((Decimal(money) * 20 / 120).to_integral_value(rounding=ROUND_HALF_UP))
                item["applied_taxes"] = [
                    {"uid": f"line-{n + 1}-vat", "tax_uid": vat_uid, "applied_money": _money(tax, currency)}
                ]
            item["total_tax_money"] = _money(tax, currency)
            items.append(item)
            total += money
            tax_total += tax
        order: dict[str, Any] = {
            "id": order_id,
            "location_id": location_id,
            "source": {"name": "Square Point of Sale"},
            "line_items": items,
            "net_amounts": {
                "total_money": _money(total, currency),
                "tax_money": _money(tax_total, currency),
                "discount_money": _money(0, currency),
                "tip_money": _money(0, currency),
                "service_charge_money": _money(0, currency),
            },
            "total_money": _money(total, currency),
            "total_tax_money": _money(tax_total, currency),
            "total_discount_money": _money(0, currency),
            "total_tip_money": _money(0, currency),
            "total_service_charge_money": _money(0, currency),
            "state": "OPEN",
            "version": 1,
            "created_at": iso_ms(created),
            "updated_at": iso_ms(created),
        }
        if tax_total:
            order["taxes"] = [
                {
                    "uid": vat_uid,
                    "name": "VAT (standard rate)",
                    "percentage": "20",
                    "type": "INCLUSIVE",
                    "scope": "LINE_ITEM",
                    "applied_money": _money(tax_total, currency),
                }
            ]
        return order

    def _payment_json(
        self,
        *,
        payment_id: str,
        created: float,
        location_id: str,
        amount: int,
        tip: int,
        currency: str,
        source_type: str,
        card_brand: str | None,
        status: str,
        order_id: str | None,
        note: str | None = None,
        reference_id: str | None = None,
        buyer_supplied: int | None = None,
        external: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A payment in Square's shape (Payments API, Square-Version 2025-10-16)."""
        total = amount + tip
        updated = created + (2 if status != "COMPLETED" or source_type != "CARD" else 600)
        payment: dict[str, Any] = {
            "id": payment_id,
            "created_at": iso_ms(created),
            "updated_at": iso_ms(updated),
            "amount_money": _money(amount, currency),
            "total_money": _money(total, currency),
            "approved_money": _money(0 if status in ("FAILED", "CANCELED") else total, currency),
            "status": status,
            "source_type": source_type,
            "location_id": location_id,
            "receipt_number": payment_id[:4],
            "receipt_url": f"https://squareup.com/receipt/preview/{payment_id}",
            "application_details": {"square_product": "SQUARE_POS", "application_id": "sq0idp-BrambleTill"},
            "version_token": _sq_id("version", f"{payment_id}:{updated}", 43),
        }
        if tip:
            payment["tip_money"] = _money(tip, currency)
        if order_id:
            payment["order_id"] = order_id
        if note:
            payment["note"] = note
        if reference_id:
            payment["reference_id"] = reference_id
        if source_type == "CARD":
            brand = card_brand or "VISA"
            payment["delay_duration"] = "PT168H"
            payment["delay_action"] = "CANCEL"
            payment["card_details"] = {
                "status": _CARD_STATUS.get(status, "AUTHORIZED"),
                "card": {
                    "card_brand": brand,
                    "last_4": _LAST_4.get(brand, "0000"),
                    "exp_month": 11,
                    "exp_year": 2028,
                    "fingerprint": "sq-1-" + _sq_id("fingerprint", payment_id, 40),
                    "card_type": "CREDIT" if brand == "AMERICAN_EXPRESS" else "DEBIT",
                    "prepaid_type": "NOT_PREPAID",
                    "bin": _LAST_4.get(brand, "0000") + "00",
                },
                "entry_method": "CONTACTLESS",
                "cvv_status": "CVV_NOT_CHECKED",
                "avs_status": "AVS_NOT_CHECKED",
                "statement_description": "SQ *BRAMBLE BAKERY",
            }
            if status == "COMPLETED":
                payment["processing_fee"] = [
                    {
                        "effective_at": iso_ms(created + 600),
                        "type": "INITIAL",
                        "amount_money": _money(_fee(total), currency),
                    }
                ]
        elif source_type == "CASH":
            given = buyer_supplied if buyer_supplied is not None else -(-total // 500) * 500
            payment["cash_details"] = {
                "buyer_supplied_money": _money(given, currency),
                "change_back_money": _money(given - total, currency),
            }
        elif source_type == "EXTERNAL":
            payment["external_details"] = dict(
                external or {"type": "OTHER", "source": "Bramble gift voucher"}
            )
        return payment

    def _settle_order(self, order: dict[str, Any], payment: Mapping[str, Any]) -> None:
        """A completed payment closes its order with a tender (whose id is the payment id, as Square's is)."""
        state = {"COMPLETED": "COMPLETED", "CANCELED": "CANCELED", "FAILED": "OPEN"}.get(
            payment["status"], "OPEN"
        )
        order["state"] = state
        if state != "COMPLETED":
            return
        tender: dict[str, Any] = {
            "id": payment["id"],
            "location_id": payment["location_id"],
            "transaction_id": order["id"],
            "created_at": payment["created_at"],
            "amount_money": payment["amount_money"],
            "type": {"CARD": "CARD", "CASH": "CASH"}.get(payment["source_type"], "OTHER"),
            "payment_id": payment["id"],
        }
        if "tip_money" in payment:
            tender["tip_money"] = payment["tip_money"]
            order["total_tip_money"] = payment["tip_money"]
            order["net_amounts"]["tip_money"] = payment["tip_money"]
            currency = payment["tip_money"]["currency"]
            with_tip = order["total_money"]["amount"] + payment["tip_money"]["amount"]
            order["total_money"] = order["net_amounts"]["total_money"] = _money(with_tip, currency)
        if "card_details" in payment:
            details = payment["card_details"]
            tender["card_details"] = {
                "status": details["status"],
                "card": details["card"],
                "entry_method": details["entry_method"],
            }
        if "cash_details" in payment:
            cash = payment["cash_details"]
            tender["cash_details"] = {
                "buyer_tendered_money": cash["buyer_supplied_money"],
                "change_back_money": cash["change_back_money"],
            }
        order["tenders"] = [tender]
        order["closed_at"] = payment["updated_at"]
        order["updated_at"] = payment["updated_at"]
        order["version"] = int(order["version"]) + 1

    def _record_refund(
        self, refund_id: str, payment: dict[str, Any], amount: int, reason: str, status: str, when: float
    ) -> dict[str, Any]:
        """Store a refund and reflect it on its payment and order, as Square does."""
        currency = payment["amount_money"]["currency"]
        refund: dict[str, Any] = {
            "id": refund_id,
            "status": status,
            "amount_money": _money(amount, currency),
            "payment_id": payment["id"],
            "order_id": _sq_id("return-order", refund_id, 27),
            "location_id": payment["location_id"],
            "reason": reason,
            "destination_type": payment["source_type"],
            "created_at": iso_ms(when),
            "updated_at": iso_ms(when + (1 if status == "COMPLETED" else 0)),
        }
        fees = sum(int(f["amount_money"]["amount"]) for f in payment.get("processing_fee", ()))
        if fees and status == "COMPLETED":
            # Square gives back the fee in proportion to the amount refunded (a negative fee).
            share = int(
                (Decimal(fees) * amount / int(payment["total_money"]["amount"])).to_integral_value(
                    ROUND_HALF_UP
                )
            )
            refund["processing_fee"] = [
                {
                    "effective_at": iso_ms(when + 1),
                    "type": "INITIAL",
                    "amount_money": _money(-share, currency),
                }
            ]
        self.refunds[refund_id] = refund
        self._apply_refund(payment, refund)
        return refund

    def _apply_refund(self, payment: dict[str, Any], refund: Mapping[str, Any]) -> None:
        ids = list(payment.get("refund_ids", ()))
        if refund["id"] not in ids:
            ids.append(refund["id"])
        payment["refund_ids"] = ids
        currency = payment["amount_money"]["currency"]
        refunded = sum(
            int(self.refunds[r]["amount_money"]["amount"])
            for r in ids
            if r in self.refunds and self.refunds[r]["status"] in ("PENDING", "COMPLETED")
        )
        if refunded:
            payment["refunded_money"] = _money(refunded, currency)
        payment["updated_at"] = max(payment["updated_at"], refund["updated_at"])
        order = self.orders.get(str(payment.get("order_id")))
        if order is not None and refund["status"] == "COMPLETED":
            entries = [r for r in order.get("refunds", ()) if r["id"] != refund["id"]]
            entries.append(
                {
                    "id": refund["id"],
                    "location_id": refund["location_id"],
                    "transaction_id": order["id"],
                    "tender_id": payment["id"],
                    "created_at": refund["created_at"],
                    "reason": refund["reason"],
                    "amount_money": refund["amount_money"],
                    "status": "APPROVED",
                }
            )
            order["refunds"] = entries

    # ListPayments / ListPaymentRefunds

    def _list_payments(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            begin, end, order, size = self._list_query(req)
            location = req.param("location_id") or _HIGH_STREET  # the seller's main location
            if location not in LOCATIONS:
                raise _not_found(f"Location `{location}` not found.", "location_id")
            brand, last_4, total = req.param("card_brand"), req.param("last_4"), req.param("total")
            found = [
                p
                for p in self.payments.values()
                if p["location_id"] == location
                and begin <= _parse_time(p["created_at"], "created_at") < end
                and (brand is None or p.get("card_details", {}).get("card", {}).get("card_brand") == brand)
                and (last_4 is None or p.get("card_details", {}).get("card", {}).get("last_4") == last_4)
                and (total is None or str(p["total_money"]["amount"]) == total)
            ]
            found.sort(key=lambda p: (p["created_at"], p["id"]), reverse=order == "DESC")
            page = _Page.open("payments", req.param("cursor"), found, size)
        except _Invalid as invalid:
            return invalid.response
        return self._list_answer("payments", page)

    def _list_refunds(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            begin, end, order, size = self._list_query(req)
            location, status = req.param("location_id"), req.param("status")  # all locations by default
            if location is not None and location not in LOCATIONS:
                raise _not_found(f"Location `{location}` not found.", "location_id")
            if status is not None and status not in _REFUND_STATUSES:
                raise _invalid(
                    "INVALID_ENUM_VALUE", f"`{status}` is not a valid PaymentRefundStatus.", "status"
                )
            source = req.param("source_type")
            found = [
                r
                for r in self.refunds.values()
                if (location is None or r["location_id"] == location)
                and (status is None or r["status"] == status)
                and (source is None or r["destination_type"] == source)
                and begin <= _parse_time(r["created_at"], "created_at") < end
            ]
            found.sort(key=lambda r: (r["created_at"], r["id"]), reverse=order == "DESC")
            page = _Page.open("refunds", req.param("cursor"), found, size)
        except _Invalid as invalid:
            return invalid.response
        return self._list_answer("refunds", page)

    def _list_query(self, req: SandboxRequest) -> tuple[float, float, str, int]:
        """``begin_time`` (inclusive, default a year ago), ``end_time`` (exclusive, default now),
        ``sort_order`` (default ``DESC``), ``limit`` (default and maximum 100; more is ignored)."""
        now = self.clock()
        begin_text, end_text = req.param("begin_time"), req.param("end_time")
        begin = _parse_time(begin_text, "begin_time") if begin_text is not None else now - 365 * 86_400
        end = _parse_time(end_text, "end_time") if end_text is not None else now
        if begin > end:
            raise _invalid("INVALID_TIME_RANGE", "`begin_time` must be before `end_time`.", "begin_time")
        order = req.param("sort_order") or "DESC"
        if order not in ("ASC", "DESC"):
            raise _invalid("INVALID_ENUM_VALUE", f"`{order}` is not a valid SortOrder.", "sort_order")
        limit_text = req.param("limit")
        size = MAX_PAYMENTS_PAGE
        if limit_text is not None:
            try:
                limit = int(limit_text)
            except ValueError:
                raise _invalid(
                    "EXPECTED_INTEGER", "Expected an integer value for `limit`.", "limit"
                ) from None
            if limit < 1:
                raise _invalid("VALUE_TOO_LOW", "`limit` must be at least 1.", "limit")
            size = limit if limit <= MAX_PAYMENTS_PAGE else MAX_PAYMENTS_PAGE
        return begin, end, order, min(size, self.max_page_size)

    @staticmethod
    def _list_answer(key: str, page: _Page) -> SandboxResponse:
        cursor = page.take()
        out: dict[str, Any] = {}  # an empty result is {} - no empty array
        if page.out:
            out[key] = copy.deepcopy(page.out)
        if cursor:
            out["cursor"] = cursor
        return SandboxResponse.json(out)

    # GetPayment / RetrieveOrder

    def _get_payment(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        payment = self.payments.get(params["payment_id"])
        if payment is None:
            return _not_found(f"Payment `{params['payment_id']}` not found.", "payment_id").response
        return SandboxResponse.json({"payment": payment})

    def _retrieve_order(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        order = self.orders.get(params["order_id"])
        if order is None:
            return _not_found(f"Order `{params['order_id']}` not found.", "order_id").response
        return SandboxResponse.json({"order": order})

    # CreatePayment / RefundPayment

    def _create_payment(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        """A minimal CreatePayment: card (sandbox nonces), ``CASH`` or ``EXTERNAL`` sources."""
        try:
            body = self._json_object(req)
            key = self._idempotency_key(body)
            replay = self._replay("payments", key, body)
            if replay is not None:
                return replay
            source = body.get("source_id")
            if not isinstance(source, str) or not source:
                raise _invalid(
                    "MISSING_REQUIRED_PARAMETER", "Missing required parameter `source_id`.", "source_id"
                )
            amount, currency = self._money_field(body, "amount_money", required=True)
            tip, tip_currency = self._money_field(body, "tip_money", required=False)
            if tip and tip_currency != currency:
                raise _invalid(
                    "CURRENCY_MISMATCH", "`tip_money` must be in the currency of `amount_money`.", "tip_money"
                )
            location = body.get("location_id") or _HIGH_STREET
            if location not in LOCATIONS:
                raise _not_found(f"Location `{location}` not found.", "location_id")
            order_id = body.get("order_id")
            if order_id is not None and order_id not in self.orders:
                raise _not_found(f"Order `{order_id}` not found.", "order_id")
            autocomplete = body.get("autocomplete", True) is not False
            buyer_supplied: int | None = None
            external: Mapping[str, Any] | None = None
            brand: str | None = None
            if source == "CASH":
                kind = "CASH"
                buyer_supplied, _c = self._money_field(
                    body.get("cash_details") or {},
                    "buyer_supplied_money",
                    required=True,
                    prefix="cash_details.",
                )
                if buyer_supplied < amount + tip:
                    raise _invalid(
                        "INVALID_VALUE", "`buyer_supplied_money` is less than the total.", "cash_details"
                    )
            elif source == "EXTERNAL":
                kind = "EXTERNAL"
                external = body.get("external_details")
                if not isinstance(external, dict) or not external.get("type") or not external.get("source"):
                    raise _invalid(
                        "MISSING_REQUIRED_PARAMETER",
                        "`external_details` with `type` and `source` is required for EXTERNAL.",
                        "external_details",
                    )
            elif source in _DECLINING_NONCES:
                code, detail = _DECLINING_NONCES[source]
                return _error(400, "PAYMENT_METHOD_ERROR", code, detail)
            elif source.startswith(("cnon:", "ccof:")):
                kind = "CARD"
                brand = _NONCE_BRANDS.get(source, "VISA")
            else:
                raise _invalid("INVALID_CARD_DATA", "The `source_id` is not a valid card nonce.", "source_id")
        except _Invalid as invalid:
            return invalid.response
        self._sequence += 1
        now = self.clock()
        payment_id = _sq_id("payment", f"created:{self._sequence}:{key}", 29)
        if order_id is None:
            order_id = _sq_id("order", payment_id, 27)
            self.orders[order_id] = self._order_json(
                order_id, location, [(None, SeedLine("CUSTOM-AMOUNT", "1", amount))], currency, now
            )
            self.orders[order_id]["line_items"][0]["name"] = "Custom amount"
            self.orders[order_id]["line_items"][0]["item_type"] = "CUSTOM_AMOUNT"
        payment = self._payment_json(
            payment_id=payment_id,
            created=now,
            location_id=location,
            amount=amount,
            tip=tip,
            currency=currency,
            source_type=kind,
            card_brand=brand,
            status="COMPLETED" if autocomplete else "APPROVED",
            order_id=order_id,
            note=body.get("note") if isinstance(body.get("note"), str) else None,
            reference_id=body.get("reference_id") if isinstance(body.get("reference_id"), str) else None,
            buyer_supplied=buyer_supplied,
            external=external,
        )
        # Square computes the fee a little later: created without it, updated with it.
        fee = payment.pop("processing_fee", None)
        payment["updated_at"] = payment["created_at"]
        self.payments[payment_id] = payment
        self._settle_order(self.orders[order_id], payment)
        self._notify("payment.created", "payment", payment)
        if payment["status"] == "COMPLETED":
            payment = self.payments[payment_id] = {
                **payment,
                **({"processing_fee": fee} if fee else {}),
                "updated_at": iso_ms(now + 1),
                "version_token": _sq_id("version", f"{payment_id}:{now + 1}", 43),
            }
            self._notify("payment.updated", "payment", payment)
        answer = {"payment": copy.deepcopy(payment)}
        self._idempotency[("payments", key)] = (body, answer)
        return SandboxResponse.json(answer)

    def _refund_payment(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        """RefundPayment: ``PENDING`` in the answer, completed at once after it (with webhooks)."""
        try:
            body = self._json_object(req)
            key = self._idempotency_key(body)
            replay = self._replay("refunds", key, body)
            if replay is not None:
                return replay
            payment_id = body.get("payment_id")
            if not isinstance(payment_id, str) or not payment_id:
                raise _invalid(
                    "MISSING_REQUIRED_PARAMETER", "Missing required parameter `payment_id`.", "payment_id"
                )
            payment = self.payments.get(payment_id)
            if payment is None:
                raise _not_found(f"Payment `{payment_id}` not found.", "payment_id")
            amount, currency = self._money_field(body, "amount_money", required=True)
            if currency != payment["amount_money"]["currency"]:
                raise _invalid(
                    "CURRENCY_MISMATCH", "The refund currency differs from the payment's.", "amount_money"
                )
            if payment["status"] != "COMPLETED":
                raise _invalid(
                    "PAYMENT_NOT_REFUNDABLE", "Only COMPLETED payments can be refunded.", "payment_id"
                )
            refunded = int(payment.get("refunded_money", {}).get("amount", 0))
            if amount > int(payment["total_money"]["amount"]) - refunded:
                raise _invalid(
                    "REFUND_AMOUNT_INVALID",
                    "The refund amount exceeds what remains of the payment.",
                    "amount_money",
                )
        except _Invalid as invalid:
            return invalid.response
        self._sequence += 1
        now = self.clock()
        given = body.get("reason")
        reason = given if isinstance(given, str) and given else "Requested by the seller"
        refund_id = f"{payment_id}_{_sq_id('refund', f'created:{self._sequence}:{key}', 20)}"
        refund = self._record_refund(refund_id, payment, amount, reason, "PENDING", now)
        answer = {"refund": copy.deepcopy(refund)}
        self._notify("refund.created", "refund", refund)
        completed = self._record_refund(refund_id, payment, amount, reason, "COMPLETED", now)
        self._notify("refund.updated", "refund", completed)
        self._notify("payment.updated", "payment", payment)
        self._idempotency[("refunds", key)] = (body, answer)
        return SandboxResponse.json(answer)

    def _idempotency_key(self, body: Mapping[str, Any]) -> str:
        key = body.get("idempotency_key")
        if not isinstance(key, str) or not key:
            raise _invalid(
                "MISSING_REQUIRED_PARAMETER",
                "Missing required parameter `idempotency_key`.",
                "idempotency_key",
            )
        if len(key) > _MAX_IDEMPOTENCY_KEY:
            detail = f"`idempotency_key` must be at most {_MAX_IDEMPOTENCY_KEY} characters."
            raise _invalid("VALUE_TOO_LONG", detail, "idempotency_key")
        return key

    def _replay(self, kind: str, key: str, body: Mapping[str, Any]) -> SandboxResponse | None:
        """Square's idempotency: the same key and body answers the first answer, another body is refused."""
        seen = self._idempotency.get((kind, key))
        if seen is None:
            return None
        first_body, answer = seen
        if first_body != body:
            raise _invalid(
                "IDEMPOTENCY_KEY_REUSED",
                "The idempotency key was already used with another request.",
                "idempotency_key",
            )
        return SandboxResponse.json(answer)

    @staticmethod
    def _money_field(
        body: Mapping[str, Any], name: str, *, required: bool, prefix: str = ""
    ) -> tuple[int, str]:
        value = body.get(name)
        if value is None and not required:
            return 0, ""
        if not isinstance(value, dict):
            raise _invalid(
                "MISSING_REQUIRED_PARAMETER", f"Missing required parameter `{prefix}{name}`.", prefix + name
            )
        amount, currency = value.get("amount"), value.get("currency")
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise _invalid(
                "EXPECTED_INTEGER", f"Expected an integer value for `{prefix}{name}.amount`.", prefix + name
            )
        if amount < (1 if name == "amount_money" else 0):
            raise _invalid("INVALID_VALUE", f"`{prefix}{name}.amount` must be positive.", prefix + name)
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            raise _invalid(
                "INVALID_ENUM_VALUE", f"`{prefix}{name}.currency` is not a currency code.", prefix + name
            )
        return amount, currency

    # Webhooks

    def _notify(self, event_type: str, object_type: str, obj: Mapping[str, Any]) -> None:
        """Queue a notification in Square's shape; :meth:`handle` sends it once the lock is released."""
        self._sequence += 1
        payload = {
            "merchant_id": MERCHANT_ID,
            "type": event_type,
            "event_id": str(
                uuid.UUID(
                    bytes=hashlib.sha256(f"{event_type}:{obj['id']}:{self._sequence}".encode()).digest()[:16],
                    version=4,
                )
            ),
            "created_at": iso_ms(self.clock()),
            "data": {"type": object_type, "id": obj["id"], "object": {object_type: copy.deepcopy(dict(obj))}},
        }
        self.notifications.append(payload)
        self._outbox.append(payload)

    def _flush_webhooks(self) -> None:
        with self.lock:
            pending, self._outbox = self._outbox, []
        if self.webhooks is not None:
            for payload in pending:
                self.webhooks.send(payload)

    # --- controls -------------------------------------------------------------------------------

    def _set_stock(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        """``POST /_stock``: set one count, as a physical count in Square's dashboard would."""
        try:
            data = req.json()
        except ValueError:
            return SandboxResponse.json({"error": "body must be JSON"}, 400)
        if not isinstance(data, dict):
            return SandboxResponse.json({"error": "body must be a JSON object"}, 400)
        sku, quantity = data.get("sku"), str(data.get("quantity", ""))
        location = data.get("location_id", next(iter(LOCATIONS)))
        state = data.get("state", "IN_STOCK")
        variation = next(
            (
                o
                for o in self.catalog.values()
                if o.type == "ITEM_VARIATION" and not o.is_deleted and o.data.get("sku") == sku
            ),
            None,
        )
        problems = []
        if variation is None:
            problems.append(f"no live variation has sku {sku!r}")
        if not _QUANTITY.match(quantity):
            problems.append("quantity must be a decimal string with at most 5 places")
        if location not in LOCATIONS:
            problems.append(f"location_id must be one of {sorted(LOCATIONS)}")
        if state not in _STATES - _UNTRACKED:
            problems.append(f"state {state!r} is not a tracked InventoryState")
        if problems or variation is None:
            return SandboxResponse.json({"error": "; ".join(problems)}, 400)
        try:
            amount = Decimal(quantity)
        except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
            return SandboxResponse.json({"error": "quantity is not a decimal"}, 400)
        count = _Count(variation.id, location, state, amount, self.clock())
        self.counts[(variation.id, location, state)] = count
        return SandboxResponse.json(count.as_json())

    # --- shapes ---------------------------------------------------------------------------------

    @staticmethod
    def _json_object(req: SandboxRequest) -> dict[str, Any]:
        try:
            data = req.json()
        except ValueError as exc:
            raise _invalid("BAD_REQUEST", f"The request body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise _invalid("EXPECTED_OBJECT", "Expected the request body to be a JSON object.")
        return data
