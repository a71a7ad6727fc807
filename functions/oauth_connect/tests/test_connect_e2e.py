"""``switchboard connect`` end to end on the local runtime, over real HTTP, as ``make dev`` runs it.

The CLI prints a link; a browser (httpx) opens it at the stand-in's consent page, presses Allow or
Deny, follows the redirect to the gateway's ``/oauth/<app>/callback``; the secret then holds the new
refresh token, and a sale arriving from Square is booked in QuickBooks with it after a refresh.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from infra.local.runtime import LocalRuntime
from infra.local.samples import EVENTS_DIR, build_request, load_sample
from shared.registry import load_spec

from .consent import FORM_TYPE, consent_form

pytestmark = pytest.mark.e2e


def printed_link(out: str) -> str:
    found = re.search(r"^  (http\S+)$", out, re.MULTILINE)
    assert found, out
    return found.group(1)


def press(url: str, decision: str) -> str:
    """Open the link in a "browser", press Allow or Deny; the callback URL the provider redirects to."""
    page = httpx.get(url, timeout=10)
    assert page.status_code == 200 and "Allow" in page.text, page.text
    post_url, body = consent_form(page.text).submit(url, decision)
    answer = httpx.post(post_url, content=body, headers=FORM_TYPE, timeout=10)
    assert answer.status_code == 302, answer.text
    return str(answer.headers["location"])


def secret(rt: LocalRuntime, name: str) -> dict[str, str]:
    value: dict[str, str] = json.loads(
        rt.runtimes["oauth_connect"]
        .aws("secretsmanager")
        .get_secret_value(SecretId=f"switchboard/local/{name}")["SecretString"]
    )
    return value


def headline(page: httpx.Response) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", page.text)
    assert found, page.text
    return found.group(1)


def test_connect_quickbooks_then_a_sale_is_booked_with_the_new_token(runtime: LocalRuntime, cli: Any) -> None:
    done = cli("connect", "quickbooks")
    assert done.returncode == 0, done.stderr
    assert f"It comes back to {runtime.url}/oauth/quickbooks/callback" in done.stdout
    link = printed_link(done.stdout)
    assert link.startswith(f"{runtime.url}/_sandbox/quickbooks/connect/oauth2?")
    old = secret(runtime, "quickbooks")["refresh_token"]

    callback = press(link, "allow")
    assert callback.startswith(f"{runtime.url}/oauth/quickbooks/callback?")
    page = httpx.get(callback, timeout=20)
    assert page.status_code == 200 and headline(page) == "QuickBooks is connected", page.text
    stored = secret(runtime, "quickbooks")
    assert stored["refresh_token"] != old and stored["refresh_token"].startswith("quickbooks-rt-")

    # The same callback again - a replayed state - is refused, and the connection stays.
    again = httpx.get(callback, timeout=20)
    assert again.status_code == 400 and headline(again) == "This link was already used"
    assert secret(runtime, "quickbooks") == stored

    # A sale from Square: the access token has run out, so the worker refreshes with the new token.
    httpx.post(f"{runtime.url}/_sandbox/quickbooks/_oauth/expire", timeout=5).raise_for_status()
    spec = load_spec("pos_to_accounting")
    sample = load_sample(EVENTS_DIR / "pos_to_accounting" / "square_payment_completed.json", spec)
    url, headers, body = build_request(
        spec, sample, runtime.url, runtime.signing_secret(spec, sample.trigger)
    )
    assert httpx.post(url, headers=headers, content=body, timeout=10).status_code == 202
    assert runtime.wait_drained(60)
    state = httpx.get(f"{runtime.url}/_sandbox/quickbooks/_state", timeout=5).json()
    assert len(state["sales_receipts"]) == 1
    assert state["oauth"]["code_grants"] == 1 and state["oauth"]["refresh_calls"] == 1
    assert secret(runtime, "quickbooks")["refresh_token"] != stored["refresh_token"]  # Intuit rotated it

    shown = cli("secrets", "show", "quickbooks")
    assert shown.returncode == 0 and stored["refresh_token"] not in shown.stdout


def test_connect_google_deny_forged_and_unknown(runtime: LocalRuntime, cli: Any) -> None:
    before = secret(runtime, "google_calendar")
    denied = press(printed_link(cli("connect", "google_calendar").stdout), "deny")
    page = httpx.get(denied, timeout=20)
    assert page.status_code == 400 and headline(page) == "Google Calendar was not connected"
    assert "switchboard connect google_calendar" in page.text
    assert secret(runtime, "google_calendar") == before

    link = printed_link(cli("connect", "google_calendar").stdout)
    assert "code_challenge=" in link and "code_challenge_method=S256" in link
    callback = press(link, "allow")
    query = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    version, payload, signature = query["state"].split(".")
    forged = {**query, "state": f"{version}.{payload}x.{signature}"}
    refused = httpx.get(f"{runtime.url}/oauth/google_calendar/callback?{urlencode(forged)}", timeout=20)
    assert refused.status_code == 400 and headline(refused) == "This link is not valid"
    connected = httpx.get(callback, timeout=20)
    assert connected.status_code == 200 and headline(connected) == "Google Calendar is connected"
    assert secret(runtime, "google_calendar")["refresh_token"].startswith("google_calendar-rt-")

    assert httpx.get(f"{runtime.url}/oauth/hubspot/callback?code=x&state=y", timeout=20).status_code == 404


def test_connect_says_what_to_fix(runtime: LocalRuntime, cli: Any) -> None:
    unknown = cli("connect", "slack")
    assert unknown.returncode == 2
    assert (
        unknown.stderr.startswith("switchboard: no OAuth 2.0 app 'slack'") and "quickbooks" in unknown.stderr
    )
    assert cli("connect", "quickbooks", "--connection", "nope").returncode == 2
    assert "between 1 minute and 7 days" in cli("connect", "quickbooks", "--valid-for", "0").stderr
    too_long = cli("connect", "quickbooks", "--valid-for", str(8 * 24 * 60))
    assert too_long.returncode == 2 and "between 1 minute and 7 days" in too_long.stderr

    assert cli("secrets", "set", "quickbooks", "client_secret=").returncode == 2  # required: refused
    name = "switchboard/local/quickbooks"
    sm = runtime.runtimes["oauth_connect"].aws("secretsmanager")
    value = secret(runtime, "quickbooks")
    sm.put_secret_value(
        SecretId=name, SecretString=json.dumps({k: v for k, v in value.items() if k != "client_id"})
    )
    missing = cli("connect", "quickbooks")
    assert missing.returncode == 2
    assert "switchboard secrets set quickbooks client_id=... client_secret=-" in missing.stderr
