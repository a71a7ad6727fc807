"""The stand-ins' authorization servers (sandbox/oauth.py): consent page, codes, the code grant, PKCE.

Driven in-process through :meth:`SandboxApp.handle`, as the local gateway calls it; the answers are
compared with what Intuit and Google answer (see the module docstring of :mod:`sandbox.oauth`).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from apps.google_calendar.standin import GoogleCalendarSandbox
from apps.quickbooks import LOCAL_REALM_ID
from apps.quickbooks.standin import QuickBooksSandbox
from functions.oauth_connect.tests.consent import consent_form
from sandbox.base import SandboxApp, SandboxRequest, SandboxResponse

REDIRECT = "https://hooks.example.test/oauth/quickbooks/callback"
QB_AUTHORIZE = "/connect/oauth2"
QB_TOKEN = "/oauth2/v1/tokens/bearer"
G_AUTHORIZE = "/o/oauth2/v2/auth"
G_SCOPE = "https://www.googleapis.com/auth/calendar.events"
BASIC = "Basic " + base64.b64encode(b"sandbox-quickbooks-client_id:sandbox-quickbooks-client_secret").decode()


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def get(app: SandboxApp, path: str, query: dict[str, str]) -> SandboxResponse:
    return app.handle(SandboxRequest("GET", path, {k: [v] for k, v in query.items()}))


def post_form(
    app: SandboxApp, path: str, form: list[tuple[str, str]] | dict[str, str], **headers: str
) -> SandboxResponse:
    return app.handle(
        SandboxRequest(
            "POST",
            path,
            headers={"content-type": "application/x-www-form-urlencoded", **headers},
            body=urlencode(form).encode(),
        )
    )


def qb_request(**changes: str) -> dict[str, str]:
    return {
        "client_id": "sandbox-quickbooks-client_id",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "com.intuit.quickbooks.accounting",
        "state": "the-state",
        **changes,
    }


def decide(
    app: SandboxApp, path: str, query: dict[str, str], decision: str, *, untick: bool = False
) -> dict[str, list[str]]:
    page = get(app, path, query)
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    form = consent_form(page.body.decode())
    assert form.action == path.rsplit("/", 1)[-1]
    _, body = form.submit("https://sandbox.test" + path, decision, untick=untick)
    answer = app.handle(
        SandboxRequest(
            "POST", path, headers={"content-type": "application/x-www-form-urlencoded"}, body=body.encode()
        )
    )
    assert answer.status == 302, answer.body
    location = answer.headers["location"]
    redirect = query["redirect_uri"]
    assert location.startswith(redirect + ("&" if "?" in redirect else "?"))
    return parse_qs(urlsplit(location).query)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def qb(clock: Clock) -> QuickBooksSandbox:
    return QuickBooksSandbox(clock=clock)


@pytest.fixture
def google(clock: Clock) -> GoogleCalendarSandbox:
    return GoogleCalendarSandbox(clock=clock)


# --- the authorization endpoint ------------------------------------------------------------------


def test_allow_redirects_with_code_state_and_realm(qb: QuickBooksSandbox) -> None:
    answer = decide(qb, QB_AUTHORIZE, qb_request(), "allow")
    assert set(answer) == {"code", "state", "realmId"}
    assert answer["state"] == ["the-state"] and answer["realmId"] == [LOCAL_REALM_ID]


def test_deny_redirects_with_access_denied_and_the_state(qb: QuickBooksSandbox) -> None:
    answer = decide(qb, QB_AUTHORIZE, qb_request(redirect_uri=REDIRECT + "?stage=prod"), "deny")
    assert answer == {"stage": ["prod"], "error": ["access_denied"], "state": ["the-state"]}


def test_a_bad_client_or_redirect_uri_is_a_page_never_a_redirect(qb: QuickBooksSandbox) -> None:
    unknown = get(qb, QB_AUTHORIZE, qb_request(client_id="someone-else"))
    assert unknown.status == 401 and b"invalid_client" in unknown.body and "location" not in unknown.headers
    for bad in ("", "not a url", "javascript:alert(1)", REDIRECT + "#frag"):
        page = get(qb, QB_AUTHORIZE, qb_request(redirect_uri=bad))
        assert page.status == 400 and b"redirect_uri_mismatch" in page.body, bad
    qb.oauth.redirect_uris = {"https://registered.example/cb"}
    assert get(qb, QB_AUTHORIZE, qb_request()).status == 400
    assert get(qb, QB_AUTHORIZE, qb_request(redirect_uri="https://registered.example/cb")).status == 200


def test_other_request_errors_go_back_to_the_client(qb: QuickBooksSandbox) -> None:
    for changes, error in (
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "com.intuit.quickbooks.everything"}, "invalid_scope"),
        ({"scope": ""}, "invalid_scope"),
    ):
        page = get(qb, QB_AUTHORIZE, qb_request(**changes))
        assert page.status == 302, changes
        assert parse_qs(urlsplit(page.headers["location"]).query) == {
            "error": [error],
            "state": ["the-state"],
        }


def test_the_consent_page_escapes_what_it_shows(qb: QuickBooksSandbox) -> None:
    page = get(qb, QB_AUTHORIZE, qb_request(state='"><script>alert(1)</script>'))
    assert b"<script>" not in page.body and b"&lt;script&gt;" in page.body


# --- the code grant ------------------------------------------------------------------------------


def code_grant(app: SandboxApp, path: str, code: str, **changes: str) -> SandboxResponse:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **changes}
    return post_form(app, path, form, authorization=BASIC)


def test_intuit_code_grant_answers_as_intuit_and_the_refresh_token_works(qb: QuickBooksSandbox) -> None:
    code = decide(qb, QB_AUTHORIZE, qb_request(), "allow")["code"][0]
    answer = code_grant(qb, QB_TOKEN, code)
    assert answer.status == 200 and answer.headers["cache-control"] == "no-store"
    body: dict[str, Any] = answer.parsed()
    assert set(body) == {
        "access_token",
        "expires_in",
        "token_type",
        "refresh_token",
        "x_refresh_token_expires_in",
        "scope",
    }
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    refreshed = post_form(
        qb,
        QB_TOKEN,
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        authorization=BASIC,
    )
    assert refreshed.status == 200 and refreshed.parsed()["refresh_token"] != body["refresh_token"]
    assert qb.oauth.state()["code_grants"] == 1 and qb.oauth.state()["refresh_calls"] == 1


def test_a_code_works_once_and_a_second_use_revokes_its_tokens(qb: QuickBooksSandbox) -> None:
    code = decide(qb, QB_AUTHORIZE, qb_request(), "allow")["code"][0]
    tokens = code_grant(qb, QB_TOKEN, code).parsed()
    again = code_grant(qb, QB_TOKEN, code)
    assert again.status == 400 and again.parsed()["error"] == "invalid_grant"
    refresh = post_form(
        qb,
        QB_TOKEN,
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        authorization=BASIC,
    )
    assert refresh.status == 400 and refresh.parsed()["error"] == "invalid_grant"
    assert not qb.oauth.bearer_ok(
        SandboxRequest("GET", "/v3/company/x", headers={"authorization": f"Bearer {tokens['access_token']}"})
    )


def test_the_code_grant_checks_client_redirect_uri_and_age(qb: QuickBooksSandbox, clock: Clock) -> None:
    code = decide(qb, QB_AUTHORIZE, qb_request(), "allow")["code"][0]
    wrong_client = post_form(
        qb, QB_TOKEN, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    )
    assert wrong_client.status == 401 and wrong_client.parsed()["error"] == "invalid_client"
    moved = code_grant(qb, QB_TOKEN, code, redirect_uri=REDIRECT + "/other")
    assert moved.status == 400 and moved.parsed()["error"] == "invalid_grant"
    assert code_grant(qb, QB_TOKEN, "").parsed()["error"] == "invalid_request"
    assert code_grant(qb, QB_TOKEN, "made-up").parsed()["error"] == "invalid_grant"
    late = decide(qb, QB_AUTHORIZE, qb_request(), "allow")["code"][0]
    clock.now += 601
    assert code_grant(qb, QB_TOKEN, late).parsed()["error_description"] == "Authorization code expired."


def g_request(challenge: str, **changes: str) -> dict[str, str]:
    return {
        "client_id": "sandbox-google_calendar-client_id",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": G_SCOPE,
        "state": "s",
        "access_type": "offline",
        "prompt": "consent",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **changes,
    }


def g_grant(google: GoogleCalendarSandbox, code: str, **changes: str) -> SandboxResponse:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": "sandbox-google_calendar-client_id",
        "client_secret": "sandbox-google_calendar-client_secret",
        **changes,
    }
    return post_form(google, "/token", form)


def test_google_checks_the_pkce_verifier(google: GoogleCalendarSandbox) -> None:
    verifier = "v" * 43 + "-._~" + "x" * 20
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    answer = decide(google, G_AUTHORIZE, g_request(challenge), "allow")
    assert answer["scope"] == [G_SCOPE]
    code = answer["code"][0]
    missing = g_grant(google, code)
    assert missing.status == 400 and missing.parsed() == {
        "error": "invalid_grant",
        "error_description": "Missing code verifier.",
    }
    wrong = g_grant(google, code, code_verifier="w" * 64)
    assert wrong.parsed() == {"error": "invalid_grant", "error_description": "Invalid code verifier."}
    tokens = g_grant(google, code, code_verifier=verifier)
    assert tokens.status == 200
    assert set(tokens.parsed()) == {"access_token", "expires_in", "refresh_token", "scope", "token_type"}
    assert tokens.parsed()["token_type"] == "Bearer" and tokens.parsed()["scope"] == G_SCOPE


def test_google_says_redirect_uri_mismatch_and_unticked_scopes_are_not_granted(
    google: GoogleCalendarSandbox,
) -> None:
    request = g_request("c" * 43, scope=f"openid {G_SCOPE}", code_challenge_method="plain")
    page = get(google, G_AUTHORIZE, request)
    assert page.body.count(b'type="checkbox"') == 2
    code = decide(google, G_AUTHORIZE, request, "allow")["code"][0]
    mismatch = g_grant(google, code, redirect_uri="https://elsewhere.example/cb", code_verifier="c" * 43)
    assert mismatch.parsed()["error"] == "redirect_uri_mismatch"
    assert g_grant(google, code, code_verifier="c" * 43).parsed()["scope"] == f"openid {G_SCOPE}"
    assert decide(google, G_AUTHORIZE, request, "allow", untick=True) == {
        "error": ["access_denied"],
        "state": ["s"],
    }
    bad_method = get(google, G_AUTHORIZE, g_request("c" * 43, code_challenge_method="S512"))
    assert parse_qs(urlsplit(bad_method.headers["location"]).query)["error"] == ["invalid_request"]


def test_the_request_log_masks_a_token_requests_credentials(google: GoogleCalendarSandbox) -> None:
    g_grant(google, "some-code-value", code_verifier="some-verifier-value")
    records = google.handle(SandboxRequest("GET", "/_requests", {"path": ["/token"]})).parsed()["requests"]
    body = records[-1]["body"]
    assert "some-code-value" not in body and "some-verifier-value" not in body
    assert "sandbox-google_calendar-client_secret" not in body
    assert "grant_type=authorization_code" in body and "code=%2A%2A%2A" in body
