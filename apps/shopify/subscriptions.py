"""Shopify's webhooks for ``switchboard webhooks register``: the steps a person takes in the Shopify admin.

Shopify does have a subscription API (GraphQL ``webhookSubscriptionCreate``, one subscription per
topic and URL), but it does not fit the two ways Switchboard's register reconciles a signing secret
(:mod:`shared.subscriptions`): Shopify neither returns a secret per subscription (Square, Stripe) nor
takes one we choose (Calendly, Cal.com). A subscription made through the API is signed with the
*app's client secret*; one made in the admin's notification settings with the *shop's webhook key*
shown there. Either is one value for every topic, entered once. So this module describes the admin
steps (``manual_steps``), and the secret goes into the signing connection by hand.

Sources: Shopify admin, Settings > Notifications > Webhooks ("Create webhook": event, format JSON,
URL, webhook API version; "Your webhooks will be signed with ..."), and
https://shopify.dev/docs/apps/build/webhooks/subscribe (app subscriptions, signed with the app's
client secret; ``X-Shopify-Hmac-Sha256``).
"""

from __future__ import annotations

from shared.subscriptions import ManualSetup

from . import SHOPIFY_API_VERSION

__all__ = ["manual_steps"]

#: The names the admin's event list shows for the topics Switchboard consumes.
_EVENT_NAMES = {
    "orders/paid": "Order payment",
    "refunds/create": "Refund create",
    "inventory_levels/update": "Inventory level update",
}


def manual_steps(setup: ManualSetup) -> list[str]:
    secret = setup.signing.name
    events = ", ".join(f"{_EVENT_NAMES.get(t, t)} ({t})" for t in setup.events)
    return [
        "In the Shopify admin, open Settings > Notifications > Webhooks.",
        f"For each of {events or 'the events'}: Create webhook, that event, format JSON, "
        f"URL {setup.url}, webhook API version {SHOPIFY_API_VERSION}; save.",
        "Copy the key the page shows under 'Your webhooks will be signed with' and store it: "
        f"switchboard secrets set {secret} secret=-{setup.stage_flag}",
        "  (webhooks your custom app subscribes through the Admin API are signed with the app's client "
        "secret instead: store that one if you subscribed that way)",
        "Send a test notification from the same page: it arrives with X-Shopify-Hmac-Sha256 and is "
        "accepted once the key is stored (a test order is not booked).",
    ]
