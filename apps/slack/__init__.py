"""Slack, as every path may see it: the app (auth, limits) and its connection.

Importing this package must stay cheap: specs import it for :data:`CONNECTION` on the ingress path,
so it holds no pydantic models and no client. The rest of what Switchboard knows about Slack's Web
API is in the package's modules, imported where it is needed:

* :mod:`.models`, :mod:`.client` - Slack's answers and the typed client, which reads ``ok`` on every
  answer and maps Slack's error codes (worker path);
* :mod:`.actions` - the ``slack.post_message`` catalogue operation, posted once per ledger step;
* :mod:`.blocks` - ``mrkdwn`` escaping and Block Kit's limits and builders, for the integrations'
  messages.

Sources: ``chat.postMessage`` https://docs.slack.dev/reference/methods/chat.postMessage; rate limits
("chat.postMessage generally allows posting one message per second per channel", HTTP 429 with
``Retry-After`` in seconds): https://docs.slack.dev/apis/web-api/rate-limits.
"""

from __future__ import annotations

from shared.app import App

__all__ = ["APP", "CONNECTION"]

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
