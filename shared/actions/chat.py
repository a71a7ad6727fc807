"""Chat actions (Slack): post a message to a channel."""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from shared.actions.base import Action, ActionContext
from shared.apps import slack

__all__ = ["ACTIONS", "POST_MESSAGE", "PostMessage", "PostedMessage"]


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


def _post(ctx: ActionContext, data: PostMessage) -> PostedMessage:
    client = slack.SlackClient(ctx.api(slack.APP, slack.CONNECTION))
    posted = client.post_message(data.channel, data.text, data.blocks)
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
