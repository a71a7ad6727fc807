"""The Calendly sandbox sends Calendly's webhooks, signed its own way; our verifier accepts them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from apps import calendly
from apps.calendly.standin import CalendlySandbox
from apps.calendly.webhooks import WebhookEnvelope
from sandbox.base import SandboxRequest
from shared.webhooks.base import WebhookRequest

URL = "https://hooks.example.test/hooks/booking_to_calendar/calendly"
KEY = "k3y"


def control(app: CalendlySandbox, path: str, body: Any) -> Any:
    res = app.handle(SandboxRequest("POST", path, body=json.dumps(body).encode()))
    assert res.status == 201, res.body
    return res.parsed()


def test_booking_rescheduling_and_cancelling_send_verifiable_real_shaped_webhooks() -> None:
    app = CalendlySandbox(clock=lambda: 1_795_166_044.0)
    got: list[tuple[Mapping[str, str], bytes]] = []

    def deliver(url: str, headers: Mapping[str, str], body: bytes) -> int:
        got.append((headers, body))
        return 202

    assert app.webhooks is not None
    app.webhooks.subscribe(URL, KEY, deliver=deliver)
    booked = control(
        app,
        "/_bookings",
        {"name": "Ada Lovelace", "email": "ada@example.org", "start_time": "2026-12-14T10:00:00Z"},
    )
    moved = control(
        app, "/_bookings/reschedule", {"invitee": booked["invitee"], "start_time": "2026-12-15T10:00:00Z"}
    )
    control(app, "/_bookings/cancel", {"invitee": moved["invitee"], "reason": "ill"})
    kinds = []
    for headers, body in got:
        request = WebhookRequest("POST", URL, {k.lower(): v for k, v in headers.items()}, body)
        calendly.VERIFIER.verify(request, [KEY], 1_795_166_044.0)
        hook = WebhookEnvelope.model_validate_json(body)
        assert hook.payload is not None
        kinds.append((hook.event, hook.payload.rescheduled, hook.payload.scheduled_event.status))
    assert kinds == [
        ("invitee.created", False, "active"),
        ("invitee.canceled", True, "canceled"),
        ("invitee.created", False, "active"),
        ("invitee.canceled", False, "canceled"),
    ]
    new = WebhookEnvelope.model_validate_json(got[2][1]).payload
    assert new is not None and new.old_invitee == booked["invitee"]
    assert calendly.event_uuid_of_invitee(new.old_invitee or "") == booked["event"].rsplit("/", 1)[-1]
    first = json.loads(got[0][1])["payload"]
    assert first["scheduled_event"]["event_memberships"][0]["user_email"] == "owner@bramble-bakery.example"
    assert first["scheduled_event"]["start_time"] == "2026-12-14T10:00:00.000000Z"


def test_redelivery_keeps_the_event_and_an_unknown_invitee_is_404() -> None:
    app = CalendlySandbox()
    bodies: list[bytes] = []
    assert app.webhooks is not None

    def deliver(url: str, headers: Mapping[str, str], body: bytes) -> int:
        bodies.append(body)
        return 202

    app.webhooks.subscribe(URL, KEY, deliver=deliver)
    booked = control(
        app, "/_bookings", {"name": "A B", "email": "a@example.org", "start_time": "2026-12-14T10:00:00Z"}
    )
    again = app.handle(
        SandboxRequest(
            "POST",
            "/_webhooks/redeliver",
            body=json.dumps({"delivery_id": booked["deliveries"][0]["id"]}).encode(),
        )
    )
    assert again.status == 201 and bodies[0] == bodies[1]
    assert app.handle(SandboxRequest("POST", "/_bookings/cancel", body=b'{"invitee": "nope"}')).status == 404
