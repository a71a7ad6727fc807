"""Calendly (API v2), declared once: how its webhooks are signed, event names, URI helpers - cheap to import.

Switchboard's functions only *receive* from Calendly (no API calls), so the package is this module
(the signature scheme, the signing secret, the event names, the resource-URI helpers), :mod:`.webhooks`
(the payload shapes), :mod:`.subscriptions` (the webhook subscriptions API the operator's ``switchboard
webhooks register`` uses, with :data:`CONNECTION` - never granted to a function) and the local
stand-in :mod:`.standin`.

Sources:

* Webhook signatures: https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures -
  ``Calendly-Webhook-Signature: t=<unix seconds>,v1=<hex>``, where ``v1`` is the hex HMAC-SHA256 of
  ``"<t>.<raw body>"`` keyed with the subscription's webhook signing key. Calendly's own example
  rejects a ``t`` older than three minutes ("we set the application's tolerance zone to 3 minutes"),
  which :data:`VERIFIER` applies both ways (a ``t`` three minutes in the future is refused too).
* Reschedules: https://developer.calendly.com/docs/api-guides/see-how-webhook-payloads-change-when-invitees-reschedule-events -
  a reschedule sends *both* ``invitee.canceled`` (old invitee, ``rescheduled: true``,
  ``new_invitee`` set) and ``invitee.created`` (new invitee on a new scheduled event, ``old_invitee``
  set). Invitee URIs are ``https://api.calendly.com/scheduled_events/<event uuid>/invitees/<uuid>``,
  so the old *event* is readable from ``old_invitee``.

* Webhook subscriptions: ``POST /webhook_subscriptions`` with a personal access token (scopes
  ``webhooks:write``, ``webhooks:read``, ``users:read``); the ``signing_key`` is ours to choose and
  "write-only"; "In one organization, subscriptions for the same user cannot share a URL", and a
  subscription cannot be changed, only deleted and made again.
  https://developer.calendly.com/docs/webhooks/overview

Calendly has no event id header: an invitee's URI names one booking by one person, and
``event`` + invitee uuid names one webhook (Calendly re-sends the same body on a retry).

Importing this module must stay cheap (ingress path): the standard library only, no pydantic model.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Final

from shared.app import App
from shared.spec import Connection
from shared.webhooks.hmac import HmacVerifier

__all__ = [
    "APP",
    "CONNECTION",
    "INVITEE_CANCELED",
    "INVITEE_CREATED",
    "SIGNING",
    "TOLERANCE_S",
    "VERIFIER",
    "event_uuid_of_invitee",
    "uuid_of",
]

INVITEE_CREATED: Final = "invitee.created"
INVITEE_CANCELED: Final = "invitee.canceled"
#: Calendly's documented example tolerates three minutes.
TOLERANCE_S: Final = 180

VERIFIER = HmacVerifier(
    scheme="calendly",
    header="calendly-webhook-signature",
    encoding="hex",
    format="kv",
    kv_timestamp_key="t",
    kv_signature_key="v1",
    content="{timestamp}.{body}",
    tolerance_s=TOLERANCE_S,
)

APP = App(
    name="calendly",
    base_url="https://api.calendly.com",
    auth="bearer",
    token_field="token",
    max_concurrency=2,
    rate_per_s=8.0,  # Calendly: 500 requests per user per minute (paid plans)
    docs_url="https://developer.calendly.com/api-docs",
)

#: The operator's token for ``switchboard webhooks register`` (never granted to a function).
#: ``scope`` (optional): ``user`` (default; the token owner's bookings) or ``organization`` (every
#: member's; needs an owner's or admin's token).
CONNECTION = replace(
    APP.connection(
        description=(
            "Calendly personal access token (Integrations > API & Webhooks > Personal access tokens; "
            "scopes webhooks:read, webhooks:write, users:read). Used only by switchboard webhooks "
            "register. Optional scope: user (default) or organization (an owner's or admin's token)."
        )
    ),
    optional=("base_url", "scope"),
)

SIGNING = Connection(
    name="calendly_signing",
    app="calendly",
    description=(
        "Webhook signing key of the Calendly webhook subscription (the signing_key given when the "
        "subscription was created with POST /webhook_subscriptions, or the OAuth app's key). During a "
        "rotation keep the old key as previous_secret until Calendly has switched."
    ),
    fields=("secret",),
    optional=("previous_secret",),
    local={"secret": "sandbox-calendly-signing-key"},
    kind="signing",
)

# https://api.calendly.com/scheduled_events/<uuid>/invitees/<uuid> (Calendly's uuids are opaque
# strings - hex with dashes today, upper-case letters in older accounts - so any path segment works).
_INVITEE_URI: Final = re.compile(r"/scheduled_events/([^/?#]+)/invitees/([^/?#]+)/?$")


def uuid_of(uri: str) -> str:
    """The last path segment of a Calendly resource URI (its uuid)."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


def event_uuid_of_invitee(invitee_uri: str) -> str | None:
    """The scheduled event's uuid from an invitee URI; ``None`` if it is not one."""
    found = _INVITEE_URI.search(invitee_uri)
    return found.group(1) if found else None
