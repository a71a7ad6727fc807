"""The Slack sandbox: chat.postMessage in Slack's shapes, its checks, and the shared fault endpoints."""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest

from apps.slack.standin import BOT_USER_ID, DEFAULT_CHANNELS, DEFAULT_TOKEN, SandboxChannel, SlackSandbox
from sandbox.base import SandboxRequest, SandboxResponse
from sandbox.registry import sandbox_classes

AUTH = {"authorization": f"Bearer {DEFAULT_TOKEN}", "content-type": "application/json; charset=utf-8"}
TS = re.compile(r"^\d{10}\.\d{6}$")


@pytest.fixture
def slack() -> SlackSandbox:
    return SlackSandbox(clock=lambda: 1795166044.5)


def post(app: SlackSandbox, body: Any, headers: dict[str, str] | None = None) -> SandboxResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return app.handle(
        SandboxRequest("POST", "/chat.postMessage", headers=AUTH if headers is None else headers, body=raw)
    )


def ok_false(resp: SandboxResponse, code: str, status: int = 200) -> dict[str, Any]:
    body: dict[str, Any] = resp.parsed()
    assert resp.status == status, body
    assert body["ok"] is False and body["error"] == code, body
    return body


def test_it_is_discovered_as_the_slack_app() -> None:
    assert sandbox_classes()["slack"] is SlackSandbox


def test_a_post_answers_in_slacks_shape(slack: SlackSandbox) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*New lead*"}}]
    resp = post(slack, {"channel": "#new-leads", "text": "New lead", "blocks": blocks})
    assert resp.status == 200
    body = resp.parsed()
    assert list(body) == ["ok", "channel", "ts", "message"]
    assert body["ok"] is True and body["channel"] == "C0NEWLEADS1" and TS.match(body["ts"])
    message = body["message"]
    assert message["ts"] == body["ts"] and message["type"] == "message"
    assert (
        message["user"] == BOT_USER_ID
        and message["bot_id"].startswith("B")
        and message["app_id"].startswith("A")
    )
    assert message["team"].startswith("T") and message["bot_profile"]["app_id"] == message["app_id"]
    assert message["text"] == "New lead"
    [block] = message["blocks"]
    assert block["text"] == blocks[0]["text"] and re.fullmatch(r"[A-Za-z0-9]{4}", block["block_id"])


@pytest.mark.parametrize("channel", ["#new-leads", "new-leads", "C0NEWLEADS1"])
def test_a_channel_is_found_by_id_or_name(slack: SlackSandbox, channel: str) -> None:
    assert post(slack, {"channel": channel, "text": "hi"}).parsed()["channel"] == "C0NEWLEADS1"


def test_ts_values_are_unique_and_increasing(slack: SlackSandbox) -> None:
    first = post(slack, {"channel": "#new-leads", "text": "a"}).parsed()["ts"]
    second = post(slack, {"channel": "#general", "text": "b"}).parsed()["ts"]
    assert first < second


def test_a_form_post_with_the_token_as_a_field(slack: SlackSandbox) -> None:
    form = urlencode(
        {
            "token": DEFAULT_TOKEN,
            "channel": "new-leads",
            "text": "hi",
            "blocks": json.dumps([{"type": "divider"}]),
        }
    ).encode()
    resp = post(slack, form, {"content-type": "application/x-www-form-urlencoded"})
    assert resp.parsed()["ok"] is True
    assert resp.parsed()["message"]["blocks"][0]["type"] == "divider"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"content-type": "application/json"}, "not_authed"),
        ({"content-type": "application/json", "authorization": "Bearer xoxb-wrong"}, "invalid_auth"),
        ({"content-type": "application/json", "authorization": f"Basic {DEFAULT_TOKEN}"}, "not_authed"),
    ],
)
def test_auth_errors_come_with_http_200(slack: SlackSandbox, headers: dict[str, str], code: str) -> None:
    ok_false(post(slack, {"channel": "#new-leads", "text": "hi"}, headers), code)
    assert slack.state()["messages"] == []


@pytest.mark.parametrize(
    ("channel", "code"),
    [
        ("#nope", "channel_not_found"),
        ("", "channel_not_found"),
        ("#sales-ops", "channel_not_found"),  # private, and the app is not in it: invisible
        ("#random", "not_in_channel"),
        ("#old-leads", "is_archived"),
    ],
)
def test_channels_the_app_cannot_post_to(slack: SlackSandbox, channel: str, code: str) -> None:
    ok_false(post(slack, {"channel": channel, "text": "hi"}), code)


def test_content_checks(slack: SlackSandbox) -> None:
    ok_false(post(slack, {"channel": "#new-leads"}), "no_text")
    ok_false(post(slack, {"channel": "#new-leads", "text": "  ", "blocks": []}), "no_text")
    ok_false(post(slack, {"channel": "#new-leads", "text": "x" * 40_001}), "msg_too_long")
    ok_false(post(slack, b'{"channel": "#new-leads", "text": '), "invalid_json")
    ok_false(post(slack, b"[]"), "invalid_json")
    ok_false(post(slack, b"channel=x", {**AUTH, "content-type": "text/csv"}), "invalid_post_type")


def test_blocks_alone_are_enough(slack: SlackSandbox) -> None:
    assert post(slack, {"channel": "#new-leads", "blocks": [{"type": "divider"}]}).parsed()["ok"] is True


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}},
            "[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            {"type": "header", "text": {"type": "mrkdwn", "text": "*x*"}},
            "[ERROR] must be a plain_text text object [json-pointer:/blocks/0/text]",
        ),
        (
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "x"}] * 11},
            "[ERROR] no more than 10 items allowed [json-pointer:/blocks/0/fields]",
        ),
        (
            {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}},
            "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
        ),
        ({"type": "section"}, "[ERROR] must provide text or fields [json-pointer:/blocks/0]"),
        ({"type": "carousel"}, "[ERROR] unsupported type: carousel [json-pointer:/blocks/0/type]"),
    ],
)
def test_invalid_blocks_say_what_is_wrong(slack: SlackSandbox, block: dict[str, Any], message: str) -> None:
    body = ok_false(post(slack, {"channel": "#new-leads", "text": "hi", "blocks": [block]}), "invalid_blocks")
    assert body["response_metadata"]["messages"] == [message]


def test_a_json_post_without_charset_gets_slacks_warning(slack: SlackSandbox) -> None:
    headers = {**AUTH, "content-type": "application/json"}
    body = post(slack, {"channel": "#new-leads", "text": "hi"}, headers).parsed()
    assert body["ok"] is True and body["warning"] == "missing_charset"
    assert body["response_metadata"] == {"warnings": ["missing_charset"]}
    assert "warning" not in post(slack, {"channel": "#new-leads", "text": "hi"}).parsed()


def test_an_unknown_method(slack: SlackSandbox) -> None:
    resp = slack.handle(SandboxRequest("POST", "/chat.postMessages", headers=AUTH, body=b"{}"))
    body = ok_false(resp, "unknown_method", 404)
    assert body["req_method"] == "chat.postMessages"


# --- faults and control endpoints -------------------------------------------------------------------


def add_fault(slack: SlackSandbox, fault: dict[str, Any]) -> None:
    resp = slack.handle(SandboxRequest("POST", "/_faults", body=json.dumps(fault).encode()))
    assert resp.status == 201, resp.parsed()


def test_a_rate_limit_fault_is_slacks_429(slack: SlackSandbox) -> None:
    add_fault(slack, {"kind": "rate_limit", "retry_after": 3})
    resp = post(slack, {"channel": "#new-leads", "text": "hi"})
    ok_false(resp, "ratelimited", 429)
    assert resp.headers["retry-after"] == "3"
    assert post(slack, {"channel": "#new-leads", "text": "hi"}).parsed()["ok"] is True


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, "internal_error"), (503, "service_unavailable"), (504, "request_timeout"), (502, "fatal_error")],
)
def test_server_faults_answer_with_slacks_codes(slack: SlackSandbox, status: int, code: str) -> None:
    add_fault(slack, {"kind": "status", "status": status, "path": "/chat.postMessage"})
    ok_false(post(slack, {"channel": "#new-leads", "text": "hi"}), code, status)


def test_an_injected_slack_error_comes_with_http_200_as_from_slack(slack: SlackSandbox) -> None:
    body = {"ok": False, "error": "channel_not_found"}
    add_fault(slack, {"kind": "status", "status": 400, "body": body})
    resp = post(slack, {"channel": "#new-leads", "text": "hi"})
    assert (resp.status, resp.parsed()) == (200, body)
    [record] = slack.handle(SandboxRequest("GET", "/_requests")).parsed()["requests"]
    assert record["status"] == 200 and record["fault"] == "status"


def test_a_non_slack_4xx_body_keeps_its_status(slack: SlackSandbox) -> None:
    add_fault(slack, {"kind": "status", "status": 403, "body": {"message": "Forbidden"}})
    resp = post(slack, {"channel": "#new-leads", "text": "hi"})
    assert (resp.status, resp.parsed()) == (403, {"message": "Forbidden"})


def test_state_lists_messages_and_reset_clears_them(slack: SlackSandbox) -> None:
    post(slack, {"channel": "#new-leads", "text": "one"})
    post(slack, {"channel": "C0GENERAL01", "text": "two"})
    state = slack.handle(SandboxRequest("GET", "/_state")).parsed()
    assert [(m["channel"], m["channel_name"], m["text"]) for m in state["messages"]] == [
        ("C0NEWLEADS1", "new-leads", "one"),
        ("C0GENERAL01", "general", "two"),
    ]
    assert {c["name"] for c in state["channels"]} >= {
        "new-leads",
        "general",
        "random",
        "sales-ops",
        "old-leads",
    }
    slack.handle(SandboxRequest("POST", "/_reset"))
    assert slack.handle(SandboxRequest("GET", "/_state")).parsed()["messages"] == []


# --- message metadata -------------------------------------------------------------------------------

META = {"event_type": "switchboard_effect", "event_payload": {"ref": "evt-1/slack.post"}}


def test_metadata_is_stored_and_answered_with_the_message(slack: SlackSandbox) -> None:
    body = post(slack, {"channel": "#new-leads", "text": "hi", "metadata": META}).parsed()
    assert body["ok"] is True and body["message"]["metadata"] == META
    [stored] = slack.state()["messages"]
    assert stored["metadata"] == META


def test_metadata_in_a_form_post_is_a_json_string(slack: SlackSandbox) -> None:
    form = urlencode(
        {"token": DEFAULT_TOKEN, "channel": "C0NEWLEADS1", "text": "hi", "metadata": json.dumps(META)}
    )
    headers = {"content-type": "application/x-www-form-urlencoded"}
    resp = slack.handle(SandboxRequest("POST", "/chat.postMessage", headers=headers, body=form.encode()))
    assert resp.parsed()["message"]["metadata"] == META


@pytest.mark.parametrize(
    ("metadata", "code"),
    [
        (["not", "an", "object"], "invalid_metadata_format"),
        ({"event_payload": {"ref": "x"}}, "invalid_metadata_schema"),
        ({"event_type": "switchboard_effect", "event_payload": "x"}, "invalid_metadata_schema"),
    ],
)
def test_metadata_not_in_slacks_shape_is_refused(slack: SlackSandbox, metadata: Any, code: str) -> None:
    ok_false(post(slack, {"channel": "#new-leads", "text": "hi", "metadata": metadata}), code)
    assert slack.state()["messages"] == []


# --- conversations.history --------------------------------------------------------------------------


def history(app: SlackSandbox, method: str = "GET", **args: str) -> SandboxResponse:
    auth = {"authorization": AUTH["authorization"]}
    if method == "GET":
        return app.handle(
            SandboxRequest(
                "GET", "/conversations.history", query={k: [v] for k, v in args.items()}, headers=auth
            )
        )
    form = {"content-type": "application/x-www-form-urlencoded", **auth}
    return app.handle(
        SandboxRequest("POST", "/conversations.history", headers=form, body=urlencode(args).encode())
    )


def posted(app: SlackSandbox, n: int, channel: str = "C0NEWLEADS1") -> list[str]:
    return [
        post(app, {"channel": channel, "text": f"m{i}", "metadata": META}).parsed()["ts"] for i in range(n)
    ]


def test_history_answers_newest_first_in_slacks_shape(slack: SlackSandbox) -> None:
    ts = posted(slack, 3)
    post(slack, {"channel": "#general", "text": "elsewhere"})
    body = history(slack, channel="C0NEWLEADS1").parsed()
    assert body["ok"] is True and body["has_more"] is False and body["pin_count"] == 0
    assert body["response_metadata"] == {"next_cursor": ""}
    assert [m["ts"] for m in body["messages"]] == ts[::-1]
    message = body["messages"][0]
    assert message["type"] == "message" and message["bot_id"] and message["text"] == "m2"
    assert "channel" not in message and "metadata" not in message  # metadata only when asked for
    with_meta = history(slack, "POST", channel="C0NEWLEADS1", include_all_metadata="true").parsed()
    assert all(m["metadata"] == META for m in with_meta["messages"])


def test_history_pages_with_slacks_cursor(slack: SlackSandbox) -> None:
    ts = posted(slack, 5)
    first = history(slack, channel="C0NEWLEADS1", limit="2").parsed()
    assert [m["ts"] for m in first["messages"]] == [ts[4], ts[3]] and first["has_more"] is True
    cursor = first["response_metadata"]["next_cursor"]
    assert base64.b64decode(cursor).decode() == "next_ts:" + ts[2].replace(".", "")
    second = history(slack, channel="C0NEWLEADS1", limit="2", cursor=cursor).parsed()
    assert [m["ts"] for m in second["messages"]] == [ts[2], ts[1]]
    third = history(
        slack, channel="C0NEWLEADS1", limit="2", cursor=second["response_metadata"]["next_cursor"]
    ).parsed()
    assert [m["ts"] for m in third["messages"]] == [ts[0]] and third["has_more"] is False
    assert third["response_metadata"]["next_cursor"] == ""


def test_history_window_oldest_latest_inclusive(slack: SlackSandbox) -> None:
    ts = posted(slack, 4)
    between = history(slack, channel="C0NEWLEADS1", oldest=ts[0], latest=ts[3]).parsed()
    assert [m["ts"] for m in between["messages"]] == [ts[2], ts[1]]  # both ends exclusive
    inclusive = history(slack, channel="C0NEWLEADS1", oldest=ts[0], latest=ts[3], inclusive="true").parsed()
    assert [m["ts"] for m in inclusive["messages"]] == ts[::-1]


def test_history_limit_is_capped_at_999(slack: SlackSandbox) -> None:
    posted(slack, 3)
    assert len(history(slack, channel="C0NEWLEADS1", limit="5000").parsed()["messages"]) == 3


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"channel": "#new-leads"}, "channel_not_found"),  # ids only, unlike chat.postMessage
        ({"channel": "C0NOSUCH001"}, "channel_not_found"),
        ({"channel": "C0RANDOM001"}, "not_in_channel"),
        ({"channel": "C0SALESOPS1"}, "channel_not_found"),  # private, the app not in it
        ({"channel": "C0NEWLEADS1", "oldest": "yesterday"}, "invalid_ts_oldest"),
        ({"channel": "C0NEWLEADS1", "latest": "-1"}, "invalid_ts_latest"),
        ({"channel": "C0NEWLEADS1", "cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"channel": "C0NEWLEADS1", "limit": "ten"}, "invalid_arguments"),
    ],
)
def test_history_errors_come_with_http_200(slack: SlackSandbox, args: dict[str, str], code: str) -> None:
    ok_false(history(slack, **args), code)


def test_history_needs_the_history_scope_of_the_channels_kind() -> None:
    channels = (*DEFAULT_CHANNELS, SandboxChannel("C0PRIVATE01", "private-leads", is_private=True))
    app = SlackSandbox(scopes={"chat:write", "channels:history"}, channels=channels)
    assert history(app, channel="C0NEWLEADS1").parsed()["ok"] is True
    body = ok_false(history(app, channel="C0PRIVATE01"), "missing_scope")
    assert body["needed"] == "groups:history" and body["provided"] == "channels:history,chat:write"
    no_history = SlackSandbox(scopes={"chat:write"})
    assert (
        ok_false(history(no_history, channel="C0NEWLEADS1"), "missing_scope")["needed"] == "channels:history"
    )
    # and chat:write for posting
    assert ok_false(
        post(SlackSandbox(scopes=set()), {"channel": "#new-leads", "text": "hi"}), "missing_scope"
    )


def test_history_needs_a_token(slack: SlackSandbox) -> None:
    resp = slack.handle(SandboxRequest("GET", "/conversations.history", query={"channel": ["C0NEWLEADS1"]}))
    ok_false(resp, "not_authed")


# --- conversations.list -----------------------------------------------------------------------------


def listing(app: SlackSandbox, **args: str) -> SandboxResponse:
    auth = {"authorization": AUTH["authorization"]}
    return app.handle(
        SandboxRequest("GET", "/conversations.list", query={k: [v] for k, v in args.items()}, headers=auth)
    )


def test_list_shows_the_channels_the_app_can_see(slack: SlackSandbox) -> None:
    body = listing(slack, types="public_channel,private_channel", exclude_archived="true").parsed()
    names = {c["name"]: c["id"] for c in body["channels"]}
    # sales-ops is private without the app: invisible; approvals is private with it; old-leads is
    # archived: left out.
    assert names == {
        "new-leads": "C0NEWLEADS1",
        "sales": "C0SALES0001",
        "general": "C0GENERAL01",
        "approvals": "C0APPROVAL1",
        "random": "C0RANDOM001",
    }
    assert body["response_metadata"]["next_cursor"] == ""
    first = listing(slack, limit="2").parsed()
    assert len(first["channels"]) == 2 and first["response_metadata"]["next_cursor"]
    rest = listing(slack, limit="10", cursor=first["response_metadata"]["next_cursor"]).parsed()
    assert len(first["channels"]) + len(rest["channels"]) == 5  # public ones, archived included


def test_list_needs_the_read_scopes(slack: SlackSandbox) -> None:
    app = SlackSandbox(scopes={"chat:write", "channels:read"})
    assert listing(app).parsed()["ok"] is True
    assert (
        ok_false(listing(app, types="public_channel,private_channel"), "missing_scope")["needed"]
        == "groups:read"
    )


# --- rate limits and eventual consistency ---------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 1_795_166_044.5) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_more_posts_to_one_channel_than_slack_allows_answer_429_ratelimited_with_retry_after() -> None:
    clock = FakeClock()
    slack = SlackSandbox(clock=clock)
    statuses = []
    for i in range(60):
        statuses.append(post(slack, {"channel": "#new-leads", "text": f"m{i}"}).status)
        clock.now += 0.5  # two a second: a burst Slack takes for a while, not for long
    limited = post(slack, {"channel": "#new-leads", "text": "one too many"})

    assert statuses == [200] * 60
    ok_false(limited, "ratelimited", status=429)
    assert limited.headers["retry-after"] == "30"  # when the first of the 60 leaves the minute
    assert len(slack.state()["messages"]) == 60  # the refused post was not made
    clock.now += 30.0
    assert post(slack, {"channel": "#new-leads", "text": "later"}).status == 200


def test_the_post_limit_is_per_channel() -> None:
    slack = SlackSandbox(clock=FakeClock())
    for i in range(60):
        post(slack, {"channel": "#new-leads", "text": f"m{i}"})
    assert post(slack, {"channel": "new-leads", "text": "same channel"}).status == 429
    assert post(slack, {"channel": "#general", "text": "another channel"}).parsed()["ok"] is True


def test_a_form_post_counts_against_the_channel_of_its_form() -> None:
    slack = SlackSandbox(clock=FakeClock())
    headers = {"content-type": "application/x-www-form-urlencoded"}
    form = urlencode({"token": DEFAULT_TOKEN, "channel": "new-leads", "text": "hi"}).encode()
    statuses = [post(slack, form, headers=headers).status for _ in range(61)]
    assert statuses == [200] * 60 + [429]


def test_history_reads_past_tier_3_answer_429() -> None:
    slack = SlackSandbox(clock=FakeClock())
    read = SandboxRequest("GET", "/conversations.history", query={"channel": ["C0NEWLEADS1"]}, headers=AUTH)
    statuses = [slack.handle(read).status for _ in range(51)]
    assert statuses == [200] * 50 + [429]


def test_limits_lifted_posts_are_never_refused() -> None:
    slack = SlackSandbox(clock=FakeClock(), limits=False)
    assert {post(slack, {"channel": "#new-leads", "text": "x"}).status for _ in range(80)} == {200}


def test_with_a_lag_a_new_post_is_missing_from_history_until_the_lag_passes() -> None:
    clock = FakeClock()
    slack = SlackSandbox(clock=clock, consistency_lag_s=3.0)
    ts = post(slack, {"channel": "#new-leads", "text": "fresh"}).parsed()["ts"]
    clock.now += 0.5
    read = SandboxRequest("GET", "/conversations.history", query={"channel": ["C0NEWLEADS1"]}, headers=AUTH)

    assert slack.handle(read).parsed()["messages"] == []
    clock.now += 3.0
    assert [m["ts"] for m in slack.handle(read).parsed()["messages"]] == [ts]
