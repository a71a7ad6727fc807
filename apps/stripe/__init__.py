"""Stripe, declared once: webhook signing and money rules - cheap to import.

Switchboard *receives* from Stripe (the till's card payments and their refunds); its functions never
call Stripe's API. The one API connection, :data:`CONNECTION`, is the operator's: ``switchboard webhooks
register`` creates the webhook endpoint with it (:mod:`.subscriptions`) and stores the endpoint's
signing secret in :data:`SIGNING`. No function is granted it.

Sources, for API version :data:`STRIPE_API_VERSION`:

* Webhook signatures: ``Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=<hex>]``;
  ``v1`` is the hex HMAC-SHA256 of ``"{t}.{raw body}"`` keyed with the endpoint's ``whsec_...``
  secret. "To prevent downgrade attacks, ignore all schemes that aren't v1"; while a secret is
  rolled, Stripe signs with each active secret, so several ``v1`` values arrive; the libraries'
  default tolerance is 300 s. https://docs.stripe.com/webhooks#verify-manually and
  ``stripe/stripe-python`` ``stripe/_webhook.py`` (``WebhookSignature``, ``DEFAULT_TOLERANCE = 300``).
* Amounts are integers in the currency's minor unit; zero-decimal currencies (JPY, KRW ...) are
  whole units, three-decimal ones (BHD, KWD ...) thousandths, and ISK stays two-decimal in the API
  although only whole krónur can be charged. https://docs.stripe.com/currencies#zero-decimal,
  https://docs.stripe.com/currencies#three-decimal,
  https://support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds
* The current API version name: ``stripe/agent-toolkit`` skill ``upgrade-stripe`` ("The latest Stripe
  API version is 2026-04-22.dahlia"); webhook payloads are rendered in the endpoint's own version,
  so the models accept any version and ignore fields they do not know.
* API keys: a restricted key (``rk_live_...``) can be limited to "Webhook Endpoints: Write";
  authentication is ``Authorization: Bearer <key>``. https://docs.stripe.com/keys#limit-access

The event and charge shapes Stripe's webhooks deliver are in :mod:`.webhooks`; the local stand-in is
:mod:`.standin`.

Importing this module must stay cheap: the ingress path imports it for :data:`SIGNING` and
:data:`VERIFIER` (standard library only; no pydantic model).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from shared.app import App
from shared.spec import Connection
from shared.webhooks.hmac import HmacVerifier

__all__ = [
    "APP",
    "CONNECTION",
    "SIGNING",
    "STRIPE_API_VERSION",
    "THREE_DECIMAL_CURRENCIES",
    "VERIFIER",
    "ZERO_DECIMAL_CURRENCIES",
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

APP = App(
    name="stripe",
    base_url="https://api.stripe.com",
    auth="bearer",
    token_field="api_key",
    # Stripe's default limit is 100 read and 100 write operations per second in live mode; the
    # operator's few endpoint calls are far below it.
    max_concurrency=2,
    rate_per_s=25.0,  # Stripe: 25 operations per second in test mode (100 live)
    idempotency="Idempotency-Key header on POST",
    docs_url="https://docs.stripe.com/api/webhook_endpoints",
    local_overrides={"api_key": "sk_test_sandbox"},
)

#: The operator's key for ``switchboard webhooks register`` (never granted to a function).
CONNECTION = APP.connection(
    description=(
        "Stripe restricted key (Dashboard > Developers > API keys > Create restricted key) with "
        "Webhook Endpoints: Write, or the secret key. Used only by switchboard webhooks register, "
        "which creates the webhook endpoint and stores its signing secret in stripe_signing."
    )
)

SIGNING = Connection(
    name="stripe_signing",
    app="stripe",
    description=(
        "Signing secret (whsec_...) of the Stripe webhook endpoint (switchboard webhooks register stores "
        "it, or Dashboard > Developers > Webhooks > the endpoint > Signing secret). When rolling it, keep "
        "the old one as previous_secret until it expires (Stripe signs with both meanwhile)."
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
