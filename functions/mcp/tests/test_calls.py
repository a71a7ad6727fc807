"""One ``tools/call`` in-process (``tools.call`` on moto, the stand-ins behind the runtime's HTTP
transport), with the clock the quota windows use in the test's hands: the idempotency key's rule
enforced, what the quota counts, and one tool name everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from apps.hubspot.standin import HubSpotSandbox
from functions.mcp import keys, tools
from functions.mcp.tests.helpers import audit_records, context, make_key, post
from shared.actions import catalogue
from shared.runtime import Runtime

#: Mid-minute, mid-day: the calls of a test fall in one window of each.
NOW = 20_000 * 86_400 + 12 * 3600 + 30
STOCK = {"skus": ["LOAF-SOURDOUGH"]}


@pytest.fixture
def rt(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime("mcp")


def _key(rt: Runtime, tools_: list[str], *, per_minute: int = 100, per_day: int = 1000) -> keys.ApiKey:
    key, _ = keys.create_key(
        rt.aws("dynamodb"), rt.table, name="t", tools=tools_, per_minute=per_minute, per_day=per_day
    )
    return key


def _call(rt: Runtime, key: keys.ApiKey, name: str, arguments: dict[str, Any], **kw: Any) -> tools.ToolResult:
    return tools.call(context(rt), key, name, arguments, clock=lambda: NOW, **kw)


def _outcomes(rt: Runtime, key: keys.ApiKey) -> list[str]:
    return [r["outcome"] for r in audit_records(rt) if r["key_id"] == key.id]


# -- the idempotency key's rule --------------------------------------------------------------------


def test_the_idempotency_key_schema_states_its_rule() -> None:
    upsert = next(a for a in catalogue() if a.name == "crm.upsert_contact")
    schema = tools.definition(upsert)["inputSchema"]["properties"]["idempotency_key"]
    assert (schema["minLength"], schema["maxLength"], schema["pattern"]) == (8, 200, "^[A-Za-z0-9._:-]+$")


#: (idempotency_key, what is wrong with it)
OUTSIDE_THE_RULE: list[tuple[Any, str]] = [
    ("short", "must be 8 to 200 characters, not 5"),
    ("k" * 201, "must be 8 to 200 characters, not 201"),
    ("has spaces in it", "may hold only letters, digits and . _ : - (a UUID fits)"),
    ("lead/7f3a/0001", "may hold only letters, digits and . _ : - (a UUID fits)"),
    (12345678, "must be a string, not int"),
]


def test_an_idempotency_key_outside_its_rule_is_invalid_params_naming_the_field(rt: Runtime) -> None:
    key = _key(rt, ["crm_upsert_contact"])
    for value, words in OUTSIDE_THE_RULE:
        with pytest.raises(tools.ToolError) as refused:
            _call(rt, key, "crm_upsert_contact", {"email": "a@b.example", "idempotency_key": value})
        assert refused.value.code == tools.INVALID_PARAMS == -32602
        assert refused.value.message == f"invalid idempotency_key: it {words}"
        assert refused.value.data == {"field": "idempotency_key"}
    assert _outcomes(rt, key) == ["invalid_idempotency_key"] * len(OUTSIDE_THE_RULE)


def test_the_meta_idempotency_key_follows_the_same_rule_and_a_request_id_is_only_used_if_it_fits(
    rt: Runtime,
) -> None:
    key = _key(rt, ["crm_upsert_contact"])
    meta = {"io.switchboard/idempotency-key": "x"}
    with pytest.raises(tools.ToolError) as refused:
        _call(rt, key, "crm_upsert_contact", {"email": "m@b.example"}, meta=meta)
    assert refused.value.data == {"field": '_meta["io.switchboard/idempotency-key"]'}
    # A long request id with a character outside the rule is not an idempotency key: the call runs
    # (no replay protection), it is not refused - the client did not offer it as one.
    odd_id = "request id with spaces 0001"
    first = _call(rt, key, "crm_upsert_contact", {"email": "m@b.example"}, request_id=odd_id)
    again = _call(rt, key, "crm_upsert_contact", {"email": "m@b.example"}, request_id=odd_id)
    assert first.output is not None and not again.replayed
    uuid = "0b6f2f7e-5d1c-4a8e-9c3b-2f1e0d9c8b7a"
    once = _call(rt, key, "crm_upsert_contact", {"email": "u@b.example"}, request_id=uuid)
    twice = _call(rt, key, "crm_upsert_contact", {"email": "u@b.example"}, request_id=uuid)
    assert not once.replayed and twice.replayed and twice.output == once.output


# -- what the quota counts -------------------------------------------------------------------------


def test_refused_calls_do_not_spend_the_quota(rt: Runtime) -> None:
    key = _key(rt, ["stock_get"], per_minute=2, per_day=100)
    for _ in range(5):  # a model getting its arguments wrong, then right
        wrong = _call(rt, key, "stock_get", {"skus": "LOAF-SOURDOUGH"})
        assert wrong.error is not None and "invalid arguments for stock_get" in wrong.error
    for _ in range(3):
        with pytest.raises(tools.ToolError) as forbidden:
            _call(rt, key, "crm_upsert_contact", {"email": "a@b.example"})
        assert forbidden.value.code == tools.FORBIDDEN
    with pytest.raises(tools.ToolError):
        _call(rt, key, "crm_delete_everything", {})
    assert _call(rt, key, "stock_get", STOCK).output is not None
    assert _call(rt, key, "stock_get", STOCK).output is not None
    with pytest.raises(tools.ToolError) as spent:
        _call(rt, key, "stock_get", STOCK)
    assert spent.value.code == tools.QUOTA_EXCEEDED
    assert spent.value.data == {"window": "minute", "limit": 2, "retry_after_s": 30, "counted": "calls"}
    assert _outcomes(rt, key) == ["invalid_arguments"] * 5 + ["denied"] * 3 + ["unknown_tool"] + [
        "ok",
        "ok",
        "quota_exceeded",
    ]


def test_a_replayed_idempotency_key_spends_nothing(rt: Runtime, hubspot: HubSpotSandbox) -> None:
    key = _key(rt, ["crm_upsert_contact"], per_minute=1, per_day=100)
    args = {"email": "once@b.example", "idempotency_key": "lead-once-0001"}
    results = [_call(rt, key, "crm_upsert_contact", dict(args)) for _ in range(3)]
    assert [r.replayed for r in results] == [False, True, True]
    with pytest.raises(tools.ToolError) as spent:  # a new change does reach the target: it counts
        _call(rt, key, "crm_upsert_contact", {"email": "two@b.example", "idempotency_key": "lead-two-0001"})
    assert spent.value.code == tools.QUOTA_EXCEEDED
    # The refused call left no idempotency record behind: with room again, the same key runs.
    later = tools.call(
        context(rt),
        key,
        "crm_upsert_contact",
        {"email": "two@b.example", "idempotency_key": "lead-two-0001"},
        clock=lambda: NOW + 60,
    )
    assert later.output is not None and not later.replayed
    assert _outcomes(rt, key) == ["ok", "duplicate", "duplicate", "quota_exceeded", "ok"]
    with hubspot.lock:  # the stand-in behind the runtime: one contact per change
        emails = sorted(str(c.properties.get("email")) for c in hubspot.contacts.values())
    assert emails.count("once@b.example") == 1 and emails.count("two@b.example") == 1


def test_refused_calls_have_their_own_limit_per_minute(rt: Runtime) -> None:
    key = _key(rt, ["stock_get"], per_minute=2, per_day=100)
    assert keys.REFUSALS_PER_MINUTE == 10  # max(10, per_minute) for this key
    for _ in range(10):
        assert _call(rt, key, "stock_get", {"skus": 5}).error is not None
    with pytest.raises(tools.ToolError) as stopped:
        _call(rt, key, "stock_get", {"skus": 5})
    assert stopped.value.code == tools.QUOTA_EXCEEDED
    assert "too many refused calls: 10 per minute" in stopped.value.message
    assert stopped.value.data == {
        "window": "minute",
        "limit": 10,
        "retry_after_s": 30,
        "counted": "refused calls",
    }
    # Calls that reach the target are not held back by the refusals.
    assert _call(rt, key, "stock_get", STOCK).output is not None
    assert _outcomes(rt, key)[-2:] == ["refusal_limit", "ok"]


# -- one name ----------------------------------------------------------------------------------------


def test_tools_are_named_as_the_client_sees_them_everywhere(rt: Runtime) -> None:
    dotted = _key(rt, ["stock.get", "crm.find_contact"])  # as keys made before the rule were stored
    assert dotted.tools == ("crm_find_contact", "stock_get")
    assert (
        dotted.may_call("stock.get") and dotted.may_call("stock_get") and not dotted.may_call("crm_add_note")
    )
    with pytest.raises(tools.ToolError) as forbidden:
        _call(rt, dotted, "crm.upsert_contact", {"email": "a@b.example"})
    assert "may not call crm_upsert_contact" in forbidden.value.message
    assert forbidden.value.data == {
        "tool": "crm_upsert_contact",
        "allowed": ["crm_find_contact", "stock_get"],
    }
    assert _call(rt, dotted, "stock.get", STOCK).output is not None  # the dotted name is accepted
    with pytest.raises(tools.ToolError) as unknown:
        _call(rt, dotted, "stock_gte", STOCK)
    assert "unknown tool 'stock_gte'" in unknown.value.message
    assert [(r["tool"], r["outcome"]) for r in audit_records(rt) if r["key_id"] == dotted.id] == [
        ("crm_upsert_contact", "denied"),
        ("stock_get", "ok"),
        ("stock_gte", "unknown_tool"),
    ]


def test_a_key_stored_with_dotted_names_reads_back_with_tool_names(rt: Runtime) -> None:
    """Keys written before the rule hold action names; they list, and work, as tool names."""
    from shared.table import Table

    Table(rt.aws("dynamodb"), rt.table).put(
        {
            "id": f"{keys.ITEM_PREFIX}olderkey22",
            "kind": "apikey",
            "key_hash": keys.hash_key("x"),
            "name": "old",
            "tools": {"stock.get", "crm.upsert_contact"},
            "per_minute": 5,
            "per_day": 50,
            "created_at": "2026-01-01T00:00:00Z",
        }
    )
    old = keys.get_key(rt.aws("dynamodb"), rt.table, "olderkey22")
    assert old is not None and old.tools == ("crm_upsert_contact", "stock_get")
    assert [a.tool_name for a in tools.visible(rt.settings, old)] == ["crm_upsert_contact", "stock_get"]


def test_the_tool_list_over_the_route_uses_the_same_names(rt: Runtime) -> None:
    key = make_key(rt, ["stock.get"])
    status, _, body = post(rt, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, key=key)
    assert status == 200 and [t["name"] for t in body["result"]["tools"]] == ["stock_get"]
