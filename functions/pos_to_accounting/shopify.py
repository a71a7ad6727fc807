"""Shopify into bookings: ``orders/paid`` is a sale with its own lines, ``refunds/create`` a refund.

A Shopify webhook carries the whole order, so nothing is read back from Shopify: the order's lines,
their discounts and taxes, the shipping and the tip become the sale's :class:`~.models.SaleLine`s here,
on the ingress path, in integer minor units of the shop's currency (``order.currency``: every plain
money string of an order is in it; ISO 4217 exponents, :func:`~.money.iso_exponent`).

* A line is worth ``price x quantity`` less its ``discount_allocations``; its tax is the sum of its
  ``tax_lines``. With ``taxes_included`` (a UK shop's VAT-inclusive prices) the net is that worth less
  the tax, otherwise the worth itself (US sales tax is added on top). A shipping line is its
  ``discounted_price`` (its ``price`` less its allocations in older renderings), taxed the same way.
* Tips are line items of their own in Shopify (no product, no variant, no SKU) summed in
  ``total_tip_received``: those lines are taken out and the tip travels as the booking's ``tip``, booked
  as the tip item like Square's. If such lines do not add up to the tip, they stay ordinary lines.
* The amount is ``current_total_price``: what the order costs after edits made before payment. If the
  lines do not add up to it (duties, additional fees, an order edited after it was paid), the worker
  books one line for the amount - never a receipt whose total differs from the money taken.
* Test orders (``"test": true``, Shopify's Bogus gateway) and refunds that gave nothing back (no
  successful ``refund`` transaction: a restock-only refund, a pending one) are answered 202 and
  queued as nothing.

Shopify re-sends a delivery that got no 2xx 8 times over 4 hours, "with the original payload from the
time they were triggered" (https://shopify.dev/changelog/updates-to-webhook-retry-mechanism): a
re-sent ``orders/paid`` is the same sale, and the keys (order id, refund id) make it a duplicate.

A refund is the sum of its successful ``refund`` transactions (``kind: "refund"``, ``status:
"success"``), booked as one line like every refund; its key is the refund id, its sale the order.
Shapes and sources: :mod:`apps.shopify.webhooks`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from apps.shopify import WEBHOOK_TOPIC_HEADER
from apps.shopify.webhooks import (
    TOPIC_ORDERS_PAID,
    TOPIC_REFUNDS_CREATE,
    DiscountAllocation,
    LineItem,
    Order,
    Refund,
    ShippingLine,
    ShopifyPayload,
    TaxLine,
)
from shared.errors import InvalidPayload
from shared.spec import Accepted
from shared.webhooks.base import WebhookRequest

from .models import Booking, SaleLine
from .money import iso_exponent

__all__ = ["accept_shopify", "refund_booking", "sale_booking"]

M = TypeVar("M", bound=BaseModel)
#: Lines a booking carries (an SQS message holds 256 KiB); a longer order is booked as one line.
MAX_LINES = 250


def _invalid(field: str, message: str) -> InvalidPayload:
    return InvalidPayload([{"field": field, "message": message}])


def _read(model: type[M], payload: ShopifyPayload, what: str) -> M:
    """The body as ``model``, or a 400 naming each field (names and reasons only, never values)."""
    try:
        return model.model_validate(payload.model_dump())
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": f"{e['msg']} ({what})"}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidPayload(errors) from exc


class _Minor:
    """Shopify's decimal strings as integer minor units of one currency; a finer amount is refused."""

    def __init__(self, currency: str) -> None:
        self.exponent = iso_exponent(currency)

    def __call__(self, amount: Decimal, field: str) -> int:
        scaled = amount.scaleb(self.exponent)
        if scaled != scaled.to_integral_value():
            raise _invalid(field, f"has more decimals than the currency has ({self.exponent})")
        return int(scaled)

    def sum(self, amounts: Iterable[Decimal], field: str) -> int:
        return sum((self(a, field) for a in amounts), 0)


def _taxes(minor: _Minor, tax_lines: Sequence[TaxLine], field: str) -> tuple[int, tuple[str, ...]]:
    charged = [(minor(t.price, field), t.title) for t in tax_lines]
    names = tuple(dict.fromkeys(title for amount, title in charged if amount and title))
    return sum(amount for amount, _ in charged), names


def _allocated(minor: _Minor, allocations: Sequence[DiscountAllocation], field: str) -> int:
    return minor.sum((d.amount for d in allocations), field)


def _worth(minor: _Minor, line: LineItem, at: str) -> int:
    return minor(line.price, f"{at}.price") * line.quantity


def _is_tip(line: LineItem) -> bool:
    return line.product_id is None and line.variant_id is None and not line.sku and not line.gift_card


def _item_line(minor: _Minor, line: LineItem, at: str, taxes_included: bool) -> SaleLine | None:
    discount = _allocated(minor, line.discount_allocations, f"{at}.discount_allocations")
    worth = _worth(minor, line, at) - discount
    tax, names = _taxes(minor, line.tax_lines, f"{at}.tax_lines")
    net = worth - tax if taxes_included else worth
    if line.quantity <= 0 or net < 0:
        return None
    name = line.name or " ".join(
        p for p in (line.title, f"({line.variant_title})" if line.variant_title else "") if p
    )
    return SaleLine(
        kind="item",
        description=(name or f"Line {line.id}")[:500],
        sku=line.sku if line.sku and len(line.sku) <= 255 else None,
        quantity=Decimal(line.quantity),
        net=net,
        tax=tax,
        tax_names=names,
        discount=discount,
    )


def _shipping_line(
    minor: _Minor, line: ShippingLine, at: str, taxes_included: bool
) -> tuple[SaleLine | None, bool]:
    """The shipping line (``None`` if it was free) and whether it could be booked as itself."""
    if line.discounted_price is not None:
        worth = minor(line.discounted_price, f"{at}.discounted_price")
    else:
        worth = minor(line.price, f"{at}.price") - _allocated(
            minor, line.discount_allocations, f"{at}.discount_allocations"
        )
    tax, names = _taxes(minor, line.tax_lines, f"{at}.tax_lines")
    net = worth - tax if taxes_included else worth
    if worth == 0 and tax == 0:
        return None, True
    if net < 0:
        return None, False
    description = f"Shipping: {line.title or line.code or 'delivery'}"[:500]
    return SaleLine(kind="shipping", description=description, net=net, tax=tax, tax_names=names), True


def sale_booking(order: Order) -> Booking | None:
    """The sale ``orders/paid`` reports, or ``None`` for a test order."""
    if order.test:
        return None
    minor = _Minor(order.currency)
    tip = minor(order.total_tip_received, "total_tip_received")
    candidates = [li for li in order.line_items if _is_tip(li)]
    tip_ids = (
        {li.id for li in candidates}
        if tip and sum(_worth(minor, li, "line_items") for li in candidates) == tip
        else set()
    )
    items = [
        _item_line(minor, li, f"line_items.{i}", order.taxes_included)
        for i, li in enumerate(order.line_items)
        if li.id not in tip_ids
    ]
    shipping = [
        _shipping_line(minor, sl, f"shipping_lines.{i}", order.taxes_included)
        for i, sl in enumerate(order.shipping_lines)
    ]
    # A line that cannot be booked as itself (over-discounted) leaves the whole sale to one line.
    complete = all(line is not None for line in items) and all(ok for _, ok in shipping)
    kept = (
        *(line for line in items if line is not None),
        *(line for line, _ in shipping if line is not None),
    )
    gateway = next((g for g in order.payment_gateway_names if g), None)
    return _booking(
        kind="sale",
        provider="shopify",
        payment_id=str(order.id),
        order_id=str(order.id),
        location_id=str(order.location_id) if order.location_id else None,
        amount=minor(order.current_total_price, "current_total_price"),
        tip=tip,
        currency=order.currency.upper(),
        exponent=minor.exponent,
        occurred_at=order.processed_at or order.created_at,
        source=_source(gateway),
        description=f"Shopify order {order.name}"[:500] if order.name else None,
        lines=kept if complete and len(kept) <= MAX_LINES else (),
    )


def refund_booking(refund: Refund) -> Booking | None:
    """The money ``refunds/create`` gave back, or ``None`` if it gave none (yet)."""
    given = [t for t in refund.transactions if t.kind == "refund" and t.status == "success" and not t.test]
    if not given:
        return None
    currencies = {t.currency for t in given}
    if len(currencies) != 1 or None in currencies:
        raise _invalid("transactions.currency", "the successful refund transactions must name one currency")
    currency = str(currencies.pop()).upper()
    minor = _Minor(currency)
    amount = minor.sum((t.amount for t in given), "transactions.amount")
    if amount <= 0:
        return None
    location = next((t.location_id for t in given if t.location_id), None)
    return _booking(
        kind="refund",
        provider="shopify",
        payment_id=str(refund.order_id),
        refund_id=str(refund.id),
        order_id=str(refund.order_id),
        location_id=str(location) if location else None,
        amount=amount,
        currency=currency,
        exponent=minor.exponent,
        occurred_at=refund.processed_at or refund.created_at,
        source=_source(given[0].gateway),
    )


def _source(gateway: str | None) -> str | None:
    """A payment gateway as a payment-method key part: ``Cash on Delivery (COD)`` -> ``cash_on_delivery_(cod)``."""
    return "_".join(gateway.lower().split())[:40] if gateway else None


def accept_shopify(payload: ShopifyPayload, request: WebhookRequest) -> Sequence[Accepted]:
    """``orders/paid`` -> a sale, ``refunds/create`` -> a refund (by ``X-Shopify-Topic``); other topics: nothing."""
    topic = (request.header(WEBHOOK_TOPIC_HEADER) or "").strip()
    if not topic:
        raise _invalid(
            f"headers.{WEBHOOK_TOPIC_HEADER}", "is missing: which Shopify topic this is is unknown"
        )
    booking: Booking | None
    if topic == TOPIC_ORDERS_PAID:
        booking = sale_booking(_read(Order, payload, "a Shopify order"))
    elif topic == TOPIC_REFUNDS_CREATE:
        booking = refund_booking(_read(Refund, payload, "a Shopify refund"))
    else:
        return []
    if booking is None:
        return []
    return [Accepted(event_id=booking.key, type=booking.kind, data=booking)]


def _booking(**fields: object) -> Booking:
    """A :class:`Booking`, or a 400 naming what of the delivery could not become one (never a 500)."""
    try:
        return Booking.model_validate(fields)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": f"{e['msg']} (as booked)"}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidPayload(errors) from exc
