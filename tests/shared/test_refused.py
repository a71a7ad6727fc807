"""Refused requests get an id, a week-long record (never a secret, never the body), and a trace.

Every request here goes through the real ingress (``shared.entry.dispatch``) of ``website_to_crm``
on moto, as ``tests/shared/test_ingress.py`` does; the record is read back from the ledger table.
"""

from __future__ import annotations

import io
import json
import socket
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest

from infra.ops.refused import recent
from infra.ops.trace import trace
from shared import refused
from shared.entry import dispatch
from shared.refused import RETENTION_S, Refusal, mask_address, refused_prefix
from shared.registry import load_specs
from shared.runtime import Runtime
from shared.secrets import signing_secrets
from shared.table import ledger_table
from tests.shared.test_ingress import (
    LEAD,
    NAME,
    WEBHOOK_PATH,
    assert_refused,
    form_event,
    signed_headers,
    webhook_event,
    webhook_trigger,
)

FORGED_SECRET = "whsec_Zm9yZ2VkLXNlY3JldC1ub3QtdGhlLXJlYWwtb25l"
SENDER = "203.0.113.77"


@pytest.fixture(autouse=True)
def _fresh_rate() -> Iterator[None]:
    """Each test starts with a full recording bucket (other tests in this process may have used it)."""
    saved = refused._bucket
    refused._bucket = refused._Bucket(refused.RECORDS_PER_S, refused.RECORD_BURST)
    yield
    refused._bucket = saved


@pytest.fixture
def rt(make_runtime: Any) -> Runtime:
    runtime: Runtime = make_runtime(NAME)
    return runtime


def forged(rt: Runtime) -> dict[str, Any]:
    """A lead signed with a secret that is not the integration's, from a known address."""
    body = json.dumps(LEAD).encode()
    headers = signed_headers(rt, body, secret=FORGED_SECRET) | {
        "user-agent": "Svix-Webhooks/1.24",
        "authorization": "Bearer sk_live_do_not_store_me_123456",
    }
    event = webhook_event(body, headers)
    event["requestContext"]["http"]["sourceIp"] = SENDER
    return event


def stored(rt: Runtime) -> list[dict[str, Any]]:
    return [i for i in ledger_table(rt).scan() if str(i["id"]).startswith(refused_prefix(NAME))]


def test_a_forged_signature_is_answered_with_a_request_id_and_recorded_without_secrets(rt: Runtime) -> None:
    event = forged(rt)
    answer = assert_refused(rt, dispatch(rt, event), 401, "invalid_signature")
    request_id = answer["request_id"]
    assert request_id.startswith("req_") and len(request_id) == 24

    (item,) = stored(rt)
    assert item["id"].startswith(f"{NAME}#refused#") and item["id"].endswith(f"#{request_id}")
    assert item["request_id"] == request_id
    assert item["integration"] == NAME and item["trigger"] == "webhook"
    assert item["route"] == f"POST {WEBHOOK_PATH}" and item["method"] == "POST"
    assert item["status"] == 401 and item["reason"] == "invalid_signature"
    assert item["detail"] == answer["message"]
    assert item["remote"] == "203.0.113.0/24"
    assert item["content_type"] == "application/json"
    assert item["user_agent"] == "Svix-Webhooks/1.24"
    assert item["body_bytes"] == len(json.dumps(LEAD).encode())
    # Names only: the standard-webhooks headers the verifier reads, and the credential header.
    assert item["signature_headers"] == [
        "authorization",
        "webhook-id",
        "webhook-signature",
        "webhook-timestamp",
    ]
    assert int(item["expiration"]) == int(refused._epoch(item["time"])) + RETENTION_S

    text = json.dumps(item, default=str)
    real = signing_secrets(rt, webhook_trigger(rt).secret)
    headers = event["headers"]
    lead: Any = LEAD["data"]
    for secret in (
        *real,
        FORGED_SECRET,
        headers["webhook-signature"],
        headers["webhook-signature"].split(",")[-1],
        "sk_live_do_not_store_me_123456",
        SENDER,
        lead["email"],
        lead["phone"],
        lead["name"],
    ):
        assert str(secret) not in text, f"{secret!r} was recorded"


def test_every_kind_of_refusal_is_recorded_with_its_status_and_reason(rt: Runtime) -> None:
    too_big = json.dumps({**LEAD, "pad": "x" * 300_000}).encode()
    bad_b64 = webhook_event(b"{}", {"content-type": "application/json"})
    bad_b64["body"], bad_b64["isBase64Encoded"] = "not base64!!", True
    answers = [
        dispatch(rt, webhook_event(too_big, signed_headers(rt, too_big))),
        dispatch(rt, webhook_event(b"a=b", signed_headers(rt, b"a=b") | {"content-type": "text/plain"})),
        dispatch(rt, webhook_event(b"{", signed_headers(rt, b"{"))),
        dispatch(rt, form_event({"name": "x"}, origin="https://evil.example")),
        dispatch(rt, bad_b64),
    ]
    ids = {json.loads(a["body"])["request_id"]: a["statusCode"] for a in answers}
    assert sorted(ids.values()) == [400, 400, 403, 413, 415]
    found = {i["request_id"]: i for i in stored(rt)}
    assert set(found) == set(ids)
    assert {(int(found[r]["status"]), found[r]["reason"]) for r in ids} == {
        (413, "payload_too_large"),
        (415, "unsupported_media_type"),
        (400, "malformed_payload"),
        (403, "forbidden_origin"),
    }
    assert {found[r]["route"] for r in ids} == {f"POST {WEBHOOK_PATH}", "POST /forms/website_to_crm"}
    unreadable = next(i for i in found.values() if i["body_bytes"] == len("not base64!!"))
    assert unreadable["reason"] == "malformed_payload"
    assert max(int(i["body_bytes"]) for i in found.values()) == len(too_big)


def test_refusals_are_listed_newest_first_by_integration_bounded_and_unexpired(rt: Runtime) -> None:
    table = ledger_table(rt)
    base = time.time()
    for n, integration in enumerate(
        ["website_to_crm", "pos_to_accounting", "website_to_crm", "website_to_crm"]
    ):
        item = _refusal(integration, f"req_{n:020d}", base + n).to_item(int(base + n) + RETENTION_S)
        table.put(item)
    old = _refusal("website_to_crm", "req_expired00000000000", base - 10)
    table.put(old.to_item(int(base) - 1))
    table.put({"id": "website_to_crm#step#refused#abc", "status": "COMPLETED"})  # a step named 'refused'

    mine = recent(table, integration="website_to_crm", now=base)
    assert [r.request_id for r in mine] == ["req_" + f"{n:020d}" for n in (3, 2, 0)]
    every = recent(table, now=base)
    assert [r.request_id for r in every] == ["req_" + f"{n:020d}" for n in (3, 2, 1, 0)]
    assert [r.request_id for r in recent(table, limit=2, now=base)] == [
        every[0].request_id,
        every[1].request_id,
    ]
    assert mine[0] == _refusal("website_to_crm", "req_" + f"{3:020d}", base + 3)


def test_switchboard_trace_finds_a_refused_request_by_its_id(rt: Runtime, aws: Any) -> None:
    from infra.ops.target import Target

    answer = json.loads(dispatch(rt, forged(rt))["body"])
    request_id = answer["request_id"]
    target = Target(stage=rt.stage, region="us-east-1")
    assert target.table == rt.table

    out = io.StringIO()
    assert trace(target, request_id, out)
    text = out.getvalue()
    assert f"trace {request_id}" in text
    assert f"{NAME}: REFUSED 401 invalid_signature" in text
    assert f"route      POST {WEBHOOK_PATH} (trigger webhook)" in text
    assert "network 203.0.113.0/24" in text
    assert "signature headers present (names only): authorization, webhook-id" in text
    assert "sk_live_do_not_store_me" not in text and FORGED_SECRET not in text

    prefix = io.StringIO()
    assert trace(target, request_id[:12], prefix)
    assert f"trace {request_id}" in prefix.getvalue()


def test_dynamodb_down_still_answers_the_refusal_and_logs_that_it_was_not_recorded(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on: connection refused at once
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    down = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{closed}")
    served = rt.aws

    def aws(service: str) -> Any:
        return down if service == "dynamodb" else served(service)

    monkeypatch.setattr(rt, "aws", aws)
    capsys.readouterr()
    answer = assert_refused(rt, dispatch(rt, forged(rt)), 401, "invalid_signature")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (failed,) = [line for line in lines if line["message"] == "refusal not recorded"]
    assert failed["request_id"] == answer["request_id"]
    assert failed["error"] == "EndpointConnectionError"
    refused_line = next(line for line in lines if line["message"] == "request refused")
    assert refused_line["request_id"] == answer["request_id"]


def test_the_recording_write_gives_up_quickly(rt: Runtime) -> None:
    """One attempt with short timeouts, on the runtime's own endpoint - not its 3 tries of up to 10 s."""
    client = refused._writer(rt)
    base = rt.aws("dynamodb")
    assert client is not base and client.meta.endpoint_url == base.meta.endpoint_url
    config = client.meta.config
    assert config.retries["total_max_attempts"] == 1
    assert config.connect_timeout <= 0.5 and config.read_timeout <= 1.0
    assert refused._writer(rt) is client  # made once per process


def test_a_flood_of_refusals_is_recorded_at_a_bounded_rate(rt: Runtime) -> None:
    clock = [1000.0]
    refused._bucket = refused._Bucket(rate=2.0, burst=3, clock=lambda: clock[0])
    for _ in range(5):
        assert dispatch(rt, forged(rt))["statusCode"] == 401
    assert len(stored(rt)) == 3
    clock[0] += 1.0  # two more tokens a second later
    for _ in range(3):
        assert dispatch(rt, forged(rt))["statusCode"] == 401
    assert len(stored(rt)) == 5


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::/48"),
        ("", ""),
        ("not-an-ip", ""),
    ],
)
def test_the_sender_address_is_kept_as_its_network(address: str, masked: str) -> None:
    assert mask_address(address) == masked


def test_a_refusal_survives_the_table_round_trip() -> None:
    refusal = _refusal("stock_level", "req_" + "a" * 20, 1_700_000_000.5)
    item = json.loads(json.dumps(refusal.to_item(1), default=str))
    item["status"], item["body_bytes"] = Decimal(item["status"]), Decimal(item["body_bytes"])
    assert Refusal.from_item(item) == refusal


def _refusal(integration: str, request_id: str, at: float) -> Refusal:
    return Refusal(
        request_id=request_id,
        time=refused._iso(at),
        integration=integration,
        route="POST /hooks/x",
        method="POST",
        trigger="webhook",
        status=401,
        reason="invalid_signature",
        detail="no signature matches",
        remote="198.51.100.0/24",
        content_type="application/json",
        user_agent="test",
        signature_headers=("webhook-signature",),
        body_bytes=12,
    )


def test_each_function_may_write_its_own_refusals_and_no_other_integrations() -> None:
    """The role's ``dynamodb:LeadingKeys`` patterns (infra/cdk/access.py) and actions, per spec."""
    from fnmatch import fnmatchcase

    from infra.cdk import access
    from shared.refused import refused_key

    specs = load_specs()
    at = refused._iso(1_700_000_000.0)
    for spec in specs:
        patterns = access.ledger_key_patterns(spec, "prod")
        assert "dynamodb:PutItem" in access.table_actions(spec), spec.name
        assert any(fnmatchcase(refused_key(spec.name, at, "req_1"), p) for p in patterns), spec.name
        for other in specs:
            if other.name != spec.name:
                key = refused_key(other.name, at, "req_1")
                assert not any(fnmatchcase(key, p) for p in patterns), (spec.name, key)
