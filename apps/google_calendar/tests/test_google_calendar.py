"""apps.google_calendar: derived event ids and the typed client against the sandbox (in-process)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest

from apps import google_calendar
from apps.google_calendar.client import GoogleCalendarClient
from apps.google_calendar.models import error_reason
from apps.google_calendar.standin import GoogleCalendarSandbox, google_error, rate_limit_403
from sandbox.base import SandboxRequest, as_transport
from shared.errors import RateLimited, TargetRejected, TargetUnavailable
from shared.http import ApiClient

BASE = "http://sandbox.test/_sandbox/google_calendar"


def token(app: GoogleCalendarSandbox) -> str:
    form = urlencode(
        {
            "grant_type": "refresh_token",
            "refresh_token": "sandbox-google_calendar-refresh_token",
            "client_id": "sandbox-google_calendar-client_id",
            "client_secret": "sandbox-google_calendar-client_secret",
        }
    ).encode()
    res = app.handle(
        SandboxRequest(
            "POST", "/token", headers={"content-type": "application/x-www-form-urlencoded"}, body=form
        )
    )
    assert res.status == 200, res.body
    return str(res.parsed()["access_token"])


@pytest.fixture
def app() -> GoogleCalendarSandbox:
    return GoogleCalendarSandbox()


@pytest.fixture
def client(app: GoogleCalendarSandbox) -> GoogleCalendarClient:
    api = ApiClient(
        google_calendar.APP, {"access_token": token(app), "base_url": BASE}, transport=as_transport(app)
    )
    return GoogleCalendarClient(api)


def body(event_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "summary": "Tasting",
        "start": {"dateTime": "2026-12-01T10:00:00Z", "timeZone": "Europe/London"},
        "end": {"dateTime": "2026-12-01T10:30:00Z", "timeZone": "Europe/London"},
        **extra,
    }


def test_event_ids_follow_googles_rule_and_are_stable() -> None:
    a = google_calendar.event_id("calendly:f3b2c1d0-6a7e")
    assert re.fullmatch(r"[a-v0-9]{52}", a)
    assert a == google_calendar.event_id("calendly:f3b2c1d0-6a7e")
    assert a != google_calendar.event_id("calcom:f3b2c1d0-6a7e")
    assert google_calendar.EVENT_ID.match(a)


def test_insert_is_idempotent_by_id(client: GoogleCalendarClient, app: GoogleCalendarSandbox) -> None:
    eid = google_calendar.event_id("k1")
    made = client.insert_event("primary", body(eid))
    assert made is not None and made.id == eid and made.ical_uid == f"{eid}@google.com"
    assert client.insert_event("primary", body(eid)) is None  # 409 duplicate
    assert len(app.events()) == 1


def test_get_patch_delete(client: GoogleCalendarClient) -> None:
    eid = google_calendar.event_id("k2")
    client.insert_event("primary", body(eid, extendedProperties={"private": {"switchboardBooking": "k2"}}))
    got = client.get_event("primary", eid)
    assert got is not None and got.private("switchboardBooking") == "k2"
    moved = client.patch_event(
        "primary",
        eid,
        {"start": {"dateTime": "2026-12-02T10:00:00Z"}, "end": {"dateTime": "2026-12-02T10:30:00Z"}},
    )
    assert (
        moved is not None and moved.sequence == 1 and moved.start and moved.start.time_zone == "Europe/London"
    )
    assert client.delete_event("primary", eid) is True
    assert client.delete_event("primary", eid) is False  # 410 deleted
    gone = client.get_event("primary", eid)
    assert gone is not None and gone.status == "cancelled"
    assert client.get_event("primary", google_calendar.event_id("nope")) is None
    assert client.patch_event("primary", google_calendar.event_id("nope"), {"summary": "x"}) is None
    assert client.delete_event("primary", google_calendar.event_id("nope")) is False  # 404


def test_a_malformed_id_is_refused_before_google_is_asked(client: GoogleCalendarClient) -> None:
    with pytest.raises(ValueError, match="base32hex"):
        client.insert_event("primary", body("UPPER-case"))


def test_403_is_classified_by_its_reason(client: GoogleCalendarClient, app: GoogleCalendarSandbox) -> None:
    app.handle(
        SandboxRequest(
            "POST", "/_faults", body=_json({"kind": "status", "status": 403, "body": rate_limit_403()})
        )
    )
    with pytest.raises(RateLimited):
        client.insert_event("primary", body(google_calendar.event_id("k3")))
    denied = google_error(
        403,
        "forbiddenForNonOrganizer",
        "Shared properties can only be changed by the organizer of the event.",
    )
    app.handle(
        SandboxRequest("POST", "/_faults", body=_json({"kind": "status", "status": 403, "body": denied}))
    )
    with pytest.raises(TargetRejected, match="forbiddenForNonOrganizer"):
        client.insert_event("primary", body(google_calendar.event_id("k3")))


def test_5xx_and_429_are_retryable(client: GoogleCalendarClient, app: GoogleCalendarSandbox) -> None:
    # A read is repeated within the call (shared.http.SAFE_RETRIES): three 503s in a row fail it.
    app.handle(SandboxRequest("POST", "/_faults", body=_json({"kind": "status", "status": 503, "count": 3})))
    with pytest.raises(TargetUnavailable):
        client.get_event("primary", google_calendar.event_id("k4"))
    app.handle(SandboxRequest("POST", "/_faults", body=_json({"kind": "rate_limit", "retry_after": 7})))
    with pytest.raises(RateLimited) as caught:
        client.get_event("primary", google_calendar.event_id("k4"))
    assert caught.value.retry_after == 7


def test_error_reason_reads_googles_body() -> None:
    assert (
        error_reason(
            b'{"error":{"errors":[{"domain":"global","reason":"duplicate","message":"x"}],"code":409,"message":"x"}}'
        )
        == "duplicate"
    )
    assert error_reason(b"<html>") is None


def _json(data: Any) -> bytes:
    import json

    return json.dumps(data).encode()
