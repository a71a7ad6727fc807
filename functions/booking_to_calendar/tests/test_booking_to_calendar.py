"""booking_to_calendar through the production handler: moto (SQS, DynamoDB, Secrets Manager, SES) and
the sandboxes (Google Calendar with its OAuth token endpoint, Calendly and Cal.com as webhook senders).

Webhooks are delivered as API Gateway would deliver them - the samples signed by our own verifier's
``sign``, the sandbox bookings signed by the sandboxes' independent implementations - and the queue is
drained by the local runtime's poller. What happened is read back where it landed: events in the
Google Calendar sandbox, emails (raw MIME with the .ics) in moto's SES, dead letters in the DLQ.
"""

from __future__ import annotations

import email
import json
from dataclasses import replace
from email.message import Message
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from apps import google_calendar
from apps.calcom.standin import CalcomSandbox
from apps.calendly.standin import CalendlySandbox
from apps.google_calendar.standin import GoogleCalendarSandbox
from infra.local.gateway import api_gateway_event
from infra.local.samples import EVENTS_DIR, Sample, load_sample, load_samples
from sandbox.base import SandboxApp, SandboxRequest
from shared.entry import dispatch
from shared.registry import load_spec
from shared.runtime import Runtime
from shared.secrets import signing_secrets
from shared.spec import WebhookTrigger
from tests.support import dlq_messages, drain, send_sample

SPEC = load_spec("booking_to_calendar")
HOST = "hooks.example.test"
REGION = "us-east-1"
SAMPLES = load_samples(SPEC)
FOLDER = EVENTS_DIR / "booking_to_calendar"
#: Samples that continue a booking another sample started (``make dev`` replays them in file order).
PRECEDED_BY: dict[str, tuple[str, ...]] = {
    "calcom_2_booking_created_redelivered": ("calcom_1_booking_created",),
    "calcom_3_booking_rescheduled": ("calcom_1_booking_created",),
    "calcom_4_booking_cancelled": ("calcom_1_booking_created", "calcom_3_booking_rescheduled"),
    "calendly_2_reschedule_a_invitee_canceled": ("calendly_1_invitee_created",),
    "calendly_2_reschedule_b_invitee_created": (
        "calendly_1_invitee_created",
        "calendly_2_reschedule_a_invitee_canceled",
    ),
    "calendly_3_invitee_canceled": (
        "calendly_1_invitee_created",
        "calendly_2_reschedule_a_invitee_canceled",
        "calendly_2_reschedule_b_invitee_created",
    ),
}
#: What each processed sample leaves: (emails sent by it, calendar events it adds, its email's METHOD).
EFFECTS: dict[str, tuple[int, int, str | None]] = {
    "calcom_1_booking_created": (1, 1, "REQUEST"),
    "calcom_2_booking_created_redelivered": (0, 0, None),
    "calcom_3_booking_rescheduled": (1, 0, "REQUEST"),
    "calcom_4_booking_cancelled": (1, -1, "CANCEL"),
    "calendly_1_invitee_created": (1, 1, "REQUEST"),
    "calendly_2_reschedule_a_invitee_canceled": (0, 0, None),
    "calendly_2_reschedule_b_invitee_created": (1, 0, "REQUEST"),
    "calendly_3_invitee_canceled": (1, -1, "CANCEL"),
    "calendly_google_unavailable": (1, 1, "REQUEST"),
}


# --- helpers -----------------------------------------------------------------------------------------


def sample(name: str) -> Sample:
    return load_sample(FOLDER / f"{name}.json", SPEC)


def control(app: SandboxApp, method: str, path: str, body: Any = None) -> Any:
    raw = b"" if body is None else json.dumps(body).encode()
    res = app.handle(SandboxRequest(method=method, path=path, body=raw))
    assert res.status < 300, res.body
    return res.parsed()


def emails() -> list[Message]:
    """The MIME messages moto's SES accepted (every email here has an .ics, so it is raw)."""
    sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    return [email.message_from_string(m.raw_data) for m in sent if hasattr(m, "raw_data")]


def ics_of(message: Message) -> dict[str, str]:
    """The .ics attachment of an email, unfolded, as {property: value} (first VEVENT wins)."""
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            text = payload.decode("utf-8")
            assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
            unfolded = text.replace("\r\n ", "")
            props: dict[str, str] = {"_method_param": str(part.get_param("method") or "")}
            for line in unfolded.split("\r\n"):
                name, sep, value = line.partition(":")
                if sep and name.split(";")[0] not in props:
                    props[name.split(";")[0]] = value
            return props
    raise AssertionError("no text/calendar part")


def queued(rt: Runtime) -> int:
    attrs = rt.aws("sqs").get_queue_attributes(QueueUrl=rt.queue_url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def subscribe(rt: Runtime, sender: CalendlySandbox | CalcomSandbox, trigger_name: str) -> None:
    """Point a sandbox webhook sender at the trigger, delivering through the production handler."""
    trigger = SPEC.trigger(trigger_name)
    assert isinstance(trigger, WebhookTrigger) and sender.webhooks is not None
    url = f"https://{HOST}{trigger.path}"

    def deliver(to: str, headers: Any, body: bytes) -> int:
        path = to.removeprefix(f"https://{HOST}")
        event = api_gateway_event(
            method="POST",
            path=path,
            query="",
            headers={**{k.lower(): v for k, v in headers.items()}, "host": HOST},
            body=body,
            route_key=f"POST {path}",
        )
        return int(dispatch(rt, event)["statusCode"])

    sender.webhooks.subscribe(url, signing_secrets(rt, trigger.secret)[0], deliver=deliver)


@pytest.fixture
def rt(make_runtime: Any) -> Runtime:
    return make_runtime("booking_to_calendar", retry_scale=0)


@pytest.fixture
def google(sandboxes: dict[str, SandboxApp]) -> GoogleCalendarSandbox:
    app = sandboxes["google_calendar"]
    assert isinstance(app, GoogleCalendarSandbox)
    return app


@pytest.fixture
def calendly(sandboxes: dict[str, SandboxApp], rt: Runtime) -> CalendlySandbox:
    app = sandboxes["calendly"]
    assert isinstance(app, CalendlySandbox)
    subscribe(rt, app, "calendly")
    return app


@pytest.fixture
def calcom(sandboxes: dict[str, SandboxApp], rt: Runtime) -> CalcomSandbox:
    app = sandboxes["calcom"]
    assert isinstance(app, CalcomSandbox)
    subscribe(rt, app, "calcom")
    return app


@pytest.fixture(autouse=True)
def _no_email_yet(aws: Any) -> None:
    assert emails() == []  # moto's SES starts empty in every test


# --- every sample -----------------------------------------------------------------------------------


def test_there_are_samples_of_every_kind() -> None:
    assert {s.trigger for s in SAMPLES} == {"calendly", "calcom"}
    assert {s.expect for s in SAMPLES} == {"processed", "rejected"}
    assert set(EFFECTS) | {s.name for s in SAMPLES if s.expect == "rejected"} == {s.name for s in SAMPLES}


@pytest.mark.parametrize("s", SAMPLES, ids=[s.name for s in SAMPLES])
def test_every_sample_event_ends_as_it_says(
    s: Sample, rt: Runtime, google: GoogleCalendarSandbox, sandboxes: dict[str, SandboxApp]
) -> None:
    for earlier in PRECEDED_BY.get(s.name, ()):
        assert send_sample(rt, sample(earlier), host=HOST)["statusCode"] == 202
        drain(rt)
    before_mail, before_events = len(emails()), len(google.events())
    for app, faults in s.faults.items():
        for fault in faults:
            control(sandboxes[app], "POST", "/_faults", fault)
    result = send_sample(rt, s, host=HOST)
    assert result["statusCode"] == s.expect_status, result["body"]
    drain(rt)
    assert not dlq_messages(rt)
    if s.expect == "rejected":
        assert json.loads(result["body"])["error"] == "invalid_signature"
        assert queued(rt) == 0 and len(emails()) == before_mail and len(google.events()) == before_events
        return
    mails, events, method = EFFECTS[s.name]
    assert (len(emails()) - before_mail, len(google.events()) - before_events) == (mails, events)
    if method:
        assert ics_of(emails()[-1])["METHOD"] == method


def test_the_retried_sample_really_was_retried(
    rt: Runtime, google: GoogleCalendarSandbox, sandboxes: dict[str, SandboxApp]
) -> None:
    s = sample("calendly_google_unavailable")
    for fault in s.faults["google_calendar"]:
        control(google, "POST", "/_faults", fault)
    send_sample(rt, s, host=HOST)
    drain(rt)
    inserts = [r for r in control(google, "GET", "/_requests")["requests"] if r["path"].endswith("/events")]
    assert [r["status"] for r in inserts if r["method"] == "POST"] == [503, 403, 200]
    assert len(google.events()) == 1 and len(emails()) == 1


# --- created, moved, deleted: Calendly ----------------------------------------------------------------


def test_calendly_booking_created_rescheduled_cancelled(
    rt: Runtime, google: GoogleCalendarSandbox, calendly: CalendlySandbox
) -> None:
    booked = control(
        calendly,
        "POST",
        "/_bookings",
        {"name": "Ada Lovelace", "email": "ada@example.org", "start_time": "2026-12-14T10:00:00Z"},
    )
    assert [d["status"] for d in booked["deliveries"]] == [202]
    drain(rt)
    [event] = google.events()
    assert event["id"] == google_calendar.event_id("calendly:" + booked["event"].rsplit("/", 1)[-1])
    assert event["start"] == {"dateTime": "2026-12-14T10:00:00Z", "timeZone": "Europe/London"}
    assert [a["email"] for a in event["attendees"]] == ["ada@example.org"]
    [confirmation] = emails()
    first = ics_of(confirmation)
    assert confirmation["To"] == "ada@example.org"
    assert (first["METHOD"], first["SEQUENCE"], first["DTSTART"]) == ("REQUEST", "0", "20261214T100000Z")
    assert first["_method_param"] == "REQUEST"

    moved = control(
        calendly,
        "POST",
        "/_bookings/reschedule",
        {"invitee": booked["invitee"], "start_time": "2026-12-15T16:30:00Z"},
    )
    assert [d["status"] for d in moved["deliveries"]] == [202, 202]  # canceled(rescheduled) + created
    drain(rt)
    [event] = google.events()  # the same event, moved - not deleted and re-created
    assert event["id"] == google_calendar.event_id("calendly:" + booked["event"].rsplit("/", 1)[-1])
    assert event["start"]["dateTime"] == "2026-12-15T16:30:00Z" and event["sequence"] == 1
    assert not [r for r in control(google, "GET", "/_requests")["requests"] if r["method"] == "DELETE"]
    assert len(emails()) == 2
    second = ics_of(emails()[1])
    assert (second["UID"], second["SEQUENCE"], second["DTSTART"]) == (first["UID"], "1", "20261215T163000Z")

    cancelled = control(calendly, "POST", "/_bookings/cancel", {"invitee": moved["invitee"], "reason": "ill"})
    assert [d["status"] for d in cancelled["deliveries"]] == [202]
    drain(rt)
    assert google.events() == []
    assert [e["status"] for e in google.events(include_deleted=True)] == ["cancelled"]
    assert len(emails()) == 3
    third = ics_of(emails()[2])
    assert (third["METHOD"], third["STATUS"], third["UID"], third["SEQUENCE"]) == (
        "CANCEL",
        "CANCELLED",
        first["UID"],
        "2",
    )
    assert not dlq_messages(rt)


def test_a_second_reschedule_still_moves_the_one_event(
    rt: Runtime, google: GoogleCalendarSandbox, calendly: CalendlySandbox
) -> None:
    booked = control(
        calendly,
        "POST",
        "/_bookings",
        {"name": "Ada L", "email": "ada@example.org", "start_time": "2026-12-14T10:00:00Z"},
    )
    drain(rt)
    once = control(
        calendly,
        "POST",
        "/_bookings/reschedule",
        {"invitee": booked["invitee"], "start_time": "2026-12-15T10:00:00Z"},
    )
    drain(rt)
    control(
        calendly,
        "POST",
        "/_bookings/reschedule",
        {"invitee": once["invitee"], "start_time": "2026-12-16T10:00:00Z"},
    )
    drain(rt)
    [event] = google.events()
    assert event["start"]["dateTime"] == "2026-12-16T10:00:00Z"
    assert [ics_of(m)["SEQUENCE"] for m in emails()] == ["0", "1", "2"]
    assert len({ics_of(m)["UID"] for m in emails()}) == 1


# --- created, moved, deleted: Cal.com -----------------------------------------------------------------


def test_calcom_booking_created_rescheduled_cancelled(
    rt: Runtime, google: GoogleCalendarSandbox, calcom: CalcomSandbox
) -> None:
    booked = control(
        calcom,
        "POST",
        "/_bookings",
        {
            "name": "Grace Hopper",
            "email": "grace@example.org",
            "start_time": "2026-12-17T13:00:00Z",
            "duration_minutes": 45,
        },
    )
    drain(rt)
    [event] = google.events()
    assert event["id"] == google_calendar.event_id(f"calcom:{booked['uid']}")
    assert event["end"]["dateTime"] == "2026-12-17T13:45:00Z"
    moved = control(
        calcom, "POST", "/_bookings/reschedule", {"uid": booked["uid"], "start_time": "2026-12-18T09:00:00Z"}
    )
    drain(rt)
    [event] = google.events()
    assert event["id"] == google_calendar.event_id(f"calcom:{booked['uid']}")  # moved, same event
    assert (event["start"]["dateTime"], event["end"]["dateTime"]) == (
        "2026-12-18T09:00:00Z",
        "2026-12-18T09:45:00Z",
    )
    control(calcom, "POST", "/_bookings/cancel", {"uid": moved["uid"]})
    drain(rt)
    assert google.events() == []
    methods = [(ics_of(m)["METHOD"], ics_of(m)["SEQUENCE"]) for m in emails()]
    assert methods == [("REQUEST", "0"), ("REQUEST", "1"), ("CANCEL", "2")]
    assert [m["To"] for m in emails()] == ["grace@example.org"] * 3
    assert not dlq_messages(rt)


# --- at most once ----------------------------------------------------------------------------------------


def test_the_same_booking_delivered_three_times_is_one_event_and_one_email(
    rt: Runtime, google: GoogleCalendarSandbox, calendly: CalendlySandbox
) -> None:
    booked = control(
        calendly,
        "POST",
        "/_bookings",
        {"name": "Ada L", "email": "ada@example.org", "start_time": "2026-12-14T10:00:00Z"},
    )
    delivery = booked["deliveries"][0]["id"]
    for _ in range(2):  # Calendly's retry, then someone pressing "resend"
        again = control(calendly, "POST", "/_webhooks/redeliver", {"delivery_id": delivery})
        assert again["status"] == 202
    drain(rt)
    assert len(google.events()) == 1 and len(emails()) == 1
    inserts = [
        r
        for r in control(google, "GET", "/_requests")["requests"]
        if r["method"] == "POST" and "/events" in r["path"]
    ]
    assert len(inserts) == 1  # the duplicates never reached Google


def test_a_cancel_that_overtakes_its_create_leaves_nothing_on_the_calendar(
    rt: Runtime, google: GoogleCalendarSandbox
) -> None:
    send_sample(rt, sample("calendly_3_invitee_canceled"), host=HOST)
    drain(rt)
    created = sample("calendly_2_reschedule_b_invitee_created")
    plain = json.loads(created.body)
    plain["payload"]["old_invitee"] = None  # the create of the booking that was cancelled above
    send_sample(rt, replace(created, body=json.dumps(plain).encode()), host=HOST)
    drain(rt)
    assert google.events(include_deleted=True) == []
    # No invitation was ever sent for it, so there is none to withdraw: no email at all.
    assert emails() == []


def test_a_lost_google_answer_is_retried_without_a_second_event_or_email(
    rt: Runtime, google: GoogleCalendarSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Google makes the event but the answer never arrives (the client times out): the retry's
    # insert of the same derived id is told 409 duplicate, reads the event, and sends the one email.
    monkeypatch.setattr(google_calendar, "APP", replace(google_calendar.APP, read_timeout_s=0.2))
    control(google, "POST", "/_faults", {"kind": "slow", "delay_s": 0.5, "method": "POST", "path": "/events"})
    send_sample(rt, sample("calendly_1_invitee_created"), host=HOST)
    drain(rt)
    posts = [
        r
        for r in control(google, "GET", "/_requests")["requests"]
        if r["method"] == "POST" and "/events" in r["path"]
    ]
    assert [r["status"] for r in posts] == [200, 409]
    assert len(google.events()) == 1 and len(emails()) == 1
    assert not dlq_messages(rt)


def test_no_write_access_to_the_calendar_is_dead_lettered_with_googles_reason(
    rt: Runtime, google: GoogleCalendarSandbox
) -> None:
    body = {
        "error": {
            "errors": [
                {
                    "domain": "calendar",
                    "reason": "requiredAccessLevel",
                    "message": "You need to have writer access to this calendar.",
                }
            ],
            "code": 403,
            "message": "You need to have writer access to this calendar.",
        }
    }
    control(google, "POST", "/_faults", {"kind": "status", "status": 403, "path": "/events", "body": body})
    send_sample(rt, sample("calcom_1_booking_created"), host=HOST)
    drain(rt)
    [dead] = dlq_messages(rt)
    attrs = dead["MessageAttributes"]
    assert attrs["error"]["StringValue"] == "target_rejected"
    assert "requiredAccessLevel" in attrs["reason"]["StringValue"]
    assert attrs["attempts"]["StringValue"] == "1" and emails() == []


def test_an_unrelated_calendly_event_is_accepted_and_ignored(
    rt: Runtime, google: GoogleCalendarSandbox
) -> None:
    s = sample("calendly_1_invitee_created")
    body = {
        "event": "invitee_no_show.created",
        "created_at": "2026-12-08T10:40:00.000000Z",
        "payload": {"invitee": "x"},
    }
    result = send_sample(rt, replace(s, body=json.dumps(body).encode()), host=HOST)
    assert result["statusCode"] == 202
    drain(rt)
    assert google.events() == [] and emails() == [] and not dlq_messages(rt)


def test_an_invitee_event_without_its_payload_is_refused(rt: Runtime) -> None:
    s = sample("calendly_1_invitee_created")
    result = send_sample(rt, replace(s, body=b'{"event": "invitee.created"}'), host=HOST)
    assert result["statusCode"] == 400 and queued(rt) == 0


def test_step_results_the_first_version_recorded_still_name_the_event() -> None:
    # A retry after a deploy resumes from results recorded before the calendar contract spoke of
    # keys: they always hold Google's id, and the UID is Google's for an event it made.
    from functions.booking_to_calendar.worker import _uid, _which

    gid = google_calendar.event_id("calendly:abc")
    old_resolve = {"event_id": gid, "sequence": 1, "ical_uid": None}
    assert _which(old_resolve, "calendly:abc") == {"event_id": gid}
    assert _uid(old_resolve, {"event_id": gid, "state": "deleted"}) == f"{gid}@google.com"
    fresh = {"event_id": None, "key": "calendly:abc", "sequence": 1, "ical_uid": None}
    assert _which(fresh, "calendly:other") == {"key": "calendly:abc"}
    assert _uid(fresh, {"event_id": gid, "ical_uid": "uid-1@example", "state": "deleted"}) == "uid-1@example"
    assert _uid({"ical_uid": "linked@example"}, {"ical_uid": "uid-1@example"}) == "linked@example"
