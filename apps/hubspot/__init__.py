"""HubSpot, as every path may see it: the app, its connections, the webhook verifier, record pages.

Importing this package must stay cheap: the ingress path imports it for :data:`VERIFIER_V3`,
:data:`SIGNING` and :func:`portal_of`, so it holds no pydantic models and no client. The rest of
what Switchboard knows about HubSpot is in the package's modules, imported where it is needed:

* :mod:`.webhooks` - the events HubSpot's webhooks deliver (ingress path);
* :mod:`.models`, :mod:`.client` - the CRM API's answers and the typed client (worker path);
* :mod:`.actions` - the ``crm.*`` catalogue operations HubSpot performs;
* :mod:`.properties` - the contact properties a lead sets, Switchboard's custom ones, and the
  options of the defaults it fills; :mod:`.notes` - note bodies and their limits.

Sources (HubSpot's own documentation):

* Request validation v3 (``X-HubSpot-Signature-v3``, 5 minute window, URI decoding table):
  https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests
* Limits: https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from shared.app import App
from shared.spec import Connection
from shared.webhooks.hmac import HmacVerifier

__all__ = [
    "APP",
    "CONNECTION",
    "CONTACT_OBJECT_TYPE",
    "SIGNING",
    "VERIFIER_V3",
    "contact_url",
    "hubspot_v3_uri",
    "is_app_url",
    "portal_of",
]

APP = App(
    name="hubspot",
    base_url="https://api.hubapi.com",
    auth="bearer",
    token_field="token",
    # HubSpot documents ``Retry-After`` (seconds) on throttled answers. Its other rate-limit header,
    # ``X-HubSpot-RateLimit-Interval-Milliseconds``, is in milliseconds and is the window length, not
    # a wait: ``parse_retry_after`` reads seconds, so listing it here would wait 1000x too long.
    retry_after_headers=("retry-after",),
    # 423: "Locked" while HubSpot syncs a record (documented: wait at least 2 s); 477: "Migration in
    # Progress" with Retry-After. Both are "later", not "never".
    retryable_statuses=(423, 477),
    # Private apps get a burst limit per 10 s rolling window, counted per app per account: 100 on
    # Free/Starter, 190 on Professional/Enterprise, 250 with the API limit increase pack (and a
    # separate 5 req/s for CRM search, which only the crm.search_contacts tool uses). We size for
    # the lowest tier. A lead is two writes (upsert, note) of typically 150-400 ms each, so 3
    # requests in flight is at most ~10-20 req/s per worker: a full SQS batch (10 leads = 20
    # requests) finishes well inside one 10 s window of 100, leaving room for a second concurrent
    # worker and the portal's other integrations. A 429 is retried with back-off anyway; this cap
    # just keeps them rare.
    max_concurrency=3,
    rate_per_s=10.0,  # HubSpot: 100 requests per 10 s per private app (Free/Starter burst limit)
    idempotency="upsert by email (idProperty=email)",
    docs_url="https://developers.hubspot.com/docs/api-reference/latest/crm/objects/contacts/guide",
)

CONNECTION = APP.connection(
    description=(
        "HubSpot private app access token (Settings > Integrations > Private Apps). Scopes: "
        "crm.objects.contacts.read, crm.objects.contacts.write, crm.objects.owners.read, "
        "crm.schemas.contacts.read/write for creating the custom properties, and - for the assistant's "
        "deal tools (crm_list_deals, crm_create_deal, crm_move_deal_stage) - crm.objects.deals.read and "
        "crm.objects.deals.write (tasks and meetings need the contacts scopes only)."
    )
)

SIGNING = Connection(
    name="hubspot_signing",
    app="hubspot",
    description=(
        "The HubSpot app's client secret, which signs its webhooks (X-HubSpot-Signature-v3). "
        "During a rotation, keep the old one as previous_secret until HubSpot has switched."
    ),
    fields=("secret",),
    optional=("previous_secret",),
    local={"secret": "sandbox-hubspot-client-secret"},
    kind="signing",
)

# HubSpot's v3 rule: before hashing, decode exactly these percent-escapes in the request URI (and no
# others: "%20" stays "%20"). Listed in the "Validate the v3 request signature" table of
# https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests.
_V3_DECODED: Final[Mapping[str, str]] = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
# Hex digits in a percent-escape are case-insensitive (RFC 3986 section 2.1), so "%3a" is ":" too.
# One left-to-right pass, so "%253A" stays "%253A" (a literal "%3A"; never decoded twice).
_V3_ESCAPES: Final = re.compile("|".join(re.escape(k) for k in _V3_DECODED), re.IGNORECASE)


def hubspot_v3_uri(url: str) -> str:
    """The URI as HubSpot hashes it for ``X-HubSpot-Signature-v3``: only the listed escapes decoded.

    The sender and the receiver may see the same URL with different escaping (a proxy that
    re-encodes ``@`` in a query string, say); decoding a fixed set on both sides makes them agree.
    """
    return _V3_ESCAPES.sub(lambda m: _V3_DECODED[m.group(0).upper()], url)


VERIFIER_V3 = HmacVerifier(
    scheme="hubspot-v3",
    header="x-hubspot-signature-v3",
    encoding="base64",
    # Source string: requestMethod + requestUri + requestBody + timestamp, UTF-8, HMAC-SHA256 with
    # the client secret, base64. The timestamp is X-HubSpot-Request-Timestamp in milliseconds.
    content="{method}{url}{body}{timestamp}",
    timestamp_header="x-hubspot-request-timestamp",
    timestamp_unit="ms",
    # "Reject the request if the timestamp is older than 5 minutes."
    tolerance_s=300,
    url_normalizer=hubspot_v3_uri,
)

# --- record pages in HubSpot's web app -----------------------------------------------------------

#: HubSpot's object type id for contacts, as record pages name it.
CONTACT_OBJECT_TYPE: Final = "0-1"
# HubSpot's web app is app.hubspot.com, or a regional host for portals outside the US
# (app-eu1.hubspot.com); a contact's page is /contacts/<portal id>/record/0-1/<contact id>.
_RECORD_PAGE: Final = re.compile(r"^https://app(?:-[a-z0-9]+)?\.hubspot\.com/contacts/(\d+)/")
# A page of the web app with nothing in it that ends a link (Slack mrkdwn's "|" and ">", quotes).
_APP_PAGE: Final = re.compile(r"^https://app(?:-[a-z0-9]+)?\.hubspot\.com/[A-Za-z0-9/_.-]+$")


def contact_url(portal_id: str, contact_id: str) -> str:
    """The contact's page in HubSpot's web app; HubSpot sends a user of a regional portal on."""
    return f"https://app.hubspot.com/contacts/{portal_id}/record/{CONTACT_OBJECT_TYPE}/{contact_id}"


def portal_of(url: str | None) -> str | None:
    """The portal (HubSpot account id) a record page's URL names, or ``None`` if it is not one."""
    found = _RECORD_PAGE.match(url or "")
    return found.group(1) if found else None


def is_app_url(url: str) -> bool:
    """Whether ``url`` is a page of HubSpot's web app that can go into a link as it is."""
    return _APP_PAGE.match(url) is not None
