"""pos_to_accounting: every sale at the till or in the web shop becomes an entry in the books - once.

The books are QuickBooks Online or Xero, as the settings say (``accounting_app``; :mod:`.worker`).

Three ways in, all signed webhooks:

* Square (``POST /hooks/pos_to_accounting/square``, ``x-square-hmacsha256-signature``):
  ``payment.created`` / ``payment.updated`` and ``refund.created`` / ``refund.updated``. Only a
  ``COMPLETED`` payment or refund is booked; the others are answered 202 and ignored (nothing queued).
* Stripe (``POST /hooks/pos_to_accounting/stripe``, ``Stripe-Signature``): ``charge.succeeded`` and
  ``charge.captured`` (a captured charge is a sale; an authorisation alone is not) and
  ``charge.refunded``. Other event types are answered 202 and ignored.
* Shopify (``POST /hooks/pos_to_accounting/shopify``, ``X-Shopify-Hmac-Sha256``): ``orders/paid``
  (the order, with its lines, is the sale) and ``refunds/create``, told apart by ``X-Shopify-Topic``
  (:mod:`.shopify`). Test orders and refunds that gave no money back are answered 202 and ignored.

The work item's event id is the idempotency key, and it names the *money*, not the delivery:

* a sale is ``square:payment:<payment id>`` / ``stripe:payment:<charge id>``: Square sends
  ``payment.updated`` several times for one payment (completed, then its fee, a tip adjustment, a
  refund ...), and ``payment.created`` may already say ``COMPLETED`` - all of them are one sale,
  booked once; Stripe's ``charge.succeeded`` and ``charge.captured`` of a charge likewise;
* a Square refund is ``square:refund:<refund id>``;
* a Shopify sale is ``shopify:order:<order id>`` and a Shopify refund ``shopify:refund:<refund id>`` -
  not the webhook id: Shopify re-sends a delivery it got no 2xx for, and a second subscription to the
  same topic delivers the same order under another webhook id;
* a Stripe refund is ``stripe:refund:<charge id>:<amount_refunded after it>``: ``charge.refunded``
  carries no refund id on current API versions (``refunds`` is not expanded), but the cumulative
  ``amount_refunded`` identifies each refund of a charge - two partial refunds are two entries, a
  redelivered event is the same entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import ValidationError

from apps import quickbooks, shopify, square, stripe, xero
from apps.shopify.webhooks import ShopifyPayload
from apps.square.webhooks import Payment as SquarePayment
from apps.square.webhooks import PaymentRefund as SquareRefund
from apps.stripe.webhooks import Event as StripeEvent
from shared.errors import InvalidPayload
from shared.spec import Accepted, IntegrationSpec, RetryPolicy, WebhookTrigger
from shared.webhooks.base import WebhookRequest

from .models import Booking, Settings, SquareNotification
from .money import iso_exponent
from .shopify import accept_shopify

#: Square notification types that can carry a completed payment or refund.
SQUARE_PAYMENT_TYPES = frozenset({"payment.created", "payment.updated"})
SQUARE_REFUND_TYPES = frozenset({"refund.created", "refund.updated"})
STRIPE_SALE_TYPES = frozenset({"charge.succeeded", "charge.captured"})
STRIPE_REFUND_TYPE = "charge.refunded"
COMPLETED = "COMPLETED"


def _invalid(field: str, message: str) -> InvalidPayload:
    return InvalidPayload([{"field": field, "message": message}])


def accept_square(event: SquareNotification, request: WebhookRequest) -> Sequence[Accepted]:
    """A completed payment is a sale, a completed refund a refund; everything else is ignored."""
    if event.type in SQUARE_PAYMENT_TYPES:
        try:
            payment = SquarePayment.model_validate(event.data.object.get("payment"))
        except ValidationError as exc:
            raise _invalid(
                "data.object.payment", f"is not a Square payment ({exc.error_count()} error(s))"
            ) from exc
        if payment.status != COMPLETED:
            return []
        money = payment.total_money or payment.amount_money
        if money is None or money.amount is None or not money.currency:
            raise _invalid("data.object.payment.total_money", "is missing")
        card = payment.card_details.card if payment.card_details else None
        booking = Booking(
            kind="sale",
            provider="square",
            payment_id=payment.id,
            order_id=payment.order_id,
            location_id=payment.location_id,
            amount=money.amount,
            tip=(payment.tip_money.amount or 0) if payment.tip_money else 0,
            currency=money.currency.upper(),
            exponent=iso_exponent(money.currency),
            occurred_at=payment.created_at or event.created_at or datetime.now(UTC),
            source=(payment.source_type or "").lower() or None,
            brand=(card.card_brand.lower() if card and card.card_brand else None),
        )
        return [Accepted(event_id=booking.key, type="sale", data=booking)]
    if event.type in SQUARE_REFUND_TYPES:
        try:
            refund = SquareRefund.model_validate(event.data.object.get("refund"))
        except ValidationError as exc:
            raise _invalid(
                "data.object.refund", f"is not a Square refund ({exc.error_count()} error(s))"
            ) from exc
        if refund.status != COMPLETED:
            return []
        money = refund.amount_money
        if money is None or money.amount is None or not money.currency or not refund.payment_id:
            raise _invalid("data.object.refund.amount_money", "is missing (or payment_id is)")
        booking = Booking(
            kind="refund",
            provider="square",
            payment_id=refund.payment_id,
            refund_id=refund.id,
            location_id=refund.location_id,
            amount=money.amount,
            currency=money.currency.upper(),
            exponent=iso_exponent(money.currency),
            occurred_at=refund.updated_at or refund.created_at or event.created_at or datetime.now(UTC),
            source=(refund.destination_type or "").lower() or None,
        )
        return [Accepted(event_id=booking.key, type="refund", data=booking)]
    return []


def accept_stripe(event: StripeEvent, request: WebhookRequest) -> Sequence[Accepted]:
    """A captured charge is a sale; each ``charge.refunded`` is one refund (the delta it reports)."""
    if event.type not in STRIPE_SALE_TYPES and event.type != STRIPE_REFUND_TYPE:
        return []
    try:
        charge = event.charge()
    except ValidationError as exc:
        raise _invalid("data.object", f"is not a Stripe charge ({exc.error_count()} error(s))") from exc
    method = charge.payment_method_details
    common = {
        "provider": "stripe",
        "payment_id": charge.id,
        "currency": charge.currency.upper(),
        "exponent": stripe.amount_exponent(charge.currency),
        "occurred_at": datetime.fromtimestamp(event.created, UTC),
        "source": method.type if method else None,
        "brand": method.brand if method else None,
        "description": (charge.description or "")[:500] or None,
    }
    if event.type in STRIPE_SALE_TYPES:
        if not charge.captured or charge.status != "succeeded" or charge.amount_captured <= 0:
            return []  # an authorisation only: booked when charge.captured arrives
        booking = Booking(kind="sale", amount=charge.amount_captured, **common)
        return [Accepted(event_id=booking.key, type="sale", data=booking)]
    before = event.previous_int("amount_refunded")
    if before is None:
        raise _invalid(
            "data.previous_attributes.amount_refunded",
            "is missing: without it the amount of this refund cannot be told from earlier ones",
        )
    delta = charge.amount_refunded - before
    if delta <= 0:
        return []
    booking = Booking(
        kind="refund",
        refund_id=f"{charge.id}:{charge.amount_refunded}",
        amount=delta,
        **common,
    )
    return [Accepted(event_id=booking.key, type="refund", data=booking)]


SPEC = IntegrationSpec(
    name="pos_to_accounting",
    description=(
        "Till and web shop sales and refunds (Square, Stripe, Shopify) -> QuickBooks Online sales and "
        "refund receipts, or Xero paid invoices and credit notes (accounting_app), once each"
    ),
    input_model=Booking,
    settings=Settings,
    worker="functions.pos_to_accounting.worker:process",
    triggers=(
        WebhookTrigger(
            name="square",
            path="/hooks/pos_to_accounting/square",
            verifier=square.VERIFIER,
            secret=square.SIGNING,
            model=SquareNotification,
            accept=accept_square,
            description="Square webhook: payment.created/updated, refund.created/updated",
            events=("payment.created", "payment.updated", "refund.created", "refund.updated"),
            registration=square.CONNECTION,
        ),
        WebhookTrigger(
            name="stripe",
            path="/hooks/pos_to_accounting/stripe",
            verifier=stripe.VERIFIER,
            secret=stripe.SIGNING,
            model=StripeEvent,
            accept=accept_stripe,
            description="Stripe webhook: charge.succeeded, charge.captured, charge.refunded",
            events=("charge.succeeded", "charge.captured", "charge.refunded"),
            registration=stripe.CONNECTION,
        ),
        WebhookTrigger(
            name="shopify",
            path="/hooks/pos_to_accounting/shopify",
            verifier=shopify.VERIFIER,
            secret=shopify.SIGNING,
            model=ShopifyPayload,
            accept=accept_shopify,
            description="Shopify webhook: orders/paid, refunds/create (the topic in X-Shopify-Topic)",
            # No registration connection: Shopify's subscriptions are set up by hand (apps/shopify/subscriptions.py).
            events=("orders/paid", "refunds/create"),
        ),
    ),
    # Both books' connections: the settings choose one (accounting_app); the function is granted both
    # secrets so that switching books is a settings change, not a new deployment.
    connections=(quickbooks.CONNECTION, xero.CONNECTION, square.CONNECTION),
    timeout_s=60,
    memory_mb=256,
    batch_size=10,
    # QuickBooks allows 10 concurrent requests per company (shared with every other app the business
    # connected) and 500 a minute; a sale is one Square read and one QuickBooks create. Two records
    # at a time per invocation, two invocations at most, keeps us at 4 in flight.
    max_concurrency=2,
    max_invocations=2,
    # Intuit outages are usually minutes; 10 s doubling, 10 tries, rides out ~1.5 hours before the
    # DLQ. requestid makes every retry of a create safe.
    retry=RetryPolicy(max_attempts=10, base_delay_s=10, max_delay_s=900),
)
