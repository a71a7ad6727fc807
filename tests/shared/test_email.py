"""Email: Jinja2 templates (HTML escaped, undefined names fail) and SES v2 sending against moto."""

from __future__ import annotations

import email
import email.policy
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError, ReadTimeoutError
from jinja2 import UndefinedError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from shared.email import Attachment, Templates, send_email, ses_error
from shared.errors import InvalidEvent, RateLimited, TargetRejected, TargetTimeout, TargetUnavailable

REGION = "us-east-1"
SENDER = "Bramble Bakery <hello@bramble-bakery.example>"


class FakeRuntime:
    """What send_email needs of a Runtime: a boto3 client per service."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def aws(self, service: str) -> Any:
        assert service == "sesv2"
        return self.client


@pytest.fixture
def ses(aws: boto3.session.Session) -> Any:
    client = aws.client("sesv2")
    client.create_email_identity(EmailIdentity="bramble-bakery.example")
    return client


def sent() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def capture(client: Any) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.sesv2.SendEmail", lambda params, **_: calls.append(params)
    )
    return calls


# --- templates --------------------------------------------------------------------------------------


@pytest.fixture
def templates(tmp_path: Path) -> Templates:
    (tmp_path / "note.subject.txt").write_text("Hello {{ name }}\n  from   {{ place }}\n")
    (tmp_path / "note.html").write_text('<p title="{{ name }}">Hi {{ name }}</p>\n')
    (tmp_path / "note.txt").write_text("Hi {{ name }}\n")
    (tmp_path / "missing.subject.txt").write_text("{{ nobody }}")
    (tmp_path / "blank.subject.txt").write_text("{% if false %}x{% endif %}\n")
    return Templates(tmp_path)


def test_html_is_autoescaped_and_text_is_not(templates: Templates) -> None:
    mail = templates.email("note", {"name": '<script>"x"</script> & co', "place": "Leeds"})
    escaped = "&lt;script&gt;&#34;x&#34;&lt;/script&gt; &amp; co"
    assert mail.html == f'<p title="{escaped}">Hi {escaped}</p>\n'
    assert mail.text == 'Hi <script>"x"</script> & co\n'


def test_the_subject_is_one_line_whatever_the_context_holds(templates: Templates) -> None:
    mail = templates.email("note", {"name": "Jo\r\nBcc: victim@example.com", "place": "Leeds"})
    assert mail.subject == "Hello Jo Bcc: victim@example.com from Leeds"
    assert "\n" not in mail.subject and "\r" not in mail.subject


def test_an_undefined_name_is_an_error_not_an_empty_string(templates: Templates) -> None:
    with pytest.raises(UndefinedError, match="nobody"):
        templates.render("missing.subject.txt", {})


def test_an_empty_subject_is_refused(templates: Templates) -> None:
    (templates.folder / "blank.html").write_text("x")
    (templates.folder / "blank.txt").write_text("x")
    with pytest.raises(ValueError, match="empty subject"):
        templates.email("blank", {})


# --- sending: SES v2 Simple -------------------------------------------------------------------------


def test_send_email_simple(ses: Any) -> None:
    calls = capture(ses)
    message_id = send_email(
        FakeRuntime(ses),
        from_address=SENDER,
        to="sales@bramble-bakery.example",
        subject="New lead:\n Amara",
        html="<p>Amara</p>",
        text="Amara",
        reply_to="amara@okafor-events.example",
    )
    [message] = sent()
    assert message.id == message_id
    assert message.source == SENDER
    assert message.destinations == {"ToAddresses": ["sales@bramble-bakery.example"]}
    assert message.subject == "New lead: Amara"
    [call] = calls
    assert call["ReplyToAddresses"] == ["amara@okafor-events.example"]
    assert call["Content"]["Simple"]["Body"] == {
        "Text": {"Data": "Amara", "Charset": "UTF-8"},
        "Html": {"Data": "<p>Amara</p>", "Charset": "UTF-8"},
    }


def test_a_non_ascii_display_name_is_mime_encoded(ses: Any) -> None:
    calls = capture(ses)
    send_email(
        FakeRuntime(ses),
        from_address="Café Brûlé <hello@bramble-bakery.example>",
        to=["Tomás <tomas@example.com>", "  ", "jo@example.com"],
        subject="Hi",
        html="<p>x</p>",
        text="x",
    )
    [call] = calls
    sender = call["FromEmailAddress"]
    assert sender.isascii() and sender.startswith("=?utf-8?")  # RFC 2047, as SES requires
    assert str(make_header(decode_header(sender))) == "Café Brûlé <hello@bramble-bakery.example>"
    first, second = call["Destination"]["ToAddresses"]
    assert str(make_header(decode_header(first))) == "Tomás <tomas@example.com>"
    assert second == "jo@example.com"


def test_an_unverified_sender_is_rejected_permanently(ses: Any) -> None:
    with pytest.raises(TargetRejected) as caught:
        send_email(
            FakeRuntime(ses),
            from_address="someone@unverified.example",
            to="sales@bramble-bakery.example",
            subject="x",
            html="x",
            text="x",
        )
    assert caught.value.app == "ses" and caught.value.status == 400
    assert str(caught.value).startswith("ses SendEmail: MessageRejected: ")
    assert "someone@" not in str(caught.value)  # the address is masked
    assert sent() == []


def test_no_recipient_is_a_programming_error(ses: Any) -> None:
    with pytest.raises(ValueError, match="at least one recipient"):
        send_email(FakeRuntime(ses), from_address=SENDER, to=[" "], subject="x", html="x", text="x")


# --- sending: SES v2 Raw, with attachments ----------------------------------------------------------


def test_attachments_go_as_raw_mime(ses: Any) -> None:
    ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    message_id = send_email(
        FakeRuntime(ses),
        from_address=SENDER,
        to="amara@okafor-events.example",
        subject="Your booking",
        html="<p>See you Saturday</p>",
        text="See you Saturday",
        reply_to="sales@bramble-bakery.example",
        attachments=[Attachment("booking.ics", ics, "text/calendar; method=REQUEST")],
    )
    [raw] = sent()
    assert raw.id == message_id
    parsed = email.message_from_string(raw.raw_data, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    assert parsed["From"] == SENDER and parsed["To"] == "amara@okafor-events.example"
    assert parsed["Reply-To"] == "sales@bramble-bakery.example" and parsed["Subject"] == "Your booking"
    alternative, attachment = parsed.iter_parts()
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert [p.get_content().strip() for p in alternative.iter_parts()] == [
        "See you Saturday",
        "<p>See you Saturday</p>",
    ]
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "REQUEST"
    assert attachment.get_filename() == "booking.ics"
    assert attachment.get_payload(decode=True) == ics


# --- SES errors on the error tree -------------------------------------------------------------------


def client_error(code: str, status: int, message: str = "boom") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "SendEmail",
    )


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (client_error("TooManyRequestsException", 429), RateLimited),
        (client_error("Throttling", 400, "Maximum sending rate exceeded."), RateLimited),
        (client_error("LimitExceededException", 400, "Daily message quota exceeded."), TargetUnavailable),
        (client_error("InternalFailure", 500), TargetUnavailable),
        (client_error("ServiceUnavailable", 503), TargetUnavailable),
        (client_error("MessageRejected", 400), TargetRejected),
        (client_error("MailFromDomainNotVerifiedException", 400), TargetRejected),
        (client_error("SendingPausedException", 400), TargetRejected),
        (client_error("AccountSuspendedException", 400), TargetRejected),
        (client_error("NotFoundException", 404), TargetRejected),
        (client_error("BadRequestException", 400), TargetRejected),
        (client_error("AccessDeniedException", 403), TargetRejected),
        (ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com"), TargetTimeout),
        (EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com"), TargetUnavailable),
        (ParamValidationError(report="Invalid type for parameter Destination.ToAddresses"), TargetRejected),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) and not isinstance(v, ClientError) else None,
)
def test_ses_errors_map_onto_the_error_tree(exc: Exception, expected: type[Exception]) -> None:
    mapped = ses_error(exc)
    assert type(mapped) is expected
    if isinstance(mapped, TargetRejected):
        assert mapped.app == "ses"


def test_ses_error_texts_are_redacted() -> None:
    error = client_error(
        "MessageRejected",
        400,
        "Email address is not verified. The following identities failed the check in region "
        "US-EAST-1: sales@bramble-bakery.example",
    )
    mapped = ses_error(error)
    assert mapped is not None
    assert "sales@bramble-bakery.example" not in str(mapped) and "s***@bramble-bakery.example" in str(mapped)
    assert isinstance(mapped, TargetRejected) and mapped.status == 400


def test_a_non_aws_exception_is_not_mapped() -> None:
    assert ses_error(KeyError("x")) is None


def test_send_email_raises_the_mapped_error(ses: Any) -> None:
    class Throttled:
        def send_email(self, **_: Any) -> Any:
            raise client_error("TooManyRequestsException", 429)

    with pytest.raises(RateLimited, match="TooManyRequestsException"):
        send_email(
            FakeRuntime(Throttled()), from_address=SENDER, to="a@b.example", subject="x", html="x", text="x"
        )


@pytest.mark.parametrize("field", ["to", "reply_to", "from_address"])
def test_an_address_that_is_not_one_is_a_permanent_error(ses: Any, field: str) -> None:
    args: dict[str, Any] = {"from_address": SENDER, "to": "sales@bramble-bakery.example", "reply_to": None}
    args[field] = "Jo Bloggs <jo.bloggs@>"
    with pytest.raises(InvalidEvent, match="is not an email address") as caught:
        send_email(FakeRuntime(ses), subject="x", html="x", text="x", **args)
    assert "jo.bloggs" not in str(caught.value)
    assert sent() == []
