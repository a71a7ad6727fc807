"""Xero's webhooks: the ``x-xero-signature`` check, the payload models, and the intent-to-receive
answers through the real ingress path (moto): ``200`` or ``401``, each with an empty body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from apps.xero import SIGNING, VERIFIER
from apps.xero.webhooks import Notification, event_id
from infra.local.gateway import api_gateway_event
from shared.entry import dispatch
from shared.errors import MissingSecret, SignatureMismatch, SignatureMissing
from shared.spec import Accepted, IntegrationSpec, WebhookTrigger
from shared.webhooks.base import WebhookRequest
from tests.support import store_value

KEY = "OSd0eLlVIY9ZhViEqlDUh4+6n6M+Lo+eDaEJheJ6OCCgWwIz2D3JIAU6jPMipHRbgKTLz2uJ+xiACXGDBLrgdA=="
#: The example of ``xero-webhooks.yaml`` (``200WebhookDataReceivedOk``), byte for byte as a sender writes it.
EVENT = {
    "events": [
        {
            "resourceUrl": "https://api.xero.com/api.xro/2.0/Contacts/717f2bfc-c6d4-41fd-b238-3f2f0c0cf777",
            "resourceId": "717f2bfc-c6d4-41fd-b238-3f2f0c0cf777",
            "eventDateUtc": "2024-06-21T01:15:39.902",
            "eventType": "UPDATE",
            "eventCategory": "CONTACT",
            "tenantId": "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f",
            "tenantType": "ORGANISATION",
        }
    ],
    "lastEventSequence": 1,
    "firstEventSequence": 1,
    "entropy": "S0m3r4Nd0mt3xt",
}
#: What Xero sends to check an endpoint before it delivers anything.
INTENT_TO_RECEIVE = {
    "events": [],
    "firstEventSequence": 0,
    "lastEventSequence": 0,
    "entropy": "FXNGWLCCGVANWHKILRUB",
}


def xero_signature(body: bytes, key: str = KEY) -> str:
    """How Xero signs, written from its documentation (not through the verifier under test)."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def request(body: bytes, signature: str | None) -> WebhookRequest:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-xero-signature"] = signature
    return WebhookRequest(method="POST", url="https://hooks.test/hooks/xero", headers=headers, body=body)


def test_a_body_signed_with_the_webhook_key_passes_and_nothing_else_does() -> None:
    body = json.dumps(EVENT).encode()
    VERIFIER.verify(request(body, xero_signature(body)), [KEY], now=0)
    VERIFIER.verify(request(body, xero_signature(body)), ["new-key", KEY], now=0)  # during a rotation
    with pytest.raises(SignatureMismatch):
        VERIFIER.verify(request(body + b" ", xero_signature(body)), [KEY], now=0)
    with pytest.raises(SignatureMismatch):
        VERIFIER.verify(request(body, xero_signature(body, "another key")), [KEY], now=0)
    with pytest.raises(SignatureMissing):
        VERIFIER.verify(request(body, None), [KEY], now=0)
    with pytest.raises(MissingSecret):
        VERIFIER.verify(request(body, xero_signature(body)), [""], now=0)
    signed = VERIFIER.sign(method="POST", url="https://x", body=body, secret=KEY, now=0, msg_id="")
    assert signed == {"x-xero-signature": xero_signature(body)}


def test_the_payload_models_read_xeros_examples() -> None:
    batch = Notification.model_validate(EVENT)
    [event] = batch.events
    assert event.eventCategory == "CONTACT" and event.eventDateUtc.tzinfo is not None
    assert event_id(event) == event_id(Notification.model_validate(EVENT).events[0])  # redelivered: same id
    assert Notification.model_validate(INTENT_TO_RECEIVE).events == []
    [first] = Notification.model_validate(EVENT).model_dump(mode="json")["events"]
    credit = {**first, "eventCategory": "CREDITNOTE", "data": {"Type": "ACCRECCREDIT", "Status": "PAID"}}
    parsed = Notification.model_validate({**EVENT, "events": [credit]}).events[0]
    assert parsed.data is not None and parsed.data.Type == "ACCRECCREDIT"


def _accept(payload: Notification, req: WebhookRequest) -> list[Accepted]:
    return [Accepted(event_id=event_id(e), type=e.eventCategory.lower(), data=e) for e in payload.events]


SPEC = IntegrationSpec(
    name="xero_hooks",
    description="a webhook on Xero's verifier, for the intent-to-receive answers",
    input_model=Notification,
    triggers=(
        WebhookTrigger(
            name="xero",
            path="/hooks/xero_hooks",
            verifier=VERIFIER,
            secret=SIGNING,
            model=Notification,
            accept=_accept,
        ),
    ),
    worker="apps.xero.tests.test_webhooks:_accept",
)


def _post(rt: Any, body: bytes, signature: str) -> dict[str, Any]:
    event = api_gateway_event(
        method="POST",
        path="/hooks/xero_hooks",
        query="",
        headers={"host": "hooks.test", "content-type": "application/json", "x-xero-signature": signature},
        body=body,
        route_key="POST /hooks/xero_hooks",
    )
    return dispatch(rt, event)


def test_intent_to_receive_is_answered_200_or_401_with_an_empty_body(make_runtime: Any, aws: Any) -> None:
    rt = make_runtime("pos_to_accounting", spec=SPEC)
    store_value(rt, SIGNING, {"secret": KEY})
    body = json.dumps(INTENT_TO_RECEIVE).encode()
    good = _post(rt, body, xero_signature(body))
    assert (good["statusCode"], good["body"]) == (200, "")
    bad = _post(rt, body, xero_signature(body, "not the webhook key"))
    assert (bad["statusCode"], bad["body"]) == (401, "")
    # A real delivery is queued and answered the same bare 200.
    events = json.dumps(EVENT).encode()
    delivered = _post(rt, events, xero_signature(events))
    assert (delivered["statusCode"], delivered["body"]) == (200, "")
    queued = aws.client("sqs").receive_message(QueueUrl=rt.queue_url, MaxNumberOfMessages=10)
    assert len(queued.get("Messages", [])) == 1
