"""Square, declared once: auth, version pin, limits, webhook signing - cheap to import.

The package: this module (the app, its connections, its webhook verifier, the version pin and page
limits), :mod:`.webhooks` (what Square's notifications deliver - payments and refunds), :mod:`.models`
(the API's answers: catalog, inventory, orders, errors), :mod:`.client` (the typed calls),
:mod:`.actions` (``stock.get``, ``payments.list``, ``sales.get_order``), :mod:`.subscriptions` (the
Webhook Subscriptions API, for ``switchboard webhooks register``) and the local stand-in :mod:`.standin`.

Sources (Square's own reference and SDKs), for API version :data:`SQUARE_VERSION`:

* Versioning: every request may pin ``Square-Version: YYYY-MM-DD``; without it Square uses the
  version pinned to the application in the Developer Console, which can change under us. 2025-10-16
  is the default of Square's Python SDK 43.2.0.20251016 (``square/square-python-sdk``,
  ``src/square/core/client_wrapper.py``). https://developer.squareup.com/docs/build-basics/versioning-overview
* Rate limits: Square does not publish numbers ("Square does have rate limits but we don't document
  the limits"); it answers ``429`` with code ``RATE_LIMITED`` and asks for exponential back-off with
  jitter (``ErrorCategory.RATE_LIMIT_ERROR``).
* Webhooks: ``x-square-hmacsha256-signature`` is the base64 HMAC-SHA256, keyed with the subscription's
  signature key, of the notification URL followed by the raw body.
  https://developer.squareup.com/docs/webhooks/step3validate
* Webhook subscriptions are created through the Webhook Subscriptions API (:mod:`.subscriptions`),
  with the application's personal access token - "you cannot use OAuth access tokens with the
  Webhook Subscriptions API". https://developer.squareup.com/docs/webhooks/webhook-subscriptions-api
* Page limits: ``CatalogQuerySet.attribute_values`` at most 250, BatchRetrieveInventoryCounts ``limit``
  1-1000, ListPayments / ListPaymentRefunds ``limit`` at most 100 (the endpoints' sources are in
  :mod:`.client`).

The sandbox environment of Square itself is :data:`SANDBOX_BASE_URL`; locally a connection's
``base_url`` points at Switchboard's own sandbox app instead (``apps/square/standin/``).

Importing this module must stay cheap: specs import it on the ingress path for :data:`CONNECTION`,
:data:`SIGNING` and :data:`VERIFIER`. It holds no pydantic model and imports no HTTP library.
"""

from __future__ import annotations

import re
from typing import Final

from shared.app import App
from shared.spec import Connection
from shared.webhooks.hmac import HmacVerifier

__all__ = [
    "APP",
    "CONNECTION",
    "MAX_COUNTS_PAGE",
    "MAX_PAYMENTS_PAGE",
    "MAX_SET_QUERY_VALUES",
    "SANDBOX_BASE_URL",
    "SIGNING",
    "SQUARE_VERSION",
    "VERIFIER",
]

#: The API version every request pins (``Square-Version``). Change it deliberately, after reading
#: the release notes between the two versions: it changes shapes for every endpoint at once.
SQUARE_VERSION: Final = "2025-10-16"
#: Square's own test environment (separate sandbox accounts and tokens), for a connection's ``base_url``.
SANDBOX_BASE_URL: Final = "https://connect.squareupsandbox.com"
#: ``CatalogQuerySet.attribute_values``: "A maximum of 250 values may be searched in a request."
MAX_SET_QUERY_VALUES: Final = 250
#: ``BatchRetrieveInventoryCounts.limit`` maximum (and the largest page SearchCatalogObjects honours).
MAX_COUNTS_PAGE: Final = 1000
#: ListPayments / ListPaymentRefunds ``limit``: "The default value of 100 is also the maximum".
MAX_PAYMENTS_PAGE: Final = 100
_VERSION_FORMAT: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")

APP = App(
    name="square",
    base_url="https://connect.squareup.com",
    auth="bearer",
    token_field="token",
    default_headers={"square-version": SQUARE_VERSION},
    # Square documents no Retry-After on its 429s; when a proxy in front of it sends one, it wins
    # over the computed back-off. Without one, a synchronous route answers 503 with a short default.
    retry_after_headers=("retry-after",),
    # Square publishes no numeric limit. Its developer forum reports 429s from as little as ~6
    # requests/s from one application; 3 in flight per client (each call typically 100-300 ms)
    # stays well under that while a stock lookup (catalog search, then counts) runs its 2 calls.
    max_concurrency=3,
    rate_per_s=20.0,  # Square publishes no numbers: the stand-in's assumed 20 requests per second
    read_timeout_s=8.0,
    idempotency="idempotency_key on writes (CreatePayment, RefundPayment, BatchChangeInventory ...)",
    docs_url="https://developer.squareup.com/reference/square",
)

CONNECTION = APP.connection(
    description=(
        "Square access token (Developer Console > Credentials > Production access token, or an OAuth "
        "token of the seller). Permissions: ITEMS_READ (catalog search), INVENTORY_READ (counts), "
        "PAYMENTS_READ (payments, refunds), ORDERS_READ (orders)."
    )
)

SIGNING = Connection(
    name="square_signing",
    app="square",
    description=(
        "Signature key of the Square webhook subscription (switchboard webhooks register stores it, or "
        "Developer Console > Webhooks > Subscriptions). During a rotation keep the old key as "
        "previous_secret until Square has switched. notification_url pins the URL Square signs (set by "
        "webhooks register): needed behind a proxy or custom domain that rewrites Host."
    ),
    fields=("secret",),
    optional=("previous_secret", "notification_url"),
    local={"secret": "sandbox-square-signature-key"},
    kind="signing",
)

#: Square signs the notification URL exactly as configured in the subscription, then the raw body.
#: The URL is rebuilt from ``Host`` and ``X-Forwarded-Proto`` unless :data:`SIGNING` pins it in
#: ``notification_url`` (:mod:`shared.webhooks.signing`): behind a proxy or a custom domain that
#: rewrites ``Host`` only the pinned URL is the one Square signed.
VERIFIER = HmacVerifier(
    scheme="square", header="x-square-hmacsha256-signature", encoding="base64", content="{url}{body}"
)

if not _VERSION_FORMAT.match(SQUARE_VERSION):  # pragma: no cover - a typo must fail at import
    raise ValueError(f"SQUARE_VERSION {SQUARE_VERSION!r} is not YYYY-MM-DD")
