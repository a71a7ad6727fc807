"""Xero (Accounting API), declared once: OAuth, the tenant, limits, idempotency, webhooks - cheap to import.

The package: this module (the app, its OAuth connection, the webhook key and verifier, limits),
:mod:`.webhooks` (what Xero's webhooks deliver), :mod:`.models` (invoices, payments, credit notes,
contacts as Xero takes and answers them; its errors and ``/Date(...)/`` times), :mod:`.client` (the
typed calls, each write under an ``Idempotency-Key``), :mod:`.setup` (the start-up check of the
configured accounts and tax types), :mod:`.actions` (``accounting.record_sale`` / ``record_refund``),
the local stand-in :mod:`.standin` and the chaos hooks :mod:`.chaos`.

Sources (Xero's own documentation and its published OpenAPI description, ``XeroAPI/Xero-OpenAPI``
``xero_accounting.yaml`` 16.1.0):

* OAuth 2.0 (authorization code flow for a web app): authorization endpoint
  ``https://login.xero.com/identity/connect/authorize`` (``response_type=code``, ``client_id``,
  ``redirect_uri``, ``scope``, ``state``); token endpoint ``https://identity.xero.com/connect/token``
  with the client authenticated by HTTP Basic (``client_id:client_secret``); access tokens live 30
  minutes (``expires_in: 1800``); refresh tokens rotate - every refresh answers a new one, and the old
  one stops working (after a 30-minute grace period) - and a refresh token unused for 60 days expires;
  ``offline_access`` is the scope that yields a refresh token.
  https://developer.xero.com/documentation/guides/oauth2/auth-flow/
* Tenants: a token may reach several organisations, the ones the user ticked on Xero's consent page;
  ``GET https://api.xero.com/connections`` lists them (``[{"id", "authEventId", "tenantId",
  "tenantType": "ORGANISATION", "tenantName", "createdDateUtc", "updatedDateUtc"}]``) and every
  Accounting API call names one in the ``xero-tenant-id`` header (the OpenAPI's ``requiredHeader``).
  The chosen ``tenant_id`` is kept in the connection's secret, like QuickBooks' ``realm_id``: a
  connect link stores it after the code exchange (:mod:`apps.xero.connect`, ``after_connect``); when
  it is not set and the token reaches exactly one organisation, that one is used
  (:func:`apps.xero.client.resolve_tenant`).
  https://developer.xero.com/documentation/guides/oauth2/tenants/
* Scopes: apps created after 2 March 2026 get granular scopes only (``accounting.transactions`` is
  retired for them; older apps migrate by September 2027): ``accounting.invoices`` (invoices and credit
  notes), ``accounting.payments``, ``accounting.contacts``, ``accounting.settings.read`` (accounts and
  tax rates for the start-up check). https://developer.xero.com/documentation/guides/oauth2/scopes/ ,
  summarised at https://www.apideck.com/blog/xero-scopes (2026-03-18).
* Limits, per organisation (tenant) and app: 60 calls a minute, 5,000 a day, 5 calls in progress at
  once (and 10,000 a minute per app across all tenants). Past one: ``429`` with ``Retry-After``
  (seconds) and ``X-Rate-Limit-Problem: minute | day | concurrent | appminute``; answers carry
  ``X-DayLimit-Remaining``, ``X-MinLimit-Remaining`` and ``X-AppMinLimit-Remaining``. The shared
  client (:mod:`shared.http`) turns a 429 into a wait of at least ``Retry-After`` - a day-limit 429
  carries the hours to wait in the same header, so one rule honours all three.
  https://developer.xero.com/documentation/guides/oauth2/limits/
* Idempotency: the ``Idempotency-Key`` request header on PUT/POST, "128 character max"
  (``xero_accounting.yaml`` ``components.parameters.idempotencyKey``): a repeated key answers the
  first answer instead of writing again.
  https://developer.xero.com/documentation/guides/idempotent-requests/idempotency/
* Webhooks: ``x-xero-signature`` is the base64 HMAC-SHA256 of the raw body under the app's webhook key;
  before Xero delivers anything it checks the endpoint ("intent to receive"): a correctly signed
  request must be answered ``200`` and an incorrectly signed one ``401``, both with an empty body,
  within 5 seconds. https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/

Importing this module must stay cheap: specs import it on the ingress path, so it holds no pydantic
model and imports no HTTP library.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from shared.app import App
from shared.spec import Connection
from shared.webhooks.hmac import HmacVerifier

__all__ = [
    "APP",
    "CONNECTION",
    "LOCAL_TENANT_ID",
    "MAX_IDEMPOTENCY_KEY",
    "SIGNING",
    "TENANT_HEADER",
    "VERIFIER",
]

#: The header every Accounting API call names its organisation in.
TENANT_HEADER: Final = "xero-tenant-id"
#: "This allows you to safely retry requests without the risk of duplicate processing. 128 character max."
MAX_IDEMPOTENCY_KEY: Final = 128
#: A tenant id of Xero's shape (a UUID) for the local organisation of ``make dev``.
LOCAL_TENANT_ID: Final = "3f1c1b2a-7d4e-4c55-9a0e-5b8f2d6c4e10"

APP = App(
    name="xero",
    base_url="https://api.xero.com",
    auth="oauth2",
    token_url="https://identity.xero.com/connect/token",
    token_auth="basic",
    token_field="access_token",
    # Xero's Retry-After is in seconds; X-Rate-Limit-Problem says which limit, not how long.
    retry_after_headers=("retry-after",),
    # 5 calls in progress per organisation is Xero's hard limit, shared with every other app the
    # business connected; a sale is two or three calls, so 2 in flight per client keeps two workers at 4.
    max_concurrency=2,
    rate_per_s=1.0,  # Xero: 60 calls a minute per organisation
    # An invoice create is typically under a second; allow for Xero's slow tail before retrying
    # (Idempotency-Key makes the retry safe even when the slow request did go through).
    read_timeout_s=20.0,
    # The access token lives 30 minutes: refresh 5 minutes ahead, as for every OAuth app.
    refresh_margin_s=300,
    idempotency=(
        "Idempotency-Key header on every PUT (at most 128 characters), derived from the sale or refund key "
        "and the entity, so a retried write answers the first answer"
    ),
    docs_url="https://developer.xero.com/documentation/api/accounting/invoices",
    title="Xero",
    authorize_url="https://login.xero.com/identity/connect/authorize",
    scopes=(
        "offline_access",
        "accounting.invoices",
        "accounting.payments",
        "accounting.contacts",
        "accounting.settings.read",
    ),
    redirect_setup="developer.xero.com > My Apps > the app > Configuration > Redirect URIs",
    # The callback names no organisation: after the exchange, /connections says which were ticked.
    after_connect="apps.xero.connect:connected_tenant",
)


def _with_tenant(base: Connection) -> Connection:
    """``base`` with ``tenant_id`` as an optional field (and its local value)."""
    return dataclasses.replace(
        base, optional=(*base.optional, "tenant_id"), local={**base.local, "tenant_id": LOCAL_TENANT_ID}
    )


#: The organisation connection. ``tenant_id`` is optional: a connect link stores it, and a token that
#: reaches one organisation needs none (it is looked up at ``/connections``); with several, it names
#: the one to book in.
CONNECTION: Final = _with_tenant(
    APP.connection(
        description=(
            "Xero organisation connection (OAuth 2.0): the Xero app's client_id and client_secret "
            "(developer.xero.com > My Apps > the app > Configuration), and a refresh_token from connecting "
            "the organisation (switchboard connect xero; scopes offline_access accounting.invoices "
            "accounting.payments accounting.contacts accounting.settings.read). tenant_id names the "
            "organisation (stored by connecting; with several connected, set it to one listed by GET "
            "https://api.xero.com/connections). The access token and the rotated refresh token are "
            "written back here by Switchboard."
        )
    )
)

SIGNING: Final = Connection(
    name="xero_signing",
    app="xero",
    description=(
        "Webhook key of the Xero app (developer.xero.com > My Apps > the app > Webhooks > Webhooks key). "
        "During a rotation keep the old key as previous_secret until Xero has switched."
    ),
    fields=("secret",),
    optional=("previous_secret",),
    local={"secret": "sandbox-xero-webhook-key"},
    kind="signing",
)

#: Base64 HMAC-SHA256 of the raw body, nothing else signed (no timestamp: Xero sends none, so a
#: replayed delivery is caught by the events' own ids, not by the signature). The intent-to-receive
#: check wants bare answers - 200 or 401 with no body - which ``empty_answers`` asks the ingress for.
VERIFIER: Final = HmacVerifier(
    scheme="xero", header="x-xero-signature", encoding="base64", content="{body}", empty_answers=True
)
