"""Slack's request signing (``X-Slack-Signature: v0=...``) and the interactivity payload models."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlencode

import pytest
from pydantic import ValidationError

from apps.slack import SIGNING, VERIFIER
from apps.slack.interactivity import InteractionForm, retry_number
from shared.errors import MissingSecret, SignatureMismatch, SignatureMissing, TimestampOutOfTolerance
from shared.webhooks.base import WebhookRequest

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
URL = "https://hooks.example.com/hooks/slack_interactivity/slack"
NOW = 1_714_560_000.0
# Slack's own worked example, as the official SDK tests it (slackapi/python-slack-sdk,
# tests/signature/test_signature_verifier.py, from the "Verifying requests from Slack" page).
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

PAYLOAD = {
    "type": "block_actions",
    "user": {"id": "U0CA5", "username": "amy", "name": "amy", "team_id": "T3MDE"},
    "api_app_id": "A0CA5",
    "token": "ignored-verification-token",
    "container": {
        "type": "message",
        "message_ts": "1548261231.000200",
        "channel_id": "CBR2V3XEX",
        "is_ephemeral": False,
    },
    "trigger_id": "12466734323.1395872398",
    "team": {"id": "T3MDE", "domain": "bramble"},
    "channel": {"id": "CBR2V3XEX", "name": "new-leads"},
    "message": {"type": "message", "ts": "1548261231.000200", "text": "Hot lead", "bot_id": "B1"},
    "state": {"values": {}},
    "response_url": "https://hooks.slack.com/actions/T3MDE/1232321423432/D09sSasdasdAS9091209",
    "actions": [
        {
            "action_id": "book",
            "block_id": "=qXel",
            "text": {"type": "plain_text", "text": "Book them in", "emoji": True},
            "value": "contact:51873001201",
            "type": "button",
            "action_ts": "1548426417.840180",
        }
    ],
}


def signed(body: bytes = b"payload=%7B%7D", now: float = NOW, secret: str = SECRET) -> WebhookRequest:
    headers = VERIFIER.sign(method="POST", url=URL, body=body, secret=secret, now=now, msg_id="")
    headers["content-type"] = "application/x-www-form-urlencoded"
    return WebhookRequest(method="POST", url=URL, headers=headers, body=body)


def test_matches_slacks_own_worked_example() -> None:
    request = WebhookRequest(
        method="POST",
        url=URL,
        headers={"x-slack-signature": SLACK_SIGNATURE, "x-slack-request-timestamp": "1531420618"},
        body=SLACK_BODY,
    )
    VERIFIER.verify(request, [SECRET], now=1531420618 + 5)
    headers = VERIFIER.sign(method="POST", url=URL, body=SLACK_BODY, secret=SECRET, now=1531420618, msg_id="")
    assert headers["x-slack-signature"] == SLACK_SIGNATURE


def test_a_signature_is_v0_hex_hmac_of_version_timestamp_and_raw_body() -> None:
    request = signed()
    expected = hmac.new(SECRET.encode(), f"v0:{int(NOW)}:payload=%7B%7D".encode(), hashlib.sha256).hexdigest()
    assert request.headers["x-slack-signature"] == f"v0={expected}"
    assert request.headers["x-slack-request-timestamp"] == str(int(NOW))
    VERIFIER.verify(request, [SECRET], now=NOW + 1)
    assert VERIFIER.signature_headers() == ("x-slack-signature", "x-slack-request-timestamp")


def test_a_changed_body_or_a_wrong_secret_is_a_mismatch() -> None:
    request = signed()
    with pytest.raises(SignatureMismatch):
        VERIFIER.verify(dataclasses.replace(request, body=b"payload=%7B%20%7D"), [SECRET], now=NOW)
    with pytest.raises(SignatureMismatch):
        VERIFIER.verify(request, ["another-secret"], now=NOW)
    forged = dict(request.headers, **{"x-slack-signature": "v0=" + "0" * 64})
    with pytest.raises(SignatureMismatch):
        VERIFIER.verify(dataclasses.replace(request, headers=forged), [SECRET], now=NOW)


def test_a_stale_or_future_timestamp_is_refused() -> None:
    request = signed(now=NOW)
    VERIFIER.verify(request, [SECRET], now=NOW + 300)
    with pytest.raises(TimestampOutOfTolerance):
        VERIFIER.verify(request, [SECRET], now=NOW + 301)
    with pytest.raises(TimestampOutOfTolerance):
        VERIFIER.verify(request, [SECRET], now=NOW - 301)


def test_missing_headers_and_missing_secrets_fail_closed() -> None:
    request = signed()
    no_timestamp = {"x-slack-signature": request.headers["x-slack-signature"]}
    with pytest.raises(SignatureMissing):
        VERIFIER.verify(dataclasses.replace(request, headers=no_timestamp), [SECRET], now=NOW)
    no_signature = {"x-slack-request-timestamp": str(int(NOW))}
    with pytest.raises(SignatureMissing):
        VERIFIER.verify(dataclasses.replace(request, headers=no_signature), [SECRET], now=NOW)
    with pytest.raises(MissingSecret):
        VERIFIER.verify(request, [], now=NOW)
    with pytest.raises(MissingSecret):
        VERIFIER.verify(request, ["", ""], now=NOW)


def test_during_a_rotation_the_previous_secret_still_verifies() -> None:
    old = signed(secret="old-signing-secret")
    VERIFIER.verify(old, ["new-signing-secret", "old-signing-secret"], now=NOW)
    VERIFIER.verify(
        signed(secret="new-signing-secret"), ["new-signing-secret", "old-signing-secret"], now=NOW
    )
    with pytest.raises(SignatureMismatch):
        VERIFIER.verify(old, ["new-signing-secret"], now=NOW)
    assert SIGNING.kind == "signing"
    assert "previous_secret" in SIGNING.optional


def test_a_block_actions_form_is_parsed_from_its_payload_field() -> None:
    body = urlencode({"payload": json.dumps(PAYLOAD)})
    fields = {k: v[0] for k, v in parse_qs(body).items()}
    # The ingress parses the field's JSON strictly (the trigger's form_json_field), then validates.
    form = InteractionForm.model_validate({"payload": json.loads(fields["payload"])})
    click = form.payload
    assert click.user.id == "U0CA5"
    assert click.message_ts == "1548261231.000200"
    assert click.channel_id == "CBR2V3XEX"
    assert click.response_url == PAYLOAD["response_url"]
    assert [(a.action_id, a.value) for a in click.actions] == [("book", "contact:51873001201")]


def test_a_payload_that_is_not_block_actions_json_is_refused() -> None:
    with pytest.raises(ValidationError):
        InteractionForm.model_validate({"payload": "not json"})
    with pytest.raises(ValidationError):
        InteractionForm.model_validate({"payload": {**PAYLOAD, "type": "view_submission"}})
    with pytest.raises(ValidationError):
        InteractionForm.model_validate({"payload": {**PAYLOAD, "actions": []}})


def test_retry_number_reads_slacks_header() -> None:
    request = signed()
    assert retry_number(request) == 0
    retried = dataclasses.replace(request, headers={**request.headers, "x-slack-retry-num": "2"})
    assert retry_number(retried) == 2
    odd = dataclasses.replace(request, headers={**request.headers, "x-slack-retry-num": "two"})
    assert retry_number(odd) == 0


def test_the_manual_steps_name_the_request_url_and_where_the_secret_goes() -> None:
    from apps.slack.subscriptions import manual_steps
    from shared.subscriptions import ManualSetup

    steps = manual_steps(
        ManualSetup("slack_interactivity", "slack", URL, ("block_actions",), SIGNING, " --stage prod")
    )
    text = "\n".join(steps)
    assert f"Request URL to {URL}" in text and "Interactivity & Shortcuts" in text
    assert "switchboard secrets set slack_signing secret=- --stage prod" in text
    assert "previous_secret=- --stage prod" in text
