"""The assistant's new tools as the MCP function offers them: listed with their schemas and hints, and
called through ``tools/call`` (idempotency key, stand-ins behind the runtime's transport)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from functions.mcp.tests.helpers import make_key, post
from sandbox.base import SandboxApp
from shared.runtime import Runtime

#: New tool -> (reads only, destructive, an input field its schema must show).
NEW_TOOLS: dict[str, tuple[bool, bool, str]] = {
    "calendar_free_busy": (True, False, "start"),
    "calendar_find_slots": (True, False, "working_hours"),
    "crm_create_task": (False, False, "key"),
    "crm_list_open_tasks": (True, False, "contact_id"),
    "crm_complete_task": (False, False, "task_id"),
    "crm_log_meeting": (False, False, "outcome"),
    "crm_list_deals": (True, False, "after"),
    "crm_create_deal": (False, False, "pipeline"),
    "crm_move_deal_stage": (False, False, "stage"),
    "crm_list_owners": (True, False, "email"),
    "crm_get_owner": (True, False, "owner_id"),
    "crm_search_contacts": (True, False, "email_domain"),
    "crm_explain_score": (True, False, "contact_id"),
    "chat_list_channels": (True, False, "cursor"),
}


@pytest.fixture
def rt(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime("mcp")


def rpc(rt: Runtime, key: str, method: str, params: dict[str, Any] | None = None, id_: int = 1) -> Any:
    status, _, body = post(
        rt, {"jsonrpc": "2.0", "id": id_, "method": method, "params": params or {}}, key=key
    )
    assert status == 200, body
    return body


def test_every_new_tool_is_listed_with_its_schemas_and_hints(rt: Runtime) -> None:
    key = make_key(rt, list(NEW_TOOLS))
    listed = {t["name"]: t for t in rpc(rt, key, "tools/list")["result"]["tools"]}
    assert set(listed) == set(NEW_TOOLS)
    for name, (read_only, destructive, field) in NEW_TOOLS.items():
        tool = listed[name]
        props = tool["inputSchema"]["properties"]
        assert field in props, name
        assert "calendar_id" not in props  # the deployment's calendar, never the model's choice
        assert tool["outputSchema"]["type"] == "object"
        hints = tool["annotations"]
        assert (hints["readOnlyHint"], hints["destructiveHint"]) == (read_only, destructive), name
        assert ("idempotency_key" in props) == (not read_only), name


def test_a_task_created_twice_through_mcp_with_one_idempotency_key_is_one_task(
    rt: Runtime, sandboxes: dict[str, SandboxApp]
) -> None:
    hubspot: Any = sandboxes["hubspot"]
    key = make_key(rt, ["crm_upsert_contact", "crm_create_task", "chat_list_channels"])
    made = rpc(
        rt,
        key,
        "tools/call",
        {
            "name": "crm_upsert_contact",
            "arguments": {
                "email": "jane@thegreencafe.co.uk",
                "idempotency_key": "c0ffee00-0000-4000-8000-000000000001",
            },
        },
    )
    contact_id = made["result"]["structuredContent"]["id"]
    arguments = {
        "key": "follow-up-jane",
        "contact_id": contact_id,
        "subject": "Call Jane about the tasting",
        "due": "2026-12-08T10:00:00+00:00",
        "idempotency_key": "c0ffee00-0000-4000-8000-000000000002",
    }
    first = rpc(rt, key, "tools/call", {"name": "crm_create_task", "arguments": arguments}, 2)
    again = rpc(rt, key, "tools/call", {"name": "crm_create_task", "arguments": arguments}, 3)
    assert first["result"]["structuredContent"] == again["result"]["structuredContent"]
    assert first["result"]["structuredContent"]["created"] is True
    assert len(hubspot.state()["tasks"]) == 1
    channels = rpc(rt, key, "tools/call", {"name": "chat_list_channels", "arguments": {}}, 4)
    names = {c["name"] for c in channels["result"]["structuredContent"]["channels"]}
    assert "new-leads" in names
