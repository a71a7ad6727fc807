"""A HubSpot app's webhook settings have no API for Switchboard to call: the steps, with our URL.

A HubSpot app (a private app in the portal, or a legacy public app in a developer account) has one
webhook target URL and a list of event subscriptions, set in its settings; deliveries are signed with
the app's client secret (``X-HubSpot-Signature-v3``, see :mod:`apps.hubspot`). ``switchboard webhooks
register new_lead_notify`` prints these (``manual_steps``).
Sources: https://developers.hubspot.com/docs/api/webhooks (target URL, subscriptions such as
``contact.creation``, activation) and
https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests (the client
secret signs).
"""

from __future__ import annotations

from shared.subscriptions import ManualSetup

__all__ = ["manual_steps"]


def manual_steps(setup: ManualSetup) -> list[str]:
    events = ", ".join(setup.events) or "contact.creation"
    secret = setup.signing.name
    return [
        "Open the HubSpot app's webhook settings: Settings > Integrations > Private Apps > the app > Webhooks "
        "(a public app: your developer account > Apps > the app > Webhooks).",
        f"Target URL: {setup.url}",
        f"Create subscription: {events} (object Contacts, event Created), and make sure it is active.",
        "Copy the app's client secret (the app's Auth tab) - it signs every delivery - and store it: "
        f"switchboard secrets set {secret} secret=-{setup.stage_flag}",
        "Save. HubSpot sends the event for each contact created from then on (in batches of up to 100).",
    ]
