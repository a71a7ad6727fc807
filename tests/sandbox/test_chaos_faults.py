"""The sandbox faults the chaos harness uses: rates, poison markers, late answers, crashes - and the
local runtime's side of a crash (the transport ends the invocation, the poller keeps the batch)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from infra.local.poller import Poller
from infra.local.transport import InvocationCrashed, LocalTransport
from sandbox.base import (
    CRASH_HEADER,
    SandboxApp,
    SandboxRequest,
    SandboxResponse,
    SandboxTimeout,
    as_transport,
)


class Echo(SandboxApp):
    name = "echo"

    def routes(self) -> Any:
        return (("POST", "/things", self._create),)

    def reset_data(self) -> None:
        self.created: list[Any] = []

    def _create(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        self.created.append(req.json())
        return SandboxResponse.json({"id": len(self.created)}, 201)


def post(app: SandboxApp, body: Any, **kw: Any) -> SandboxResponse:
    return app.handle(SandboxRequest("POST", "/things", body=json.dumps(body).encode()), **kw)


def faults(app: SandboxApp, *items: dict[str, Any]) -> SandboxResponse:
    return app.handle(SandboxRequest("POST", "/_faults", body=json.dumps(list(items)).encode()))


def test_a_rate_fault_hits_its_share_and_is_never_used_up() -> None:
    app = Echo()
    assert faults(app, {"kind": "status", "status": 503, "rate": 0.3}).status == 201
    app.reseed(42)
    first = [post(app, {"n": i}).status for i in range(1000)]
    assert 250 < first.count(503) < 350
    assert app.faults_served == {"status": first.count(503)}
    app.reseed(42)
    assert [post(app, {"n": i}).status for i in range(1000)] == first  # the seed makes it repeatable


def test_rates_add_up_with_one_draw_and_counted_faults_come_first() -> None:
    app = Echo()
    faults(
        app,
        {"kind": "status", "status": 503, "rate": 0.5},
        {"kind": "rate_limit", "retry_after": 2, "rate": 0.5},
        {"kind": "status", "status": 418, "count": 1},
    )
    statuses = [post(app, {}).status for _ in range(50)]
    assert statuses[0] == 418
    assert set(statuses[1:]) == {503, 429}  # 0.5 + 0.5: every request hit, by one or the other


def test_a_poison_marker_is_refused_for_good() -> None:
    app = Echo()
    faults(app, {"kind": "status", "status": 400, "rate": 1, "body_contains": "chaos-poison"})
    assert [post(app, {"email": "chaos-poison-1@x.example"}).status for _ in range(5)] == [400] * 5
    assert post(app, {"email": "fine@x.example"}).status == 201
    assert app.created == [{"email": "fine@x.example"}]
    cleared = app.handle(SandboxRequest("DELETE", "/_faults"))
    assert cleared.parsed() == {"faults": []}
    assert app.handle(SandboxRequest("GET", "/_faults/served")).parsed() == {"served": {"status": 5}}


def test_a_late_answer_served_first_has_acted_before_the_client_gives_up() -> None:
    app = Echo()
    faults(app, {"kind": "slow", "delay_s": 0.3, "serve_first": True})
    with pytest.raises(SandboxTimeout):
        post(app, {"n": 1}, read_timeout=0.05)
    assert app.created == [{"n": 1}]  # the effect happened; the caller saw a timeout
    client = httpx.Client(transport=as_transport(app, mount=""), base_url="http://echo.test")
    faults(app, {"kind": "slow", "delay_s": 0.3, "serve_first": True})
    with pytest.raises(httpx.ReadTimeout):
        client.post("/things", json={"n": 2}, timeout=httpx.Timeout(5, read=0.05))
    assert app.created[-1] == {"n": 2}


def test_invalid_rate_faults_are_refused() -> None:
    app = Echo()
    assert faults(app, {"kind": "status", "status": 503, "rate": 0}).status == 400
    assert faults(app, {"kind": "status", "status": 503, "rate": 1.5}).status == 400
    assert faults(app, {"kind": "crash", "body_contains": ""}).status == 400


def test_a_crash_serves_the_request_and_marks_the_answer() -> None:
    app = Echo()
    faults(app, {"kind": "crash"})
    answer = post(app, {"n": 1})
    assert answer.status == 201 and answer.headers[CRASH_HEADER] == "1"
    assert app.created == [{"n": 1}]
    assert CRASH_HEADER not in post(app, {"n": 2}).headers


class _Inner(httpx.BaseTransport):
    """Stands in for httpx's network transport inside LocalTransport."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self.seen_timeouts: list[Any] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen_timeouts.append(dict(request.extensions.get("timeout") or {}))
        return as_transport(self.app, mount="").handle_request(request)


def _post_catching_exceptions(client: httpx.Client) -> None:
    """What a worker's handlers do: catch ``Exception``. A crash must pass through them."""
    try:
        client.post("/things", json={"n": 2})
    except Exception:
        pytest.fail("InvocationCrashed was caught as an Exception")


def test_the_local_transport_turns_a_crash_mark_into_the_end_of_the_invocation() -> None:
    app = Echo()
    transport = LocalTransport(read_timeout_s=0.5)
    inner = _Inner(app)
    transport._inner = inner  # type: ignore[assignment]
    client = httpx.Client(transport=transport, base_url="http://echo.test", timeout=10)
    assert client.post("/things", json={"n": 1}).status_code == 201
    faults(app, {"kind": "crash"})
    with pytest.raises(InvocationCrashed):
        _post_catching_exceptions(client)
    assert app.created == [{"n": 1}, {"n": 2}]  # the target acted before the "crash"
    assert inner.seen_timeouts[0]["read"] == 0.5  # the client's 10 s read timeout, capped
    client.close()  # a client closing does not close the runtime's pool
    assert (
        httpx.Client(transport=transport, base_url="http://echo.test").post("/things", json={}).status_code
        == 201
    )


class _FakeSqs:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def receive_message(self, **_: Any) -> dict[str, Any]:
        return {"Messages": [{"MessageId": "m1", "ReceiptHandle": "r1", "Body": "{}"}]}

    def delete_message_batch(self, **kw: Any) -> None:
        self.deleted += [e["ReceiptHandle"] for e in kw["Entries"]]


def test_the_poller_keeps_a_crashed_batch_and_reports_no_error() -> None:
    sqs, errors = _FakeSqs(), []

    def crash(_name: str, _event: dict[str, Any]) -> dict[str, Any]:
        raise InvocationCrashed("killed")

    poller = Poller(
        "echo", sqs, "url", "arn", 10, crash, region="us-east-1", on_error=lambda n, e: errors.append(e)
    )
    assert poller.poll_once() == 1
    assert sqs.deleted == [] and errors == [] and poller.crashes == 1
