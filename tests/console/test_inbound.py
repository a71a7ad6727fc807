"""The inbound request an event's story shows: recorded by the ingress in its own log (one more JSON
line beside ``accepted``), never in a DynamoDB item - the hot path's requests per event stay as they
were (issue 18 counts them) - and never with a signature's value or a person's name in clear.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import botocore.client
import pytest

from infra.local.gateway import api_gateway_event
from shared import inbound
from shared.entry import dispatch
from shared.observability import forget_loggers
from shared.runtime import Runtime
from shared.secrets import signing_secrets
from shared.spec import WebhookTrigger
from shared.webhooks.base import WebhookRequest

NAME = "website_to_crm"
PATH = "/hooks/website_to_crm"
LEAD = {
    "type": "form.submitted",
    "timestamp": "2026-11-20T09:14:03.512Z",
    "data": {
        "form_id": "contact-us",
        "name": "Priya Raman",
        "email": "Priya.Raman@Northwind-Traders.example",
        "phone": "+44 20 7946 0321",
        "company": "Northwind Traders",
        "message": "A quote for 40 loaves a week, please.",
        "consent": True,
    },
}


def webhook(rt: Runtime) -> WebhookTrigger:
    trigger = rt.spec.trigger("webhook")
    assert isinstance(trigger, WebhookTrigger)
    return trigger


def signed(rt: Runtime, body: bytes, msg_id: str) -> dict[str, str]:
    trigger = webhook(rt)
    headers = {
        "host": "hooks.test",
        "x-forwarded-proto": "http",
        "content-type": "application/json",
        "user-agent": "Svix-Webhooks/1.24 (sender jo@example.com)",
    }
    headers.update(
        trigger.verifier.sign(
            method="POST",
            url=f"http://hooks.test{PATH}",
            body=body,
            secret=signing_secrets(rt, trigger.secret)[0],
            now=time.time(),
            msg_id=msg_id,
        )
    )
    return headers


def test_the_ingress_logs_the_request_that_matters_and_writes_nothing_more(
    make_runtime: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWITCHBOARD_LOG_DIR", str(tmp_path))
    forget_loggers()
    rt: Runtime = make_runtime(NAME)
    body = json.dumps(LEAD).encode()
    headers = signed(rt, body, "msg_inbound_1")
    event = api_gateway_event(
        method="POST", path=PATH, query="", headers=headers, body=body, route_key=f"POST {PATH}"
    )
    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

    def counted(self: Any, operation: str, params: Any) -> Any:
        calls.append(f"{self.meta.service_model.service_name}:{operation}")
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counted)
    answer = dispatch(rt, event)
    assert answer["statusCode"] == 202, answer
    assert not [c for c in calls if c.startswith("dynamodb:")], calls  # no write per event on the hot path
    forget_loggers()

    lines = [json.loads(line) for line in (tmp_path / f"{NAME}.jsonl").read_text().splitlines()]
    found = [line for line in lines if line.get("message") == inbound.MESSAGE]
    assert len(found) == 1, lines
    line = found[0]
    assert line["event_ids"] == ["msg_inbound_1"] and line["trigger"] == "webhook"
    kept = line["inbound"]
    assert kept["content_type"] == "application/json"
    assert kept["content_length"] == len(body)
    assert kept["ids"] == {"webhook-id": "msg_inbound_1"}
    assert kept["signature_headers"] == ["webhook-timestamp", "webhook-signature"]
    assert kept["signature"] == "verified"
    assert "j***@example.com" in kept["user_agent"]
    assert set(kept) == {
        "content_type",
        "user_agent",
        "content_length",
        "ids",
        "signature_headers",
        "signature",
    }
    text = json.dumps(line)
    assert headers["webhook-signature"] not in text and headers["webhook-signature"].split(",")[1] not in text
    assert "Priya Raman" not in text and "7946 0321" not in text


def test_the_summary_keeps_the_size_of_a_body_never_the_body(make_runtime: Any) -> None:
    rt: Runtime = make_runtime(NAME)
    payload = {**LEAD, "data": {**LEAD["data"], "message": "x" * 5000}}  # type: ignore[dict-item]
    body = json.dumps(payload).encode()
    request = WebhookRequest("POST", f"http://hooks.test{PATH}", signed(rt, body, "msg_long"), body)
    kept = inbound.describe(webhook(rt), request)
    assert kept["content_length"] == len(body)
    assert "x" * 20 not in json.dumps(kept) and "Northwind" not in json.dumps(kept)
