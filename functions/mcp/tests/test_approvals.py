"""Human approval, end to end: the official MCP client asks for a destructive call, a person clicks in
Slack, the call runs once, and the same idempotency key then tells the assistant what happened.

The local runtime runs with its pollers: the click travels as it would on AWS - Slack's signed
interactivity request to slack_interactivity, ``chat.button_clicked`` on the bus, the MCP function's
queue, its worker - and the request and its outcome are read back from the Slack and Google Calendar
stand-ins.
"""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from mcp.client.session import ClientSession

from apps.google_calendar.standin import GoogleCalendarSandbox
from functions.mcp import approvals
from infra.local.runtime import LocalRuntime
from shared.spec import WebhookTrigger
from shared.table import ledger_table

from .test_mcp import _audit, _key, _session

pytestmark = pytest.mark.e2e

APPROVALS = "C0APPROVAL1"


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    """One runtime for the module (its pollers carry the clicks): starting one takes seconds."""
    logs = Path(tmp_path_factory.mktemp("logs"))
    with LocalRuntime(port=0, retry_scale=0.02, log_dir=str(logs), state_file=None) as rt:
        yield rt
    assert rt.errors == [], rt.errors


@pytest.fixture
def runtime(started: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> LocalRuntime:
    """The module's runtime, its AWS endpoint set again (the root conftest cleans every test's env)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", started.aws_endpoint)
    monkeypatch.setenv("AWS_REGION", started.region)
    monkeypatch.setenv("AWS_DEFAULT_REGION", started.region)
    return started


def _slack(runtime: LocalRuntime) -> list[dict[str, Any]]:
    """A copy of the messages (the stand-in updates its own in place)."""
    return copy.deepcopy(list(runtime.sandboxes["slack"].state()["messages"]))


def _requests(runtime: LocalRuntime, approval: str) -> list[dict[str, Any]]:
    """The approval's request in the approvals channel (its id is in the message, before and after)."""
    return [
        m for m in _slack(runtime) if m["channel"] == APPROVALS and approval in json.dumps(m.get("blocks"))
    ]


def _buttons(message: dict[str, Any]) -> dict[str, str]:
    return {
        e["action_id"]: e["value"]
        for b in message.get("blocks") or []
        if b.get("type") == "actions"
        for e in b["elements"]
    }


def _click(runtime: LocalRuntime, message: dict[str, Any], action_id: str, user: str = "U0ANNA0001") -> None:
    """A person clicks the button: Slack's signed interactivity request to the one Request URL
    (slack_interactivity verifies it and puts chat.button_clicked on the bus for the mcp worker)."""
    spec = runtime.runtimes["slack_interactivity"].spec
    trigger = spec.trigger("slack")
    assert isinstance(trigger, WebhookTrigger)
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "anna", "name": "anna", "team_id": "T0BRAMBLE1"},
        "api_app_id": "A0SWITCHBD1",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": message["channel"]},
        "channel": {"id": message["channel"], "name": "approvals"},
        "message": {"ts": message["ts"], "text": message.get("text")},
        "actions": [
            {
                "action_id": action_id,
                "block_id": "approval",
                "type": "button",
                "value": approvals.value_of(_approval_in(message)),
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
    url = runtime.url + trigger.path
    secret = runtime.signing_secret(spec, "slack")
    assert secret
    headers = trigger.verifier.sign(
        method="POST", url=url, body=body, secret=secret, now=time.time(), msg_id=""
    )
    answer = httpx.post(
        url,
        content=body,
        headers={**headers, "content-type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text  # Slack's acknowledgement
    assert runtime.wait_drained(60)


def _text(result: Any) -> str:
    """The text of a tool result that is an error (a model reads this)."""
    return str(result.content[0].text)


def _approval_in(message: dict[str, Any]) -> str:
    found = re.search(r"apr_[0-9a-f]{24}", json.dumps(message.get("blocks")))
    assert found
    return found.group(0)


def _event(runtime: LocalRuntime, key: str) -> dict[str, Any]:
    """A meeting the assistant may later want cancelled (created without approval: not destructive)."""
    start = (datetime.now(UTC) + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    created = _session(
        runtime,
        key,
        lambda s: s.call_tool(
            "calendar_create_event",
            {
                "key": f"test-{uuid.uuid4().hex[:8]}",
                "summary": "Intro call",
                "start": start.isoformat(),
                "end": (start + timedelta(minutes=30)).isoformat(),
                "idempotency_key": str(uuid.uuid4()),
            },
        ),
    )
    assert not created.is_error, created.content
    event: dict[str, Any] = created.structured_content["event"]
    return event


def _status(runtime: LocalRuntime, event_id: str) -> str:
    calendar = runtime.sandboxes["google_calendar"]
    assert isinstance(calendar, GoogleCalendarSandbox)
    found = [e for e in calendar.events(include_deleted=True) if e["id"] == event_id]
    assert len(found) == 1
    return str(found[0]["status"])


def _cancel(runtime: LocalRuntime, key: str, event_id: str, idem: str) -> Any:
    return _session(
        runtime,
        key,
        lambda s: s.call_tool("calendar_cancel_event", {"event_id": event_id, "idempotency_key": idem}),
    )


def test_a_destructive_call_waits_for_approval_then_runs_once_and_reports_who_approved(
    runtime: LocalRuntime,
) -> None:
    key = _key(runtime, ["calendar.create_event", "calendar.cancel_event"])
    event = _event(runtime, key)

    async def listed(s: ClientSession) -> Any:
        return await s.list_tools()

    tools = {t.name: t for t in _session(runtime, key, listed).tools}
    assert tools["calendar_cancel_event"].output_schema is None  # its first answer is "pending"
    assert "approval" in (tools["calendar_cancel_event"].description or "")
    assert tools["calendar_create_event"].output_schema is not None

    idem = str(uuid.uuid4())
    first = _cancel(runtime, key, event["event_id"], idem)
    assert not first.is_error, first.content
    pending = first.structured_content
    assert pending["status"] == "pending_approval" and pending["tool"] == "calendar_cancel_event"
    approval = pending["approval_id"]
    assert _status(runtime, event["event_id"]) == "confirmed"  # nothing done yet
    [request] = _requests(runtime, approval)
    assert set(_buttons(request)) == {approvals.APPROVE, approvals.REJECT}
    assert event["event_id"] in json.dumps(request["blocks"])  # the approver sees what is asked

    again = _cancel(runtime, key, event["event_id"], idem)  # the assistant asks how it went
    assert again.structured_content["status"] == "pending_approval"
    assert len(_requests(runtime, approval)) == 1  # asked once

    _click(runtime, request, approvals.APPROVE)
    _click(runtime, request, approvals.APPROVE)  # a double click: the same click id
    _click(runtime, request, approvals.REJECT)  # too late: decided

    assert _status(runtime, event["event_id"]) == "cancelled"
    done = _cancel(runtime, key, event["event_id"], idem)
    assert not done.is_error, done.content
    assert done.structured_content["status"] == "done"
    assert done.structured_content["approved_by"] == "anna"
    assert done.structured_content["result"]["deleted"] is True  # the first cancel did it, once

    [updated] = _requests(runtime, approval)
    assert "Approved by anna, done" in updated["text"] and not _buttons(updated)

    records = [r for r in _audit(runtime) if r.get("approval_id") == approval]
    assert [r["outcome"] for r in records] == ["approved"]
    assert records[0]["decided_by"] == "anna (U0ANNA0001)" and records[0]["method"] == "approval"
    asked = [r for r in _audit(runtime) if r.get("detail") == approval]
    assert [r["outcome"] for r in asked] == ["pending_approval", "duplicate", "duplicate"]


def test_a_rejected_call_does_nothing_and_says_who_rejected(runtime: LocalRuntime) -> None:
    key = _key(runtime, ["calendar.create_event", "calendar.cancel_event"])
    event = _event(runtime, key)
    idem = str(uuid.uuid4())
    approval = _cancel(runtime, key, event["event_id"], idem).structured_content["approval_id"]
    [request] = _requests(runtime, approval)

    _click(runtime, request, approvals.REJECT)

    answer = _cancel(runtime, key, event["event_id"], idem)
    assert answer.is_error
    assert "rejected by anna" in _text(answer)
    assert _status(runtime, event["event_id"]) == "confirmed"
    [updated] = _requests(runtime, approval)
    assert "Rejected by anna" in updated["text"]


def test_only_the_named_approvers_decide(runtime: LocalRuntime) -> None:
    key = _key(runtime, ["calendar.create_event", "calendar.cancel_event"])
    event = _event(runtime, key)
    idem = str(uuid.uuid4())
    with runtime.settings_overridden("mcp", {"approvers": ["U0BOSS0001"]}, "approvers named"):
        approval = _cancel(runtime, key, event["event_id"], idem).structured_content["approval_id"]
        [request] = _requests(runtime, approval)
        _click(runtime, request, approvals.APPROVE, user="U0INTERN01")
        assert _status(runtime, event["event_id"]) == "confirmed"
        assert (
            _cancel(runtime, key, event["event_id"], idem).structured_content["status"] == "pending_approval"
        )
        assert [r["outcome"] for r in _audit(runtime) if r.get("approval_id") == approval] == [
            "approval_denied"
        ]

        _click(runtime, request, approvals.APPROVE, user="U0BOSS0001")
    assert _status(runtime, event["event_id"]) == "cancelled"


def test_an_expired_request_is_not_carried_out(runtime: LocalRuntime) -> None:
    key = _key(runtime, ["calendar.create_event", "calendar.cancel_event"])
    event = _event(runtime, key)
    idem = str(uuid.uuid4())
    approval = _cancel(runtime, key, event["event_id"], idem).structured_content["approval_id"]
    [request] = _requests(runtime, approval)
    rt = runtime.runtimes["mcp"]
    ledger_table(rt).update(approvals.record_key(approval), "SET expires_at = :past", values={":past": 1})

    _click(runtime, request, approvals.APPROVE)

    assert _status(runtime, event["event_id"]) == "confirmed"
    answer = _cancel(runtime, key, event["event_id"], idem)
    assert answer.is_error and "nobody approved" in _text(answer)
    [updated] = _requests(runtime, approval)
    assert "Expired" in updated["text"] and not _buttons(updated)


def test_a_tool_needing_approval_is_not_offered_without_a_channel_nor_called_without_a_key(
    runtime: LocalRuntime,
) -> None:
    key = _key(runtime, ["calendar.cancel_event", "accounting.record_refund", "calendar.move_event"])
    listed = {t.name for t in _session(runtime, key, lambda s: s.list_tools()).tools}
    assert listed == {"calendar_cancel_event", "accounting_record_refund", "calendar_move_event"}

    no_key = _session(runtime, key, lambda s: s.call_tool("calendar_cancel_event", {"event_id": "abc123def"}))
    assert no_key.is_error and "needs a person's approval: pass an idempotency_key" in _text(no_key)

    with runtime.settings_overridden("mcp", {"approval_channel": None}, "no approval channel"):
        listed = {t.name for t in _session(runtime, key, lambda s: s.list_tools()).tools}
        assert listed == {"calendar_move_event"}  # nobody could approve the other two
    with runtime.settings_overridden(
        "mcp", {"approve_destructive": False, "approval_tools": []}, "approval turned off"
    ):
        tools = {t.name: t for t in _session(runtime, key, lambda s: s.list_tools()).tools}
        assert tools["calendar_cancel_event"].output_schema is not None  # runs at once again


def test_the_same_key_with_other_arguments_is_refused(runtime: LocalRuntime) -> None:
    key = _key(runtime, ["calendar.create_event", "calendar.cancel_event"])
    one, two = _event(runtime, key), _event(runtime, key)
    idem = str(uuid.uuid4())
    assert _cancel(runtime, key, one["event_id"], idem).structured_content["status"] == "pending_approval"
    other = _cancel(runtime, key, two["event_id"], idem)
    assert other.is_error and "idempotency key already used" in _text(other)


def test_the_settings_name_tools_that_change_something_and_slack_users() -> None:
    from pydantic import ValidationError

    from functions.mcp.models import Settings

    assert Settings(approval_tools=("crm.add_note",)).approval_tools == ("crm_add_note",)
    with pytest.raises(ValidationError, match="crm_find_contact, which change nothing or do not exist"):
        Settings(approval_tools=("crm_find_contact",))
    with pytest.raises(ValidationError, match="approvers must be Slack user ids"):
        Settings(approvers=("anna@example.com",))
    with pytest.raises(ValidationError, match="approval_channel"):
        Settings(approval_channel="approvals")  # neither #name nor an id
