"""Slack, as every path may see it: the app (auth, limits) and its connection.

Importing this package must stay cheap: specs import it for :data:`CONNECTION` on the ingress path,
so it holds no pydantic models and no client. The rest of what Switchboard knows about Slack's Web
API is in the package's modules, imported where it is needed:

* :mod:`.models`, :mod:`.client` - Slack's answers and the typed client, which reads ``ok`` on every
  answer and maps Slack's error codes (worker path);
* :mod:`.actions` - the ``slack.post_message`` catalogue operation, posted once per ledger step;
* :mod:`.blocks` - ``mrkdwn`` escaping and Block Kit's limits and builders, for the integrations'
  messages;
* :mod:`.interactivity` - the payloads Slack posts when someone clicks a button in a message
  (ingress path).

Slack signs the requests it sends (interactivity, slash commands, events) with the app's signing
secret: :data:`SIGNING` and :data:`VERIFIER` below.

Sources: ``chat.postMessage`` https://docs.slack.dev/reference/methods/chat.postMessage; rate limits
("chat.postMessage generally allows posting one message per second per channel", HTTP 429 with
``Retry-After`` in seconds): https://docs.slack.dev/apis/web-api/rate-limits; request signing
(``X-Slack-Signature: v0=`` + hex HMAC-SHA256 of ``v0:<X-Slack-Request-Timestamp>:<raw body>`` with
the signing secret, requests older than five minutes refused):
https://docs.slack.dev/authentication/verifying-requests-from-slack.
"""

from __future__ import annotations

from shared.app import App
from shared.spec import Connection
from shared.webhooks.hmac import HmacVerifier

__all__ = ["APP", "CONNECTION", "SIGNING", "VERIFIER"]

APP = App(
    name="slack",
    base_url="https://slack.com/api",
    auth="bearer",
    token_field="token",
    # Slack sends Retry-After (seconds) with its HTTP 429 answers.
    retry_after_headers=("retry-after",),
    # chat.postMessage allows about one message per second per channel (short bursts tolerated),
    # and every post of an integration usually goes to the same channel: one request in flight per
    # worker keeps a burst of leads from turning into a burst of 429s. A 429 is retried anyway.
    max_concurrency=1,
    rate_per_s=1.0,  # Slack chat.postMessage: 1 per second per channel
    idempotency=(
        "none: chat.postMessage takes no idempotency key; a post carries its event and step in message "
        "metadata, and a post first looks for an earlier attempt's in conversations.history"
    ),
    docs_url="https://docs.slack.dev/reference/methods/chat.postMessage",
)

CONNECTION = APP.connection(
    description=(
        "Slack bot token (xoxb-...) of the workspace's Slack app (OAuth & Permissions > Bot User OAuth "
        "Token). Scopes chat:write, channels:history and groups:history (a post first reads the "
        "channel's recent history, so that a post whose answer was lost is not posted twice), and channels:read and "
        "groups:read when the channel is set by name (#new-leads) rather than id (channels:read also for "
        "listing the channels, chat.list_channels); invite the app to the "
        "channel (reading its history needs membership, chat:write.public is not enough)."
    )
)

SIGNING = Connection(
    name="slack_signing",
    app="slack",
    description=(
        "The Slack app's signing secret (Basic Information > App Credentials > Signing Secret), which "
        "signs the requests Slack sends to the app's Request URL (X-Slack-Signature). During a "
        "rotation (Regenerate), keep the old one as previous_secret until Slack signs with the new one."
    ),
    fields=("secret",),
    optional=("previous_secret",),
    local={"secret": "sandbox-slack-signing-secret"},
    kind="signing",
)

VERIFIER = HmacVerifier(
    scheme="slack-v0",
    header="x-slack-signature",
    # "v0=" + hex(HMAC-SHA256(signing secret, "v0:" + timestamp + ":" + raw body)); the body is the
    # raw form body (payload=...), never re-encoded.
    prefix="v0=",
    content="v0:{timestamp}:{body}",
    timestamp_header="x-slack-request-timestamp",
    timestamp_unit="s",
    # "If the timestamp is more than five minutes from local time, it could be a replay attack."
    tolerance_s=300,
)
