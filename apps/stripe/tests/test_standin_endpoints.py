"""The Stripe stand-in's webhook endpoints API: Stripe's shapes, and events sent to what it holds."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest

from apps.stripe.standin import DEFAULT_SECRET_KEY, StripeSandbox
from sandbox.base import SandboxRequest, SandboxResponse

ENDPOINTS = "/v1/webhook_endpoints"
URL = "https://pos.bramble-bakery.example/hooks/pos_to_accounting/stripe"
AUTH = {"authorization": f"Bearer {DEFAULT_SECRET_KEY}", "content-type": "application/x-www-form-urlencoded"}


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(clock: Clock) -> StripeSandbox:
    return StripeSandbox(clock=clock)


def call(
    app: StripeSandbox, method: str, path: str, form: list[tuple[str, str]] | None = None, **query: str
) -> SandboxResponse:
    body = urlencode(form or []).encode()
    return app.handle(
        SandboxRequest(method, path, query={k: [v] for k, v in query.items()}, headers=AUTH, body=body)
    )


def create(app: StripeSandbox, *events: str, url: str = URL, **extra: str) -> dict[str, Any]:
    form = [("url", url)] + [
        (f"enabled_events[{i}]", e) for i, e in enumerate(events or ("charge.succeeded",))
    ]
    form += list(extra.items())
    resp = call(app, "POST", ENDPOINTS, form)
    assert resp.status == 200, resp.parsed()
    endpoint: dict[str, Any] = resp.parsed()
    return endpoint


def error(resp: SandboxResponse) -> tuple[int, str | None, str | None]:
    err = resp.parsed()["error"]
    return resp.status, err.get("code"), err.get("param")


def test_create_answers_the_endpoint_with_its_secret_once(app: StripeSandbox) -> None:
    made = create(
        app,
        "charge.succeeded",
        "charge.refunded",
        description="Switchboard pos_to_accounting.stripe (stage prod)",
        **{
            "metadata[switchboard]": "Switchboard prod pos_to_accounting.stripe",
            "api_version": "2026-04-22.dahlia",
        },
    )
    assert list(made) == [
        "id",
        "object",
        "api_version",
        "application",
        "created",
        "description",
        "enabled_events",
        "livemode",
        "metadata",
        "secret",
        "status",
        "url",
    ]
    assert re.fullmatch(r"we_[A-Za-z0-9]{24}", made["id"]) and re.fullmatch(
        r"whsec_[A-Za-z0-9]{32}", made["secret"]
    )
    assert made["object"] == "webhook_endpoint" and made["status"] == "enabled" and made["livemode"] is False
    assert made["enabled_events"] == ["charge.succeeded", "charge.refunded"]
    assert made["metadata"] == {"switchboard": "Switchboard prod pos_to_accounting.stripe"}
    assert made["api_version"] == "2026-04-22.dahlia" and made["created"] == 1_800_000_000

    got = call(app, "GET", f"{ENDPOINTS}/{made['id']}").parsed()
    assert "secret" not in got and got["url"] == URL
    listed = call(app, "GET", ENDPOINTS).parsed()
    assert listed["object"] == "list" and listed["url"] == ENDPOINTS and listed["has_more"] is False
    assert [e["id"] for e in listed["data"]] == [made["id"]] and "secret" not in listed["data"][0]


def test_array_parameters_in_either_form(app: StripeSandbox) -> None:
    resp = call(
        app,
        "POST",
        ENDPOINTS,
        [("url", URL), ("enabled_events[]", "charge.refunded"), ("enabled_events[]", "*")],
    )
    assert resp.parsed()["enabled_events"] == ["charge.refunded", "*"]


@pytest.mark.parametrize(
    ("form", "code", "param"),
    [
        ([("enabled_events[0]", "charge.succeeded")], "parameter_missing", "url"),
        ([("url", URL)], "parameter_missing", "enabled_events"),
        ([("url", URL), ("enabled_events[0]", "charge.exploded")], "parameter_invalid", "enabled_events[0]"),
        (
            [("url", "pos.example/hooks"), ("enabled_events[0]", "charge.succeeded")],
            "parameter_invalid",
            "url",
        ),
    ],
)
def test_invalid_endpoints_are_refused_in_stripes_shape(
    app: StripeSandbox, form: list[tuple[str, str]], code: str, param: str
) -> None:
    assert error(call(app, "POST", ENDPOINTS, form)) == (400, code, param)
    assert call(app, "GET", ENDPOINTS).parsed()["data"] == []


def test_update_changes_events_metadata_and_can_disable(app: StripeSandbox) -> None:
    made = create(app, **{"metadata[a]": "1", "metadata[b]": "2"})
    form = [
        ("enabled_events[0]", "charge.captured"),
        ("disabled", "true"),
        ("metadata[a]", ""),
        ("description", "x"),
    ]
    updated = call(app, "POST", f"{ENDPOINTS}/{made['id']}", form).parsed()
    assert updated["enabled_events"] == ["charge.captured"] and updated["status"] == "disabled"
    assert updated["metadata"] == {"b": "2"} and updated["description"] == "x" and "secret" not in updated
    assert error(call(app, "POST", f"{ENDPOINTS}/{made['id']}", [("disabled", "maybe")]))[2] == "disabled"


def test_list_is_newest_first_and_pages(app: StripeSandbox, clock: Clock) -> None:
    ids = []
    for _ in range(3):
        clock.now += 1
        ids.append(create(app)["id"])
    first = call(app, "GET", ENDPOINTS, limit="2").parsed()
    assert [e["id"] for e in first["data"]] == ids[:0:-1] and first["has_more"] is True
    rest = call(app, "GET", ENDPOINTS, limit="2", starting_after=first["data"][-1]["id"]).parsed()
    assert [e["id"] for e in rest["data"]] == [ids[0]] and rest["has_more"] is False
    assert error(call(app, "GET", ENDPOINTS, limit="0"))[2] == "limit"


def test_delete_answers_deleted_and_then_it_is_missing(app: StripeSandbox) -> None:
    made = create(app)
    assert call(app, "DELETE", f"{ENDPOINTS}/{made['id']}").parsed() == {
        "id": made["id"],
        "object": "webhook_endpoint",
        "deleted": True,
    }
    assert error(call(app, "GET", f"{ENDPOINTS}/{made['id']}")) == (404, "resource_missing", "id")


def test_an_idempotency_key_creates_one_endpoint(app: StripeSandbox) -> None:
    form = urlencode([("url", URL), ("enabled_events[0]", "charge.succeeded")]).encode()
    headers = {**AUTH, "idempotency-key": "reg-1"}
    first = app.handle(SandboxRequest("POST", ENDPOINTS, headers=headers, body=form))
    again = app.handle(SandboxRequest("POST", ENDPOINTS, headers=headers, body=form))
    assert first.parsed() == again.parsed() and again.headers["idempotent-replayed"] == "true"
    assert len(call(app, "GET", ENDPOINTS).parsed()["data"]) == 1


def test_charges_reach_the_endpoints_that_enable_their_type_signed_with_each_secret(
    app: StripeSandbox,
) -> None:
    sales = create(app, "charge.succeeded")
    everything = create(app, "*", url=URL + "?all")
    off = create(app, "charge.succeeded", url=URL + "?off")
    call(app, "POST", f"{ENDPOINTS}/{off['id']}", [("disabled", "true")])
    got: dict[str, list[tuple[str, str, bytes]]] = {}
    assert app.webhooks is not None
    for sub in app.webhooks.subscriptions:
        sub.deliver = lambda u, h, b: (
            got.setdefault(u, []).append((json.loads(b)["type"], h["stripe-signature"], b)) or 200
        )

    charge = call(app, "POST", "/v1/charges", [("amount", "1200"), ("currency", "gbp")]).parsed()
    call(app, "POST", "/v1/refunds", [("charge", charge["id"])])

    assert [t for t, _, _ in got[URL]] == ["charge.succeeded"]
    assert [t for t, _, _ in got[URL + "?all"]] == ["charge.succeeded", "charge.refunded"]
    assert URL + "?off" not in got
    for url, secret in ((URL, sales["secret"]), (URL + "?all", everything["secret"])):
        _, header, body = got[url][0]
        t = header.split(",")[0][2:]
        v1 = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        assert f"v1={v1}" in header
    assert json.loads(got[URL][0][2])["pending_webhooks"] == 2  # the disabled endpoint does not count
