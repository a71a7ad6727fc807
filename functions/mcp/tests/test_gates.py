"""The ``/mcp`` route's gates, in-process (the function's own entry point on moto): the Origin check,
refused keys as JSON-RPC errors that say which problem, bodies that are JSON but not JSON-RPC, the
server's instructions generated from the tools offered."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from functions.mcp import jsonrpc, keys
from functions.mcp.models import Settings
from functions.mcp.tests.helpers import audit_records, make_key, post
from infra.local.runtime import local_settings
from shared.actions import catalogue
from shared.registry import load_spec
from shared.runtime import Runtime

LIST = {"jsonrpc": "2.0", "id": 7, "method": "tools/list"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": "init-1",
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}


@pytest.fixture
def rt(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime("mcp")


def _with_settings(make_runtime: Callable[..., Runtime], **changes: Any) -> Runtime:
    settings = json.loads(local_settings(load_spec("mcp")))
    return make_runtime("mcp", settings_json=json.dumps({**settings, **changes}))


def _assert_json_rpc_error(body: Any, message_id: Any, code: int) -> dict[str, Any]:
    assert body["jsonrpc"] == "2.0" and body["id"] == message_id, body
    assert set(body) == {"jsonrpc", "id", "error"}
    assert body["error"]["code"] == code and isinstance(body["error"]["message"], str)
    error: dict[str, Any] = body["error"]
    return error


# -- refused keys ------------------------------------------------------------------------------------


def test_each_refused_key_is_a_json_rpc_error_that_names_the_problem(rt: Runtime) -> None:
    ddb = rt.aws("dynamodb")
    good = make_key(rt, ["stock_get"])
    good_id = keys.parse_key(good)
    revoked = make_key(rt, ["stock_get"])
    revoked_id = keys.parse_key(revoked)
    assert good_id and revoked_id and keys.revoke_key(ddb, rt.table, revoked_id) is not None
    wrong_secret = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    never_issued = f"{keys.KEY_PREFIX}aaaaaaaaaa_{'A' * 43}"
    cases = [
        ({}, "missing_key", "missing API key", None),
        ({"authorization": "Basic dXNlcjpwYXNz"}, "malformed_key", "malformed Authorization header", None),
        ({"authorization": "Bearer sk-not-ours"}, "malformed_key", "malformed API key", None),
        ({"authorization": f"Bearer {never_issued}"}, "unknown_key", "unknown API key", "aaaaaaaaaa"),
        ({"authorization": f"Bearer {wrong_secret}"}, "unknown_key", "unknown API key", good_id),
        ({"authorization": f"Bearer {revoked}"}, "revoked_key", "revoked API key", revoked_id),
    ]
    for headers, reason, words, _ in cases:
        status, answer_headers, body = post(rt, LIST, headers=headers)
        assert status == 401, (reason, body)
        challenge = answer_headers["www-authenticate"]
        assert challenge.startswith('Bearer realm="switchboard"')
        assert ('error="invalid_token"' in challenge) is (reason != "missing_key")  # RFC 6750 3.1
        error = _assert_json_rpc_error(body, 7, jsonrpc.INVALID_API_KEY)
        assert error["message"].startswith(words) and error["data"] == {"reason": reason}
    # A notification (no id) is answered with id null; the reason is the same.
    _, _, body = post(rt, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    _assert_json_rpc_error(body, None, jsonrpc.INVALID_API_KEY)

    # Every refusal is audited: the key's id when it was well-formed, never its secret.
    refusals = [r for r in audit_records(rt) if r["outcome"].endswith("_key")]
    assert [(r["outcome"], r["key_id"] or None) for r in refusals] == [
        (reason, key_id) for _, reason, _, key_id in cases
    ] + [("missing_key", None)]
    assert all(r["method"] == "tools/list" for r in refusals[:-1])
    stored = json.dumps(audit_records(rt))
    for key in (good, revoked, wrong_secret, never_issued):
        # The secret is everything after sb_live_<id>_ (it may itself hold underscores: a piece of
        # it after its last one can be a single character that any JSON contains).
        assert key.split("_", 3)[3] not in stored
    assert "dXNlcjpwYXNz" not in stored and "sk-not-ours" not in stored


def test_a_refused_tool_call_is_audited_with_the_tool_asked_for(rt: Runtime) -> None:
    call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "crm_upsert_contact"}}
    status, _, _ = post(rt, call, headers={"authorization": "Bearer nope"})
    assert status == 401
    [record] = audit_records(rt)
    assert (record["tool"], record["method"], record["outcome"]) == (
        "crm_upsert_contact",
        "tools/call",
        "malformed_key",
    )


# -- bodies that are JSON but not JSON-RPC -----------------------------------------------------------


#: (body, the id the error answers with, what its message says)
NOT_JSON_RPC: list[tuple[Any, Any, str]] = [
    ({"foo": 1}, None, '"jsonrpc" is missing'),
    ({"jsonrpc": "1.0", "id": 4, "method": "ping"}, 4, '"jsonrpc" must be "2.0", not "1.0"'),
    ({"jsonrpc": "2.0", "id": 4}, 4, '"method" is missing'),
    ({"jsonrpc": "2.0", "id": 4, "method": 5}, 4, '"method" must be a non-empty string, not a number'),
    ({"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}, None, '"id" must be a string or an integer'),
    ({"jsonrpc": "2.0", "id": "x", "method": "tools/list", "params": 5}, "x", '"params" of tools/list'),
    ({"jsonrpc": "2.0", "id": 4, "error": "bad"}, 4, '"error" must be an object'),
    ([{"jsonrpc": "2.0", "id": 1, "method": "ping"}], None, "batches are not supported"),
    ("ping", None, "a JSON object, not a string"),
]


def test_json_that_is_not_json_rpc_is_an_invalid_request_saying_what_is_wrong(rt: Runtime) -> None:
    key = make_key(rt, ["stock_get"])
    for body, message_id, words in NOT_JSON_RPC:
        status, _, answer = post(rt, body, key=key)
        assert status == 400, body
        error = _assert_json_rpc_error(answer, message_id, jsonrpc.INVALID_REQUEST)
        assert error["message"].startswith("Invalid Request: ") and words in error["message"], body
        assert len(json.dumps(answer)) < 300  # a sentence, not the SDK's 2 KB pydantic dump
        record = audit_records(rt)[-1]
        assert (record["outcome"], record["detail"]) == ("invalid_request", error["message"])
    assert len(audit_records(rt)) == len(NOT_JSON_RPC)


def test_the_messages_json_rpc_allows_pass_the_check() -> None:
    for message in (
        {"jsonrpc": "2.0", "id": "a", "method": "tools/list"},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 3, "result": {}},
        {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}},
    ):
        assert jsonrpc.check(json.dumps(message).encode()) == message
    with pytest.raises(jsonrpc.InvalidMessage, match='"id" must be a string or an integer, not null'):
        jsonrpc.check(b'{"jsonrpc": "2.0", "id": null, "method": "ping"}')


def test_a_body_that_is_not_json_is_a_parse_error_and_a_good_message_still_works(rt: Runtime) -> None:
    key = make_key(rt, ["stock_get"])
    status, _, answer = post(rt, b"{not json", key=key)
    assert status == 400
    assert _assert_json_rpc_error(answer, None, jsonrpc.PARSE_ERROR)["message"].startswith("Parse error")
    status, _, answer = post(rt, {"jsonrpc": "2.0", "id": 9, "method": "ping"}, key=key)
    assert (status, answer) == (200, {"jsonrpc": "2.0", "id": 9, "result": {}})


def test_the_sdks_own_refusals_are_json_rpc_errors_too(rt: Runtime) -> None:
    key = make_key(rt, ["stock_get"])
    # The SDK answers a wrong content type in plain text: turned into a JSON-RPC error with the id.
    status, _, answer = post(rt, LIST, key=key, headers={"content-type": "text/plain"})
    assert status == 400
    assert "Content-Type" in _assert_json_rpc_error(answer, 7, jsonrpc.INVALID_REQUEST)["message"]
    status, _, answer = post(rt, LIST, key=key, headers={"accept": "text/html"})  # the SDK's own JSON-RPC
    assert status == 406 and "Not Acceptable" in answer["error"]["message"]


# -- Origin ---------------------------------------------------------------------------------------------


def test_an_origin_not_allowed_is_refused_before_the_key_is_read(
    make_runtime: Callable[..., Runtime],
) -> None:
    rt = _with_settings(make_runtime, allowed_origins=["https://claude.ai", "http://localhost:6274"])
    key = make_key(rt, ["stock_get"])
    for origin in ("https://evil.example", "null", "https://claude.ai.evil.example", "http://claude.ai"):
        status, _, body = post(rt, LIST, key=key, headers={"origin": origin})
        assert status == 403, origin
        error = _assert_json_rpc_error(body, 7, jsonrpc.ORIGIN_NOT_ALLOWED)
        assert origin in error["message"] and "allowed_origins" in error["message"]
    # Refused before authentication: not even a missing key is looked at.
    assert post(rt, LIST, headers={"origin": "https://evil.example"})[0] == 403
    for allowed in ("https://claude.ai", "HTTP://LOCALHOST:6274"):
        assert post(rt, LIST, key=key, headers={"origin": allowed})[0] == 200, allowed
    assert post(rt, LIST, key=key)[0] == 200  # no Origin: a non-browser client


def test_by_default_no_browser_origin_is_allowed(rt: Runtime) -> None:
    key = make_key(rt, ["stock_get"])
    assert post(rt, LIST, key=key, headers={"origin": "http://127.0.0.1:8787"})[0] == 403
    assert post(rt, LIST, key=key)[0] == 200


def test_allowed_origins_must_be_origins() -> None:
    settings = Settings(allowed_origins=("HTTPS://Claude.AI/", "http://localhost:6274"))
    assert settings.allowed_origins == ("https://claude.ai", "http://localhost:6274")
    for wrong in (
        "https://claude.ai/chat",
        "*",
        "claude.ai",
        "null",
        "ftp://x.example",
        "https://*.x.example",
    ):
        with pytest.raises(ValidationError, match="is not an origin"):
            Settings(allowed_origins=(wrong,))


# -- the instructions ---------------------------------------------------------------------------------


def _instructions(rt: Runtime, key: str) -> str:
    status, _, body = post(rt, INITIALIZE, key=key)
    assert status == 200, body
    text: str = body["result"]["instructions"]
    return text


def test_the_instructions_name_every_domain_and_tool_offered(rt: Runtime) -> None:
    text = _instructions(rt, make_key(rt, ["*"]))
    domains = {a.name.partition(".")[0] for a in catalogue()}
    assert len(domains) >= 8
    for domain in domains:
        assert f"{domain} (" in text, domain
    for action in catalogue():
        assert action.tool_name in text
    assert "idempotency_key" in text

    narrow = _instructions(rt, make_key(rt, ["stock_get", "payments.list"]))
    assert "payments (square: payments_list)" in narrow and "stock (square: stock_get)" in narrow
    assert "crm" not in narrow and "idempotency_key" not in narrow  # nothing it may call changes anything
