"""What Stripe's webhooks deliver: the event envelope and the charge in it.

Sources (the shapes are the same on every API version since 2022-11-15, when ``Charge.refunds``
stopped being expanded by default; see :mod:`apps.stripe`):

* Event object (``id`` ``evt_...``, ``object: "event"``, ``api_version``, ``created``,
  ``data.object``, ``data.previous_attributes``, ``livemode``, ``pending_webhooks``,
  ``request {id, idempotency_key}``, ``type``): https://docs.stripe.com/api/events/object
* Charge object (``amount``, ``amount_captured``, ``amount_refunded``, ``captured``, ``currency``
  lower-case, ``payment_method_details.type`` / ``.card.brand``, ``refunded``, ``status``,
  ``payment_intent``, ``balance_transaction``): https://docs.stripe.com/api/charges/object
* ``charge.refunded``: "Occurs whenever a charge is refunded, including partial refunds"; the charge's
  ``refunds`` list is not included unless expanded (API 2022-11-15), so the amount of *this* refund is
  ``amount_refunded`` minus ``data.previous_attributes.amount_refunded``.
  https://docs.stripe.com/api/events/types#event_types-charge.refunded,
  https://docs.stripe.com/upgrades#2022-11-15

Webhook payloads are rendered in the endpoint's own API version, so the models accept any version
and ignore fields they do not know. The ingress path imports this module (a spec validates
:class:`Event` and, in ``accept``, :meth:`Event.charge`): pydantic and the standard library only.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Card", "Charge", "Event", "EventData", "EventRequest", "PaymentMethodDetails"]


class _Model(BaseModel):
    # Tolerant: Stripe adds fields with every version.
    model_config = ConfigDict(extra="ignore", frozen=True)


class Card(_Model):
    #: ``amex``, ``diners``, ``discover``, ``eftpos_au``, ``jcb``, ``link``, ``mastercard``,
    #: ``unionpay``, ``visa`` or ``unknown``.
    brand: str | None = None
    last4: str | None = None
    funding: str | None = None
    country: str | None = None


class PaymentMethodDetails(_Model):
    #: ``card``, ``card_present`` (Terminal), ``interac_present``, ``link``, ``us_bank_account`` ...
    type: str
    card: Card | None = None
    card_present: Card | None = None

    @property
    def brand(self) -> str | None:
        card = self.card or self.card_present
        return card.brand if card else None


class Charge(_Model):
    """The parts of a Charge a bookkeeper needs; everything else is ignored."""

    id: str = Field(pattern=r"^(ch|py)_[A-Za-z0-9]{1,250}$")
    object: str = "charge"
    amount: int = Field(ge=0)
    amount_captured: int = Field(default=0, ge=0)
    amount_refunded: int = Field(default=0, ge=0)
    captured: bool = True
    currency: str = Field(min_length=3, max_length=3)
    created: int
    description: str | None = None
    livemode: bool = False
    paid: bool = True
    refunded: bool = False
    status: str
    payment_intent: str | None = None
    balance_transaction: str | None = None
    payment_method_details: PaymentMethodDetails | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class EventRequest(_Model):
    id: str | None = None
    idempotency_key: str | None = None


class EventData(_Model):
    #: The object the event is about, as Stripe rendered it (a Charge for ``charge.*`` events).
    object: dict[str, Any]
    #: The changed fields' values before the change (``*.updated``/``charge.refunded`` events only).
    previous_attributes: dict[str, Any] | None = None


class Event(_Model):
    """A webhook event of any type. The object stays a dict here: an endpoint subscribed to more
    types than an integration handles must still be answered 2xx for the others, so only the types
    handled are validated further (:meth:`charge`)."""

    id: str = Field(pattern=r"^evt_[A-Za-z0-9]{1,250}$")
    object: str = "event"
    api_version: str | None = None
    created: int
    data: EventData
    livemode: bool = False
    pending_webhooks: int = 0
    request: EventRequest | None = None
    type: str

    def charge(self) -> Charge:
        """``data.object`` as a :class:`Charge` (``pydantic.ValidationError`` if it is not one)."""
        return Charge.model_validate(self.data.object)

    def previous_int(self, name: str) -> int | None:
        """An integer field's value before this event, if Stripe reported it."""
        value = (self.data.previous_attributes or {}).get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None
