"""Cal.com, declared once: how its webhooks are signed, their trigger names - cheap to import.

Switchboard's functions only *receive* from Cal.com (no API calls), so the package is this module (the
signature scheme, the signing secret, the trigger names), :mod:`.webhooks` (the payload shapes),
:mod:`.subscriptions` (the v2 webhooks API the operator's ``switchboard webhooks register`` uses, with
:data:`CONNECTION` - never granted to a function) and the local stand-in :mod:`.standin`.

Sources (Cal.com docs "Webhooks", https://cal.com/docs/developing/guides/automation/webhooks, payload
version ``2021-10-20`` as sent in the ``x-cal-webhook-version`` header):

* Signature: ``X-Cal-Signature-256`` is the hex HMAC-SHA256 of the raw request body keyed with the
  webhook's secret. There is no timestamp and no delivery id in the signature, so a captured request
  stays valid: replays are stopped by the idempotency key, not by the signature. A webhook created
  without a secret sends the literal ``no-secret-provided`` - which never verifies here (fail closed).

* Webhooks API: ``/v2/webhooks`` of Cal.com API v2 (v1 is deprecated), ``Authorization: Bearer
  cal_...`` (an API key, Settings > Developer > API keys); the ``secret`` is ours to choose and comes
  back in its answers; one webhook per subscriber URL and user ("Webhook with this subscriber url
  already exists for this user"). ``calcom/cal.com`` ``apps/api/v2/src/modules/webhooks/``
  (``webhooks.controller.ts``, ``inputs/webhook.input.ts``, ``outputs/webhook.output.ts``).

Importing this module must stay cheap (ingress path): the standard library only, no pydantic model.
"""

from __future__ import annotations

from typing import Final

from shared.app import App
from shared.spec import Connection
from shared.webhooks.hmac import HmacVerifier

__all__ = [
    "APP",
    "BOOKING_CANCELLED",
    "BOOKING_CREATED",
    "BOOKING_EVENTS",
    "BOOKING_RESCHEDULED",
    "CONNECTION",
    "NO_SECRET",
    "SIGNING",
    "VERIFIER",
]

BOOKING_CREATED: Final = "BOOKING_CREATED"
BOOKING_RESCHEDULED: Final = "BOOKING_RESCHEDULED"
BOOKING_CANCELLED: Final = "BOOKING_CANCELLED"
BOOKING_EVENTS: Final = (BOOKING_CREATED, BOOKING_RESCHEDULED, BOOKING_CANCELLED)
#: What Cal.com puts in the signature header of a webhook that has no secret.
NO_SECRET: Final = "no-secret-provided"

VERIFIER = HmacVerifier(scheme="calcom", header="x-cal-signature-256", encoding="hex", content="{body}")

APP = App(
    name="calcom",
    base_url="https://api.cal.com",
    auth="bearer",
    token_field="api_key",
    max_concurrency=2,
    rate_per_s=2.0,  # Cal.com API v2: 120 requests per 60 s per API key
    docs_url="https://cal.com/docs/api-reference/v2/webhooks/create-a-webhook",
    local_overrides={"api_key": "cal_test_sandbox_calcom_api_key"},
)

#: The operator's API key for ``switchboard webhooks register`` (never granted to a function).
CONNECTION = APP.connection(
    description=(
        "Cal.com API key (Settings > Developer > API keys, starts with cal_) of the account whose "
        "bookings are subscribed to. Used only by switchboard webhooks register."
    )
)

SIGNING = Connection(
    name="calcom_signing",
    app="calcom",
    description=(
        "Secret of the Cal.com webhook (Settings > Developer > Webhooks > Secret); Cal.com signs "
        "nothing without one. During a rotation keep the old one as previous_secret."
    ),
    fields=("secret",),
    optional=("previous_secret",),
    local={"secret": "sandbox-calcom-webhook-secret"},
    kind="signing",
)
