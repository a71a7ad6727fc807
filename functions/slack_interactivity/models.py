"""The one work item of slack_interactivity: a verified click on one button of a message.

Slack's payload is :mod:`apps.slack.interactivity` (tolerant of fields Slack adds); :class:`Click`
is ours and strict. Its fields are :class:`shared.events.ButtonClicked`'s without
``source_event_id``, which the worker's ``ctx.emit`` adds (the click's own event id), so what is
queued is exactly what goes on the bus. Ingress path: pydantic only.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Click"]


class Click(BaseModel):
    """Someone clicked a button of a message in a channel: which button, what it carried, who."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action_id: str = Field(min_length=1, max_length=255)
    value: str | None = Field(default=None, max_length=2000)
    user_id: str = Field(min_length=1, max_length=40)
    user_name: str | None = Field(default=None, max_length=200)
    channel: str = Field(min_length=1, max_length=40)
    message_ts: str = Field(min_length=1, max_length=40)
    app: str = Field(default="slack", min_length=1, max_length=40)
