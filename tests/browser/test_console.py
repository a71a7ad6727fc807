"""The operator console in a real browser (Debian's Chromium, driven by Playwright) over a running
local runtime: what an operator sees and clicks, and what must never reach the page.

* a lead posted by a browser to the website form appears in the events list, and its story shows
  every step the ledger recorded;
* a permanently failing target (``switchboard sandbox break hubspot``) puts the event in the
  dead-letter view with its reason; after ``fix``, Replay processes it exactly once - one contact and
  one note at the HubSpot stand-in;
* a state-changing request without the CSRF token is refused, and nothing changes;
* a forged webhook is on the refused-requests page under the request id its 401 carried;
* no secret of any connection, nor the console's access token, is in any page's HTML.

Each test makes its own events (its own email address), so one runtime serves the module. The last
test saves the screenshots of docs/console/ when ``SWITCHBOARD_SCREENSHOTS`` names a folder.
"""

from __future__ import annotations

import base64
import json
import os
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest

from infra.local.samples import EVENTS_DIR, build_request, load_sample
from infra.ops.sandbox import break_app, fix_app, standin_state
from infra.ops.trace import ledger_records
from shared.registry import load_spec, load_specs
from tests.browser.conftest import NO_PLAYWRIGHT, Stack, no_browser

try:
    from playwright.sync_api import Locator, Page, expect
except ImportError:  # without the dev extra: skipped here, a failure on CI
    no_browser(NO_PLAYWRIGHT, os.environ, module=True)

pytestmark = pytest.mark.e2e

WEBSITE = load_spec("website_to_crm")
#: Connection fields that are addresses or dates, not secrets.
NOT_SECRET = {"base_url", "token_url", "authorize_url", "scope", "expires_at", "notification_url", "realm_id"}
SECRET_FIELD = re.compile(r"secret|token|key|password", re.IGNORECASE)
#: The pages of the console's navigation, and what each screenshot is called in docs/console/.
PAGES = {
    "overview": "/",
    "events": "/events",
    "dead-letters": "/dead-letters",
    "refused": "/refused",
    "connections": "/connections",
    "flow-map": "/flow",
}


def post_lead(page: Page, stack: Stack, email: str) -> str:
    """A browser on the business's own site posts the contact form (the runtime's origin is allowed)."""
    page.goto(stack.runtime.url + "/")
    form = urlencode(
        {
            "name": "Ada Browser",
            "email": email,
            "message": "Six sourdough loaves",
            "consent": "on",
            "website": "",
        }
    )
    status, text = page.evaluate(
        """async ([url, body]) => {
            const answer = await fetch(url, {
                method: "POST",
                headers: {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"},
                body,
            });
            return [answer.status, await answer.text()];
        }""",
        [stack.runtime.url + "/forms/website_to_crm", form],
    )
    assert status == 202, text
    event_id: str = json.loads(text)["id"]
    return event_id


def new_email() -> str:
    return f"ada.{uuid.uuid4().hex[:10]}@browser-bakery.example"


def story_url(stack: Stack, event_id: str) -> str:
    return f"{stack.console.url}events/website_to_crm/{quote(event_id, safe='')}"


def open_link(page: Page, link: Locator, url: str) -> None:
    """Click ``link`` and wait for the page it opens (the navigation is awaited from before the click)."""
    with page.expect_navigation(url=url):
        link.click()


def hubspot_records(stack: Stack, email: str) -> tuple[int, int]:
    """(contacts with ``email``, notes on them) at the HubSpot stand-in."""
    state = standin_state(stack.target, "hubspot")
    contacts = [c for c in state["contacts"] if c["properties"].get("email") == email]
    notes = sum(len(c.get("associations", {}).get("notes", [])) for c in contacts)
    return len(contacts), notes


def test_a_lead_posted_to_the_form_appears_in_the_list_and_its_story_shows_every_step(
    page: Page, stack: Stack
) -> None:
    event_id = post_lead(page, stack, new_email())
    assert stack.runtime.wait_drained(60)

    page.goto(stack.console.url + "events")
    page.fill("#search-q", event_id)
    page.click("#search-submit")
    # The list before the search already shows the newest events, this one among them: clicking a
    # row while htmx swaps the results in races the swap, so wait until the results are the search's.
    expect(page.locator("#event-total")).to_have_attribute("data-total", "1")
    row = page.locator(f'[data-testid="event-row"][data-event-id="{event_id}"]')
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-status", "processed")
    expect(row).to_have_attribute("data-integration", "website_to_crm")

    open_link(page, row.locator("a.event-link"), story_url(stack, event_id))
    expect(page.locator("#story-event-id")).to_have_text(event_id)
    shown = page.locator('[data-testid="step-row"]').evaluate_all("rows => rows.map(r => r.dataset.step)")
    recorded = {
        r.step for r in ledger_records(stack.target, event_id) if r.integration == "website_to_crm" and r.step
    }
    assert {"upsert_contact", "note"} <= recorded
    assert sorted(shown) == sorted(recorded)  # every step, each once
    for step in recorded:
        outcome = page.locator(f'[data-testid="step-row"][data-step="{step}"] td').nth(1)
        expect(outcome).to_have_text("COMPLETED")
    expect(page.locator("#story-dlq")).to_contain_text("Not in the DLQ")


def test_a_dead_letter_shows_its_reason_and_replay_after_the_fix_processes_it_exactly_once(
    page: Page, stack: Stack
) -> None:
    email = new_email()
    break_app(stack.target, "hubspot", status=400)  # every HubSpot call refused until fixed
    try:
        event_id = post_lead(page, stack, email)
        assert stack.runtime.wait_drained(60)
    finally:
        fix_app(stack.target, "hubspot")
    assert hubspot_records(stack, email) == (0, 0)

    page.goto(stack.console.url + "dead-letters")
    letter = page.locator(f'[data-testid="letter-row"][data-event-id="{event_id}"]')
    expect(letter).to_have_count(1)
    expect(letter.locator(".reason")).to_contain_text("target_rejected")
    expect(letter.locator(".reason")).to_contain_text("400")

    open_link(page, letter.locator("a.event-link"), story_url(stack, event_id))
    expect(page.locator("#story-dlq-reason")).to_contain_text("target_rejected")
    page.click("#replay-button")
    expect(page.locator("#action-report")).to_contain_text(event_id[:12])
    assert stack.runtime.wait_drained(60)

    assert hubspot_records(stack, email) == (1, 1)  # one contact, one note: processed once
    page.goto(story_url(stack, event_id))
    expect(page.locator("#story-summary")).to_contain_text("processed")
    expect(page.locator("#story-dlq")).to_contain_text("Not in the DLQ")
    page.goto(stack.console.url + "dead-letters")
    expect(page.locator(f'[data-testid="letter-row"][data-event-id="{event_id}"]')).to_have_count(0)
    assert hubspot_records(stack, email) == (1, 1)


def test_a_state_changing_request_without_the_csrf_token_is_refused(page: Page, stack: Stack) -> None:
    email = new_email()
    break_app(stack.target, "hubspot", status=400, times=1)
    event_id = post_lead(page, stack, email)
    assert stack.runtime.wait_drained(60)
    fix_app(stack.target, "hubspot")

    page.goto(stack.console.url + "dead-letters")
    letter = page.locator(f'[data-testid="letter-row"][data-event-id="{event_id}"]')
    expect(letter).to_have_count(1)
    # The page's own Replay form, with its CSRF field taken out, submitted by a click.
    letter.locator('input[name="csrf"]').evaluate("field => field.remove()")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        letter.locator('[data-testid="replay-button"]').click()
    answer = posted.value
    assert answer.status == 403
    assert answer.json()["error"] == "csrf"

    # A script on the page (it holds the cookie) posting without the token: refused the same way.
    page.goto(stack.console.url + "dead-letters")
    message_id = page.locator(f'[data-testid="letter-row"][data-event-id="{event_id}"]').get_attribute(
        "data-message-id"
    )
    status, text = page.evaluate(
        """async ([message]) => {
            const answer = await fetch("/dead-letters/website_to_crm/replay", {
                method: "POST",
                headers: {"content-type": "application/x-www-form-urlencoded"},
                body: new URLSearchParams({message_id: message}),
            });
            return [answer.status, await answer.text()];
        }""",
        [message_id],
    )
    assert status == 403 and json.loads(text)["error"] == "csrf"

    assert stack.runtime.wait_drained(10)
    page.goto(stack.console.url + "dead-letters")
    expect(page.locator(f'[data-testid="letter-row"][data-event-id="{event_id}"]')).to_have_count(1)
    assert hubspot_records(stack, email) == (0, 0)  # nothing was replayed


def test_a_forged_webhook_is_on_the_refused_page_under_its_request_id(page: Page, stack: Stack) -> None:
    answer = forge(stack)
    assert answer.status_code == 401
    request_id = answer.json()["request_id"]

    page.goto(stack.console.url + "refused?integration=website_to_crm")
    row = page.locator('[data-testid="refused-row"]', has_text=request_id)
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-status", "401")
    expect(row).to_contain_text("invalid_signature")
    expect(row).to_contain_text("POST /hooks/website_to_crm")
    expect(row).to_contain_text("webhook-signature")


def test_no_secret_appears_in_any_pages_html(page: Page, stack: Stack) -> None:
    forge(stack)  # a refusal whose Authorization header holds a canary
    event_id = post_lead(page, stack, new_email())
    assert stack.runtime.wait_drained(60)
    canaries = secrets_of(stack) | {
        "console access token": stack.console.guard.token,
        "forged authorization": FORGED_AUTH,
        "forged signing secret": FORGED_SECRET,
    }
    assert len(canaries) >= 10, sorted(canaries)
    forms = {f"{name} ({how})": value for name, secret in canaries.items() for how, value in shapes(secret)}

    paths = [*PAGES.values(), "/connections?webhooks=1", "/keys", "/refused?integration=website_to_crm"]
    paths.append(f"/events/website_to_crm/{quote(event_id, safe='')}")
    letters = page.locator('[data-testid="redrive-link"]')
    page.goto(stack.console.url + "dead-letters")
    if letters.count():
        paths.append(str(letters.first.get_attribute("href")))
    for path in paths:
        answer = page.goto(stack.console.url + path.lstrip("/"))
        assert answer is not None and answer.status == 200, (path, answer and answer.status)
        html = page.content()
        leaked = [name for name, value in forms.items() if value in html]
        assert leaked == [], f"{path} shows {leaked}"


def test_screenshots_of_the_main_pages(page: Page, stack: Stack, tmp_path: Path) -> None:
    """Each main page renders and is captured; with SWITCHBOARD_SCREENSHOTS=docs/console, for the docs."""
    out = Path(os.environ.get("SWITCHBOARD_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    event_id = post_lead(page, stack, new_email())
    assert stack.runtime.wait_drained(60)
    shots = {**PAGES, "story": f"/events/website_to_crm/{quote(event_id, safe='')}"}
    for name, path in shots.items():
        answer = page.goto(stack.console.url + path.lstrip("/"))
        assert answer is not None and answer.status == 200, (path, answer and answer.status)
        expect(page.locator("#main")).to_be_visible()
        png = page.screenshot(path=str(out / f"{name}.png"), full_page=True)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert width == 1280 and height >= 300, (name, width, height)


# --- helpers --------------------------------------------------------------------------------------

FORGED_SECRET = "whsec_" + base64.b64encode(b"CANARY-forged-signing-secret").decode()
FORGED_AUTH = "Bearer CANARYforgedAuthorizationHeader0123"


def forge(stack: Stack) -> httpx.Response:
    """webhook_forged.json as a forger sends it: signed with a secret of its own, and a credential."""
    sample = load_sample(EVENTS_DIR / "website_to_crm" / "webhook_forged.json", WEBSITE)
    url, headers, body = build_request(WEBSITE, sample, stack.runtime.url, FORGED_SECRET)
    return httpx.post(url, headers={**headers, "authorization": FORGED_AUTH}, content=body, timeout=15)


def secrets_of(stack: Stack) -> dict[str, str]:
    """Every secret field of every connection, as the runtime's store holds it (a secret, or an SSM
    SecureString parameter for a signing secret or own key)."""
    from infra.ops.secrets import read_secret
    from infra.ops.target import NotDeployed

    found: dict[str, str] = {}
    for conn in {c.name: c for s in load_specs() for c in s.all_connections}.values():
        try:
            value: dict[str, Any] = read_secret(stack.target, conn)
        except NotDeployed:
            continue
        for field, secret in value.items():
            if field in NOT_SECRET or not SECRET_FIELD.search(field) or not isinstance(secret, str):
                continue
            for i, part in enumerate(p for p in secret.split(",") if len(p) >= 8):
                found[f"{conn.name}.{field}[{i}]"] = part
    return found


def shapes(secret: str) -> list[tuple[str, str]]:
    """The secret and the forms it could leak in: base64 of it, and a whsec_ key without its prefix."""
    forms = [("as is", secret), ("base64", base64.b64encode(secret.encode()).decode().rstrip("="))]
    if secret.startswith("whsec_"):
        forms.append(("key", secret.removeprefix("whsec_").rstrip("=")))
    return forms
