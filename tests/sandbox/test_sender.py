"""The provider side of webhooks (sandbox/sender.py): signing, delivery, control endpoints."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from sandbox.base import SandboxApp, SandboxRequest
from sandbox.sender import WebhookSender


def sign(url: str, body: bytes, secret: str, now: float) -> Mapping[str, str]:
    digest = hmac.new(secret.encode(), f"{int(now)}.".encode() + body, hashlib.sha256).hexdigest()
    return {"x-test-signature": f"t={int(now)},v1={digest}"}


class Provider(SandboxApp):
    name = "provider"

    def __init__(self) -> None:
        self.webhooks = WebhookSender(sign, clock=lambda: 1_700_000_000.0)
        super().__init__()


def control(app: SandboxApp, method: str, path: str, body: object = None) -> tuple[int, object]:
    raw = b"" if body is None else json.dumps(body).encode()
    resp = app.handle(SandboxRequest(method, path, body=raw))
    return resp.status, resp.parsed()


def test_send_signs_each_delivery_for_its_subscription() -> None:
    app = Provider()
    received: list[tuple[str, dict[str, str], bytes]] = []
    assert app.webhooks is not None
    app.webhooks.subscribe(
        "http://127.0.0.1:1/hooks/a",
        "s3cret",
        deliver=lambda u, h, b: received.append((u, dict(h), b)) or 202,
    )

    deliveries = app.webhooks.send({"id": "evt_1", "type": "thing.created"})

    assert [d.status for d in deliveries] == [202]
    url, headers, body = received[0]
    assert json.loads(body) == {"id": "evt_1", "type": "thing.created"}
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert headers["x-test-signature"] == f"t=1700000000,v1={expected}"
    assert headers["content-type"] == "application/json"
    assert control(app, "GET", "/_webhooks") == (
        200,
        {"deliveries": [{"id": 1, "event_id": "evt_1", "url": url, "status": 202, "error": ""}]},
    )


def test_redeliver_sends_the_same_event_again_and_failures_are_recorded() -> None:
    app = Provider()
    assert app.webhooks is not None
    statuses = iter([503, 202])
    app.webhooks.subscribe("http://127.0.0.1:1/hooks/a", "k", deliver=lambda u, h, b: next(statuses))
    first = app.webhooks.send({"id": "evt_9"})[0]
    assert first.status == 503

    status, again = control(app, "POST", "/_webhooks/redeliver", {"delivery_id": first.id})
    assert status == 201 and again == {
        "id": 2,
        "event_id": "evt_9",
        "url": first.url,
        "status": 202,
        "error": "",
    }
    assert control(app, "POST", "/_webhooks/redeliver", {"delivery_id": 99})[0] == 404
    assert control(app, "POST", "/_webhooks/redeliver", {"delivery_id": "x"})[0] == 400


def test_unreachable_url_is_recorded_not_raised() -> None:
    app = Provider()
    assert app.webhooks is not None
    app.webhooks.subscribe("http://127.0.0.1:9/nothing-listens", "k")
    (delivery,) = app.webhooks.send({"id": "evt_2"})
    assert delivery.status is None and delivery.error == "ConnectError"


def test_subscriptions_by_control_endpoint_survive_a_reset() -> None:
    app = Provider()
    assert control(app, "POST", "/_webhooks/subscriptions", {"url": "ftp://x", "secret": "k"})[0] == 400
    assert control(app, "POST", "/_webhooks/subscriptions", {"url": "http://127.0.0.1:1/h"})[0] == 400
    assert (
        control(app, "POST", "/_webhooks/subscriptions", {"url": "http://127.0.0.1:1/h", "secret": "k"})[0]
        == 201
    )
    control(app, "POST", "/_reset")
    assert control(app, "GET", "/_webhooks/subscriptions") == (
        200,
        {"subscriptions": [{"url": "http://127.0.0.1:1/h"}]},
    )
    assert control(app, "DELETE", "/_webhooks/subscriptions") == (200, {"subscriptions": []})
