"""The Cal.com stand-in's v2 webhooks API: Cal.com's shapes, and bookings sent to what it holds."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from apps import calcom
from apps.calcom.standin import DEFAULT_API_KEY, CalcomSandbox
from sandbox.base import SandboxRequest, SandboxResponse
from shared.webhooks.base import WebhookRequest

URL = "https://pos.bramble-bakery.example/hooks/booking_to_calendar/calcom"
AUTH = {"authorization": f"Bearer {DEFAULT_API_KEY}"}
BOOKING = {"name": "Ada Lovelace", "email": "ada@example.org", "start_time": "2026-12-14T10:00:00Z"}


@pytest.fixture
def app() -> CalcomSandbox:
    return CalcomSandbox()


def call(app: CalcomSandbox, method: str, path: str, body: Any = None, **query: str) -> SandboxResponse:
    raw = b"" if body is None else json.dumps(body).encode()
    return app.handle(
        SandboxRequest(method, path, query={k: [v] for k, v in query.items()}, headers=AUTH, body=raw)
    )


def create(app: CalcomSandbox, **extra: Any) -> SandboxResponse:
    body = {
        "subscriberUrl": URL,
        "triggers": ["BOOKING_CREATED"],
        "active": True,
        "secret": "our-secret",
        **extra,
    }
    return call(app, "POST", "/v2/webhooks", body)


def book(app: CalcomSandbox) -> None:
    assert app.handle(SandboxRequest("POST", "/_bookings", body=json.dumps(BOOKING).encode())).status == 201


def test_create_answers_the_webhook_with_its_secret(app: CalcomSandbox) -> None:
    resp = create(app)
    assert resp.status == 201
    body = resp.parsed()
    assert body["status"] == "success"
    made = body["data"]
    assert list(made) == ["id", "payloadTemplate", "triggers", "subscriberUrl", "active", "secret", "userId"]
    assert re.fullmatch(r"[0-9a-f-]{36}", made["id"]) and made["secret"] == "our-secret"
    assert made["triggers"] == ["BOOKING_CREATED"] and made["payloadTemplate"] is None and made["userId"] == 1
    assert call(app, "GET", f"/v2/webhooks/{made['id']}").parsed()["data"] == made
    assert call(app, "GET", "/v2/webhooks").parsed() == {"status": "success", "data": [made]}


def test_the_same_url_twice_is_409_and_bad_bodies_are_400(app: CalcomSandbox) -> None:
    create(app)
    again = create(app)
    assert again.status == 409
    error = again.parsed()
    assert error["status"] == "error" and error["path"] == "/v2/webhooks"
    assert error["error"] == {
        "code": "ConflictException",
        "message": "Webhook with this subscriber url already exists for this user",
    }
    bad = call(app, "POST", "/v2/webhooks", {"subscriberUrl": URL + "2", "triggers": ["BOOKING_EXPLODED"]})
    assert bad.status == 400 and bad.parsed()["error"]["code"] == "BadRequestException"
    assert "active must be a boolean value" in bad.parsed()["error"]["message"]


def test_an_unknown_key_is_401(app: CalcomSandbox) -> None:
    resp = app.handle(
        SandboxRequest("GET", "/v2/webhooks", headers={"authorization": "Bearer cal_live_nope"})
    )
    assert resp.status == 401 and resp.parsed()["error"]["code"] == "UnauthorizedException"


def test_patch_changes_triggers_secret_and_active_and_delete_answers_the_webhook(app: CalcomSandbox) -> None:
    made = create(app).parsed()["data"]
    patched = call(
        app,
        "PATCH",
        f"/v2/webhooks/{made['id']}",
        {"triggers": ["BOOKING_CREATED", "BOOKING_CANCELLED"], "secret": "new"},
    ).parsed()["data"]
    assert patched["triggers"] == ["BOOKING_CREATED", "BOOKING_CANCELLED"] and patched["secret"] == "new"
    deleted = call(app, "DELETE", f"/v2/webhooks/{made['id']}").parsed()
    assert deleted == {"status": "success", "data": patched}
    missing = call(app, "GET", f"/v2/webhooks/{made['id']}")
    assert missing.status == 404 and missing.parsed()["error"]["code"] == "NotFoundException"


def test_bookings_reach_active_webhooks_for_their_triggers_signed_with_the_secret(app: CalcomSandbox) -> None:
    made = create(app).parsed()["data"]
    got: list[tuple[dict[str, str], bytes]] = []
    assert app.webhooks is not None
    app.webhooks.subscriptions[0].deliver = lambda u, h, b: got.append((dict(h), b)) or 200
    book(app)
    ((headers, body),) = got
    request = WebhookRequest("POST", URL, {k.lower(): v for k, v in headers.items()}, body)
    calcom.VERIFIER.verify(request, ["our-secret"], 0.0)

    call(app, "PATCH", f"/v2/webhooks/{made['id']}", {"active": False})
    book(app)
    assert len(got) == 1


def test_without_a_secret_the_signature_is_the_literal_no_secret_provided(app: CalcomSandbox) -> None:
    create(app, secret=None)
    got: list[dict[str, str]] = []
    assert app.webhooks is not None
    app.webhooks.subscriptions[0].deliver = lambda u, h, b: got.append(dict(h)) or 200
    book(app)
    assert got[0]["X-Cal-Signature-256"] == calcom.NO_SECRET


def test_past_120_requests_a_minute_calcom_answers_429_throttler_exception() -> None:
    now = [1_795_166_040.0]  # a whole minute: the fixed window ends at +60 s
    app = CalcomSandbox(clock=lambda: now[0])
    first = call(app, "GET", "/v2/webhooks")
    assert first.headers["x-ratelimit-limit-default"] == "120"
    assert first.headers["x-ratelimit-remaining-default"] == "119"
    assert first.headers["x-ratelimit-reset-default"] == "1795166100"
    assert {call(app, "GET", "/v2/webhooks").status for _ in range(119)} == {200}
    limited = call(app, "GET", "/v2/webhooks")
    assert limited.status == 429
    assert limited.parsed()["error"] == {
        "code": "ThrottlerException",
        "message": "ThrottlerException: Too Many Requests",
    }
    assert limited.headers["retry-after"] == "60"
    now[0] += 60.0
    assert call(app, "GET", "/v2/webhooks").status == 200
