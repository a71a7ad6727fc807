"""What Switchboard knows about Stripe, written once: webhook signing, event and charge shapes, money.

Switchboard only *receives* from Stripe (the till's card payments and their refunds); it never calls
Stripe's API, so there is no API connection here - only the webhook signing secret.

Sources, for API version :data:`STRIPE_API_VERSION` (the event shapes below are the same on every
version since 2022-11-15, when ``Charge.refunds`` stopped being expanded by default):

* Webhook signatures: ``Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=<hex>]``;
  ``v1`` is the hex HMAC-SHA256 of ``"{t}.{raw body}"`` keyed with the endpoint's ``whsec_...``
  secret. "To prevent downgrade attacks, ignore all schemes that aren't v1"; while a secret is
  rolled, Stripe signs with each active secret, so several ``v1`` values arrive; the libraries'
  default tolerance is 300 s. https://docs.stripe.com/webhooks#verify-manually and
  ``stripe/stripe-python`` ``stripe/_webhook.py`` (``WebhookSignature``, ``DEFAULT_TOLERANCE = 300``).
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
* Amounts are integers in the currency's minor unit; zero-decimal currencies (JPY, KRW ...) are
  whole units, three-decimal ones (BHD, KWD ...) thousandths, and ISK stays two-decimal in the API
  although only whole krónur can be charged. https://docs.stripe.com/currencies#zero-decimal,
  https://docs.stripe.com/currencies#three-decimal,
  https://support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds
* The current API version name: ``stripe/agent-toolkit`` skill ``upgrade-stripe`` ("The latest Stripe
  API version is 2026-04-22.dahlia"); webhook payloads are rendered in the endpoint's own version,
  so the models accept any version and ignore fields they do not know.

Importing this module must stay cheap: the ingress path imports it for :data:`SIGNING` and
:data:`VERIFIER` (standard library and pydantic only).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from shared.spec import Connection
from shared.webhooks.hmac import HmacVerifier

__all__ = [
    "SIGNING",
    "STRIPE_API_VERSION",
    "THREE_DECIMAL_CURRENCIES",
    "VERIFIER",
    "ZERO_DECIMAL_CURRENCIES",
    "Card",
    "Charge",
    "Event",
    "EventData",
    "EventRequest",
    "PaymentMethodDetails",
    "amount_exponent",
    "to_decimal",
]

#: The API version the samples and the sandbox render events in (Stripe's newest at the time of writing).
STRIPE_API_VERSION: Final = "2026-04-22.dahlia"

#: "Zero-decimal currencies": the amount is in whole units (``500`` is ¥500).
ZERO_DECIMAL_CURRENCIES: Final = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)
#: "Three-decimal currencies": the amount is in thousandths (``5120`` is 5.120 KWD).
THREE_DECIMAL_CURRENCIES: Final = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

SIGNING = Connection(
    name="stripe_signing",
    app="stripe",
    description=(
        "Signing secret (whsec_...) of the Stripe webhook endpoint (Dashboard > Developers > Webhooks > "
        "the endpoint > Signing secret). When rolling it, keep the old one as previous_secret until "
        "it expires (Stripe signs with both meanwhile)."
    ),
    fields=("secret",),
    optional=("previous_secret",),
    local={"secret": "whsec_c2FuZGJveC1zdHJpcGUtc2lnbmluZy1zZWNyZXQ"},
    kind="signing",
)

#: ``t=`` is the timestamp, every ``v1=`` a candidate; ``v0`` and unknown schemes are ignored
#: (the kv parser only collects ``v1``), a repeated ``t=`` is refused as a doubled header.
VERIFIER = HmacVerifier(
    scheme="stripe",
    header="stripe-signature",
    format="kv",
    content="{timestamp}.{body}",
    kv_timestamp_key="t",
    kv_signature_key="v1",
    tolerance_s=300,
)


def amount_exponent(currency: str) -> int:
    """Digits after the point in Stripe's integer ``amount`` for ``currency`` (ISO code, any case)."""
    code = currency.lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_decimal(amount: int, currency: str) -> Decimal:
    """A Stripe integer amount as an exact decimal in major units: ``(1999, "usd")`` -> ``19.99``."""
    return Decimal(amount).scaleb(-amount_exponent(currency))


# --- models (tolerant: Stripe adds fields with every version) -------------------------------------


class _Model(BaseModel):
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
