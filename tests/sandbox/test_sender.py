"""The provider side of webhooks (sandbox/sender.py): signing, delivery, control endpoints."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from sandbox.base import SandboxApp, SandboxRequest
from sandbox.sender import Deliver, WebhookSender


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
        {"subscriptions": [{"id": "sub_1", "url": "http://127.0.0.1:1/h", "events": None, "enabled": True}]},
    )
    assert control(app, "DELETE", "/_webhooks/subscriptions") == (200, {"subscriptions": []})


def test_each_event_goes_to_the_enabled_subscriptions_that_want_its_type() -> None:
    app = Provider()
    sender = app.webhooks
    assert sender is not None
    got: dict[str, list[str]] = {"all": [], "created": [], "off": [], "star": []}

    def to(name: str) -> Deliver:
        return lambda u, h, b: got[name].append(json.loads(b)["type"]) or 202

    sender.subscribe("http://127.0.0.1:1/all", "k1", deliver=to("all"))
    created = sender.add("http://127.0.0.1:1/created", "k2", events=("thing.created",))
    off = sender.add("http://127.0.0.1:1/off", "k3", events=("thing.created",), enabled=False)
    star = sender.add("http://127.0.0.1:1/star", "k4", events=("*",))
    for subscription, name in ((created, "created"), (off, "off"), (star, "star")):
        subscription.deliver = to(name)

    sender.send({"id": "evt_1", "type": "thing.created"})
    sender.send({"id": "evt_2", "type": "thing.deleted"})

    assert got == {
        "all": ["thing.created", "thing.deleted"],
        "created": ["thing.created"],
        "off": [],
        "star": ["thing.created", "thing.deleted"],
    }
    assert [s.id for s in sender.subscriptions] == ["sub_1", "sub_2", "sub_3", "sub_4"]
    assert sender.find("sub_2") is created and sender.remove("sub_2") is created
    assert sender.find("sub_2") is None and sender.remove("sub_2") is None


def test_each_subscription_signs_with_its_own_secret() -> None:
    app = Provider()
    sender = app.webhooks
    assert sender is not None
    seen: dict[str, str] = {}
    for url, secret in (("http://127.0.0.1:1/a", "key-a"), ("http://127.0.0.1:1/b", "key-b")):
        sender.add(url, secret, events=None).deliver = lambda u, h, b: (
            seen.__setitem__(u, h["x-test-signature"]) or 202
        )
    (first, second) = sender.send({"id": "evt_3", "type": "x"})
    for url, secret in (("http://127.0.0.1:1/a", "key-a"), ("http://127.0.0.1:1/b", "key-b")):
        body = json.dumps({"id": "evt_3", "type": "x"}, separators=(",", ":")).encode()
        digest = hmac.new(secret.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
        assert seen[url] == f"t=1700000000,v1={digest}"
    assert (first.status, second.status) == (202, 202)
