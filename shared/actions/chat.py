"""The chat domain's contract: a message to post to a channel, and where it was posted.

The action itself is the app's: :mod:`apps.slack.actions` (``slack.post_message``), which also
makes sure a retried step does not post twice.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PostMessage", "PostedMessage"]


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
