"""Email for integrations: templates that write it (Jinja2) and Amazon SES (API v2) that sends it.

Worker path only (it imports Jinja2). Two parts, used together or apart:

* :class:`Templates` renders ``<name>.subject.txt``, ``<name>.html`` and ``<name>.txt`` from an
  integration's own folder. HTML is autoescaped (a lead who calls themselves ``<script>`` is text,
  not markup); plain text and subjects are not (there is no markup to inject, and escaping would
  show ``&amp;`` to the reader). A name a template uses but the context lacks is an error, not an
  empty string: a notification with a silently missing name is worse than a retry after a fix.
* :func:`send_email` sends one message with SES v2 ``SendEmail``: ``Content.Simple`` (HTML + text)
  normally, ``Content.Raw`` MIME when there are attachments (an ``.ics`` invitation, a report) -
  ``Simple`` has an ``Attachments`` field in recent API versions, but the local emulation (moto)
  drops it, while a raw MIME message behaves the same everywhere. SES answers map onto the error
  tree like HTTP answers do in :mod:`shared.http`.

SES has no idempotency key: the caller wraps :func:`send_email` in a ledger step, so a retried
event does not send the same email again.

Sources: SES API v2 ``SendEmail`` request and response
(https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html) and its errors as the
``sesv2`` 2019-09-27 service model in botocore lists them (``TooManyRequestsException`` 429,
``LimitExceededException``, ``AccountSuspendedException``, ``SendingPausedException``,
``MessageRejected``, ``MailFromDomainNotVerifiedException``, ``NotFoundException``,
``BadRequestException``, all 400 but the 404 and 429).
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from shared.errors import (
    InvalidEvent,
    RateLimited,
    SwitchboardError,
    TargetRejected,
    TargetTimeout,
    TargetUnavailable,
)
from shared.redact import redact_text

if TYPE_CHECKING:
    from shared.runtime import Runtime

__all__ = ["SES", "Attachment", "RenderedEmail", "Templates", "send_email", "ses_error"]

#: The app name SES errors carry (``TargetRejected.app``), as HTTP targets carry theirs.
SES: Final = "ses"
#: SES error codes that mean "too fast": retried with back-off.
_THROTTLED: Final = frozenset({"TooManyRequestsException", "Throttling", "ThrottlingException"})
#: SES error codes that mean "not now": the daily quota, or SES itself having a bad moment.
_LATER: Final = frozenset({"LimitExceededException", "InternalFailure", "ServiceUnavailable"})
_CHARSET: Final = "UTF-8"


# --- templates -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


class Templates:
    """Jinja2 templates from one folder, HTML autoescaped, undefined names an error.

    One instance per folder and process: Jinja2 compiles each template once and keeps it.
    """

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self._env = Environment(
            loader=FileSystemLoader(self.folder),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """One template by file name (``"notify.html"``); escaping follows the file's extension."""
        return self._env.get_template(name).render(context)

    def email(self, name: str, context: Mapping[str, Any]) -> RenderedEmail:
        """``<name>.subject.txt``, ``<name>.html`` and ``<name>.txt`` rendered with one context.

        The subject is one line: whitespace (a line break a visitor typed into their name, say) is
        collapsed, so no context value can start a second header.
        """
        subject = " ".join(self.render(f"{name}.subject.txt", context).split())
        if not subject:
            raise ValueError(f"template {name}.subject.txt rendered an empty subject")
        return RenderedEmail(
            subject=subject,
            html=self.render(f"{name}.html", context),
            text=self.render(f"{name}.txt", context),
        )


# --- sending ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email: ``Attachment("booking.ics", data, "text/calendar; method=REQUEST")``."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


def send_email(
    rt: Runtime,
    *,
    from_address: str,
    to: str | Sequence[str],
    subject: str,
    html: str,
    text: str,
    reply_to: str | Sequence[str] | None = None,
    attachments: Sequence[Attachment] = (),
) -> str:
    """Send one email with SES v2 and return SES's message id.

    ``from_address`` may carry a display name (``"Bramble Bakery <hello@bramble-bakery.example>"``);
    its domain must be a verified SES identity. Raises :class:`~shared.errors.RateLimited` when SES
    throttles, :class:`~shared.errors.TargetUnavailable` / :class:`~shared.errors.TargetTimeout`
    when SES is out of reach or over quota, and :class:`~shared.errors.TargetRejected` (``app="ses"``)
    when SES refuses the message (unverified sender, rejected content, sending paused ...);
    :class:`~shared.errors.InvalidEvent` when an address is not one (no retry can fix that).
    """
    recipients = _addresses(to, "a recipient")
    if not recipients:
        raise ValueError("send_email needs at least one recipient")
    replies = _addresses(reply_to, "a reply-to address")
    sender = _display(from_address, "the sender")
    request: dict[str, Any] = {"FromEmailAddress": sender, "Destination": {"ToAddresses": recipients}}
    if attachments:
        mime = _mime(sender, recipients, replies, subject, html, text, attachments)
        request["Content"] = {"Raw": {"Data": mime}}
    else:
        if replies:
            request["ReplyToAddresses"] = replies
        request["Content"] = {
            "Simple": {
                "Subject": {"Data": " ".join(subject.split()), "Charset": _CHARSET},
                "Body": {
                    "Text": {"Data": text, "Charset": _CHARSET},
                    "Html": {"Data": html, "Charset": _CHARSET},
                },
            }
        }
    try:
        answer = rt.aws("sesv2").send_email(**request)
    except Exception as exc:
        mapped = ses_error(exc)
        if mapped is None:
            raise
        raise mapped from exc
    return str(answer["MessageId"])


def ses_error(exc: BaseException) -> SwitchboardError | None:
    """The error-tree class for an exception from an SES call; ``None`` if it is not an SES/boto one."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        ParamValidationError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        where = f"ses SendEmail: {code}: {redact_text(str(error.get('Message', '')))[:300]}".rstrip(": ")
        if code in _THROTTLED or status == 429:
            return RateLimited(where)
        if code in _LATER or status >= 500:
            return TargetUnavailable(where)
        return TargetRejected(where, status=status or 400, app=SES)
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        return TargetTimeout(f"ses SendEmail: timed out ({type(exc).__name__})")
    if isinstance(exc, ParamValidationError):
        # Our request is malformed (an address list that is not a list ...): retrying cannot help.
        return TargetRejected(
            f"ses SendEmail: invalid request: {redact_text(str(exc))[:300]}", status=400, app=SES
        )
    if isinstance(exc, BotoCoreError):
        return TargetUnavailable(f"ses SendEmail: {type(exc).__name__}")
    return None


def _addresses(value: str | Sequence[str] | None, role: str) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [_display(a, role) for a in items if a and a.strip()]


def _display(address: str, role: str) -> str:
    """``Name <addr>``, with a non-ASCII display name MIME-encoded as SES requires.

    An address that is not one cannot become one on a retry: :class:`~shared.errors.InvalidEvent`
    (the DLQ at once). The message names the role, not the address (personal data).
    """
    name, addr = email.utils.parseaddr(address.strip())
    local, at, domain = addr.rpartition("@")
    if not (local and at and "." in domain) or any(c.isspace() for c in addr):
        raise InvalidEvent(f"{role} is not an email address")
    return email.utils.formataddr((name, addr), charset="utf-8") if name else addr


def _mime(
    sender: str,
    recipients: Sequence[str],
    replies: Sequence[str],
    subject: str,
    html: str,
    text: str,
    attachments: Sequence[Attachment],
) -> bytes:
    """A ``multipart/mixed`` message: the text/HTML alternative, then each attachment."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    if replies:
        message["Reply-To"] = ", ".join(replies)
    message["Subject"] = " ".join(subject.split())
    message["Date"] = email.utils.formatdate(usegmt=True)
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    for attachment in attachments:
        kind, _, params = attachment.content_type.partition(";")
        maintype, _, subtype = kind.strip().lower().partition("/")
        extra = {
            k.strip().lower(): v.strip().strip('"')
            for k, _, v in (p.partition("=") for p in params.split(";"))
            if k.strip() and v.strip()
        }
        message.add_attachment(
            attachment.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
            params=extra,
        )
    return message.as_bytes()
