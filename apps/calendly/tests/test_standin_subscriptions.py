"""The Calendly stand-in's webhook subscriptions API: Calendly's shapes, and bookings sent to what it holds."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from apps import calendly
from apps.calendly.standin import DEFAULT_TOKEN, HOST_USER, ORGANIZATION, CalendlySandbox
from sandbox.base import SandboxRequest, SandboxResponse
from shared.webhooks.base import WebhookRequest

URL = "https://pos.bramble-bakery.example/hooks/booking_to_calendar/calendly"
AUTH = {"authorization": f"Bearer {DEFAULT_TOKEN}"}
NOW = 1_795_166_044.0


@pytest.fixture
def app() -> CalendlySandbox:
    return CalendlySandbox(clock=lambda: NOW)


def call(app: CalendlySandbox, method: str, path: str, body: Any = None, **query: str) -> SandboxResponse:
    raw = b"" if body is None else json.dumps(body).encode()
    return app.handle(
        SandboxRequest(method, path, query={k: [v] for k, v in query.items()}, headers=AUTH, body=raw)
    )


def subscribe(app: CalendlySandbox, **extra: Any) -> SandboxResponse:
    body = {
        "url": URL,
        "events": ["invitee.created", "invitee.canceled"],
        "organization": ORGANIZATION,
        "user": HOST_USER,
        "scope": "user",
        "signing_key": "our-chosen-signing-key",
        **extra,
    }
    return call(app, "POST", "/webhook_subscriptions", body)


def test_users_me_names_the_current_organization(app: CalendlySandbox) -> None:
    me = call(app, "GET", "/users/me").parsed()["resource"]
    assert (
        me["uri"] == HOST_USER
        and me["current_organization"] == ORGANIZATION
        and me["resource_type"] == "User"
    )


def test_create_answers_the_subscription_without_its_signing_key(app: CalendlySandbox) -> None:
    resp = subscribe(app)
    assert resp.status == 201
    made = resp.parsed()["resource"]
    assert list(made) == [
        "uri",
        "callback_url",
        "created_at",
        "updated_at",
        "retry_started_at",
        "state",
        "events",
        "scope",
        "organization",
        "user",
        "group",
        "creator",
    ]
    assert re.fullmatch(r"https://api\.calendly\.com/webhook_subscriptions/[0-9a-f-]{36}", made["uri"])
    assert made["callback_url"] == URL and made["state"] == "active" and made["scope"] == "user"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", made["created_at"])
    assert "signing_key" not in json.dumps(resp.parsed())
    uuid_ = made["uri"].rsplit("/", 1)[1]
    assert call(app, "GET", f"/webhook_subscriptions/{uuid_}").parsed() == {"resource": made}


def test_the_same_url_for_the_same_user_is_409(app: CalendlySandbox) -> None:
    assert subscribe(app).status == 201
    again = subscribe(app, events=["invitee.created"])
    assert (again.status, again.parsed()) == (
        409,
        {"title": "Already Exists", "message": "Hook with this url already exists"},
    )


def test_invalid_arguments_are_named(app: CalendlySandbox) -> None:
    resp = subscribe(app, url="ftp://x", events=["invitee.exploded"], user=None)
    assert resp.status == 400
    body = resp.parsed()
    assert body["title"] == "Invalid Argument"
    assert [d["parameter"] for d in body["details"]] == ["url", "events", "user"]


def test_without_the_token_it_is_401(app: CalendlySandbox) -> None:
    resp = app.handle(SandboxRequest("GET", "/users/me", headers={"authorization": "Bearer nope"}))
    assert (resp.status, resp.parsed()["title"]) == (401, "Unauthenticated")


def test_list_needs_organization_and_scope_and_pages(app: CalendlySandbox) -> None:
    made = [subscribe(app, url=f"{URL}?n={n}").parsed()["resource"]["uri"] for n in range(3)]
    assert call(app, "GET", "/webhook_subscriptions", scope="user").status == 400
    first = call(
        app,
        "GET",
        "/webhook_subscriptions",
        organization=ORGANIZATION,
        scope="user",
        user=HOST_USER,
        count="2",
    ).parsed()
    assert [s["uri"] for s in first["collection"]] == made[:2]
    token = first["pagination"]["next_page_token"]
    assert first["pagination"]["count"] == 2 and first["pagination"]["next_page"].startswith(
        "https://api.calendly.com/"
    )
    rest = call(
        app,
        "GET",
        "/webhook_subscriptions",
        organization=ORGANIZATION,
        scope="user",
        user=HOST_USER,
        count="2",
        page_token=token,
    ).parsed()
    assert [s["uri"] for s in rest["collection"]] == made[2:] and rest["pagination"][
        "next_page_token"
    ] is None
    org = call(app, "GET", "/webhook_subscriptions", organization=ORGANIZATION, scope="organization").parsed()
    assert org["collection"] == []


def test_delete_is_204_then_404(app: CalendlySandbox) -> None:
    uuid_ = subscribe(app).parsed()["resource"]["uri"].rsplit("/", 1)[1]
    deleted = call(app, "DELETE", f"/webhook_subscriptions/{uuid_}")
    assert (deleted.status, deleted.body) == (204, b"")
    assert call(app, "GET", f"/webhook_subscriptions/{uuid_}").parsed()["title"] == "Resource Not Found"


def test_bookings_reach_the_subscription_for_its_events_signed_with_our_key(app: CalendlySandbox) -> None:
    subscribe(app, events=["invitee.created"])
    got: list[tuple[dict[str, str], bytes]] = []
    assert app.webhooks is not None
    app.webhooks.subscriptions[0].deliver = lambda u, h, b: got.append((dict(h), b)) or 200
    booked = app.handle(
        SandboxRequest(
            "POST",
            "/_bookings",
            body=json.dumps(
                {"name": "Ada Lovelace", "email": "ada@example.org", "start_time": "2026-12-14T10:00:00Z"}
            ).encode(),
        )
    ).parsed()
    app.handle(
        SandboxRequest("POST", "/_bookings/cancel", body=json.dumps({"invitee": booked["invitee"]}).encode())
    )

    ((headers, body),) = got  # the cancellation is not subscribed
    assert json.loads(body)["event"] == "invitee.created"
    request = WebhookRequest("POST", URL, {k.lower(): v for k, v in headers.items()}, body)
    calendly.VERIFIER.verify(request, ["our-chosen-signing-key"], NOW)


def test_past_500_requests_a_minute_calendly_answers_429_with_its_rate_limit_headers() -> None:
    now = [NOW]
    app = CalendlySandbox(clock=lambda: now[0])
    first = call(app, "GET", "/users/me")
    assert (first.headers["x-ratelimit-limit"], first.headers["x-ratelimit-remaining"]) == ("500", "499")
    assert {call(app, "GET", "/users/me").status for _ in range(499)} == {200}
    limited = call(app, "GET", "/users/me")
    assert limited.status == 429
    assert limited.parsed()["title"] == "Too Many Requests"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert limited.headers["x-ratelimit-reset"] == "60"
    now[0] += 60.0
    assert call(app, "GET", "/users/me").status == 200
