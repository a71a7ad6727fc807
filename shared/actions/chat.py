"""Chat actions (Slack): post a message to a channel, once per ledger step.

Slack's ``chat.postMessage`` takes no idempotency key
(https://docs.slack.dev/reference/methods/chat.postMessage), so on the worker path the action
reconciles instead: a post made inside a ledger step (:data:`shared.http.current_work` is set)
carries ``<event id>/<step>`` in its message metadata (:func:`shared.apps.slack.effect_metadata`,
https://docs.slack.dev/messaging/message-metadata), and before posting, the channel's recent history
is searched for that reference (:meth:`shared.apps.slack.SlackClient.find_by_ref`). A post found -
made by an earlier attempt whose answer was lost to a timeout, or whose worker died before the
ledger recorded the step - is returned as if just made; otherwise the message is posted.

Why every post in a step searches, not only retries. The stamp cannot tell reliably whether the
step ran before: the SQS receive count (:attr:`shared.http.WorkStamp.attempt`) starts again at 1
when a dead letter is redriven or replayed - after a post whose answer was lost on the last attempt,
or after later steps exhausted the retries - and a bus event's or schedule tick's ``received_at`` is
stamped anew each time the worker decodes it (:func:`shared.worker.decode`), so its age says
nothing either. A missed search is a second announcement in a sales channel; the search is one
``conversations.history`` read, newest first, usually one page. That read has a rate-limit tier of
its own (Tier 3, about 50 a minute; Tier 1 - one a minute, 15 messages a page - for apps outside the
Slack Marketplace created since 2025-05-29:
https://api.slack.com/changelog/2025-05-terms-rate-limit-update-and-faq), well above what a channel
takes in posts (``chat.postMessage``: about one a second per channel), so it does not lower the
integrations' throughput; a 429 on it is retried after Slack's ``Retry-After`` like any other.

The search window starts :data:`LOOKBACK_S` before the event's receive time: a post cannot be older
than the first delivery of its event, and the day covers what the receive time may understate - a
bus event or schedule tick redriven or retried (its receive time is that of the current delivery:
the integrations' retries span about twenty minutes), a duplicate delivery that ran after the first
one's lease ended, clock skew between AWS and Slack. The page bound
(:data:`shared.apps.slack.HISTORY_MAX_PAGES` x :data:`shared.apps.slack.HISTORY_PAGE_LIMIT`) caps
the cost in a busy channel.

On the MCP tool path there is no ledger step: the tool's own idempotency key keeps a repeated call
from posting twice, and the action simply posts.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, Field

from shared.actions.base import Action, ActionContext
from shared.apps import slack

if TYPE_CHECKING:
    from shared.http import WorkStamp

__all__ = ["ACTIONS", "LOOKBACK_S", "POST_MESSAGE", "PostMessage", "PostedMessage", "effect_ref"]

#: Seconds before the event's receive time that the history search starts (see the module docstring).
LOOKBACK_S: Final = 24 * 3600.0


class PostMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str = Field(
        min_length=1, max_length=80, description="channel id (C0123...) or name (#new-leads) the bot is in"
    )
    text: str = Field(
        min_length=1, max_length=40_000, description="the message (Slack mrkdwn); also the notification text"
    )
    blocks: list[dict[str, Any]] = Field(
        default_factory=list, max_length=50, description="optional Block Kit blocks shown instead of text"
    )


class PostedMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    channel: str = Field(description="the channel's id")
    ts: str = Field(description="the message's timestamp: its id within the channel")


def effect_ref(stamp: WorkStamp) -> str:
    """The reference a step's post carries in its metadata: ``<event id>/<step>``."""
    return f"{stamp.event_id}/{stamp.step}"


def _received(stamp: WorkStamp) -> float | None:
    """When the event was received (Unix time), from the stamp's ISO 8601 ``since``."""
    if not stamp.since:
        return None
    try:
        when = datetime.fromisoformat(stamp.since.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _post(ctx: ActionContext, data: PostMessage) -> PostedMessage:
    from shared.http import current_work

    client = slack.SlackClient(ctx.api(slack.APP, slack.CONNECTION))
    stamp = current_work.get()
    if stamp is None:
        posted = client.post_message(data.channel, data.text, data.blocks)
        return PostedMessage(channel=posted.channel, ts=posted.ts)
    ref = effect_ref(stamp)
    received = _received(stamp)
    oldest = (received if received is not None else time.time()) - LOOKBACK_S
    found = client.find_by_ref(data.channel, ref, oldest=oldest)
    if found is not None:
        return PostedMessage(channel=found.channel, ts=found.ts)
    posted = client.post_message(data.channel, data.text, data.blocks, metadata=slack.effect_metadata(ref))
    return PostedMessage(channel=posted.channel, ts=posted.ts)


POST_MESSAGE: Final = Action(
    name="slack.post_message",
    description="Post a message to a Slack channel.",
    input=PostMessage,
    output=PostedMessage,
    app=slack.APP.name,
    connections=(slack.CONNECTION,),
    run=_post,
)

ACTIONS: Final = (POST_MESSAGE,)
