"""Email actions (Amazon SES v2): send one email, optionally with text attachments.

The sender is the deployment's decision, not the caller's: ``from_address`` is a config field, set
by the host integration (its ``from_address`` setting, a verified SES identity) and hidden from AI
tool schemas.

Attachments are text (an ``.ics`` invitation, a CSV), given as a string and sent as UTF-8: that is
every attachment Switchboard sends, it keeps the tool's input plain JSON (no base64 for a model to
produce), and :func:`shared.email.send_email` turns a message with attachments into raw MIME.
"""

from __future__ import annotations

import html as html_lib
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.actions.base import Action, ActionContext

__all__ = ["ACTIONS", "SEND", "EmailAttachment", "SendEmail", "SentEmail"]

#: ``text/calendar; charset=UTF-8; method=REQUEST``: a type, a subtype and simple parameters only,
#: so nothing in it can start a MIME header of its own.
_CONTENT_TYPE: Final = r"^[a-z]+/[a-z0-9.+-]+(; ?[A-Za-z-]+=[A-Za-z0-9._-]+)*$"


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class EmailAttachment(BaseModel):
    """A text file sent with the email (``invite.ics``, ``report.csv``), encoded as UTF-8."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    filename: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,99}$", description="e.g. invite.ics")
    content_type: str = Field(
        default="text/plain; charset=UTF-8", max_length=200, pattern=_CONTENT_TYPE, description="MIME type"
    )
    text: str = Field(min_length=1, max_length=1_000_000, description="the file's content")


class SendEmail(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    from_address: str = Field(min_length=3, max_length=320, description="sender (a verified SES identity)")
    to: list[str] = Field(min_length=1, max_length=50, description="recipient address(es)")
    subject: str = Field(min_length=1, max_length=998)
    text: str = Field(min_length=1, max_length=200_000, description="plain-text body")
    html: str | None = Field(default=None, max_length=500_000, description="HTML body (default: the text)")
    reply_to: list[str] = Field(default_factory=list, max_length=10)
    attachments: list[EmailAttachment] = Field(default_factory=list, max_length=10)

    _lists = field_validator("to", "reply_to", mode="before")(lambda cls, v: _as_list(v))


class SentEmail(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_id: str = Field(description="SES's message id")


def _send(ctx: ActionContext, data: SendEmail) -> SentEmail:
    from shared.email import Attachment, send_email  # boto3 error mapping; imported on use

    body = data.html if data.html is not None else html_lib.escape(data.text).replace("\n", "<br>\n")
    message_id = send_email(
        ctx.rt,
        from_address=data.from_address,
        to=data.to,
        subject=data.subject,
        html=body,
        text=data.text,
        reply_to=data.reply_to or None,
        attachments=[
            Attachment(a.filename, a.text.encode("utf-8"), a.content_type) for a in data.attachments
        ],
    )
    return SentEmail(message_id=message_id)


SEND: Final = Action(
    name="email.send",
    description="Send an email from the business's address (Amazon SES).",
    input=SendEmail,
    output=SentEmail,
    app="ses",
    connections=(),
    run=_send,
    config={"from_address": "from_address"},
    sends_email=True,
)

ACTIONS: Final = (SEND,)
