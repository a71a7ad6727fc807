"""The callback through the production handler (``shared.entry.dispatch``) on moto and the stand-ins.

A link is made as ``switchboard connect`` makes it (:func:`infra.ops.connect.make_link`, against the
same moto secrets and table), followed through the QuickBooks or Google stand-in's consent page, and
the redirect the stand-in answers is delivered to the handler as API Gateway would deliver it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from apps.google_calendar import CONNECTION as GOOGLE
from apps.quickbooks import APP as QUICKBOOKS_APP
from apps.quickbooks import CONNECTION as QUICKBOOKS
from apps.quickbooks import LOCAL_REALM_ID
from functions.oauth_connect.link import STATE_KEY, Link, record_link, sign_state
from functions.oauth_connect.providers import providers
from infra.local.gateway import api_gateway_event
from infra.local.resources import LocalResources
from infra.ops.connect import make_link
from infra.ops.secrets import read_secret, write_secret
from infra.ops.target import Target, connections
from sandbox.base import SandboxApp, transport_for
from shared import oauth
from shared.entry import dispatch
from shared.runtime import Runtime
from shared.table import Table

from .consent import FORM_TYPE, consent_form

HOST = "hooks.example.test"
ORIGIN = f"https://{HOST}"


@dataclass
class World:
    rt: Runtime
    target: Target
    sandboxes: dict[str, SandboxApp]
    browser: httpx.Client
    aws: Any

    def secret(self, name: str) -> dict[str, str]:
        """The connection's stored value, from its store (the state key is an SSM parameter)."""
        return dict(read_secret(self.target, connections()[name][0]))

    def set_secret(self, name: str, value: dict[str, str]) -> None:
        write_secret(self.target, connections()[name][0], value)

    def link(self, app: str, **options: Any) -> str:
        return make_link(self.target, providers()[app], **options).url

    def consent(self, url: str, decision: str = "allow", *, untick: bool = False) -> str:
        """Open the link, press a button; the redirect URL the provider answers."""
        page = self.browser.get(url)
        assert page.status_code == 200, page.text
        post_url, body = consent_form(page.text).submit(url, decision, untick=untick)
        answer = self.browser.post(post_url, content=body, headers=FORM_TYPE)
        assert answer.status_code == 302, answer.text
        location = answer.headers["location"]
        assert location.startswith(f"{ORIGIN}/oauth/{app_of(url)}/callback?")
        return location

    def callback(self, url: str) -> tuple[int, str, dict[str, str]]:
        parts = urlsplit(url)
        event = api_gateway_event(
            method="GET",
            path=parts.path,
            query=parts.query,
            headers={"host": HOST, "x-forwarded-proto": "https", "user-agent": "Mozilla/5.0"},
            body=b"",
            route_key="GET /oauth/{app}/callback",
        )
        result = dispatch(self.rt, event)
        return int(result["statusCode"]), str(result["body"]), dict(result["headers"])


def app_of(url: str) -> str:
    return "google_calendar" if "google_calendar" in url else "quickbooks"


def outcome(body: str) -> str:
    found = re.search(r'<p class="outcome" hidden>([a-z_]+)</p>', body)
    assert found, body
    return found.group(1)


@pytest.fixture
def world(
    resources: LocalResources, sandboxes: dict[str, SandboxApp], make_runtime: Any, aws: Any
) -> Iterator[World]:
    rt = make_runtime("oauth_connect")
    target = Target(stage=resources.stage, region="us-east-1", endpoint="moto (in-process)", gateway=ORIGIN)
    for service in ("secretsmanager", "ssm", "dynamodb"):
        target._clients[service] = aws.client(service)
    with httpx.Client(transport=transport_for(sandboxes), timeout=5) as browser:
        yield World(rt, target, sandboxes, browser, aws)


# --- connected ------------------------------------------------------------------------------------


def test_quickbooks_is_connected_and_the_connection_refreshes(world: World, make_runtime: Any) -> None:
    before = world.secret("quickbooks")
    callback = world.consent(world.link("quickbooks"))
    query = parse_qs(urlsplit(callback).query)
    assert set(query) == {"code", "state", "realmId"} and query["realmId"] == [LOCAL_REALM_ID]

    status, body, headers = world.callback(callback)
    assert status == 200 and outcome(body) == "connected", body
    assert "QuickBooks is connected" in body and "You can close this page." in body
    assert headers["content-type"].startswith("text/html")
    assert headers["referrer-policy"] == "no-referrer" and headers["cache-control"] == "no-store"
    assert "default-src 'none'" in headers["content-security-policy"]

    after = world.secret("quickbooks")
    assert (
        after["refresh_token"].startswith("quickbooks-rt-")
        and after["refresh_token"] != before["refresh_token"]
    )
    assert after["access_token"].startswith("quickbooks-at-")
    assert int(after["expires_at"]) > time.time() + 3000
    assert after["realm_id"] == LOCAL_REALM_ID
    for kept in ("client_id", "client_secret", "base_url", "token_url", "authorize_url"):
        assert after[kept] == before[kept]
    sandbox: Any = world.sandboxes["quickbooks"]
    assert sandbox.oauth.code_grants == 1

    # The worker side: the stored refresh token refreshes (Intuit rotates it again).
    worker = make_runtime("pos_to_accounting")
    oauth.forget_access_token(worker, QUICKBOOKS, after["access_token"])
    token = oauth.access_token(worker, QUICKBOOKS_APP, QUICKBOOKS)
    assert token != after["access_token"] and sandbox.oauth.refresh_calls == 1
    assert world.secret("quickbooks")["refresh_token"] != after["refresh_token"]


def test_google_is_connected_with_pkce(world: World) -> None:
    url = world.link("google_calendar")
    link_query = parse_qs(urlsplit(url).query)
    assert link_query["code_challenge_method"] == ["S256"] and len(link_query["code_challenge"][0]) == 43
    assert link_query["access_type"] == ["offline"] and link_query["prompt"] == ["consent"]
    assert "code_verifier" not in url
    callback = world.consent(url)
    assert parse_qs(urlsplit(callback).query)["scope"] == [
        "https://www.googleapis.com/auth/calendar.events https://www.googleapis.com/auth/calendar.events.freebusy"
    ]

    status, body, _ = world.callback(callback)
    assert status == 200 and outcome(body) == "connected", body
    stored = world.secret("google_calendar")
    assert stored["refresh_token"].startswith("google_calendar-rt-")
    exchange = _token_request(world, "google_calendar")
    assert "code_verifier=%2A%2A%2A" in exchange["body"] and "code=%2A%2A%2A" in exchange["body"]
    assert "grant_type=authorization_code" in exchange["body"]


def _token_request(world: World, app: str) -> dict[str, Any]:
    """The token request the stand-in recorded (its credentials masked in the record)."""
    path = "/oauth2/v1/tokens/bearer" if app == "quickbooks" else "/token"
    records = world.browser.get(f"http://sandbox.test/_sandbox/{app}/_requests", params={"path": path}).json()
    [record] = [r for r in records["requests"] if r["method"] == "POST"]
    assert isinstance(record, dict)
    return record


# --- refused: the state -------------------------------------------------------------------------


def test_a_replayed_callback_is_refused_and_changes_nothing(world: World) -> None:
    callback = world.consent(world.link("quickbooks"))
    assert world.callback(callback)[0] == 200
    connected = world.secret("quickbooks")
    status, body, _ = world.callback(callback)
    assert status == 400 and outcome(body) == "state_used", body
    assert "This link was already used" in body and "switchboard connect quickbooks" in body
    assert world.secret("quickbooks") == connected
    sandbox: Any = world.sandboxes["quickbooks"]
    assert sandbox.oauth.code_grants == 1  # the replay never reached the token endpoint


def test_a_forged_state_is_refused_and_not_spent(world: World) -> None:
    callback = world.consent(world.link("quickbooks"))
    query = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    version, payload, signature = query["state"].split(".")
    forged = {**query, "state": f"{version}.{payload}.{signature[::-1]}"}
    before = world.secret("quickbooks")
    status, body, _ = world.callback(f"{ORIGIN}/oauth/quickbooks/callback?{urlencode(forged)}")
    assert status == 400 and outcome(body) == "state_forged", body
    assert "This link is not valid" in body
    assert world.secret("quickbooks") == before
    # The genuine state was not spent by the forgery: the owner's own callback still works.
    assert world.callback(callback)[0] == 200


def test_an_expired_link_says_so(world: World) -> None:
    key = world.secret("oauth_connect")["state_key"]
    link = Link("expired-nonce-0123456789", "quickbooks", "quickbooks", int(time.time()) - 1)
    table = Table(world.aws.client("dynamodb"), world.target.table)
    record_link(table, link, redirect_uri=f"{ORIGIN}/oauth/quickbooks/callback")
    query = urlencode({"code": "x", "state": sign_state(key, link), "realmId": LOCAL_REALM_ID})
    status, body, _ = world.callback(f"{ORIGIN}/oauth/quickbooks/callback?{query}")
    assert status == 400 and outcome(body) == "state_expired"
    assert "This link has expired" in body and "switchboard connect quickbooks" in body


def test_a_state_for_another_app_is_refused(world: World) -> None:
    callback = world.consent(world.link("quickbooks"))
    status, body, _ = world.callback(callback.replace("/oauth/quickbooks/", "/oauth/google_calendar/"))
    assert status == 400 and outcome(body) == "state_wrong_app"


def test_no_state_and_no_such_app(world: World) -> None:
    status, body, _ = world.callback(f"{ORIGIN}/oauth/quickbooks/callback?code=abc")
    assert status == 400 and outcome(body) == "state_missing"
    status, body, _ = world.callback(f"{ORIGIN}/oauth/slack/callback?code=abc&state=x")
    assert status == 404 and outcome(body) == "unknown_app"
    assert "quickbooks" in body and "google_calendar" in body
    status, body, _ = world.callback(f"{ORIGIN}/oauth/quickbooks/callback?state={'x' * 600}")
    assert status == 400 and outcome(body) == "malformed"


# --- refused: the owner, the answer, the provider ------------------------------------------------


def test_deny_is_answered_in_plain_words_and_spends_the_link(world: World) -> None:
    before = world.secret("quickbooks")
    denied = world.consent(world.link("quickbooks"), "deny")
    assert parse_qs(urlsplit(denied).query)["error"] == ["access_denied"]
    status, body, _ = world.callback(denied)
    assert status == 400 and outcome(body) == "access_denied", body
    assert "QuickBooks was not connected" in body and "Nothing was changed" in body
    assert world.secret("quickbooks") == before
    # Deny spent the link: answering Allow to the same state afterwards is a replay.
    allowed = denied.replace("error=access_denied", "code=late-code")
    assert outcome(world.callback(allowed)[1]) == "state_used"


def test_a_callback_without_the_realm_is_refused(world: World) -> None:
    callback = world.consent(world.link("quickbooks"))
    without = re.sub(r"&?realmId=[^&]*", "", callback)
    status, body, _ = world.callback(without)
    assert status == 400 and outcome(body) == "missing_callback_field" and "realmId" in body


def test_a_refused_code_is_a_502_and_stores_nothing(world: World) -> None:
    callback = world.consent(world.link("quickbooks"))
    before = world.secret("quickbooks")
    sandbox: Any = world.sandboxes["quickbooks"]
    # The code is used up before the callback arrives (a second tab, a slow owner): invalid_grant.
    code = parse_qs(urlsplit(callback).query)["code"][0]
    sandbox.oauth.codes[code].used = True
    status, body, _ = world.callback(callback)
    assert status == 502 and outcome(body) == "code_refused", body
    assert "invalid_grant" in body and "QuickBooks refused to finish connecting" in body
    assert world.secret("quickbooks") == before


def test_a_provider_that_does_not_answer_is_a_502(world: World) -> None:
    callback = world.consent(world.link("quickbooks"))
    world.browser.post(
        "http://sandbox.test/_sandbox/quickbooks/_faults",
        json={"kind": "status", "status": 503, "path": "/oauth2/v1/tokens/bearer"},
    )
    status, body, _ = world.callback(callback)
    assert status == 502 and outcome(body) == "provider_unavailable"
    assert "could not be reached" in body


def test_a_wrong_pkce_verifier_is_refused_by_google(world: World) -> None:
    url = world.link("google_calendar")
    callback = world.consent(url)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    nonce = json.loads(_b64(state.split(".")[1]))["n"]
    table = Table(world.aws.client("dynamodb"), world.target.table)
    table.update(
        f"oauth_connect#link#{nonce}",
        "SET code_verifier = :v",
        values={":v": "w" * 64},
    )
    status, body, _ = world.callback(callback)
    assert status == 502 and outcome(body) == "code_refused"


def test_an_unticked_permission_is_not_stored(world: World) -> None:
    before = world.secret("google_calendar")
    callback = world.consent(world.link("google_calendar"))
    code = parse_qs(urlsplit(callback).query)["code"][0]
    sandbox: Any = world.sandboxes["google_calendar"]
    sandbox.oauth.codes[code].scopes = ("openid",)  # granted something, but not the calendar
    status, body, _ = world.callback(callback)
    assert status == 400 and outcome(body) == "scope_not_granted", body
    assert "calendar.events" in body
    assert world.secret("google_calendar") == before
    # Unticking every permission on the consent page is a Deny.
    denied = world.consent(world.link("google_calendar"), untick=True)
    assert "error=access_denied" in denied


def test_a_client_removed_after_the_link_was_made_is_a_500(world: World) -> None:
    callback = world.consent(world.link("quickbooks"))
    secret = world.secret("quickbooks")
    world.set_secret("quickbooks", {k: v for k, v in secret.items() if k != "client_secret"})
    status, body, _ = world.callback(callback)
    assert status == 500 and outcome(body) == "client_not_set"
    assert "switchboard secrets set quickbooks client_id=... client_secret=-" in body


# --- nothing of the code or the tokens in any log -------------------------------------------------


def test_no_code_state_or_token_reaches_a_log(world: World, capfd: pytest.CaptureFixture[str]) -> None:
    callback = world.consent(world.link("quickbooks"))
    query = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    sandbox: Any = world.sandboxes["quickbooks"]
    canary = "CANARY-oauth-code-7f3a9c1e5b"
    sandbox.oauth.codes[canary] = sandbox.oauth.codes.pop(query["code"])
    capfd.readouterr()
    status, body, _ = world.callback(
        f"{ORIGIN}/oauth/quickbooks/callback?{urlencode({**query, 'code': canary})}"
    )
    assert status == 200, body
    stored = world.secret("quickbooks")
    # And a refused one logs as little (a replay, with the canary code in it again).
    assert (
        world.callback(f"{ORIGIN}/oauth/quickbooks/callback?{urlencode({**query, 'code': canary})}")[0] == 400
    )
    out, err = capfd.readouterr()
    logs = out + err
    assert '"outcome":"connected"' in logs.replace(" ", "") and '"outcome":"state_used"' in logs.replace(
        " ", ""
    )
    for secret in (
        canary,
        query["state"],
        stored["refresh_token"],
        stored["access_token"],
        stored["client_secret"],
    ):
        assert secret not in logs
    assert canary not in json.dumps(
        _token_request(world, "quickbooks")
    )  # the stand-in's record is masked too


def _b64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_the_link_signing_key_is_made_once_per_stage(world: World) -> None:
    world.set_secret("oauth_connect", {})
    world.link("quickbooks")
    key = world.secret("oauth_connect")["state_key"]
    assert len(key) >= 43 and key != STATE_KEY.local["state_key"]
    world.link("google_calendar")
    assert world.secret("oauth_connect")["state_key"] == key
    assert GOOGLE.name == "google_calendar"


def test_on_a_stage_the_link_comes_back_to_the_api_url(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from infra.ops import connect as connect_ops
    from infra.ops.target import NotDeployed

    stage = Target(stage=world.target.stage, region="eu-west-2")
    stage._clients.update(world.target._clients)
    api = "https://abc123.execute-api.eu-west-2.amazonaws.com"
    monkeypatch.setattr("infra.ops.urls.stack_outputs", lambda target: {"ApiUrl": api})
    out = io.StringIO()
    link = connect_ops.connect(stage, "quickbooks", out, valid_for_s=1800)
    assert link.redirect_uri == f"{api}/oauth/quickbooks/callback"
    assert parse_qs(urlsplit(link.url).query)["redirect_uri"] == [link.redirect_uri]
    printed = out.getvalue()
    assert link.url in printed and "for 30 minutes" in printed
    assert (
        "registered once at developer.intuit.com > your app > Keys and credentials > Redirect URIs" in printed
    )
    monkeypatch.setattr("infra.ops.urls.stack_outputs", lambda target: {})
    with pytest.raises(NotDeployed, match="make deploy STAGE="):
        connect_ops.connect(stage, "quickbooks", io.StringIO())


def test_a_new_authorization_waits_for_a_refresh_in_flight(world: World) -> None:
    """The store takes the refresh lease: a refresh holding it finishes first, then the new tokens land."""
    import threading

    table = Table(world.aws.client("dynamodb"), world.target.table)
    lease = f"oauth#{world.rt.secret_prefix}quickbooks"
    table.put({"id": lease, "owner": "a worker refreshing", "lease_until": time.time() + 30, "expiration": 0})
    world.set_secret(
        "quickbooks", {**world.secret("quickbooks"), "access_token": "old-at", "expires_at": "9999999999"}
    )
    before = world.secret("quickbooks")
    done = threading.Event()

    def store() -> None:
        oauth.store_authorization(
            world.rt, QUICKBOOKS_APP, QUICKBOOKS, {"refresh_token": "rt-new", "realm_id": "42"}
        )
        done.set()

    thread = threading.Thread(target=store)
    thread.start()
    time.sleep(0.8)
    assert not done.is_set() and world.secret("quickbooks") == before
    table.delete(lease)  # the refresh stored its answer and let go
    thread.join(10)
    assert done.is_set()
    after = world.secret("quickbooks")
    assert after["refresh_token"] == "rt-new" and after["realm_id"] == "42"
    assert after["client_id"] == before["client_id"] and after["client_secret"] == before["client_secret"]
    assert "access_token" not in after and "expires_at" not in after  # the old authorization's token goes
    assert table.get(lease) is None  # released again
