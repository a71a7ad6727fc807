"""Calendly webhook signatures and payloads (apps.calendly).

The expected signatures are computed here with hmac directly, from Calendly's documented recipe
(hex HMAC-SHA256 of "<t>.<raw body>" with the signing key), not with the verifier under test.
Calendly publishes no fixed test vector; the fixed vector below pins the recipe's output.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from apps import calendly
from apps.calendly.standin import calendly_signature
from apps.calendly.webhooks import WebhookEnvelope
from infra.local.samples import EVENTS_DIR
from shared.errors import MissingSecret, SignatureMismatch, SignatureMissing, TimestampOutOfTolerance
from shared.webhooks.base import WebhookRequest

KEY = "sandbox-calendly-signing-key"
BODY = b'{"event":"invitee.created","payload":{}}'
NOW = 1_795_166_044.0


def request(header: str | None, body: bytes = BODY) -> WebhookRequest:
    headers = {"content-type": "application/json"}
    if header is not None:
        headers["calendly-webhook-signature"] = header
    return WebhookRequest(
        method="POST",
        url="https://hooks.example.test/hooks/booking_to_calendar/calendly",
        headers=headers,
        body=body,
    )


def signed(t: int, key: str = KEY, body: bytes = BODY) -> str:
    return f"t={t},v1=" + hmac.new(key.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def test_fixed_vector() -> None:
    assert signed(1795166044) == (
        "t=1795166044,v1=" + hmac.new(KEY.encode(), b"1795166044." + BODY, hashlib.sha256).hexdigest()
    )
    calendly.VERIFIER.verify(request(signed(1795166044)), [KEY], NOW)


def test_the_sandbox_and_our_signer_agree_with_the_verifier() -> None:
    calendly.VERIFIER.verify(request(calendly_signature(BODY, KEY, NOW)), [KEY], NOW)
    ours = calendly.VERIFIER.sign(method="POST", url="u", body=BODY, secret=KEY, now=NOW, msg_id="")
    assert ours == {"calendly-webhook-signature": calendly_signature(BODY, KEY, NOW)}


@pytest.mark.parametrize("age", [-181, 181, 3600])
def test_stale_and_future_timestamps_are_refused(age: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        calendly.VERIFIER.verify(request(signed(int(NOW) - age)), [KEY], NOW)


@pytest.mark.parametrize("age", [-179, 0, 179])
def test_three_minutes_either_way_are_accepted(age: int) -> None:
    calendly.VERIFIER.verify(request(signed(int(NOW) - age)), [KEY], NOW)


def test_wrong_key_tampered_body_and_garbage_are_refused() -> None:
    with pytest.raises(SignatureMismatch):
        calendly.VERIFIER.verify(request(signed(int(NOW), key="another-key")), [KEY], NOW)
    with pytest.raises(SignatureMismatch):
        calendly.VERIFIER.verify(request(signed(int(NOW)), body=BODY + b" "), [KEY], NOW)
    with pytest.raises(SignatureMissing):
        calendly.VERIFIER.verify(request(None), [KEY], NOW)
    with pytest.raises(SignatureMissing):
        calendly.VERIFIER.verify(request(f"t={int(NOW)}"), [KEY], NOW)
    with pytest.raises(MissingSecret):
        calendly.VERIFIER.verify(request(signed(int(NOW))), [""], NOW)


def test_the_previous_key_still_verifies_during_a_rotation() -> None:
    calendly.VERIFIER.verify(request(signed(int(NOW), key="old-key")), [KEY, "old-key"], NOW)


def test_the_payload_reads_a_reschedule() -> None:
    body = json.loads(
        (EVENTS_DIR / "booking_to_calendar" / "calendly_2_reschedule_b_invitee_created.json").read_text()
    )["body"]
    hook = WebhookEnvelope.model_validate(body)
    assert hook.payload is not None and hook.payload.old_invitee is not None
    assert calendly.event_uuid_of_invitee(hook.payload.old_invitee) == "f3b2c1d0-6a7e-4b8c-9d0e-1a2b3c4d5e6f"
    assert hook.payload.scheduled_event.uuid == "7c6d5e4f-3a2b-4c1d-8e9f-0a1b2c3d4e5f"
    assert not hook.payload.scheduled_event.is_group


def test_other_events_validate_without_their_payload() -> None:
    hook = WebhookEnvelope.model_validate({"event": "routing_form_submission.created", "payload": {"x": 1}})
    assert hook.payload is None
    with pytest.raises(ValueError, match="needs its invitee payload"):
        WebhookEnvelope.model_validate({"event": "invitee.created"})
