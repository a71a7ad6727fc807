"""Cal.com webhook signatures and payloads (apps.calcom).

The expected signature is computed here with hmac directly from Cal.com's documented recipe (hex
HMAC-SHA256 of the raw body with the webhook secret), not with the verifier under test.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from apps import calcom
from apps.calcom.standin import calcom_signature
from apps.calcom.webhooks import WebhookEnvelope
from infra.local.samples import EVENTS_DIR
from shared.errors import SignatureMismatch, SignatureMissing
from shared.webhooks.base import WebhookRequest

SECRET = "sandbox-calcom-webhook-secret"
BODY = b'{"triggerEvent":"BOOKING_CREATED","payload":{}}'


def request(signature: str | None, body: bytes = BODY) -> WebhookRequest:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-cal-signature-256"] = signature
    return WebhookRequest(
        method="POST",
        url="https://hooks.example.test/hooks/booking_to_calendar/calcom",
        headers=headers,
        body=body,
    )


def test_fixed_vector_and_the_sandbox_agree() -> None:
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert calcom_signature(BODY, SECRET) == expected
    calcom.VERIFIER.verify(request(expected), [SECRET], 0.0)
    assert calcom.VERIFIER.sign(method="POST", url="u", body=BODY, secret=SECRET, now=0, msg_id="") == {
        "x-cal-signature-256": expected
    }


def test_no_timestamp_so_an_old_signature_still_verifies() -> None:
    calcom.VERIFIER.verify(request(calcom_signature(BODY, SECRET)), [SECRET], 4_000_000_000.0)


def test_wrong_secret_tampered_body_and_no_secret_are_refused() -> None:
    with pytest.raises(SignatureMismatch):
        calcom.VERIFIER.verify(request(calcom_signature(BODY, "other")), [SECRET], 0.0)
    with pytest.raises(SignatureMismatch):
        calcom.VERIFIER.verify(request(calcom_signature(BODY, SECRET), body=BODY + b"\n"), [SECRET], 0.0)
    with pytest.raises(SignatureMismatch):  # a Cal.com webhook created without a secret
        calcom.VERIFIER.verify(request(calcom.NO_SECRET), [SECRET], 0.0)
    with pytest.raises(SignatureMissing):
        calcom.VERIFIER.verify(request(None), [SECRET], 0.0)


def test_the_payload_reads_a_reschedule() -> None:
    body = json.loads((EVENTS_DIR / "booking_to_calendar" / "calcom_3_booking_rescheduled.json").read_text())[
        "body"
    ]
    hook = WebhookEnvelope.model_validate(body)
    assert hook.payload is not None
    assert (hook.payload.uid, hook.payload.reschedule_uid) == (
        "mW3eR5tY7uI9oP1aS2dF4g",
        "kT9xQw2LmN4pR7sV8yZ3aB",
    )
    assert [a.email for a in hook.payload.attendees] == ["priya.shah@example.com", "dev.shah@example.com"]
    assert hook.payload.organizer.time_zone == "Europe/London"


def test_from_reschedule_is_read_too_and_other_triggers_drop_the_payload() -> None:
    body = json.loads((EVENTS_DIR / "booking_to_calendar" / "calcom_1_booking_created.json").read_text())[
        "body"
    ]
    body["payload"]["fromReschedule"] = "oldUid"
    hook = WebhookEnvelope.model_validate(body)
    assert hook.payload is not None and hook.payload.reschedule_uid == "oldUid"
    assert WebhookEnvelope.model_validate({"triggerEvent": "MEETING_ENDED", "payload": 5}).payload is None
