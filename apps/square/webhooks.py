"""What Square's webhooks deliver: the notification envelope, and the payments and refunds in it.

Every Square notification is ``{"merchant_id", "type", "event_id", "created_at", "data": {"type",
"id", "object": {<type>: {...}}}}``; ``event_id`` is unique per event and is the idempotency key
(Square re-sends an event it got no 2xx for, with the same ``event_id``).
https://developer.squareup.com/reference/square/payments-api/webhooks/payment.updated,
https://developer.squareup.com/reference/square/refunds-api/webhooks/refund.updated

A :class:`Payment` and a :class:`PaymentRefund` are also what ListPayments / ListPaymentRefunds
answer: they are defined here, once, and :mod:`.models` uses them.

The ingress path imports this module (a spec's ``accept`` validates the object of a notification),
so it holds pydantic models only - no client, no HTTP library.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Card",
    "CardPaymentDetails",
    "CashPaymentDetails",
    "DigitalWalletDetails",
    "ExternalPaymentDetails",
    "InventoryCountUpdatedEvent",
    "InventoryEventData",
    "Money",
    "NotificationData",
    "Payment",
    "PaymentCreatedEvent",
    "PaymentEventData",
    "PaymentRefund",
    "PaymentUpdatedEvent",
    "ProcessingFee",
    "RefundCreatedEvent",
    "RefundEventData",
    "RefundUpdatedEvent",
    "SquareModel",
    "SquareNotification",
    "WebhookInventoryCount",
]


class SquareModel(BaseModel):
    """The base of every Square shape, here and in :mod:`.models`.

    Square adds fields with every version; ignoring unknown ones keeps old code reading new answers.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")


class Money(SquareModel):
    """An amount in the currency's smallest unit (pence, cents)."""

    amount: int | None = None
    currency: str | None = None


# --- payments and refunds ------------------------------------------------------------------------
#
# Shapes of Square-Version 2025-10-16 (``square/square-python-sdk`` 43.2.0.20251016,
# ``src/square/types/payment.py``, ``payment_refund.py``, ``card.py``). Every field is optional
# except the id: Square omits fields it has no value for (a cash payment has no ``card_details``, a
# payment without a tip has no ``tip_money``), and versions add fields, which are ignored.


class ProcessingFee(SquareModel):
    """Square's fee on a payment or refund (``type`` ``INITIAL`` or ``ADJUSTMENT``).

    It is usually absent at first and appears within minutes of the payment (Square: "there can be
    a delay"), so a report made the next morning sees it, and one made at once may not.
    https://developer.squareup.com/reference/square/objects/ProcessingFee
    """

    effective_at: datetime | None = None
    type: str | None = None
    amount_money: Money | None = None


class Card(SquareModel):
    """The card of a card payment (never the number: brand, last 4, expiry, fingerprint)."""

    id: str | None = None
    #: ``VISA``, ``MASTERCARD``, ``AMERICAN_EXPRESS``, ``DISCOVER``, ``JCB``, ``INTERAC``,
    #: ``SQUARE_GIFT_CARD``, ``OTHER_BRAND`` ... (``CardBrand``).
    card_brand: str | None = None
    last_4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None
    cardholder_name: str | None = None
    fingerprint: str | None = None
    card_type: str | None = None
    prepaid_type: str | None = None
    bin: str | None = None


class CardPaymentDetails(SquareModel):
    """``card_details``: ``status`` is ``AUTHORIZED``, ``CAPTURED``, ``VOIDED`` or ``FAILED``."""

    status: str | None = None
    card: Card | None = None
    entry_method: str | None = None
    cvv_status: str | None = None
    avs_status: str | None = None
    auth_result_code: str | None = None
    statement_description: str | None = None


class CashPaymentDetails(SquareModel):
    """``cash_details``: what the buyer handed over and the change given back."""

    buyer_supplied_money: Money | None = None
    change_back_money: Money | None = None


class ExternalPaymentDetails(SquareModel):
    """``external_details``: a payment taken outside Square (cheque, bank transfer, other gift card)."""

    type: str | None = None
    source: str | None = None
    source_id: str | None = None
    source_fee_money: Money | None = None


class DigitalWalletDetails(SquareModel):
    """``wallet_details``: ``brand`` is e.g. ``CASH_APP``, ``PAYPAY``, ``ALIPAY``."""

    status: str | None = None
    brand: str | None = None


class Payment(SquareModel):
    """A payment (Payments API). ``total_money`` = ``amount_money`` + ``tip_money``; ``status`` is
    ``APPROVED``, ``PENDING``, ``COMPLETED``, ``CANCELED`` or ``FAILED`` - only ``COMPLETED`` is money
    taken. ``source_type``: ``CARD``, ``BANK_ACCOUNT``, ``WALLET``, ``BUY_NOW_PAY_LATER``,
    ``SQUARE_ACCOUNT``, ``CASH``, ``EXTERNAL``.
    https://developer.squareup.com/reference/square/objects/Payment
    """

    id: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    amount_money: Money | None = None
    tip_money: Money | None = None
    total_money: Money | None = None
    app_fee_money: Money | None = None
    approved_money: Money | None = None
    refunded_money: Money | None = None
    processing_fee: tuple[ProcessingFee, ...] = ()
    status: str | None = None
    delay_duration: str | None = None
    source_type: str | None = None
    card_details: CardPaymentDetails | None = None
    cash_details: CashPaymentDetails | None = None
    external_details: ExternalPaymentDetails | None = None
    wallet_details: DigitalWalletDetails | None = None
    location_id: str | None = None
    order_id: str | None = None
    reference_id: str | None = None
    customer_id: str | None = None
    employee_id: str | None = None
    team_member_id: str | None = None
    refund_ids: tuple[str, ...] = ()
    buyer_email_address: str | None = None
    note: str | None = None
    statement_description_identifier: str | None = None
    capabilities: tuple[str, ...] = ()
    receipt_number: str | None = None
    receipt_url: str | None = None
    version_token: str | None = None


class PaymentRefund(SquareModel):
    """A refund of a payment (Refunds API). ``status``: ``PENDING``, ``COMPLETED``, ``REJECTED``,
    ``FAILED``; ``amount_money`` is positive, the amount given back.
    https://developer.squareup.com/reference/square/objects/PaymentRefund
    """

    id: str
    status: str | None = None
    location_id: str | None = None
    unlinked: bool | None = None
    destination_type: str | None = None
    amount_money: Money | None = None
    app_fee_money: Money | None = None
    processing_fee: tuple[ProcessingFee, ...] = ()
    payment_id: str | None = None
    order_id: str | None = None
    reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    team_member_id: str | None = None


# --- notifications -------------------------------------------------------------------------------


class _PaymentObject(SquareModel):
    payment: Payment


class _RefundObject(SquareModel):
    refund: PaymentRefund


class PaymentEventData(SquareModel):
    type: str = "payment"
    id: str
    object: _PaymentObject


class RefundEventData(SquareModel):
    type: str = "refund"
    id: str
    object: _RefundObject


class _WebhookEvent(SquareModel):
    merchant_id: str | None = None
    type: str
    event_id: str
    created_at: datetime | None = None


class PaymentCreatedEvent(_WebhookEvent):
    """``payment.created``: a payment was created (any status, often ``APPROVED`` or ``COMPLETED``)."""

    data: PaymentEventData


class PaymentUpdatedEvent(_WebhookEvent):
    """``payment.updated``: a payment changed (completed, tip added, fee known, refunded ...)."""

    data: PaymentEventData


class RefundCreatedEvent(_WebhookEvent):
    """``refund.created``: a refund was requested (usually ``PENDING``)."""

    data: RefundEventData


class RefundUpdatedEvent(_WebhookEvent):
    """``refund.updated``: a refund changed status (``COMPLETED``, ``REJECTED``, ``FAILED``)."""

    data: RefundEventData


class NotificationData(SquareModel):
    type: str
    id: str
    object: dict[str, Any]


class SquareNotification(_WebhookEvent):
    """Any Square webhook notification: one subscription URL gets payments and refunds alike, so the
    object is validated per type in ``accept`` (a type not handled is answered 202 and ignored)."""

    event_id: str = Field(min_length=1, max_length=128)
    data: NotificationData


# --- inventory -----------------------------------------------------------------------------------


class WebhookInventoryCount(SquareModel):
    """One count of ``inventory.count.updated``: a variation's quantity in a state at a location.

    ``quantity`` is a decimal string (up to 5 places) on the wire, kept as text here: this module is
    on the ingress path and only needs to know which variation changed.
    """

    catalog_object_id: str
    catalog_object_type: str | None = None
    state: str | None = None
    location_id: str
    quantity: str | None = None
    calculated_at: datetime | None = None


class _InventoryObject(SquareModel):
    inventory_counts: tuple[WebhookInventoryCount, ...] = ()


class InventoryEventData(SquareModel):
    type: str = "inventory"
    id: str
    object: _InventoryObject


class InventoryCountUpdatedEvent(_WebhookEvent):
    """``inventory.count.updated``: quantities changed (a sale at the till, a count, an adjustment).

    ``data.object.inventory_counts`` holds the new counts - no idempotency key, reference or delta of
    the change behind them. https://developer.squareup.com/reference/square/webhooks/inventory.count.updated,
    https://developer.squareup.com/docs/inventory-api/webhooks
    """

    data: InventoryEventData
