"""QuickBooks Online, declared once: OAuth, limits, idempotency, the realm - cheap to import.

The package: this module (the app and its OAuth connection, the minor version, limits),
:mod:`.models` (receipts as Intuit takes them, its answers and faults), :mod:`.client` (the typed
calls, with ``requestid``), :mod:`.actions` (``accounting.record_sale`` / ``record_refund``) and the
local stand-in :mod:`.standin`.

Sources (Intuit's own documentation, blog and SDKs), for minor version :data:`MINOR_VERSION`:

* Accounting API base URLs ``https://quickbooks.api.intuit.com`` (production) and
  ``https://sandbox-quickbooks.api.intuit.com`` (Intuit's developer sandbox companies); every entity
  lives under ``/v3/company/{realmId}/``; ``?minorversion=75`` pins the newest minor version (Intuit
  retired minor versions 1-74 on 2025-08-01, so 75 is also the oldest accepted).
  https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/minor-versions,
  ``ej2/python-quickbooks`` ``quickbooks/client.py`` (``api_url_v3``, ``minorversion`` parameter).
* Idempotency: ``?requestid=<id>`` - "If the service receives another request with the same
  RequestID, instead of performing the operation again or returning an error, the service sends the
  same response as it did for the original request"; unique per company, "a maximum of 50 characters
  for all operations except batch". https://blogs.intuit.com/2015/04/06/15346/ - which names no
  retention: how long Intuit remembers an id is not documented (docs/provider-guarantees.md), so the
  ledger carries "booked once" past it (:mod:`.client`).
* Limits: 500 requests per minute per realm and app, and at most 10 concurrent requests per realm;
  over either, ``429`` with ``message=ThrottleExceeded; errorCode=003001; statusCode=429``.
  https://blogs.intuit.com/2016/08/08/idg-concurrent-api-use-changes-coming-soon/
* Connecting a company (authorization code grant): authorization endpoint
  ``https://appcenter.intuit.com/connect/oauth2`` with ``client_id``, ``response_type=code``,
  ``scope``, ``redirect_uri`` and ``state``; the callback carries ``code`` (at most 512 characters),
  ``state`` and ``realmId`` (the company), or ``error=access_denied``; the code is exchanged at the
  token endpoint with ``grant_type=authorization_code`` and the same ``redirect_uri``.
  https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0,
  https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-openid-discovery-doc,
  ``intuitlib/client.py`` (``get_authorization_url``, ``get_bearer_token``).
* OAuth 2.0: token endpoint ``https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer``, client
  authenticated with HTTP Basic (client id : client secret), access tokens live one hour, refresh
  tokens rotate (each refresh may return a new one; the old stops working after a while) and a
  disconnected or expired one answers ``400 {"error": "invalid_grant"}``.
  https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0,
  ``intuit/oauth-pythonclient`` ``intuitlib/client.py`` (``refresh``, ``get_auth_header``).

Importing this module must stay cheap: specs import it for :data:`CONNECTION` on the ingress path,
so it holds no pydantic model and imports no HTTP library.
"""

from __future__ import annotations

from typing import Final

from shared.app import App

__all__ = [
    "APP",
    "CONNECTION",
    "LOCAL_REALM_ID",
    "MAX_PRIVATE_NOTE",
    "MAX_REQUEST_ID",
    "MINOR_VERSION",
    "SANDBOX_BASE_URL",
]

#: The minor version every request pins (``?minorversion=``).
MINOR_VERSION: Final = "75"
#: Intuit's developer sandbox companies, for a connection's ``base_url``.
SANDBOX_BASE_URL: Final = "https://sandbox-quickbooks.api.intuit.com"
#: "The RequestID can have a maximum of 50 characters for all operations except batch."
MAX_REQUEST_ID: Final = 50
#: A realm id of the shape Intuit gives sandbox companies (what ``make dev`` stores locally).
LOCAL_REALM_ID: Final = "9341453050224"
#: ``PrivateNote``'s documented maximum length.
MAX_PRIVATE_NOTE: Final = 4000

APP = App(
    name="quickbooks",
    base_url="https://quickbooks.api.intuit.com",
    auth="oauth2",
    token_url="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
    token_auth="basic",
    token_field="access_token",
    extra_fields=("realm_id",),
    local_overrides={"realm_id": LOCAL_REALM_ID},
    # Intuit documents no Retry-After on its 429s; one from a proxy in front of it wins.
    retry_after_headers=("retry-after",),
    # 10 concurrent requests per realm is Intuit's hard limit, shared by every app worker and every
    # other integration of the same company; a sale is one or two calls, so 3 in flight per client
    # keeps two workers (the SQS floor) at 6, well inside it.
    max_concurrency=3,
    rate_per_s=8.0,  # QuickBooks: 500 requests per minute per company (realm)
    # Creating a transaction is typically 0.5-2 s; allow for Intuit's slow tail before retrying
    # (requestid makes the retry safe even when the slow request did go through).
    read_timeout_s=20.0,
    idempotency=(
        "requestid query parameter on every create (at most 50 characters, unique per company; retention "
        "undocumented), and a retried ledger step first finds its receipt by the requestid in PrivateNote"
    ),
    docs_url="https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/salesreceipt",
    title="QuickBooks",
    # Connect links (switchboard connect quickbooks): Intuit's authorization endpoint, from its
    # discovery document; the company comes back on the callback as realmId. Intuit documents no PKCE
    # for its web-server flow (its discovery document lists none; its SDKs send none), so a confidential
    # client with a signed, single-use state is what its flow is.
    authorize_url="https://appcenter.intuit.com/connect/oauth2",
    scopes=("com.intuit.quickbooks.accounting",),
    callback_fields={"realmId": "realm_id"},
    redirect_setup="developer.intuit.com > your app > Keys and credentials > Redirect URIs",
)

CONNECTION = APP.connection(
    description=(
        "QuickBooks Online company connection (OAuth 2.0): the Intuit app's client_id and client_secret "
        "(developer.intuit.com > the app > Keys and credentials), the company's realm_id, and a "
        "refresh_token from connecting the company (scope com.intuit.quickbooks.accounting). The "
        "access token and the rotated refresh token are written back here by Switchboard."
    )
)
