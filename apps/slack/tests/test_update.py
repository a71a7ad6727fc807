"""``chat.update``: the stand-in in Slack's shapes, and the client against it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.slack import APP
from apps.slack.client import SlackClient
from apps.slack.standin import DEFAULT_TOKEN, SlackSandbox
from sandbox.base import SandboxRequest, SandboxResponse, as_transport
from shared.errors import TargetRejected
from shared.http import ApiClient

AUTH = {"authorization": f"Bearer {DEFAULT_TOKEN}", "content-type": "application/json; charset=utf-8"}


@pytest.fixture
def slack() -> SlackSandbox:
    return SlackSandbox(clock=lambda: 1795166044.5)


def call(app: SlackSandbox, path: str, body: dict[str, Any]) -> SandboxResponse:
    return app.handle(SandboxRequest("POST", path, headers=AUTH, body=json.dumps(body).encode()))


def posted(app: SlackSandbox) -> str:
    resp = call(app, "/chat.postMessage", {"channel": "#new-leads", "text": "Hot lead"})
    ts: str = resp.parsed()["ts"]
    return ts


def test_an_update_replaces_text_and_blocks_in_slacks_shape(slack: SlackSandbox) -> None:
    ts = posted(slack)
    block = {"type": "section", "text": {"type": "mrkdwn", "text": "Booked"}}
    resp = call(
        slack, "/chat.update", {"channel": "C0NEWLEADS1", "ts": ts, "text": "Booked", "blocks": [block]}
    )
    body = resp.parsed()
    assert body["ok"] is True and body["channel"] == "C0NEWLEADS1" and body["ts"] == ts
    assert body["text"] == "Booked" and body["message"]["text"] == "Booked"
    (message,) = slack.messages
    assert message["text"] == "Booked" and message["blocks"][0]["text"]["text"] == "Booked"
    assert "edited" in message


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"channel": "#new-leads"}, "channel_not_found"),
        ({"ts": "1.000001"}, "message_not_found"),
        ({"text": "", "blocks": []}, "no_text"),
    ],
)
def test_refusals_are_slacks_codes(slack: SlackSandbox, change: dict[str, Any], code: str) -> None:
    ts = posted(slack)
    resp = call(slack, "/chat.update", {"channel": "C0NEWLEADS1", "ts": ts, "text": "x", **change})
    body = resp.parsed()
    assert resp.status == 200
    assert body["ok"] is False and body["error"] == code
    assert slack.messages[0]["text"] == "Hot lead"


def test_the_client_updates_and_reports_slacks_refusal(slack: SlackSandbox) -> None:
    client = SlackClient(
        ApiClient(APP, {"token": DEFAULT_TOKEN}, transport=as_transport(slack, mount="/api"))
    )
    ts = posted(slack)
    updated = client.update_message("C0NEWLEADS1", ts, "Not now", [])
    assert (updated.channel, updated.ts) == ("C0NEWLEADS1", ts)
    assert slack.messages[0]["text"] == "Not now" and "blocks" not in slack.messages[0]
    with pytest.raises(TargetRejected, match="message_not_found"):
        client.update_message("C0NEWLEADS1", "1.000009", "x")
