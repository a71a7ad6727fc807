"""The Slack client: posting against the sandbox (in-process), and Slack's ok:false answers mapped by code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from apps.slack import APP, CONNECTION, actions
from apps.slack.actions import HISTORY_LAG_S, POST_MESSAGE
from apps.slack.client import (
    EFFECT_EVENT_TYPE,
    HISTORY_MAX_PAGES,
    HISTORY_PAGE_LIMIT,
    RETRYABLE_ERRORS,
    SlackClient,
    effect_metadata,
    is_channel_id,
)
from apps.slack.standin import DEFAULT_SCOPES, DEFAULT_TOKEN, SlackSandbox
from infra.local.transport import InvocationCrashed, LocalTransport
from sandbox.base import SandboxRequest, as_transport
from shared.actions import chat
from shared.errors import RateLimited, TargetRejected, TargetUnavailable
from shared.http import ApiClient, WorkStamp, current_work
from shared.ledger import CLOCK_SKEW_S, AttemptWindow


def sandbox_client(sandbox: SlackSandbox, token: str = DEFAULT_TOKEN) -> SlackClient:
    # Slack's own base URL, answered by the sandbox: the client's paths are the production ones.
    return SlackClient(ApiClient(APP, {"token": token}, transport=as_transport(sandbox, mount="/api")))


def answering(
    status: int, body: Any, headers: dict[str, str] | None = None
) -> tuple[SlackClient, list[httpx.Request]]:
    """A client whose every request gets this answer; the requests it made."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(
            status, headers={"content-type": "application/json", **(headers or {})}, content=content
        )

    api = ApiClient(APP, {"token": "xoxb-test"}, transport=httpx.MockTransport(handler))
    return SlackClient(api), seen


# --- the app ----------------------------------------------------------------------------------------


def test_importing_the_app_module_does_not_import_httpx() -> None:
    """Specs import the package for its connection: no client, no API models, no httpx with it."""
    code = (
        "import sys, apps.slack; "
        "print('httpx' in sys.modules, sorted(m for m in sys.modules if m.startswith('apps.slack.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False []"


def test_local_connection_matches_the_sandbox_token() -> None:
    assert CONNECTION.local["token"] == DEFAULT_TOKEN
    assert CONNECTION.local["base_url"] == "{sandbox}/slack"
    assert CONNECTION.fields == ("token",) and CONNECTION.kind == "api"
    assert APP.base_url == "https://slack.com/api"
    assert APP.max_concurrency == 1  # chat.postMessage: about one message per second per channel


# --- posting ----------------------------------------------------------------------------------------


def test_post_message_to_a_channel_by_name() -> None:
    sandbox = SlackSandbox()
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}]
    posted = sandbox_client(sandbox).post_message("#new-leads", "hello", blocks)
    assert posted.channel == "C0NEWLEADS1"
    assert posted.ts.split(".")[1].isdigit()
    [message] = sandbox.state()["messages"]
    assert message["ts"] == posted.ts and message["text"] == "hello"
    assert message["blocks"][0]["text"] == {"type": "mrkdwn", "text": "*hello*"}
    [request] = sandbox.handle(SandboxRequest("GET", "/_requests")).parsed()["requests"]
    assert request["headers"]["authorization"] == "Bearer ***"  # sent, and masked in the record
    assert request["headers"]["content-type"] == "application/json; charset=utf-8"


def test_post_message_sends_what_slack_takes() -> None:
    client, seen = answering(200, {"ok": True, "channel": "C1", "ts": "1.000001"})
    client.post_message("C1", "x" * 40_100, [{"type": "divider"}])
    [request] = seen
    assert request.method == "POST" and str(request.url) == "https://slack.com/api/chat.postMessage"
    assert request.headers["authorization"] == "Bearer xoxb-test"
    body = json.loads(request.content)
    assert body == {"channel": "C1", "text": "x" * 40_000, "blocks": [{"type": "divider"}]}


def test_a_wrong_token_is_a_permanent_error() -> None:
    with pytest.raises(TargetRejected, match="invalid_auth") as caught:
        sandbox_client(SlackSandbox(), token="xoxb-revoked").post_message("#new-leads", "hi")
    assert caught.value.app == "slack" and caught.value.status == 200


# --- ok:false, by code ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "account_inactive",
        "no_text",
        "msg_too_long",
        "restricted_action",
        "some_code_slack_adds_later",
    ],
)
def test_ok_false_with_http_200_is_a_permanent_error(code: str) -> None:
    client, _ = answering(200, {"ok": False, "error": code})
    with pytest.raises(TargetRejected) as caught:
        client.post_message("#new-leads", "hi")
    assert str(caught.value) == f"slack POST /chat.postMessage: {code}"


@pytest.mark.parametrize("code", sorted(RETRYABLE_ERRORS - {"ratelimited", "rate_limited"}))
def test_ok_false_that_slack_documents_as_transient_is_retried(code: str) -> None:
    client, _ = answering(200, {"ok": False, "error": code})
    with pytest.raises(TargetUnavailable, match=code):
        client.post_message("#new-leads", "hi")


def test_the_brief_list_of_transient_codes_is_covered() -> None:
    assert {
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "ratelimited",
    } <= RETRYABLE_ERRORS


@pytest.mark.parametrize("status", [200, 429])
def test_ratelimited_honours_retry_after(status: int) -> None:
    client, _ = answering(status, {"ok": False, "error": "ratelimited"}, {"retry-after": "30"})
    with pytest.raises(RateLimited) as caught:
        client.post_message("#new-leads", "hi")
    assert caught.value.retry_after == 30.0


def test_missing_scope_says_which_scope() -> None:
    body = {"ok": False, "error": "missing_scope", "needed": "chat:write", "provided": "channels:read"}
    client, _ = answering(200, body)
    with pytest.raises(TargetRejected, match=r"missing_scope \(needed chat:write, token has channels:read\)"):
        client.post_message("#new-leads", "hi")


def test_invalid_blocks_carries_slacks_explanation() -> None:
    sandbox = SlackSandbox()
    header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    with pytest.raises(TargetRejected) as caught:
        sandbox_client(sandbox).post_message("#new-leads", "hi", [header])
    assert str(caught.value) == (
        "slack POST /chat.postMessage: invalid_blocks: "
        "[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text]"
    )


def test_http_5xx_is_retried() -> None:
    client, _ = answering(503, {"ok": False, "error": "service_unavailable"})
    with pytest.raises(TargetUnavailable, match="503"):
        client.post_message("#new-leads", "hi")


@pytest.mark.parametrize(
    "body",
    [b"<html><body>502 Bad Gateway</body></html>", b'{"ok": true}', b'{"ok": true, "channel": "C1"}'],
    ids=["proxy-page", "ok-without-anything", "ok-without-ts"],
)
def test_a_2xx_that_is_not_a_slack_answer_is_retried(body: bytes) -> None:
    client, _ = answering(200, body)
    with pytest.raises(TargetUnavailable):
        client.post_message("#new-leads", "hi")


# --- metadata and finding a post again ------------------------------------------------------------


def test_effect_metadata_is_slacks_shape() -> None:
    assert effect_metadata("evt-1/slack.post") == {
        "event_type": "switchboard_effect",
        "event_payload": {"ref": "evt-1/slack.post"},
    }
    # Slack's guidelines: event_type lower-case letters, digits and underscores.
    assert re.fullmatch(r"[a-z][a-z0-9_]*", EFFECT_EVENT_TYPE)


def test_post_message_sends_metadata_and_slack_stores_it() -> None:
    client, seen = answering(200, {"ok": True, "channel": "C1", "ts": "1.000001"})
    client.post_message("C1", "hi", metadata=effect_metadata("e/s"))
    assert json.loads(seen[0].content)["metadata"] == {
        "event_type": "switchboard_effect",
        "event_payload": {"ref": "e/s"},
    }
    sandbox = SlackSandbox()
    sandbox_client(sandbox).post_message("#new-leads", "hi", metadata=effect_metadata("e/s"))
    [message] = sandbox.state()["messages"]
    assert message["metadata"] == effect_metadata("e/s")


def test_find_by_ref_finds_the_post_by_its_metadata_only() -> None:
    sandbox, now = SlackSandbox(), time.time()
    client = sandbox_client(sandbox)
    client.post_message("C0NEWLEADS1", "e/slack.post")  # the ref in the text only: not a match
    posted = client.post_message("C0NEWLEADS1", "hi", metadata=effect_metadata("e/slack.post"))
    client.post_message("C0NEWLEADS1", "later", metadata=effect_metadata("other/slack.post"))
    assert client.find_by_ref("C0NEWLEADS1", "e/slack.post", oldest=now - 60) == posted
    assert client.find_by_ref("C0NEWLEADS1", "missing/slack.post", oldest=now - 60) is None
    # Posted before the window: not looked at.
    assert client.find_by_ref("C0NEWLEADS1", "e/slack.post", oldest=now + 60) is None


def test_find_by_ref_reads_at_most_the_bounded_pages() -> None:
    page = {
        "ok": True,
        "messages": [{"type": "message", "ts": "1.000001", "text": "x"}],
        "has_more": True,
        "response_metadata": {"next_cursor": "bmV4dF90czoxMDAwMDAx"},
    }
    client, seen = answering(200, page)
    assert client.find_by_ref("C0NEWLEADS1", "e/s", oldest=1700000000.5) is None
    assert len(seen) == HISTORY_MAX_PAGES
    first, second = seen[0].url.params, seen[1].url.params
    assert first["channel"] == "C0NEWLEADS1" and first["include_all_metadata"] == "true"
    assert first["oldest"] == "1700000000.500000" and first["limit"] == str(HISTORY_PAGE_LIMIT)
    assert "cursor" not in first and second["cursor"] == "bmV4dF90czoxMDAwMDAx"
    client, seen = answering(200, page)
    client.find_by_ref("C0NEWLEADS1", "e/s", oldest=0, max_pages=2)
    assert len(seen) == 2


def test_find_by_ref_follows_slacks_cursor_through_the_sandbox() -> None:
    # Limits lifted: the set-up posts 210 messages at once, which Slack takes at one a second.
    sandbox, now = SlackSandbox(limits=False), time.time()
    client = sandbox_client(sandbox)
    first = client.post_message("C0NEWLEADS1", "first", metadata=effect_metadata("e/slack.post"))
    for i in range(HISTORY_PAGE_LIMIT + 10):
        client.post_message("C0NEWLEADS1", f"m{i}")
    assert client.find_by_ref("C0NEWLEADS1", "e/slack.post", oldest=now - 60) == first
    calls = sandbox.handle(SandboxRequest("GET", "/_requests")).parsed()["requests"]
    calls = [c for c in calls if c["path"] == "/conversations.history"]
    assert len(calls) == 2 and "cursor" in calls[1]["query"]


def test_a_channel_name_is_resolved_once_then_remembered() -> None:
    sandbox = SlackSandbox()
    client = sandbox_client(sandbox)
    assert client.channel_id("C0SALES0001") == "C0SALES0001"  # an id: no call
    assert client.channel_id("#new-leads") == "C0NEWLEADS1"
    assert client.channel_id("new-leads") == "C0NEWLEADS1"
    calls = sandbox.handle(SandboxRequest("GET", "/_requests")).parsed()["requests"]
    assert [c["path"] for c in calls] == ["/conversations.list"]
    # A post by name teaches the id too, without conversations.list.
    other = sandbox_client(sandbox)
    other.post_message("#sales", "hi")
    assert other.channel_id("#sales") == "C0SALES0001"
    assert len(sandbox.handle(SandboxRequest("GET", "/_requests")).parsed()["requests"]) == 2
    with pytest.raises(TargetRejected, match="channel_not_found"):
        client.channel_id("#sales-ops")  # private, and the app is not in it: invisible


@pytest.mark.parametrize(
    ("value", "is_id"),
    [("C0NEWLEADS1", True), ("G0PRIVATE12", True), ("#new-leads", False), ("general", False), ("CAB", False)],
)
def test_channel_ids_and_names_are_told_apart(value: str, is_id: bool) -> None:
    assert is_channel_id(value) is is_id


@pytest.mark.parametrize(
    ("scopes", "channel", "message"),
    [
        ({"chat:write", "channels:read"}, "C0NEWLEADS1", r"missing_scope \(needed channels:history"),
        (DEFAULT_SCOPES, "C0RANDOM001", "not_in_channel"),
        (DEFAULT_SCOPES, "C0SALESOPS1", "channel_not_found"),
    ],
)
def test_a_history_the_app_cannot_read_is_a_permanent_error(
    scopes: set[str], channel: str, message: str
) -> None:
    client = sandbox_client(SlackSandbox(scopes=scopes))
    with pytest.raises(TargetRejected, match=f"slack GET /conversations.history: {message}"):
        client.find_by_ref(channel, "e/s", oldest=0)


# --- the action: posted once per step ---------------------------------------------------------------


class _Ctx:
    """An ActionContext whose Slack client goes through the local runtime's crashing transport."""

    rt: Any = None

    def __init__(self, sandbox: SlackSandbox) -> None:
        transport = LocalTransport()
        transport._inner = as_transport(sandbox, mount="/api")  # type: ignore[assignment]
        self._api = ApiClient(APP, {"token": DEFAULT_TOKEN}, transport=transport)

    def api(self, app: Any, connection: Any) -> ApiClient:
        return self._api


class _Tries:
    """The ledger's attempt marks (:meth:`shared.ledger.Ledger.note_attempt`), in memory."""

    RUN_S = 30.0

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}

    def mark(self, key: str) -> Callable[[], AttemptWindow | None]:
        def tried() -> AttemptWindow | None:
            now = time.time()
            first, last = self.first.get(key), self.last.get(key)
            self.first.setdefault(key, now)
            self.last[key] = now
            if first is None:
                return None
            return AttemptWindow(first, (last if last is not None else first) + self.RUN_S)

        return tried


def _run_step(ctx: _Ctx, tries: _Tries, event_id: str = "evt-1") -> Any:
    stamp = WorkStamp(event_id, "slack.post", tries.mark(event_id))
    token = current_work.set(stamp)
    try:
        return POST_MESSAGE(ctx, chat.PostMessage(channel="#new-leads", text="New lead: Amara"))
    finally:
        current_work.reset(token)


def test_a_crash_after_the_post_leaves_one_message() -> None:
    sandbox, tries = SlackSandbox(), _Tries()
    ctx = _Ctx(sandbox)
    fault = {"kind": "crash", "path": "/chat.postMessage"}
    sandbox.handle(SandboxRequest("POST", "/_faults", body=json.dumps(fault).encode()))
    with pytest.raises(InvocationCrashed):
        _run_step(ctx, tries)  # Slack posted; the worker died before the ledger
    [message] = sandbox.state()["messages"]
    again = _run_step(ctx, tries)
    assert sandbox.state()["messages"] == [message]
    assert (again.channel, again.ts) == ("C0NEWLEADS1", message["ts"])
    assert message["metadata"]["event_payload"] == {"ref": "evt-1/slack.post"}


def test_a_first_attempt_posts_at_once_and_a_retry_looks_in_the_earlier_attempts_window() -> None:
    sandbox, tries = SlackSandbox(), _Tries()
    ctx = _Ctx(sandbox)
    _run_step(ctx, tries, event_id="evt-1")
    # Earlier attempts, ten and five minutes ago, failed before posting.
    tries.first["evt-2"], tries.last["evt-2"] = started, last = time.time() - 600, time.time() - 300
    _run_step(ctx, tries, event_id="evt-2")
    calls = sandbox.handle(SandboxRequest("GET", "/_requests")).parsed()["requests"]
    # The first post goes by name (no lookup); its answer gives the id the history read needs.
    assert [c["path"] for c in calls] == ["/chat.postMessage", "/conversations.history", "/chat.postMessage"]
    lookup = calls[1]["query"]
    assert lookup["channel"] == ["C0NEWLEADS1"] and lookup["include_all_metadata"] == ["true"]
    assert float(lookup["oldest"][0]) == pytest.approx(started - CLOCK_SKEW_S, abs=0.01)
    assert float(lookup["latest"][0]) == pytest.approx(last + _Tries.RUN_S + CLOCK_SKEW_S, abs=0.01)
    assert len(sandbox.state()["messages"]) == 2


def _crashed_post_under_a_trailing_history(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[SlackSandbox, _Ctx, _Tries, list[float]]:
    """A post Slack made whose answer was lost, in a history that trails posts by 5 s; the waits the
    retry makes are recorded and move the stand-in's clock instead of sleeping."""
    monkeypatch.delenv(actions.HISTORY_LAG_ENV)  # the flows' own assumption, not the tests' 0
    ahead = [0.0]
    sandbox = SlackSandbox(consistency_lag_s=5)
    sandbox.clock = lambda: time.time() + ahead[0]
    tries, ctx = _Tries(), _Ctx(sandbox)
    fault = {"kind": "crash", "path": "/chat.postMessage"}
    sandbox.handle(SandboxRequest("POST", "/_faults", body=json.dumps(fault).encode()))
    with pytest.raises(InvocationCrashed):
        _run_step(ctx, tries)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        ahead[0] += seconds

    monkeypatch.setattr(actions, "_sleep", sleep)
    return sandbox, ctx, tries, waits


def test_a_retry_waits_out_a_trailing_history_before_it_posts_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The defect a chaos run with a 10 s history lag found (two Slack messages posted twice): the
    retry searched a history that did not show the earlier post yet. Now it waits, then finds it."""
    sandbox, ctx, tries, waits = _crashed_post_under_a_trailing_history(monkeypatch)
    [message] = sandbox.state()["messages"]
    again = _run_step(ctx, tries)
    assert sandbox.state()["messages"] == [message] and again.ts == message["ts"]
    # The earlier attempt's window is still open (it may have posted until now): HISTORY_LAG_S from now.
    assert waits == [pytest.approx(HISTORY_LAG_S, abs=1.0)]
    calls = sandbox.handle(SandboxRequest("GET", "/_requests")).parsed()["requests"]
    assert [c["path"] for c in calls].count("/conversations.history") == 2  # searched, waited, searched


def test_without_the_wait_a_trailing_history_doubles_the_post(monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox, ctx, tries, waits = _crashed_post_under_a_trailing_history(monkeypatch)
    monkeypatch.setattr(actions, "history_settles_in", lambda earlier: 0.0)
    _run_step(ctx, tries)
    assert len(sandbox.state()["messages"]) == 2 and waits == []  # what the wait prevents


def test_a_retry_long_after_the_earlier_attempts_does_not_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox, tries = SlackSandbox(), _Tries()
    ctx = _Ctx(sandbox)
    tries.first["evt-2"] = tries.last["evt-2"] = time.time() - 600  # failed before posting, long ago
    monkeypatch.delenv(actions.HISTORY_LAG_ENV)
    waits: list[float] = []
    monkeypatch.setattr(actions, "_sleep", waits.append)
    _run_step(ctx, tries, event_id="evt-2")
    assert waits == [] and len(sandbox.state()["messages"]) == 1


def test_a_redriven_or_resent_event_finds_its_post_although_its_delivery_is_new() -> None:
    sandbox, tries = SlackSandbox(), _Tries()
    ctx = _Ctx(sandbox)
    tries.first["evt-1"] = time.time()  # attempts before the last, which posted and lost the answer
    first = _run_step(ctx, tries)
    # Redriven (receive count 1 again, a new receive time) or re-sent: the ledger's mark is the same.
    again = _run_step(ctx, tries)
    assert first == again and len(sandbox.state()["messages"]) == 1


def test_a_post_buried_under_a_busy_channel_is_still_found() -> None:
    """The defect a 4,000-event chaos run found: newest-first pages of a day missed the post.

    The lookup's window ends when the earlier attempts could last have acted, so what the channel
    took in since - here 1,500 posts, more than the old bound of 5 pages of 200 - is not read at all.
    """
    # Limits lifted: the set-up posts 1,500 messages at once, which Slack takes at one a second.
    sandbox, tries = SlackSandbox(limits=False), _Tries()
    ctx = _Ctx(sandbox)
    sandbox.clock = lambda: time.time() - 590  # the first attempt posted ten minutes ago
    first = _run_step(ctx, tries)
    tries.first["evt-1"] = tries.last["evt-1"] = time.time() - 600  # ... and began then
    sandbox.clock = time.time
    client = sandbox_client(sandbox)
    for n in range(1_500):
        client.post_message("C0NEWLEADS1", f"lead {n}", metadata=effect_metadata(f"evt-x{n}/slack.post"))
    again = _run_step(ctx, tries)
    assert again == first and len(sandbox.state()["messages"]) == 1_501
    lookups = list(sandbox.handle(SandboxRequest("GET", "/_requests")).parsed()["requests"])
    # One page: the 1,500 later posts are outside the window.
    assert [c["path"] for c in lookups].count("/conversations.history") == 1


def test_outside_a_ledger_step_the_action_just_posts() -> None:
    sandbox = SlackSandbox()
    posted = POST_MESSAGE(_Ctx(sandbox), chat.PostMessage(channel="C0NEWLEADS1", text="hi"))
    [message] = sandbox.state()["messages"]
    assert message["ts"] == posted.ts and "metadata" not in message


def test_a_deployment_states_its_own_history_lag_and_a_bad_one_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from apps.slack.actions import HISTORY_LAG_ENV, history_lag_s
    from shared.errors import ConfigurationError

    monkeypatch.delenv(HISTORY_LAG_ENV)  # the tests' 0 (conftest.py) away: the default
    assert history_lag_s() == HISTORY_LAG_S == 10.0  # Slack documents none: Switchboard's assumption
    monkeypatch.setenv(HISTORY_LAG_ENV, "0")
    assert history_lag_s() == 0.0
    for bad in ("-1", "25", "soon"):
        monkeypatch.setenv(HISTORY_LAG_ENV, bad)
        with pytest.raises(ConfigurationError, match=HISTORY_LAG_ENV):
            history_lag_s()
