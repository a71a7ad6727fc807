"""The Google Calendar sandbox answers like Google: OAuth, ids, duplicates, deletes, errors."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from apps.google_calendar.standin import BOOKINGS_CALENDAR, GoogleCalendarSandbox
from sandbox.base import SandboxRequest, SandboxResponse

EVENTS = "/calendar/v3/calendars/primary/events"
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def app() -> GoogleCalendarSandbox:
    return GoogleCalendarSandbox()


def refresh(app: GoogleCalendarSandbox, **changes: str) -> SandboxResponse:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": "sandbox-google_calendar-refresh_token",
        "client_id": "sandbox-google_calendar-client_id",
        "client_secret": "sandbox-google_calendar-client_secret",
        **changes,
    }
    return app.handle(SandboxRequest("POST", "/token", headers=FORM, body=urlencode(form).encode()))


def call(
    app: GoogleCalendarSandbox, method: str, path: str, body: Any = None, token: str | None = None
) -> SandboxResponse:
    headers = {
        "authorization": f"Bearer {token or refresh(app).parsed()['access_token']}",
        "content-type": "application/json",
    }
    raw = b"" if body is None else json.dumps(body).encode()
    path, _, query = path.partition("?")
    params = {k: [v] for k, v in (p.split("=", 1) for p in query.split("&") if p)}
    return app.handle(SandboxRequest(method, path, query=params, headers=headers, body=raw))


def event(event_id: str = "abcdef0123", **extra: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "summary": "x",
        "start": {"dateTime": "2026-12-01T10:00:00Z"},
        "end": {"dateTime": "2026-12-01T11:00:00Z"},
        **extra,
    }


def test_token_endpoint_takes_the_client_in_the_body_and_does_not_rotate(app: GoogleCalendarSandbox) -> None:
    answer = refresh(app).parsed()
    assert answer["expires_in"] == 3599 and "refresh_token" not in answer
    assert refresh(app, client_secret="wrong").status == 401
    assert refresh(app, refresh_token="nope").parsed()["error"] == "invalid_grant"


def test_no_or_a_bad_token_is_googles_401(app: GoogleCalendarSandbox) -> None:
    res = app.handle(SandboxRequest("GET", EVENTS))
    assert res.status == 401 and res.parsed()["error"]["status"] == "UNAUTHENTICATED"
    assert call(app, "GET", EVENTS, token="forged").status == 401


def test_client_ids_duplicates_and_invalid_ids(app: GoogleCalendarSandbox) -> None:
    made = call(app, "POST", EVENTS + "?sendUpdates=none", event(attendees=[{"email": "a@example.org"}]))
    assert made.status == 200
    data = made.parsed()
    assert (data["id"], data["iCalUID"], data["sequence"], data["status"]) == (
        "abcdef0123",
        "abcdef0123@google.com",
        0,
        "confirmed",
    )
    assert data["attendees"] == [{"email": "a@example.org", "responseStatus": "needsAction"}]
    dup = call(app, "POST", EVENTS, event())
    assert dup.status == 409 and dup.parsed()["error"]["errors"][0]["reason"] == "duplicate"
    for bad in ("ABCDEF0123", "abcd", "wxyz01234", "abc_def012"):
        res = call(app, "POST", EVENTS, event(bad))
        assert res.status == 400 and res.parsed()["error"]["message"] == "Invalid resource id value."
    assert call(app, "POST", EVENTS + "?sendUpdates=everyone", event("abcdef9999")).status == 400


def test_times_are_checked(app: GoogleCalendarSandbox) -> None:
    assert (
        call(
            app, "POST", EVENTS, {"id": "abcdef0124", "start": {"dateTime": "2026-12-01T10:00:00Z"}}
        ).parsed()["error"]["message"]
        == "Missing end time."
    )
    backwards = event("abcdef0125", end={"dateTime": "2026-12-01T09:00:00Z"})
    assert call(app, "POST", EVENTS, backwards).parsed()["error"]["errors"][0]["reason"] == "timeRangeEmpty"


def test_patch_delete_and_the_deleted_state(app: GoogleCalendarSandbox) -> None:
    call(app, "POST", EVENTS, event())
    moved = call(
        app,
        "PATCH",
        EVENTS + "/abcdef0123",
        {"start": {"dateTime": "2026-12-02T10:00:00Z"}, "end": {"dateTime": "2026-12-02T11:00:00Z"}},
    ).parsed()
    assert moved["sequence"] == 1 and moved["summary"] == "x"
    assert call(app, "PATCH", EVENTS + "/abcdef0123", {"summary": "y"}).parsed()["sequence"] == 1
    assert call(app, "DELETE", EVENTS + "/abcdef0123").status == 204
    assert call(app, "DELETE", EVENTS + "/abcdef0123").status == 410
    assert call(app, "GET", EVENTS + "/abcdef0123").parsed()["status"] == "cancelled"
    assert call(app, "POST", EVENTS, event()).status == 409  # a deleted event keeps its id
    assert call(app, "GET", EVENTS + "/abcdef9876").status == 404
    assert app.events() == [] and len(app.events(include_deleted=True)) == 1


def test_calendars_are_separate_and_unknown_ones_are_404(app: GoogleCalendarSandbox) -> None:
    assert call(app, "POST", f"/calendar/v3/calendars/{BOOKINGS_CALENDAR}/events", event()).status == 200
    assert call(app, "POST", EVENTS, event()).status == 200
    assert call(app, "POST", "/calendar/v3/calendars/nobody@example.org/events", event()).status == 404


def test_faults_answer_in_googles_shape(app: GoogleCalendarSandbox) -> None:
    token = refresh(app).parsed()["access_token"]
    app.handle(SandboxRequest("POST", "/_faults", body=b'{"kind": "status", "status": 503}'))
    res = call(app, "GET", EVENTS, token=token)
    assert res.status == 503 and res.parsed()["error"]["errors"][0]["reason"] == "backendError"
    app.handle(SandboxRequest("POST", "/_faults", body=b'{"kind": "rate_limit", "retry_after": 2}'))
    res = call(app, "GET", EVENTS, token=token)
    assert res.status == 429 and res.headers["retry-after"] == "2"
    assert res.parsed()["error"]["errors"][0]["domain"] == "usageLimits"


def test_reset_forgets_events_and_tokens(app: GoogleCalendarSandbox) -> None:
    token = refresh(app).parsed()["access_token"]
    call(app, "POST", EVENTS, event(), token=token)
    app.handle(SandboxRequest("POST", "/_reset"))
    assert app.events() == [] and call(app, "GET", EVENTS, token=token).status == 401


class _Clock:
    def __init__(self, now: float = 1_780_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_past_600_requests_a_minute_google_answers_403_user_rate_limit_exceeded() -> None:
    clock = _Clock()
    app = GoogleCalendarSandbox(clock=clock)
    token = refresh(app).parsed()["access_token"]
    path = "/calendar/v3/calendars/primary/events"
    statuses = [call(app, "GET", path, token=token).status for _ in range(600)]
    limited = call(app, "GET", path, token=token)

    assert set(statuses) == {200}
    assert limited.status == 403
    assert limited.parsed()["error"]["errors"] == [
        {"domain": "usageLimits", "reason": "userRateLimitExceeded", "message": "User Rate Limit Exceeded"}
    ]
    assert "retry-after" not in limited.headers
    assert refresh(app).status == 200  # the token endpoint is not an API call
    clock.now += 60.0
    assert call(app, "GET", path, token=token).status == 200


def test_the_quota_is_per_user_whatever_the_token() -> None:
    app = GoogleCalendarSandbox(clock=_Clock())
    path = "/calendar/v3/calendars/primary/events"
    first = refresh(app).parsed()["access_token"]
    for _ in range(600):
        call(app, "GET", path, token=first)
    assert call(app, "GET", path, token=refresh(app).parsed()["access_token"]).status == 403
