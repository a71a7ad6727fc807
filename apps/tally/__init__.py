"""Tally (tally.so) forms: how Tally signs the webhooks it sends on each form submission.

Docs: https://tally.so/help/webhooks ("Add a signing secret"). When a signing secret is set on the
webhook, each request carries a ``Tally-Signature`` header: the base64 HMAC-SHA256 of the JSON payload,
keyed with the secret as text. Tally's own example recomputes it over ``JSON.stringify(req.body)``; we
sign the raw body instead, which is the same bytes for Tally's compact JSON and cannot be broken by a
re-serialization that orders or escapes differently.

Tally signs no timestamp and no id, so a captured request stays valid: replays are stopped by the
idempotency key (the payload's ``eventId``), not by the signature.

Switchboard only *receives* from Tally: the package is this module (cheap: the ingress path imports
it) and :mod:`.webhooks`, the shape of what Tally delivers - no client, no stand-in.
"""

from __future__ import annotations

from shared.spec import Connection
from shared.webhooks.hmac import HmacVerifier

__all__ = ["SIGNING", "VERIFIER"]

VERIFIER = HmacVerifier(scheme="tally", header="tally-signature", encoding="base64", content="{body}")

SIGNING = Connection(
    name="tally_signing",
    app="tally",
    description="Signing secret of the Tally form webhook (Integrations > Webhooks > Signing secret)",
    fields=("secret",),
    optional=("previous_secret",),
    local={"secret": "sandbox-tally-signing-secret"},
    kind="signing",
)
