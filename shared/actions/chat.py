"""The chat domain's contract: a message to post to a channel, and where it was posted; the channels.

The action itself is the app's: :mod:`apps.slack.actions` (``slack.post_message``), which also
makes sure a retried step does not post twice.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChannelInfo",
    "ChannelPage",
    "ListChannels",
    "PostMessage",
    "PostedMessage",
    "UpdateMessage",
]


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


class UpdateMessage(BaseModel):
    """New text and blocks for a message the app posted (``chat.update``), named by channel id and ts.

    Naturally idempotent: the same update twice leaves the same message.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str = Field(min_length=1, max_length=80, description="the channel's id (C0123...), as posted")
    ts: str = Field(min_length=1, max_length=40, description="the message's ts")
    text: str = Field(
        min_length=1, max_length=40_000, description="the new text (also the notification text)"
    )
    blocks: list[dict[str, Any]] = Field(
        default_factory=list, max_length=50, description="the new blocks; empty removes them"
    )


class ListChannels(BaseModel):
    """A page of the workspace's public channels; ``cursor`` is the ``next_cursor`` of the page before."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cursor: str | None = Field(
        default=None, max_length=500, description="next_cursor of the previous page; omit for the first page"
    )
    limit: int = Field(default=100, ge=1, le=200, description="at most this many channels on the page")
    include_archived: bool = Field(default=False, description="also list archived channels")


class ChannelInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(description="the channel's id (C0123...): what chat posts take")
    name: str
    is_member: bool = Field(description="whether the app is in the channel (it must be, to post there)")
    is_archived: bool = False
    num_members: int | None = None


class ChannelPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    channels: list[ChannelInfo]
    next_cursor: str | None = Field(
        default=None, description="pass as cursor for the next page; none: last page"
    )
