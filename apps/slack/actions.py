"""The ``slack.post_message`` action: post a message to a channel, once per ledger step;
``slack.update_message`` (``chat.update``, https://docs.slack.dev/reference/methods/chat.update); and
``chat.list_channels`` (``conversations.list``, public channels, a cursor page at a time).

The contract - :class:`shared.actions.chat.PostMessage` in, :class:`shared.actions.chat.PostedMessage`
out - is the chat domain's. Slack's ``chat.postMessage`` takes no idempotency key
(https://docs.slack.dev/reference/methods/chat.postMessage), so on the worker path the action
reconciles instead: a post made inside a ledger step (:data:`shared.http.current_work` is set)
carries ``<event id>/<step>`` in its message metadata (:func:`apps.slack.client.effect_metadata`,
https://docs.slack.dev/messaging/message-metadata). Just before posting, the step asks the ledger
whether earlier attempts of it ran (:meth:`shared.http.WorkStamp.earlier_attempt` - durable across
re-sent webhooks and DLQ redrives, which the SQS receive count and the delivery's receive time are
not). On the first attempt it simply posts. After earlier ones - one of which may have posted and
lost the answer to a timeout, or died before the ledger recorded the step - the channel's history is
searched for the reference (:meth:`apps.slack.client.SlackClient.find_by_ref`): a post found is
returned as if just made, otherwise the message is posted.

The search covers only the minutes the earlier attempts ran (:class:`shared.ledger.AttemptWindow`,
widened by the clock skew), not a day: history is read newest first, and ``latest`` set to the
window's end skips what the channel took in since - after a DLQ redrive, days of it. The read is
``conversations.history`` (Tier 3, about 50 a minute; Tier 1 - one a minute, 15 messages a page -
for apps outside the Slack Marketplace created since 2025-05-29:
https://api.slack.com/changelog/2025-05-terms-rate-limit-update-and-faq), made only on retries; a
429 on it is retried after Slack's ``Retry-After`` like any other.

History trails posts. Slack documents no read-after-write bound for ``conversations.history``, and a
post made a moment ago by an earlier attempt may be missing from it: searched too early, the retry
would post again. So a search that does not find the post, while the earlier attempts' post could be
younger than :data:`HISTORY_LAG_S`, waits until it no longer can - ``HISTORY_LAG_S`` past the earlier
attempts' window end, or past now if that is later - and searches once more before posting. Only
retries pay it (a found post returns at once; a first attempt does not search), and only while the
earlier attempts are recent; a history that trailed by more than ``HISTORY_LAG_S`` could still let a
post double - the stated gap (docs/provider-guarantees.md). ``switchboard chaos --lag`` proves the
wait against a history that trails by less. A deployment may state its own bound in
``SWITCHBOARD_SLACK_HISTORY_LAG_S`` (seconds, 0 to 20: the wait must fit in the function's 30 s); the
harnesses set 0 when their stand-ins' history does not lag, so that their runs wait for nothing.

On the MCP tool path there is no ledger step: the tool's own idempotency key keeps a repeated call
from posting twice, and the action simply posts.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Final

from shared.actions.base import Action, ActionContext
from shared.actions.chat import (
    ChannelInfo,
    ChannelPage,
    ListChannels,
    PostedMessage,
    PostMessage,
    UpdateMessage,
)
from shared.errors import ConfigurationError

from . import APP, CONNECTION
from .client import SlackClient, effect_metadata

if TYPE_CHECKING:
    from shared.http import WorkStamp
    from shared.ledger import AttemptWindow

__all__ = [
    "ACTIONS",
    "HISTORY_LAG_ENV",
    "HISTORY_LAG_S",
    "LIST_CHANNELS",
    "POST_MESSAGE",
    "UPDATE_MESSAGE",
    "effect_ref",
    "history_lag_s",
]

#: How long ``conversations.history`` may trail a post, as Switchboard assumes it: Slack documents no
#: bound. A retried post that did not find its earlier attempt's post waits this long past the last
#: moment that attempt could have posted before it searches again (see the module docstring).
HISTORY_LAG_S: Final = 10.0
#: A deployment's own bound instead (seconds); the harnesses set 0 when their history does not lag.
HISTORY_LAG_ENV: Final = "SWITCHBOARD_SLACK_HISTORY_LAG_S"
#: The longest bound accepted: the wait and the searches must fit in the function's 30 s.
MAX_HISTORY_LAG_S: Final = 20.0
#: Waiting, swapped by the tests (which never sleep for real).
_sleep = time.sleep
_now = time.time


def history_lag_s() -> float:
    """:data:`HISTORY_LAG_S`, or the bound :data:`HISTORY_LAG_ENV` states (read at each call)."""
    text = os.environ.get(HISTORY_LAG_ENV, "").strip()
    if not text:
        return HISTORY_LAG_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= MAX_HISTORY_LAG_S:
        raise ConfigurationError(f"{HISTORY_LAG_ENV}={text!r}: seconds between 0 and {MAX_HISTORY_LAG_S:g}")
    return value


def history_settles_in(earlier: AttemptWindow, lag_s: float | None = None) -> float:
    """Seconds until every post the earlier attempts could have made shows in the history: they
    posted by their window's end or by now, whichever is sooner, and history trails by ``lag_s``
    (:func:`history_lag_s` when not given)."""
    lag = history_lag_s() if lag_s is None else lag_s
    now = _now()
    return max(0.0, min(now, earlier.end) + lag - now)


def effect_ref(stamp: WorkStamp) -> str:
    """The reference a step's post carries in its metadata: ``<event id>/<step>``."""
    return f"{stamp.event_id}/{stamp.step}"


def _post(ctx: ActionContext, data: PostMessage) -> PostedMessage:
    from shared.http import current_work

    client = SlackClient(ctx.api(APP, CONNECTION))
    stamp = current_work.get()
    if stamp is None:
        posted = client.post_message(data.channel, data.text, data.blocks)
        return PostedMessage(channel=posted.channel, ts=posted.ts)
    ref = effect_ref(stamp)
    earlier = stamp.earlier_attempt()
    if earlier is not None:
        oldest, latest = earlier.widened()
        found = client.find_by_ref(data.channel, ref, oldest=oldest, latest=latest)
        wait = history_settles_in(earlier) if found is None else 0.0
        if wait > 0:  # not found yet, but the history may still trail an earlier attempt's post
            _sleep(wait)
            found = client.find_by_ref(data.channel, ref, oldest=oldest, latest=latest)
        if found is not None:
            return PostedMessage(channel=found.channel, ts=found.ts)
    posted = client.post_message(data.channel, data.text, data.blocks, metadata=effect_metadata(ref))
    return PostedMessage(channel=posted.channel, ts=posted.ts)


POST_MESSAGE: Final = Action(
    name="slack.post_message",
    description="Post a message to a Slack channel.",
    input=PostMessage,
    output=PostedMessage,
    app=APP.name,
    connections=(CONNECTION,),
    run=_post,
)


def _list_channels(ctx: ActionContext, data: ListChannels) -> ChannelPage:
    page = SlackClient(ctx.api(APP, CONNECTION)).list_channels(
        cursor=data.cursor or "", limit=data.limit, exclude_archived=not data.include_archived
    )
    channels = [
        ChannelInfo(
            id=c.id, name=c.name, is_member=c.is_member, is_archived=c.is_archived, num_members=c.num_members
        )
        for c in page.channels
    ]
    return ChannelPage(channels=channels, next_cursor=page.next_cursor or None)


LIST_CHANNELS: Final = Action(
    name="chat.list_channels",
    description="List the Slack workspace's public channels, a page at a time, with whether the app is in each.",
    input=ListChannels,
    output=ChannelPage,
    app=APP.name,
    connections=(CONNECTION,),
    run=_list_channels,
    effect=False,
)


def _update(ctx: ActionContext, data: UpdateMessage) -> PostedMessage:
    updated = SlackClient(ctx.api(APP, CONNECTION)).update_message(
        data.channel, data.ts, data.text, data.blocks
    )
    return PostedMessage(channel=updated.channel, ts=updated.ts)


#: ``chat.update`` of a message the app posted (a flow showing the outcome of a button click in the
#: message itself). The same update twice is the same message, so a retried step is harmless. Not in
#: :data:`ACTIONS`: flows call it; it is not offered to AI assistants as a tool.
UPDATE_MESSAGE: Final = Action(
    name="slack.update_message",
    description="Replace the text and blocks of a message the Slack app posted.",
    input=UpdateMessage,
    output=PostedMessage,
    app=APP.name,
    connections=(CONNECTION,),
    run=_update,
)

ACTIONS: Final = (POST_MESSAGE, LIST_CHANNELS)
