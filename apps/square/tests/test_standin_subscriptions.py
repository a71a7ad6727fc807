"""The Square stand-in's Webhook Subscriptions API: Square's shapes, and deliveries to what it holds."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest

from apps.square import SQUARE_VERSION
from apps.square.standin import DEFAULT_TOKEN, SquareSandbox, square_signature
from sandbox.base import SandboxRequest, SandboxResponse

AUTH = {"authorization": f"Bearer {DEFAULT_TOKEN}", "square-version": SQUARE_VERSION}
SUBS = "/v2/webhooks/subscriptions"
URL = "https://pos.bramble-bakery.example/hooks/pos_to_accounting/square"
KEYS = itertools.count(1)
SQUARE_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$")


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sq(clock: Clock) -> SquareSandbox:
    return SquareSandbox(clock=clock)


def call(app: SquareSandbox, method: str, path: str, body: Any = None, **query: str) -> SandboxResponse:
    raw = b"" if body is None else json.dumps(body).encode()
    return app.handle(
        SandboxRequest(method, path, query={k: [v] for k, v in query.items()}, headers=AUTH, body=raw)
    )


def subscribe(app: SquareSandbox, **fields: Any) -> dict[str, Any]:
    subscription = {"name": "Switchboard prod pos_to_accounting.square", "event_types": ["payment.created"]}
    subscription["notification_url"] = URL
    subscription.update(fields)
    resp = call(app, "POST", SUBS, {"idempotency_key": f"k-{next(KEYS)}", "subscription": subscription})
    assert resp.status == 200, resp.parsed()
    created: dict[str, Any] = resp.parsed()["subscription"]
    return created


def error(resp: SandboxResponse) -> tuple[int, str, str | None]:
    (only,) = resp.parsed()["errors"]
    return resp.status, only["code"], only.get("field")


def pay(app: SquareSandbox, key: str = "pay-1") -> None:
    body = {
        "source_id": "cnon:card-nonce-ok",
        "idempotency_key": key,
        "amount_money": {"amount": 450, "currency": "GBP"},
    }
    assert call(app, "POST", "/v2/payments", body).status == 200


def test_create_answers_the_subscription_with_its_signature_key_once(sq: SquareSandbox) -> None:
    created = subscribe(sq, api_version="2025-10-16")
    assert list(created) == [
        "id",
        "name",
        "enabled",
        "event_types",
        "notification_url",
        "api_version",
        "signature_key",
        "created_at",
        "updated_at",
    ]
    assert re.fullmatch(r"wbhk_[0-9a-f]{32}", created["id"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", created["signature_key"])
    assert created["enabled"] is True and created["event_types"] == ["payment.created"]
    assert SQUARE_TIME.match(created["created_at"]) and created["api_version"] == "2025-10-16"

    listed = call(sq, "GET", SUBS).parsed()["subscriptions"]
    assert [s["id"] for s in listed] == [created["id"]] and "signature_key" not in listed[0]
    got = call(sq, "GET", f"{SUBS}/{created['id']}").parsed()["subscription"]
    assert "signature_key" not in got and got["notification_url"] == URL


def test_the_api_version_defaults_to_the_requests_pin(sq: SquareSandbox) -> None:
    assert subscribe(sq)["api_version"] == SQUARE_VERSION


def test_the_same_idempotency_key_answers_the_first_answer_and_another_body_is_refused(
    sq: SquareSandbox,
) -> None:
    body = {
        "idempotency_key": "once",
        "subscription": {"event_types": ["refund.created"], "notification_url": URL},
    }
    first, again = call(sq, "POST", SUBS, body), call(sq, "POST", SUBS, body)
    assert first.parsed() == again.parsed()
    assert len(call(sq, "GET", SUBS).parsed()["subscriptions"]) == 1
    body["subscription"]["event_types"] = ["refund.updated"]
    assert error(call(sq, "POST", SUBS, body)) == (400, "IDEMPOTENCY_KEY_REUSED", "idempotency_key")


@pytest.mark.parametrize(
    ("subscription", "code", "field"),
    [
        ({"notification_url": URL}, "MISSING_REQUIRED_PARAMETER", "subscription.event_types"),
        ({"event_types": ["payment.created"]}, "MISSING_REQUIRED_PARAMETER", "subscription.notification_url"),
        (
            {"event_types": ["payment.made"], "notification_url": URL},
            "INVALID_VALUE",
            "subscription.event_types[0]",
        ),
        (
            {"event_types": ["payment.created"], "notification_url": "http://pos.example/hooks"},
            "INVALID_VALUE",
            "subscription.notification_url",
        ),
        (
            {"event_types": ["payment.created"], "notification_url": URL, "name": "x" * 65},
            "VALUE_TOO_LONG",
            "subscription.name",
        ),
        (
            {"event_types": ["payment.created"], "notification_url": URL, "api_version": "v2"},
            "INVALID_VALUE",
            "subscription.api_version",
        ),
    ],
)
def test_invalid_subscriptions_are_refused_in_squares_shape(
    sq: SquareSandbox, subscription: dict[str, Any], code: str, field: str
) -> None:
    assert error(call(sq, "POST", SUBS, {"subscription": subscription})) == (400, code, field)
    assert call(sq, "GET", SUBS).parsed() == {}


def test_http_is_accepted_on_loopback_where_the_local_runtime_listens(sq: SquareSandbox) -> None:
    assert subscribe(sq, notification_url="http://127.0.0.1:8787/hooks/pos_to_accounting/square")["enabled"]


def test_without_a_token_the_api_answers_401(sq: SquareSandbox) -> None:
    resp = sq.handle(SandboxRequest("GET", SUBS))
    assert resp.status == 401 and resp.parsed()["errors"][0]["code"] == "UNAUTHORIZED"


def test_update_changes_the_event_types_and_disabled_ones_are_listed_on_request(
    sq: SquareSandbox, clock: Clock
) -> None:
    created = subscribe(sq)
    clock.now += 60
    resp = call(
        sq,
        "PUT",
        f"{SUBS}/{created['id']}",
        {"subscription": {"event_types": ["payment.created", "payment.updated"], "enabled": False}},
    )
    updated = resp.parsed()["subscription"]
    assert updated["event_types"] == ["payment.created", "payment.updated"] and updated["enabled"] is False
    assert updated["updated_at"] != updated["created_at"] and "signature_key" not in updated
    assert call(sq, "GET", SUBS).parsed() == {}
    assert [s["id"] for s in call(sq, "GET", SUBS, include_disabled="true").parsed()["subscriptions"]] == [
        created["id"]
    ]


def test_list_pages_with_a_cursor_in_creation_order(sq: SquareSandbox, clock: Clock) -> None:
    ids = []
    for n in range(3):
        clock.now += 1
        ids.append(subscribe(sq, name=f"n{n}")["id"])
    first = call(sq, "GET", SUBS, limit="2").parsed()
    second = call(sq, "GET", SUBS, limit="2", cursor=first["cursor"]).parsed()
    assert [s["id"] for s in first["subscriptions"] + second["subscriptions"]] == ids
    assert "cursor" not in second
    assert [s["id"] for s in call(sq, "GET", SUBS, sort_order="DESC").parsed()["subscriptions"]] == ids[::-1]
    assert error(call(sq, "GET", SUBS, cursor="nonsense"))[1] == "INVALID_CURSOR"


def test_delete_then_retrieve_is_not_found(sq: SquareSandbox) -> None:
    created = subscribe(sq)
    assert call(sq, "DELETE", f"{SUBS}/{created['id']}").parsed() == {}
    assert error(call(sq, "GET", f"{SUBS}/{created['id']}")) == (404, "NOT_FOUND", "subscription_id")
    assert error(call(sq, "DELETE", f"{SUBS}/{created['id']}"))[0] == 404


def test_payments_reach_the_subscription_for_its_event_types_signed_with_the_returned_key(
    sq: SquareSandbox,
) -> None:
    created = subscribe(sq, event_types=["payment.created"])
    delivered: list[tuple[str, dict[str, str], bytes]] = []
    assert sq.webhooks is not None
    sq.webhooks.subscriptions[0].deliver = lambda u, h, b: delivered.append((u, dict(h), b)) or 200

    pay(sq)  # payment.created and payment.updated: only the first is subscribed

    ((to, headers, body),) = delivered
    assert to == URL and json.loads(body)["type"] == "payment.created"
    assert headers == {
        "content-type": "application/json",
        **square_signature(URL, body, created["signature_key"], 0),
    }


def test_a_new_signature_key_signs_from_then_on(sq: SquareSandbox) -> None:
    created = subscribe(sq)
    rotated = call(sq, "POST", f"{SUBS}/{created['id']}/signature-key", {"idempotency_key": "rot-1"})
    key = rotated.parsed()["signature_key"]
    assert key != created["signature_key"] and list(rotated.parsed()) == ["signature_key"]
    assert (
        call(sq, "POST", f"{SUBS}/{created['id']}/signature-key", {"idempotency_key": "rot-1"}).parsed()
        == rotated.parsed()
    )
    missing = call(sq, "POST", f"{SUBS}/{created['id']}/signature-key", {})
    assert error(missing) == (400, "MISSING_REQUIRED_PARAMETER", "idempotency_key")

    signed: list[str] = []
    assert sq.webhooks is not None
    sq.webhooks.subscriptions[0].deliver = lambda u, h, b: (
        signed.append(h["x-square-hmacsha256-signature"]) or 200
    )
    pay(sq)
    assert signed and all(s for s in signed)
    last = sq.webhooks.deliveries[-1]
    assert signed[-1] == square_signature(URL, last.body, key, 0)["x-square-hmacsha256-signature"]


def test_subscriptions_belong_to_the_application_and_survive_a_reset(sq: SquareSandbox) -> None:
    created = subscribe(sq)
    call(sq, "POST", "/_reset")
    assert [s["id"] for s in call(sq, "GET", SUBS).parsed()["subscriptions"]] == [created["id"]]
