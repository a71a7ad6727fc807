"""ApiClient against httpx.MockTransport: every answer mapped onto the error tree, auth, concurrency."""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shared.app import App
from shared.errors import (
    MissingSecret,
    RateLimited,
    RetryableError,
    TargetRejected,
    TargetTimeout,
    TargetUnavailable,
)
from shared.http import ApiClient, parse_retry_after

ACME = App(name="acme", base_url="https://api.acme.test", retryable_statuses=(423,), max_concurrency=2)

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, app: App = ACME, **credentials: str) -> ApiClient:
    creds = {"token": "tok-123", **credentials}
    # pause_scale 0: a safe request is repeated at once, not after a real pause.
    return ApiClient(app, creds, transport=httpx.MockTransport(handler), pause_scale=0)


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers=headers)
        return httpx.Response(status, json=body if body is not None else {}, headers=headers)

    return handler


# --- success and requests --------------------------------------------------------------------------


def test_success_returns_the_response_and_sends_auth_and_defaults() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    app = App(name="acme", base_url="https://api.acme.test/", default_headers={"acme-version": "2024-01"})
    response = client(handler, app).request("POST", "/things", json={"a": 1}, params={"q": "x"})

    assert response.json() == {"ok": True}
    (request,) = seen
    assert str(request.url) == "https://api.acme.test/things?q=x"
    assert request.headers["authorization"] == "Bearer tok-123"
    assert request.headers["acme-version"] == "2024-01"
    assert request.headers["user-agent"] == "switchboard/0.1"
    assert request.headers["accept"] == "application/json"
    assert json.loads(request.content) == {"a": 1}


def test_base_url_from_the_connection_wins() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={})

    client(handler, base_url="http://sandbox.test/_sandbox/acme/").request("GET", "/x")
    assert seen == ["http://sandbox.test/_sandbox/acme/x"]


def recorder(seen: list[httpx.Request], status: int = 200) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status)

    return httpx.MockTransport(handler)


def test_header_auth_puts_the_token_in_the_named_header() -> None:
    seen: list[httpx.Request] = []
    app = App(name="keyed", base_url="https://k.test", auth="header", auth_header="x-api-key")
    ApiClient(app, {"token": "k-1"}, transport=recorder(seen, 204)).request("GET", "/")
    assert seen[0].headers["x-api-key"] == "k-1"
    assert "authorization" not in seen[0].headers


def test_no_auth_app_sends_no_credentials() -> None:
    seen: list[httpx.Request] = []
    app = App(name="open", base_url="https://o.test", auth="none")
    ApiClient(app, {}, transport=recorder(seen)).request("GET", "/")
    assert "authorization" not in seen[0].headers


@pytest.mark.parametrize("credentials", [{}, {"token": ""}])
def test_missing_token_is_missing_secret(credentials: dict[str, str]) -> None:
    with pytest.raises(MissingSecret, match="connection for acme has no 'token'"):
        ApiClient(ACME, credentials, transport=httpx.MockTransport(answer(200)))


def test_statuses_listed_as_ok_are_returned() -> None:
    response = client(answer(404, {"message": "nope"})).request("GET", "/x", ok=(404,))
    assert response.status_code == 404


def test_observer_sees_every_request_with_the_template() -> None:
    calls: list[tuple[str, str, str, int | None, float]] = []
    api = ApiClient(
        ACME,
        {"token": "t"},
        transport=httpx.MockTransport(answer(503)),
        observer=lambda *a: calls.append(a),
    )
    with pytest.raises(TargetUnavailable):
        api.request("GET", "/things/123", template="/things/{id}")
    (app, method, path, status, seconds) = calls[0]
    assert (app, method, path, status) == ("acme", "GET", "/things/{id}", 503)
    assert seconds >= 0


def test_observer_sees_a_transport_failure_as_no_status() -> None:
    calls: list[Any] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    api = ApiClient(
        ACME, {"token": "t"}, transport=httpx.MockTransport(refuse), observer=lambda *a: calls.append(a)
    )
    with pytest.raises(TargetUnavailable):
        api.request("GET", "/x")
    assert calls[0][3] is None


# --- failures onto the error tree ------------------------------------------------------------------


def test_timeout_is_target_timeout() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    with pytest.raises(TargetTimeout) as info:
        client(slow).request("GET", "/things/9", template="/things/{id}")
    assert info.value.message == "acme GET /things/{id}: timed out"
    assert info.value.retry_after is None


def test_connect_timeout_is_target_timeout() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("connect timed out", request=request)

    with pytest.raises(TargetTimeout):
        client(slow).request("GET", "/")


def test_connect_error_is_target_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(TargetUnavailable) as info:
        client(refuse).request("POST", "/things")
    assert type(info.value) is TargetUnavailable
    assert info.value.message == "acme POST /things: ConnectError"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_target_unavailable_with_retry_after(status: int) -> None:
    with pytest.raises(TargetUnavailable) as info:
        client(answer(status, {"message": "down"}, {"retry-after": "12"})).request("GET", "/x")
    assert info.value.retry_after == 12.0
    assert info.value.message == f'acme GET /x: {status} {{"message":"down"}}'


def test_5xx_without_retry_after_has_none() -> None:
    with pytest.raises(TargetUnavailable) as info:
        client(answer(500, "oops")).request("GET", "/x")
    assert info.value.retry_after is None
    assert info.value.message == "acme GET /x: 500 oops"


def test_429_with_seconds_is_rate_limited() -> None:
    with pytest.raises(RateLimited) as info:
        client(answer(429, {"message": "slow down"}, {"retry-after": "30"})).request("GET", "/x")
    assert info.value.retry_after == 30.0
    assert info.value.message == "acme GET /x: 429 rate limited"
    assert isinstance(info.value, RetryableError)


def test_429_with_an_http_date_is_rate_limited() -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    with pytest.raises(RateLimited) as info:
        client(answer(429, {}, {"retry-after": when})).request("GET", "/x")
    assert info.value.retry_after is not None
    assert 100 < info.value.retry_after <= 120


def test_429_without_retry_after_has_none() -> None:
    with pytest.raises(RateLimited) as info:
        client(answer(429)).request("GET", "/x")
    assert info.value.retry_after is None


def test_app_specific_retry_after_headers_are_read_in_order() -> None:
    app = App(name="acme", base_url="https://a.test", retry_after_headers=("x-wait", "retry-after"))
    with pytest.raises(RateLimited) as info:
        client(answer(429, {}, {"retry-after": "30", "x-wait": "4"}), app).request("GET", "/")
    assert info.value.retry_after == 4.0


def test_4xx_is_target_rejected_with_status_and_redacted_text() -> None:
    body = {"message": "Contact jane.doe@example.com already exists; call +44 20 7946 0321"}
    with pytest.raises(TargetRejected) as info:
        client(answer(409, body)).request("POST", "/contacts")
    err = info.value
    assert err.status == 409
    assert err.app == "acme"
    assert err.message == (
        'acme POST /contacts: 409 {"message":"Contact j***@example.com already exists; call ***21"}'
    )
    assert "jane.doe" not in str(err)
    assert err.as_dict() == {"error": "target_rejected", "message": err.message, "status": 409, "app": "acme"}


def test_error_text_is_cut_to_500_characters() -> None:
    with pytest.raises(TargetRejected) as info:
        client(answer(400, "x" * 5000)).request("GET", "/x")
    assert info.value.message == "acme GET /x: 400 " + "x" * 500


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_other_4xx_are_permanent(status: int) -> None:
    with pytest.raises(TargetRejected) as info:
        client(answer(status)).request("GET", "/x")
    assert info.value.status == status


def test_app_retryable_4xx_is_target_unavailable() -> None:
    with pytest.raises(TargetUnavailable) as info:
        client(answer(423, {"message": "locked"}, {"retry-after": "2"})).request("PATCH", "/c/1")
    assert info.value.retry_after == 2.0
    assert info.value.message.startswith("acme PATCH /c/1: 423 ")


# --- Retry-After parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-5", None),  # not delta-seconds: ignored, the computed back-off applies
        (None, None),
        ("", None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 90.0),
        ("Wed, 21 Oct 2015 07:26:00 GMT", 0.0),  # in the past
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    now = 1445412480.0 - 90  # 2015-10-21T07:26:30Z
    assert parse_retry_after(value, now=now) == seconds


@pytest.mark.parametrize("value", ["inf", "Infinity", "1e999"])
def test_parse_retry_after_refuses_infinity(value: str) -> None:
    parsed = parse_retry_after(value, now=0)
    assert parsed is None or parsed < 43_200 * 10


# --- concurrency cap ---------------------------------------------------------------------------------


def test_requests_in_flight_never_exceed_the_apps_cap() -> None:
    lock = threading.Lock()
    state = {"now": 0, "max": 0}
    full = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
            if state["now"] >= ACME.max_concurrency:
                full.set()
        full.wait(5)
        with lock:
            state["now"] -= 1
        return httpx.Response(200, json={})

    api = client(handler)
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda: statuses.append(api.request("GET", "/x").status_code))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    assert statuses == [200] * 6
    assert state["max"] == ACME.max_concurrency == 2


# --- a request that is safe to repeat, repeated within the call --------------------------------------


def sequence(*handlers: Handler) -> tuple[Handler, list[httpx.Request]]:
    """Answers with each handler in turn (the last one from then on), recording the requests."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handlers[min(len(seen), len(handlers)) - 1](request)

    return handler, seen


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("read timed out", request=request)


@pytest.mark.parametrize("first", [answer(503, "down"), timeout])
def test_a_read_that_fails_once_is_repeated_within_the_call(first: Handler) -> None:
    handler, seen = sequence(first, answer(200, {"id": 1}))
    assert client(handler).request("GET", "/x").json() == {"id": 1}
    assert len(seen) == 2


def test_a_read_that_keeps_failing_is_tried_three_times_then_raises() -> None:
    handler, seen = sequence(answer(503, "down"))
    with pytest.raises(TargetUnavailable, match="503 down"):
        client(handler).request("GET", "/x")
    assert len(seen) == 3


def test_a_write_is_not_repeated_unless_marked_safe() -> None:
    handler, seen = sequence(answer(503, "down"), answer(200, {"ok": True}))
    with pytest.raises(TargetUnavailable):
        client(handler).request("POST", "/notes", json={})
    assert len(seen) == 1
    handler, seen = sequence(answer(503, "down"), answer(200, {"ok": True}))
    assert client(handler).request("POST", "/search", json={}, safe=True).json() == {"ok": True}
    assert len(seen) == 2
    handler, seen = sequence(answer(503, "down"), answer(200, {"ok": True}))
    with pytest.raises(TargetUnavailable):
        client(handler).request("GET", "/x", safe=False)
    assert len(seen) == 1


@pytest.mark.parametrize(
    "first",
    [
        answer(503, "down", {"retry-after": "30"}),
        answer(401, "expired"),
        answer(429, "slow"),
        answer(404, "no"),
    ],
)
def test_an_answer_that_says_more_than_try_again_is_not_repeated(first: Handler) -> None:
    handler, seen = sequence(first, answer(200, {}))
    with pytest.raises((RetryableError, TargetRejected)):
        client(handler).request("GET", "/x")
    assert len(seen) == 1


def test_repeats_stop_once_the_apps_circuit_is_open() -> None:
    from shared.errors import CircuitOpen
    from shared.health import current_health

    class Guard:
        blocked: CircuitOpen | None = None

    guard = Guard()

    def fail_and_open(request: httpx.Request) -> httpx.Response:
        guard.blocked = CircuitOpen("acme unavailable", app="acme", since=None, waiting=0, retry_after=60)
        return httpx.Response(503, text="down")

    handler, seen = sequence(fail_and_open)
    token = current_health.set(guard)  # type: ignore[arg-type]
    try:
        with pytest.raises(TargetUnavailable):
            client(handler).request("GET", "/x")
    finally:
        current_health.reset(token)
    assert len(seen) == 1


def test_the_pauses_between_repeats_double_and_follow_the_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    slept: list[float] = []
    monkeypatch.setattr("shared.http._FIRST_PAUSE_S", 0.2)
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    monkeypatch.setattr(time, "sleep", slept.append)
    handler, _ = sequence(answer(503, "down"))
    api = ApiClient(ACME, {"token": "t"}, transport=httpx.MockTransport(handler), pause_scale=0.5)
    with pytest.raises(TargetUnavailable):
        api.request("GET", "/x")
    assert slept == [0.1, 0.2]
