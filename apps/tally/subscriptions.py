"""Tally has no API for webhooks: the steps a person takes in Tally's form editor, with our URL.

``switchboard webhooks register website_to_crm`` prints these (``manual_steps``). Tally's webhook
takes an optional signing secret that *we* choose and type in; Tally then signs every delivery with
it (``Tally-Signature``, see :mod:`apps.tally`). The only event is ``FORM_RESPONSE``, one per
submission. Source: https://tally.so/help/webhooks ("Connect a webhook", "Add a signing secret").
"""

from __future__ import annotations

from shared.subscriptions import ManualSetup

__all__ = ["manual_steps"]


def manual_steps(setup: ManualSetup) -> list[str]:
    secret = setup.signing.name
    return [
        "In Tally, open the form, then Integrations > Webhooks > Connect.",
        f"Endpoint URL: {setup.url}",
        "Signing secret: choose a long random value (e.g. the output of `openssl rand -base64 32`), paste it "
        f"there and store the same value: switchboard secrets set {secret} secret=-{setup.stage_flag}",
        f"  (changing it: first `switchboard secrets set {secret} previous_secret=-{setup.stage_flag}` with the "
        "old value, so deliveries signed with either verify while you switch)",
        f"Leave the HTTP headers empty and save. Tally sends {', '.join(setup.events) or 'FORM_RESPONSE'} for "
        "every new submission; submit the form once to see it arrive.",
    ]
