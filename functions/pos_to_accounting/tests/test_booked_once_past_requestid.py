"""A sale is booked once even when QuickBooks no longer remembers the requestid of the lost create.

Intuit documents no retention for ``requestid`` (https://blogs.intuit.com/2015/04/06/15346/ names
none), and the stand-in forgets an id after a window. Here the first create goes through but its
answer is lost, and the id is forgotten before the retry - as when the retry comes after Intuit's
window. The retry must then find the receipt through the ledger's attempt record and the query
operation, not book a second one: the ledger carries "booked once", not the stand-in.
"""

from __future__ import annotations

from typing import Any

import pytest

from apps.quickbooks.client import MARKER_PREFIX
from apps.quickbooks.standin import QuickBooksSandbox
from infra.local.samples import EVENTS_DIR, load_sample
from sandbox.base import SandboxApp, SandboxRequest, SandboxResponse
from shared.registry import load_spec
from shared.runtime import Runtime
from tests.support import dlq_messages, drain, send_sample

SPEC = load_spec("pos_to_accounting")


@pytest.fixture
def rt(make_runtime: Any) -> Runtime:
    runtime: Runtime = make_runtime("pos_to_accounting", retry_scale=0)
    return runtime


@pytest.fixture
def books(sandboxes: dict[str, SandboxApp]) -> QuickBooksSandbox:
    app = sandboxes["quickbooks"]
    assert isinstance(app, QuickBooksSandbox)
    return app


def requests(app: QuickBooksSandbox, suffix: str) -> list[dict[str, Any]]:
    res = app.handle(SandboxRequest("GET", "/_requests")).parsed()["requests"]
    return [r for r in res if r["path"].endswith(suffix)]


def test_a_lost_create_retried_after_the_requestid_window_is_not_booked_twice(
    rt: Runtime, books: QuickBooksSandbox
) -> None:
    original = books._create
    calls = {"n": 0}

    def lost_then_forgotten(req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        answer = original(req, params)
        calls["n"] += 1
        if calls["n"] > 1:
            return answer
        books.answered.clear()  # by the retry, Intuit's window for this requestid has passed
        return books.error_response(502, "the answer was lost on the way back")

    books._routes = tuple(  # the create route, with its first answer lost and its requestid forgotten
        type(r)(r.method, r.regex, lost_then_forgotten) if r.handler == original else r for r in books._routes
    )
    send_sample(rt, load_sample(EVENTS_DIR / "pos_to_accounting" / "square_payment_completed.json", SPEC))
    drain(rt)
    [receipt] = books.receipts_of("salesreceipt")
    assert calls["n"] == 1  # the retry found the receipt and made no second create
    assert not dlq_messages(rt)
    [lookup] = requests(books, "/query")
    assert "MetaData.CreateTime" in lookup["query"]["query"][0]
    rid = requests(books, "/salesreceipt")[0]["query"]["requestid"][0]
    assert receipt["PrivateNote"].endswith(f"\n{MARKER_PREFIX}{rid}")
