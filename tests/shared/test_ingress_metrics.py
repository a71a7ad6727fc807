"""The metric names a request makes the ingress path emit: each one a billed CloudWatch series, so
none may only repeat another (issue 18).

``Received`` was ``Accepted`` + ``Rejected`` again, and ``RouteRequests`` the route function's own
``AWS/Lambda`` ``Invocations``; the dashboard reads those instead (``tests/infra/test_cdk.py``). The
EMF lines are read from stdout, as CloudWatch would read them from the function's log.
"""

from __future__ import annotations

import base64
import json
import time
import warnings
from typing import Any

import pytest

from infra.local.gateway import api_gateway_event
from shared.entry import dispatch
from shared.runtime import Runtime
from shared.secrets import signing_secrets
from shared.spec import WebhookTrigger

HOST = "hooks.test"
LEAD = {
    "type": "form.submitted",
    "timestamp": "2026-11-20T09:14:03.512Z",
    "data": {"form_id": "contact-us", "name": "Priya Raman", "email": "priya@northwind.example"},
}


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """``emitted()``: the metric names published since the last call, as EMF on stdout."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    capsys.readouterr()

    def names() -> set[str]:
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        return {
            metric["Name"]
            for line in lines
            for directive in line["_aws"]["CloudWatchMetrics"]
            for metric in directive["Metrics"]
        }

    return names


def webhook(rt: Runtime, *, secret: str | None = None) -> dict[str, Any]:
    trigger = rt.spec.trigger("webhook")
    assert isinstance(trigger, WebhookTrigger)
    body = json.dumps(LEAD).encode()
    headers = {"host": HOST, "x-forwarded-proto": "http", "content-type": "application/json"}
    headers |= trigger.verifier.sign(
        method="POST",
        url=f"http://{HOST}{trigger.path}",
        body=body,
        secret=secret or signing_secrets(rt, trigger.secret)[0],
        now=time.time(),
        msg_id="msg_metrics_1",
    )
    event = api_gateway_event(
        method="POST",
        path=trigger.path,
        query="",
        headers=headers,
        body=body,
        route_key=f"POST {trigger.path}",
    )
    return dispatch(rt, event)


def test_an_accepted_webhook_emits_accepted_and_no_received(make_runtime: Any, emitted: Any) -> None:
    rt: Runtime = make_runtime("website_to_crm")
    assert webhook(rt)["statusCode"] == 202
    assert emitted() == {"Accepted"}


def test_a_refused_webhook_emits_rejected_and_no_received(make_runtime: Any, emitted: Any) -> None:
    rt: Runtime = make_runtime("website_to_crm")
    forged = "whsec_" + base64.b64encode(b"not the shared secret at all").decode()
    assert webhook(rt, secret=forged)["statusCode"] == 401
    assert emitted() == {"Rejected", "SignatureRejected"}


def _stock_request() -> dict[str, Any]:
    """The shop's page asking stock_level for one SKU, as API Gateway delivers it."""
    return api_gateway_event(
        method="GET",
        path="/stock/LOAF-RYE",
        query="",
        headers={"host": HOST, "origin": "https://www.bramble-bakery.example"},
        body=b"",
        route_key="GET /stock/{sku}",
    )


def test_a_route_request_emits_no_route_requests_metric(make_runtime: Any, emitted: Any) -> None:
    """Its count is the function's own Invocations; the answer's own metrics stay."""
    rt: Runtime = make_runtime("stock_level")
    event = _stock_request()
    assert dispatch(rt, event)["statusCode"] == 200
    names = emitted()
    assert "TargetLatency" in names  # it did publish: Square was asked
    assert "RouteRequests" not in names


def test_a_request_that_counts_nothing_publishes_nothing_and_warns_of_nothing(
    make_runtime: Any, emitted: Any
) -> None:
    """The second ask for a SKU is answered from memory: no metric to count, so no EMF line - and no
    "No application metrics to publish" warning from Powertools in the function's log."""
    rt: Runtime = make_runtime("stock_level")
    event = _stock_request()
    assert dispatch(rt, event)["statusCode"] == 200
    assert emitted()
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        assert dispatch(rt, event)["statusCode"] == 200
    assert emitted() == set()
    assert [str(w.message) for w in warned] == []
