"""The Stripe sandbox: charges and refunds in Stripe's shapes, and the webhooks it signs and sends -
verified here with Switchboard's own Stripe verifier (two implementations must agree)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from apps import stripe
from apps.stripe.standin import DEFAULT_SECRET_KEY, StripeSandbox
from apps.stripe.webhooks import Event
from sandbox.base import SandboxRequest, SandboxResponse
from shared.webhooks.base import WebhookRequest

SECRET = "whsec_c2FuZGJveC1zdHJpcGUtc2lnbmluZy1zZWNyZXQ"
URL = "https://hooks.example.test/hooks/pos_to_accounting/stripe"


@pytest.fixture
def app() -> StripeSandbox:
    return StripeSandbox()


@pytest.fixture
def received(app: StripeSandbox) -> list[tuple[dict[str, str], bytes]]:
    got: list[tuple[dict[str, str], bytes]] = []

    def deliver(_url: str, headers: Any, body: bytes) -> int:
        got.append((dict(headers), body))
        return 200

    assert app.webhooks is not None
    app.webhooks.subscribe(URL, SECRET, deliver=deliver)
    return got


def call(
    app: StripeSandbox,
    path: str,
    key: str = DEFAULT_SECRET_KEY,
    headers: dict[str, str] | None = None,
    **form: str,
) -> SandboxResponse:
    return app.handle(
        SandboxRequest(
            method="POST",
            path=path,
            headers={
                "authorization": f"Bearer {key}",
                "content-type": "application/x-www-form-urlencoded",
                **(headers or {}),
            },
            body=urlencode(form).encode(),
        )
    )


def test_a_charge_sends_a_signed_charge_succeeded(
    app: StripeSandbox, received: list[tuple[dict[str, str], bytes]]
) -> None:
    charge = call(
        app, "/v1/charges", amount="2400", currency="gbp", source="tok_amex", description="Cake"
    ).parsed()
    assert (
        charge["object"] == "charge" and charge["id"].startswith("ch_3") and charge["status"] == "succeeded"
    )
    [(headers, body)] = received
    stripe.VERIFIER.verify(WebhookRequest("POST", URL, headers, body), [SECRET], time.time())
    assert ",v0=" in headers["stripe-signature"]  # the decoy Stripe adds to test events
    event = Event.model_validate_json(body)
    assert (event.type, event.api_version, event.pending_webhooks) == (
        "charge.succeeded",
        stripe.STRIPE_API_VERSION,
        1,
    )
    assert event.id.startswith("evt_") and event.request is not None and event.request.id
    assert event.charge().payment_method_details.brand == "amex"  # type: ignore[union-attr]


def test_partial_refunds_send_charge_refunded_with_the_previous_amount(
    app: StripeSandbox, received: list[tuple[dict[str, str], bytes]]
) -> None:
    charge = call(app, "/v1/charges", amount="3000", currency="gbp").parsed()
    call(app, "/v1/refunds", charge=charge["id"], amount="1000")
    call(app, "/v1/refunds", charge=charge["id"])  # the rest
    events = [Event.model_validate_json(body) for _, body in received[1:]]
    assert [e.type for e in events] == ["charge.refunded", "charge.refunded"]
    assert [(e.charge().amount_refunded, e.previous_int("amount_refunded")) for e in events] == [
        (1000, 0),
        (3000, 1000),
    ]
    assert [e.charge().refunded for e in events] == [False, True]
    over = call(app, "/v1/refunds", charge=charge["id"], amount="1")
    assert over.status == 400 and over.parsed()["error"]["code"] == "charge_already_refunded"


def test_an_idempotency_key_replays_the_first_answer(
    app: StripeSandbox, received: list[tuple[dict[str, str], bytes]]
) -> None:
    first = call(app, "/v1/charges", headers={"idempotency-key": "k-1"}, amount="500", currency="gbp")
    again = call(app, "/v1/charges", headers={"idempotency-key": "k-1"}, amount="500", currency="gbp")
    assert first.body == again.body and again.headers["idempotent-replayed"] == "true"
    assert len(app.charges) == 1 and len(received) == 1
    assert json.loads(received[0][1])["request"]["idempotency_key"] == "k-1"


def test_errors_in_stripes_shape(app: StripeSandbox) -> None:
    assert (
        call(app, "/v1/charges", key="sk_test_wrong_key_123456", amount="5", currency="gbp").parsed()[
            "error"
        ]["code"]
        == "api_key_invalid"
    )
    assert call(app, "/v1/charges", amount="5").parsed()["error"]["param"] == "currency"
    assert (
        call(app, "/v1/charges", amount="5", currency="gbp", source="tok_nope").parsed()["error"]["code"]
        == "resource_missing"
    )
    assert (
        call(app, "/v1/charges", amount="5121", currency="kwd").status == 400
    )  # three-decimal: must end in 0
    unauthenticated = app.handle(SandboxRequest("POST", "/v1/charges"))
    assert unauthenticated.status == 401 and "API key" in unauthenticated.parsed()["error"]["message"]


def test_redelivery_resends_the_same_event_freshly_signed(
    app: StripeSandbox, received: list[tuple[dict[str, str], bytes]]
) -> None:
    call(app, "/v1/charges", amount="700", currency="gbp")
    assert app.webhooks is not None
    delivery = app.webhooks.deliveries[-1]
    res = app.handle(
        SandboxRequest("POST", "/_webhooks/redeliver", body=json.dumps({"delivery_id": delivery.id}).encode())
    )
    assert res.status == 201
    assert received[0][1] == received[1][1]
    stripe.VERIFIER.verify(WebhookRequest("POST", URL, received[1][0], received[1][1]), [SECRET], time.time())


class _Clock:
    def __init__(self, now: float = 1_780_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_past_25_requests_a_second_in_test_mode_stripe_answers_429_rate_limit() -> None:
    clock = _Clock()
    app = StripeSandbox(clock=clock)
    auth = {"authorization": f"Bearer {DEFAULT_SECRET_KEY}"}
    statuses = [
        app.handle(SandboxRequest("GET", "/v1/webhook_endpoints", headers=auth)).status for _ in range(26)
    ]
    assert statuses == [200] * 25 + [429]
    limited = app.handle(SandboxRequest("GET", "/v1/webhook_endpoints", headers=auth))
    assert limited.parsed()["error"]["code"] == "rate_limit"
    assert limited.parsed()["error"]["message"] == "Too many requests hit the API too quickly."
    clock.now += 1.0
    assert app.handle(SandboxRequest("GET", "/v1/webhook_endpoints", headers=auth)).status == 200


def test_the_key_counts_the_same_as_bearer_or_basic() -> None:
    app = StripeSandbox(clock=_Clock())
    bearer = {"authorization": f"Bearer {DEFAULT_SECRET_KEY}"}
    basic = {"authorization": "Basic " + base64.b64encode(f"{DEFAULT_SECRET_KEY}:".encode()).decode()}
    for _ in range(25):
        app.handle(SandboxRequest("GET", "/v1/webhook_endpoints", headers=bearer))
    assert app.handle(SandboxRequest("GET", "/v1/webhook_endpoints", headers=basic)).status == 429
