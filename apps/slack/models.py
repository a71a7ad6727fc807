"""Slack's Web API answers as typed models: the envelope, a posted message, history and channel pages.

Worker path only (the client parses into these). Shapes as ``chat.postMessage``,
``conversations.history`` and ``conversations.list`` document them
(https://docs.slack.dev/reference/methods/chat.postMessage,
https://docs.slack.dev/reference/methods/conversations.history,
https://docs.slack.dev/reference/methods/conversations.list; pagination:
https://docs.slack.dev/apis/web-api/pagination).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "Answer",
    "Channel",
    "ChannelList",
    "CursorPage",
    "History",
    "HistoryMessage",
    "MessageMetadata",
    "PostedMessage",
]


class _Model(BaseModel):
    # Slack adds fields over time; ignoring unknown ones keeps old workers working.
    model_config = ConfigDict(frozen=True, extra="ignore")


class PostedMessage(_Model):
    """What ``chat.postMessage`` answers on success: where the message is and its id (``ts``)."""

    #: The channel's id (``C...``), also when the request named the channel (``#new-leads``).
    channel: str
    #: The message's timestamp, which is its id within the channel (threads, updates, permalinks).
    ts: str


class Answer(_Model):
    """Slack's envelope on every answer: ``ok``, and on ``ok: false`` the error code and details."""

    ok: bool
    error: str | None = None
    #: ``missing_scope`` says which scope was needed and which the token has.
    needed: str | None = None
    provided: str | None = None
    #: ``invalid_blocks`` lists what is wrong in ``response_metadata.messages``.
    response_metadata: dict[str, Any] | None = None


class MessageMetadata(_Model):
    event_type: str = ""
    event_payload: dict[str, Any] = {}


class HistoryMessage(_Model):
    ts: str
    #: Present with ``include_all_metadata=true`` on messages posted with metadata.
    metadata: MessageMetadata | None = None


class CursorPage(_Model):
    """A page of a paginated read method."""

    response_metadata: dict[str, Any] | None = None

    @property
    def next_cursor(self) -> str:
        """Slack's cursor for the next page; empty (or absent) on the last page."""
        value = (self.response_metadata or {}).get("next_cursor")
        return value if isinstance(value, str) else ""


class History(CursorPage):
    """A ``conversations.history`` page: newest first."""

    messages: list[HistoryMessage] = []
    has_more: bool = False


class Channel(_Model):
    """A conversation object as ``conversations.list`` answers it (the fields Switchboard reads)."""

    id: str
    name: str = ""
    is_private: bool = False
    is_archived: bool = False
    #: Whether the app's bot user is in the channel (it can read and post there without an invite).
    is_member: bool = False
    num_members: int | None = None


class ChannelList(CursorPage):
    """A ``conversations.list`` page."""

    channels: list[Channel] = []
