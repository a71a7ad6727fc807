"""The Slack client: posting against the sandbox (in-process), and Slack's ok:false answers mapped by code."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest

from sandbox.base import SandboxRequest, as_transport
from sandbox.slack import DEFAULT_TOKEN, SlackSandbox
from shared.apps.slack import APP, CONNECTION, RETRYABLE_ERRORS, SlackClient, mrkdwn_escape
from shared.errors import RateLimited, TargetRejected, TargetUnavailable
from shared.http import ApiClient


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
    code = "import sys, shared.apps.slack; print('httpx' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_local_connection_matches_the_sandbox_token() -> None:
    assert CONNECTION.local["token"] == DEFAULT_TOKEN
    assert CONNECTION.local["base_url"] == "{sandbox}/slack"
    assert CONNECTION.fields == ("token",) and CONNECTION.kind == "api"
    assert APP.base_url == "https://slack.com/api"
    assert APP.max_concurrency == 1  # chat.postMessage: about one message per second per channel


def test_mrkdwn_escape_escapes_exactly_what_slack_documents() -> None:
    assert mrkdwn_escape("<!channel> & <@U123|x> \"quoted\" 'single'") == (
        "&lt;!channel&gt; &amp; &lt;@U123|x&gt; \"quoted\" 'single'"
    )
    assert mrkdwn_escape("&lt;") == "&amp;lt;"  # escaped once, so shown as typed


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
