"""What Slack posts to the app's Request URL when someone clicks a button in a message.

Slack sends interactivity requests as ``application/x-www-form-urlencoded`` with one field,
``payload``, whose value is JSON; the request is signed like every request Slack sends
(:data:`apps.slack.VERIFIER`). :class:`InteractionForm` is the form (the ingress parses the body into
``{"payload": "<json>"}``) and :class:`BlockActions` the ``block_actions`` payload a button click
sends. Slack answers a retry of an unacknowledged request with ``X-Slack-Retry-Num`` and
``X-Slack-Retry-Reason`` headers (:func:`retry_number`).

Tolerant models (``extra="ignore"``): Slack adds fields to payloads over time. Only what a flow reads
is modelled: who clicked, which button (``action_id``) with its ``value``, the message (``ts``,
channel) and the ``response_url``.

Sources: https://docs.slack.dev/interactivity/handling-user-interaction (form-encoded ``payload``,
acknowledge with HTTP 200 within 3 seconds), https://docs.slack.dev/reference/interaction-payloads/block_actions-payload
(the ``block_actions`` fields: ``user``, ``container``, ``channel``, ``message``, ``response_url``,
``actions[]`` with ``action_id``, ``block_id``, ``value``, ``type``, ``action_ts``), and
https://docs.slack.dev/apis/events-api/#retries for the retry headers.

Ingress path: pydantic and the standard library only.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.webhooks.base import WebhookRequest

__all__ = [
    "ActionUser",
    "BlockAction",
    "BlockActions",
    "Container",
    "InteractionChannel",
    "InteractionForm",
    "InteractionMessage",
    "retry_number",
]


class _Slack(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ActionUser(_Slack):
    """Who clicked."""

    id: str = Field(min_length=1, max_length=40)
    username: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    team_id: str | None = None


class Container(_Slack):
    """Where the clicked element is: for a message, its ``message_ts`` and ``channel_id``."""

    type: str
    message_ts: str | None = Field(default=None, max_length=40)
    channel_id: str | None = Field(default=None, max_length=40)
    is_ephemeral: bool = False


class InteractionChannel(_Slack):
    id: str = Field(min_length=1, max_length=40)
    name: str | None = None


class InteractionMessage(_Slack):
    """The message the button is in, as it was when clicked (its ``ts`` is its id in the channel)."""

    ts: str = Field(min_length=1, max_length=40)
    text: str | None = None


class BlockAction(_Slack):
    """One element that was used; a button carries the ``value`` the message gave it."""

    action_id: str = Field(min_length=1, max_length=255)
    block_id: str | None = None
    type: str
    value: str | None = Field(default=None, max_length=2000)
    action_ts: str | None = None


class BlockActions(_Slack):
    """A ``block_actions`` payload: someone used an interactive element of a message."""

    type: Literal["block_actions"]
    user: ActionUser
    container: Container
    channel: InteractionChannel | None = None
    message: InteractionMessage | None = None
    response_url: str | None = None
    trigger_id: str | None = None
    actions: list[BlockAction] = Field(min_length=1)

    @property
    def message_ts(self) -> str | None:
        """The clicked message's ``ts``: from the message, or from the container."""
        return self.message.ts if self.message else self.container.message_ts

    @property
    def channel_id(self) -> str | None:
        return self.channel.id if self.channel else self.container.channel_id


class InteractionForm(_Slack):
    """The form Slack posts, ``payload=<JSON>``: its trigger declares ``form_json_field="payload"``,
    so the ingress parses the document strictly and this validates it as a ``block_actions`` payload."""

    payload: BlockActions


def retry_number(request: WebhookRequest) -> int:
    """``X-Slack-Retry-Num`` as a number (0 on the first delivery or when unreadable)."""
    value = (request.header("x-slack-retry-num") or "").strip()
    return int(value) if value.isdigit() and len(value) < 4 else 0
