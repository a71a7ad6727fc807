"""The Cal.com sandbox sends Cal.com's webhooks, signed its own way; our verifier accepts them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from apps import calcom
from apps.calcom.standin import CalcomSandbox
from apps.calcom.webhooks import WebhookEnvelope
from sandbox.base import SandboxRequest
from shared.webhooks.base import WebhookRequest

URL = "https://hooks.example.test/hooks/booking_to_calendar/calcom"
SECRET = "s3cret"


def control(app: CalcomSandbox, path: str, body: Any) -> Any:
    res = app.handle(SandboxRequest("POST", path, body=json.dumps(body).encode()))
    assert res.status == 201, res.body
    return res.parsed()


def test_created_rescheduled_cancelled_are_verifiable_and_real_shaped() -> None:
    app = CalcomSandbox()
    got: list[tuple[Mapping[str, str], bytes]] = []
    assert app.webhooks is not None

    def deliver(url: str, headers: Mapping[str, str], body: bytes) -> int:
        got.append((headers, body))
        return 202

    app.webhooks.subscribe(URL, SECRET, deliver=deliver)
    booked = control(
        app,
        "/_bookings",
        {"name": "Grace Hopper", "email": "grace@example.org", "start_time": "2026-12-17T13:00:00Z"},
    )
    moved = control(
        app, "/_bookings/reschedule", {"uid": booked["uid"], "start_time": "2026-12-18T09:00:00Z"}
    )
    control(app, "/_bookings/cancel", {"uid": moved["uid"], "reason": "clash"})
    hooks = []
    for headers, body in got:
        assert headers["x-cal-webhook-version"] == "2021-10-20"
        calcom.VERIFIER.verify(
            WebhookRequest("POST", URL, {k.lower(): v for k, v in headers.items()}, body), [SECRET], 0.0
        )
        hooks.append(WebhookEnvelope.model_validate_json(body))
    assert [h.trigger_event for h in hooks] == ["BOOKING_CREATED", "BOOKING_RESCHEDULED", "BOOKING_CANCELLED"]
    created, rescheduled, cancelled = (h.payload for h in hooks)
    assert created and rescheduled and cancelled
    assert rescheduled.uid != created.uid and rescheduled.reschedule_uid == created.uid
    assert rescheduled.ical_uid == created.ical_uid and rescheduled.ical_sequence == 1
    assert (
        cancelled.uid == rescheduled.uid
        and cancelled.status == "CANCELLED"
        and cancelled.cancellation_reason == "clash"
    )
    assert app.state()["bookings"][0]["status"] == "CANCELLED"  # the replaced booking, without a webhook


def test_an_unknown_booking_is_404() -> None:
    app = CalcomSandbox()
    assert app.handle(SandboxRequest("POST", "/_bookings/cancel", body=b'{"uid": "nope"}')).status == 404
