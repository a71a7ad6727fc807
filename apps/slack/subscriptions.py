"""A Slack app's Request URLs are set in its settings, not through an API: the steps, with our URL.

Interactivity (button clicks: ``block_actions``) goes to the one Request URL of the app's
*Interactivity & Shortcuts* page; every request is signed with the app's signing secret
(``X-Slack-Signature``, see :mod:`apps.slack`). ``switchboard webhooks register slack_interactivity``
prints these (``manual_steps``): that integration owns the one URL and hands each click to the flow
whose button it is, over the bus (``chat.button_clicked``). Sources: https://docs.slack.dev/interactivity/handling-user-interaction
(enabling interactivity, the Request URL) and
https://docs.slack.dev/authentication/verifying-requests-from-slack (Basic Information > App
Credentials > Signing Secret; Regenerate for a rotation).
"""

from __future__ import annotations

from shared.subscriptions import ManualSetup

__all__ = ["manual_steps"]


def manual_steps(setup: ManualSetup) -> list[str]:
    secret = setup.signing.name
    return [
        "Open the Slack app's settings: https://api.slack.com/apps > the app > Interactivity & Shortcuts.",
        f"Turn Interactivity on and set the Request URL to {setup.url} - Save Changes.",
        "Copy the app's Signing Secret (Basic Information > App Credentials) - it signs every request - "
        f"and store it: switchboard secrets set {secret} secret=-{setup.stage_flag}",
        "Rotating it (Regenerate): first keep the current one as the previous secret: "
        f"switchboard secrets set {secret} previous_secret=-{setup.stage_flag}, then store the new one.",
        "Slack must get an answer (HTTP 200) within 3 seconds; Switchboard answers at once and does the "
        "work after.",
    ]
