"""The MCP endpoint, end to end: the official MCP client (``mcp`` SDK, streamable HTTP) against the
local gateway, with keys made as ``switchboard keys create`` makes them.

Covers: the tool list a key sees, and a tool whose setting is missing neither listed nor callable; a
read tool (stock); an effect tool called three times with one idempotency key (one contact and one
upsert in the HubSpot sandbox's request log); a key without the tool; the minute and day quotas; a
revoked key (401); and the audit trail (every call, no secret, no raw personal data).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from apps.hubspot.standin import HubSpotSandbox
from functions.mcp import keys
from functions.mcp.jsonrpc import INVALID_API_KEY
from functions.mcp.tools import FORBIDDEN, QUOTA_EXCEEDED, UNKNOWN_TOOL
from infra.local.runtime import LocalRuntime
from sandbox.base import SandboxRequest
from shared.actions import catalogue

pytestmark = pytest.mark.e2e

T = TypeVar("T")


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    """A local runtime per test (the environment fixture resets AWS settings between tests)."""
    with LocalRuntime(port=0, pollers=False, log_dir=str(tmp_path / "logs"), state_file=None) as rt:
        yield rt


def _key(runtime: LocalRuntime, tools: list[str], *, per_minute: int = 100, per_day: int = 1000) -> str:
    rt = runtime.runtimes["mcp"]
    _, plaintext = keys.create_key(
        rt.aws("dynamodb"), rt.table, name="test", tools=tools, per_minute=per_minute, per_day=per_day
    )
    return plaintext


def _session(runtime: LocalRuntime, key: str, work: Callable[[ClientSession], Awaitable[T]]) -> T:
    async def run() -> T:
        async with (
            httpx2.AsyncClient(headers={"authorization": f"Bearer {key}"}, timeout=30) as http,
            streamable_http_client(f"{runtime.url}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await work(session)

    try:
        return asyncio.run(run())
    except BaseExceptionGroup as group:  # the client's task groups wrap what the server answered
        raise _leaf(group) from group


def _leaf(error: BaseException) -> BaseException:
    """The one error a group wraps. A group of several fails the test naming them all: keeping only
    the first would hide the others (and could let an expected error stand for an unexpected one)."""
    while isinstance(error, BaseExceptionGroup):
        if len(error.exceptions) != 1:
            pytest.fail(f"expected one error in the group, got {len(error.exceptions)}: {error.exceptions!r}")
        error = error.exceptions[0]
    return error


def _upserts_of(hubspot: HubSpotSandbox, email: str) -> list[dict[str, Any]]:
    """The contact upserts for ``email`` that HubSpot's sandbox received (its ``/_requests`` log)."""
    listed = hubspot.handle(SandboxRequest("GET", "/_requests", query={"path": ["/contacts/batch/upsert"]}))
    return [
        r
        for r in listed.parsed()["requests"]
        if r["method"] == "POST" and any(i.get("id") == email for i in (r["json"] or {}).get("inputs", []))
    ]


def _audit(runtime: LocalRuntime) -> list[dict[str, Any]]:
    rt = runtime.runtimes["mcp"]
    items = rt.aws("dynamodb").scan(
        TableName=rt.table,
        FilterExpression="#k = :a",
        ExpressionAttributeNames={"#k": "kind"},
        ExpressionAttributeValues={":a": {"S": "audit"}},
    )["Items"]
    return [{k: next(iter(v.values())) for k, v in item.items()} for item in items]


def test_tools_list_shows_the_actions_the_key_may_call(runtime: LocalRuntime) -> None:
    everything = _session(runtime, _key(runtime, ["*"]), lambda s: s.list_tools())
    assert {t.name for t in everything.tools} == {a.tool_name for a in catalogue()}
    by_name = {t.name: t for t in everything.tools}
    upsert = by_name["crm_upsert_contact"]
    assert upsert.description == next(a.description for a in catalogue() if a.name == "crm.upsert_contact")
    assert "idempotency_key" in upsert.input_schema["properties"]
    assert "from_address" not in by_name["email_send"].input_schema["properties"]  # the deployment's choice
    assert by_name["stock_get"].annotations is not None and by_name["stock_get"].annotations.read_only_hint

    narrow = _session(runtime, _key(runtime, ["stock.get"]), lambda s: s.list_tools())
    assert [t.name for t in narrow.tools] == ["stock_get"]


def test_the_stock_tool_answers_from_square(runtime: LocalRuntime) -> None:
    result = _session(
        runtime,
        _key(runtime, ["stock.get"]),
        lambda s: s.call_tool("stock_get", {"skus": ["LOAF-SOURDOUGH", "NOPE-1"]}),
    )
    assert not result.is_error
    items = {i["sku"]: i for i in result.structured_content["items"]}
    assert items["LOAF-SOURDOUGH"]["found"] and items["LOAF-SOURDOUGH"]["available"] == 18
    assert not items["NOPE-1"]["found"]
    assert json.loads(result.content[0].text) == result.structured_content  # type: ignore[union-attr]


def test_one_idempotency_key_one_contact(runtime: LocalRuntime) -> None:
    hubspot = runtime.sandboxes["hubspot"]
    assert isinstance(hubspot, HubSpotSandbox)
    email = "idem.test@fischer-kaffee.example"
    args = {
        "email": email,
        "first_name": "Lena",
        "phone": "+49 30 1234 5678",
        "idempotency_key": "lead-7f3a-0001",
    }

    async def twice(session: ClientSession) -> list[Any]:
        return [await session.call_tool("crm_upsert_contact", dict(args)) for _ in range(2)]

    key = _key(runtime, ["crm.upsert_contact"])
    first, second = _session(runtime, key, twice)
    # A new session (request ids start again at 0) with the same key: still the same call.
    third = _session(runtime, key, lambda s: s.call_tool("crm_upsert_contact", dict(args)))
    assert not first.is_error and first.structured_content["is_new"] is True
    assert second.structured_content == first.structured_content == third.structured_content
    assert second.meta == {"io.switchboard/replayed": True}
    with hubspot.lock:
        matching = [c for c in hubspot.contacts.values() if c.properties.get("email") == email]
    assert len(matching) == 1
    # The sandbox's request log: three calls with one key reached HubSpot's upsert exactly once.
    assert len(_upserts_of(hubspot, email)) == 1

    # The key in _meta works too; the same key with other arguments is refused, not replayed.
    async def meta_then_conflict(session: ClientSession) -> list[Any]:
        meta: Any = {
            "io.switchboard/idempotency-key": "lead-7f3a-0002"
        }  # the SDK's TypedDict knows no such key
        a = await session.call_tool("crm_upsert_contact", {"email": email, "first_name": "Lena"}, meta=meta)
        b = await session.call_tool("crm_upsert_contact", {"email": email, "first_name": "Lena"}, meta=meta)
        c = await session.call_tool(
            "crm_upsert_contact", {"email": email, "first_name": "Other", "idempotency_key": "lead-7f3a-0001"}
        )
        return [a, b, c]

    a, b, c = _session(runtime, key, meta_then_conflict)
    assert a.meta is None and b.meta == {"io.switchboard/replayed": True}
    assert c.is_error and "other arguments" in c.content[0].text
    assert len(_upserts_of(hubspot, email)) == 2  # the new key's one call; the replay and refusal none


def test_a_key_without_the_tool_is_refused(runtime: LocalRuntime) -> None:
    key = _key(runtime, ["stock.get"])
    with pytest.raises(MCPError) as refused:
        _session(runtime, key, lambda s: s.call_tool("crm_upsert_contact", {"email": "x@y.example"}))
    assert refused.value.code == FORBIDDEN
    assert "may not call crm_upsert_contact" in refused.value.message


def test_the_quota_is_enforced(runtime: LocalRuntime) -> None:
    rt = runtime.runtimes["mcp"]
    ddb = rt.aws("dynamodb")
    key = _key(runtime, ["stock.get"], per_minute=2, per_day=100)
    record = keys.get_key(ddb, rt.table, keys.parse_key(key) or "")
    assert record is not None
    # Windows are calendar minutes: this one and the next are used up, so the call over MCP below
    # meets a full minute whichever side of a minute's end it lands on - no waiting for one.
    now = time.time()
    for minute in (now, now + 60):
        for _ in range(2):
            keys.consume_quota(ddb, rt.table, record, now=minute)

    with pytest.raises(MCPError) as refused:
        _session(runtime, key, lambda s: s.call_tool("stock_get", {"skus": ["LOAF-SOURDOUGH"]}))
    assert refused.value.code == QUOTA_EXCEEDED
    assert refused.value.data["window"] == "minute" and refused.value.data["limit"] == 2
    assert 1 <= refused.value.data["retry_after_s"] <= 60


def test_the_day_quota_counts_across_minutes_and_resets_the_next_day(runtime: LocalRuntime) -> None:
    """The day window, with explicit clocks: calls spread over minutes still end at ``per_day``."""
    rt = runtime.runtimes["mcp"]
    ddb = rt.aws("dynamodb")
    key, _ = keys.create_key(ddb, rt.table, name="day", tools=["stock.get"], per_minute=2, per_day=3)
    day = 20_000 * 86_400  # a UTC midnight
    for now in (day + 10, day + 11):
        keys.consume_quota(ddb, rt.table, key, now=now)
    with pytest.raises(keys.QuotaExceeded) as minute:
        keys.consume_quota(ddb, rt.table, key, now=day + 12)
    assert (minute.value.window, minute.value.limit, minute.value.retry_after_s) == ("minute", 2, 48)
    keys.consume_quota(ddb, rt.table, key, now=day + 70)  # a new minute: the day's third call
    with pytest.raises(keys.QuotaExceeded) as full:
        keys.consume_quota(ddb, rt.table, key, now=day + 130)  # the minute has room, the day has none
    assert (full.value.window, full.value.limit) == ("day", 3)
    assert full.value.retry_after_s == 86_400 - 130  # until the next UTC midnight
    keys.consume_quota(ddb, rt.table, key, now=day + 86_400 + 5)  # the next day starts again


def test_a_spent_day_quota_refuses_the_call_over_mcp(runtime: LocalRuntime) -> None:
    rt = runtime.runtimes["mcp"]
    key = _key(runtime, ["stock.get"], per_minute=2, per_day=2)
    record = keys.get_key(rt.aws("dynamodb"), rt.table, keys.parse_key(key) or "")
    assert record is not None
    if 86_400 - time.time() % 86_400 < 30:  # the calls below must fall on one UTC day
        time.sleep(86_400 - time.time() % 86_400 + 0.1)
    today = time.time() // 86_400 * 86_400
    for minute in (1, 2):  # earlier minutes of today used the day's calls (not this minute's)
        keys.consume_quota(rt.aws("dynamodb"), rt.table, record, now=today + 60 * minute + 1)

    before = time.time()
    with pytest.raises(MCPError) as refused:
        _session(runtime, key, lambda s: s.call_tool("stock_get", {"skus": ["LOAF-SOURDOUGH"]}))
    after = time.time()
    assert refused.value.code == QUOTA_EXCEEDED
    data = refused.value.data
    assert data["window"] == "day" and data["limit"] == 2
    assert int(today + 86_400 - after) - 1 <= data["retry_after_s"] <= int(today + 86_400 - before) + 1
    outcomes = [r["outcome"] for r in _audit(runtime) if r["key_id"] == record.id]
    assert outcomes == ["quota_exceeded"]


def test_a_tool_whose_setting_is_missing_is_not_offered(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = runtime.runtimes["mcp"]
    needs_sender = {a.tool_name for a in catalogue() if "from_address" in a.config.values()}
    assert "email_send" in needs_sender
    everything = {t.name for t in _session(runtime, _key(runtime, ["*"]), lambda s: s.list_tools()).tools}
    assert needs_sender <= everything  # offered while the deployment sets a From address

    monkeypatch.setattr(rt, "settings", rt.settings.model_copy(update={"from_address": None}))
    key = _key(runtime, ["*"])
    listed = {t.name for t in _session(runtime, key, lambda s: s.list_tools()).tools}
    assert listed == everything - needs_sender
    named = _key(runtime, ["email.send", "stock.get"])  # a key naming it does not bring it back
    assert [t.name for t in _session(runtime, named, lambda s: s.list_tools()).tools] == ["stock_get"]

    with pytest.raises(MCPError) as refused:
        _session(
            runtime,
            named,
            lambda s: s.call_tool(
                "email_send",
                {"to": ["ada@example.org"], "subject": "Hi", "text": "Hello", "idempotency_key": "mail-0001"},
            ),
        )
    assert refused.value.code == UNKNOWN_TOOL and "unknown tool 'email_send'" in refused.value.message
    # Refused before anything ran: the audit trail has the refusal and nothing else for this key.
    assert [r["outcome"] for r in _audit(runtime) if r["key_id"] == keys.parse_key(named)] == ["unknown_tool"]


def _refusal_seen_by_the_client(runtime: LocalRuntime, authorization: str | None) -> MCPError:
    """What the official MCP client raises when the server refuses its key at ``initialize``."""

    async def run() -> None:
        headers = {"authorization": authorization} if authorization is not None else {}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            streamable_http_client(f"{runtime.url}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()

    try:
        asyncio.run(run())
    except BaseExceptionGroup as group:  # the client's task groups wrap what the server answered
        error = _leaf(group)
    except MCPError as exc:
        error = exc
    else:
        pytest.fail("the client initialized with a refused key")
    assert isinstance(error, MCPError), error
    return error


def test_the_client_is_told_why_its_key_was_refused(runtime: LocalRuntime) -> None:
    """Each refusal reaches the official client's user as its own message, not "Server returned an
    error response"; the HTTP answer stays 401 with ``WWW-Authenticate``."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}
    missing = httpx.post(f"{runtime.url}/mcp", json=body, headers=headers)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["error"]["data"] == {"reason": "missing_key"}

    key = _key(runtime, ["stock.get"])
    ok = httpx.post(f"{runtime.url}/mcp", json=body, headers={**headers, "authorization": f"Bearer {key}"})
    assert ok.status_code == 200 and [t["name"] for t in ok.json()["result"]["tools"]] == ["stock_get"]

    rt = runtime.runtimes["mcp"]
    key_id = keys.parse_key(key)
    assert key_id is not None and keys.revoke_key(rt.aws("dynamodb"), rt.table, key_id) is not None
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    seen = {
        "missing": _refusal_seen_by_the_client(runtime, None),
        "malformed": _refusal_seen_by_the_client(runtime, "Bearer not-a-switchboard-key"),
        "unknown": _refusal_seen_by_the_client(runtime, f"Bearer {forged}"),
        "revoked": _refusal_seen_by_the_client(runtime, f"Bearer {key}"),
    }
    for problem, error in seen.items():
        assert error.code == INVALID_API_KEY, (problem, error)
        assert error.message.startswith(f"{problem} API key"), (problem, error.message)
        assert error.message != "Server returned an error response"
    assert (
        f"{keys.KEY_PREFIX}{key_id}_" in seen["revoked"].message and "revoked at" in seen["revoked"].message
    )


def test_get_and_delete_are_405(runtime: LocalRuntime) -> None:
    for method in ("GET", "DELETE"):
        answer = httpx.request(method, f"{runtime.url}/mcp")
        assert answer.status_code == 405 and answer.headers["allow"] == "POST"


def test_every_call_is_audited_without_secrets_or_personal_data(runtime: LocalRuntime) -> None:
    key = _key(runtime, ["crm.upsert_contact"])
    args = {"email": "audit.person@example.org", "first_name": "Zoë", "phone": "+44 7700 900123"}
    _session(
        runtime, key, lambda s: s.call_tool("crm_upsert_contact", {**args, "idempotency_key": "audit-001"})
    )
    with pytest.raises(MCPError):
        _session(runtime, key, lambda s: s.call_tool("stock_get", {"skus": ["X"]}))
    key_id = keys.parse_key(key)
    records = [r for r in _audit(runtime) if r["key_id"] == key_id]
    assert sorted(r["outcome"] for r in records) == ["denied", "ok"]
    ok = next(r for r in records if r["outcome"] == "ok")
    assert ok["tool"] == "crm_upsert_contact" and float(ok["duration_ms"]) > 0
    assert int(ok["expiration"]) > 0 and ok["idempotency_key_sha256"]
    everything = json.dumps(_audit(runtime))
    for secret_or_personal in (
        "audit.person",
        "Zoë",
        "7700 900123",
        "900123",
        key,
        key.removeprefix(keys.KEY_PREFIX).partition("_")[2],  # the secret (it may hold "_" itself)
        "audit-001",
    ):
        assert secret_or_personal not in everything
    masked = json.loads(ok["arguments"])
    assert masked["email"].startswith("***(") and masked["first_name"].startswith("***(")


def test_the_local_runtime_serves_mcp_on_the_gateway(runtime: LocalRuntime) -> None:
    index = httpx.get(f"{runtime.url}/").json()["routes"]
    assert {("POST", "mcp"), ("GET", "mcp_stream"), ("DELETE", "mcp_session")} <= {
        (r["method"], r["trigger"]) for r in index if r["integration"] == "mcp"
    }
