"""Shopify, declared once: the Admin API version pin, auth, limits, webhook signing - cheap to import.

The package: this module (the app, its connections, its webhook verifier, the version pin),
:mod:`.webhooks` (what Shopify's webhooks deliver - ``orders/paid``, ``refunds/create``,
``inventory_levels/update``), :mod:`.models` (the GraphQL Admin API's answers and errors),
:mod:`.client` (the typed GraphQL calls), :mod:`.actions` (``stock.get``, ``stock.count``,
``stock.adjust``, ``payments.list_online``),
:mod:`.subscriptions` (the admin steps ``switchboard webhooks register`` prints) and
the local stand-in :mod:`.standin`.

Sources (Shopify's own reference), for API version :data:`SHOPIFY_API_VERSION`:

* Versioning: every URL names its version, ``/admin/api/<YYYY-MM>/graphql.json``; Shopify releases one
  a quarter and supports each for at least 12 months, then answers the oldest supported one instead.
  https://shopify.dev/docs/api/usage/versioning. 2026-04 is pinned because it is the first version in
  which inventory mutations *require* the ``@idempotent`` directive and an explicit
  ``changeFromQuantity`` (compare-and-swap), which :mod:`.client` sends:
  https://shopify.dev/changelog/making-idempotency-mandatory-for-inventory-adjustments-and-refund-mutations,
  https://shopify.dev/docs/api/admin-graphql/2026-07/input-objects/InventoryChangeInput.
* Auth: a custom app's Admin API access token (``shpat_...``) in ``X-Shopify-Access-Token``.
  https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/generate-app-access-tokens-admin
* Rate limits: the GraphQL Admin API is a leaky bucket of *query cost* per app and shop - 1,000 points,
  restored at 50 points a second on the standard plan (Advanced 100, Plus 500). A throttled request is
  answered ``200`` with ``errors[].extensions.code == "THROTTLED"`` and
  ``extensions.cost.throttleStatus`` (``maximumAvailable``, ``currentlyAvailable``, ``restoreRate``).
  https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits
* Webhooks: ``X-Shopify-Hmac-Sha256`` is the base64 HMAC-SHA256 of the raw body, keyed with the app's
  client secret; ``X-Shopify-Topic`` names the topic, ``X-Shopify-Webhook-Id`` the delivery (the same
  on Shopify's retries), ``X-Shopify-Event-Id`` the event, ``X-Shopify-Triggered-At`` when it fired.
  Nothing but the body is signed, so there is no timestamp to check: a replayed delivery is the same
  event and the ledger keys (order id, refund id) make it a duplicate.
  https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-2-validate-the-origin-of-your-webhook
  and ``Shopify/shopify-app-js`` ``packages/apps/shopify-api/lib/webhooks/validate.ts`` (``HMAC`` over
  the raw body, ``X-Shopify-Webhook-Id`` as the delivery id).

Importing this module must stay cheap: specs import it on the ingress path for :data:`SIGNING` and
:data:`VERIFIER`. It holds no pydantic model and imports no HTTP library.
"""

from __future__ import annotations

import re
from typing import Final

from shared.app import App
from shared.spec import Connection
from shared.webhooks.hmac import HmacVerifier

__all__ = [
    "APP",
    "BUCKET_POINTS",
    "CONNECTION",
    "GRAPHQL_PATH",
    "RESTORE_PER_S",
    "SHOPIFY_API_VERSION",
    "SIGNING",
    "VERIFIER",
    "WEBHOOK_ID_HEADER",
    "WEBHOOK_TOPIC_HEADER",
]

#: The Admin API version every URL names. Change it deliberately, after reading the release notes
#: between the two versions: it changes shapes (and required arguments) for every operation at once.
SHOPIFY_API_VERSION: Final = "2026-04"
#: The one GraphQL endpoint, built from the pin (never written out elsewhere).
GRAPHQL_PATH: Final = f"/admin/api/{SHOPIFY_API_VERSION}/graphql.json"
#: The leaky bucket of the standard plan: points at most, and points restored per second.
BUCKET_POINTS: Final = 1000
RESTORE_PER_S: Final = 50.0
#: The headers that carry a webhook's topic and its delivery id (lower case, as the ingress sees them).
WEBHOOK_TOPIC_HEADER: Final = "x-shopify-topic"
WEBHOOK_ID_HEADER: Final = "x-shopify-webhook-id"
_VERSION_FORMAT: Final = re.compile(r"^\d{4}-(01|04|07|10)$")

APP = App(
    name="shopify",
    # Every shop has its own host; the connection's base_url (required) names it.
    base_url="https://example.myshopify.com",
    auth="header",
    auth_header="x-shopify-access-token",
    token_field="token",
    # GraphQL throttling is a 200 (mapped by the client); a 429 (REST, or a proxy) may say Retry-After.
    retry_after_headers=("retry-after",),
    # A stock lookup costs ~10-20 points; 50 points/s restored sustains a few requests a second.
    max_concurrency=2,
    rate_per_s=3.0,
    read_timeout_s=10.0,
    idempotency="@idempotent(key:) directive on inventory mutations (required from 2026-04)",
    docs_url="https://shopify.dev/docs/api/admin-graphql",
    title="Shopify",
)

CONNECTION = Connection(
    name="shopify",
    app="shopify",
    description=(
        "Shopify custom app (Settings > Apps and sales channels > Develop apps > the app > API "
        "credentials): the Admin API access token (shpat_...) as token, and the shop's admin URL "
        "https://<shop>.myshopify.com as base_url. Scopes: read_products, read_inventory, "
        "write_inventory (stock), read_orders; webhooks register also needs the topics' read scopes."
    ),
    fields=("token", "base_url"),
    local={"token": "shpat_sandbox0shopify0admin0api0token", "base_url": "{sandbox}/shopify"},
    kind="api",
)

SIGNING = Connection(
    name="shopify_signing",
    app="shopify",
    description=(
        "The key Shopify signs webhooks with: for webhooks made in Settings > Notifications > Webhooks, "
        "the key shown there ('Your webhooks will be signed with ...'); for webhooks the custom app "
        "subscribes through the API, the app's client secret (API credentials). When it is rotated, "
        "keep the old one as previous_secret until Shopify signs with the new one."
    ),
    fields=("secret",),
    optional=("previous_secret",),
    local={"secret": "sandbox-shopify-client-secret"},
    kind="signing",
)

#: The raw body only, base64, one signature per header. ``id_header`` makes the signer (``switchboard
#: send``, the replay, tests) send the delivery id as Shopify does; it is not part of what is signed.
VERIFIER = HmacVerifier(
    scheme="shopify",
    header="x-shopify-hmac-sha256",
    encoding="base64",
    content="{body}",
    id_header=WEBHOOK_ID_HEADER,
)

if not _VERSION_FORMAT.match(SHOPIFY_API_VERSION):  # pragma: no cover - a typo must fail at import
    raise ValueError(f"SHOPIFY_API_VERSION {SHOPIFY_API_VERSION!r} is not a quarterly YYYY-MM release")
