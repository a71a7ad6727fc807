"""The console's pages over a running local runtime: what they show, what they never show, and the
replay and redrive they offer.

One lead arrives signed and is processed (it emits ``lead.created``: notification and enrichment
follow), one form post is rejected by HubSpot (400: dead-lettered at once), and one webhook comes with a
forged signature (refused 401). The console is then opened the way an operator opens it: the URL with
the access token once, the cookie after that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from functions.mcp import audit
from functions.mcp.keys import create_key
from infra.console.events import email_hash
from infra.console.server import ConsoleServer
from infra.local.runtime import LocalRuntime
from infra.local.samples import EVENTS_DIR, build_request, load_sample
from infra.ops.secrets import read_secret
from infra.ops.target import Target, connections, resolve
from shared.events import derived_id
from shared.registry import load_spec

pytestmark = pytest.mark.e2e

WEBSITE = load_spec("website_to_crm")
LEAD_ID = "msg_2pQ8vXh1kLmN3oR5sT7uW9yZ0a"  # webhook_lead.json's webhook-id
LEAD_EMAIL = "Priya.Raman@Northwind-Traders.example"
REJECTED_EMAIL = "lena@fischer-kaffee.example"  # form_post_hubspot_rejects.json
#: Connection fields that are addresses of the stand-ins, not secrets.
NOT_SECRET = {"base_url", "token_url", "authorize_url", "scope", "expires_at", "notification_url", "realm_id"}
PAGES = (
    "/",
    "/events",
    "/dead-letters",
    "/refused",
    "/connections",
    "/connections?webhooks=1",
    "/flow",
    "/keys",
)


def deliver(rt: LocalRuntime, name: str) -> httpx.Response:
    """Send ``events/website_to_crm/<name>`` as its sender would, after queueing its faults (the
    queues must be drained first, or another event may meet the fault)."""
    sample = load_sample(EVENTS_DIR / "website_to_crm" / name, WEBSITE)
    for app, faults in sample.faults.items():
        for fault in faults:
            httpx.post(f"{rt.url}/_sandbox/{app}/_faults", json=fault, timeout=10).raise_for_status()
    secret = rt.signing_secret(WEBSITE, sample.trigger) if name != "webhook_forged.json" else "whsec_forged"
    url, headers, body = build_request(WEBSITE, sample, rt.url, secret)
    return httpx.post(url, headers=headers, content=body, timeout=15)


@pytest.fixture
def world(runtime: LocalRuntime, tmp_path: Path) -> Target:
    assert deliver(runtime, "webhook_lead.json").status_code == 202
    assert runtime.wait_drained(60)  # before the next sample's fault is queued: it is that sample's
    assert deliver(runtime, "form_post_hubspot_rejects.json").status_code == 202
    refused = deliver(runtime, "webhook_forged.json")
    assert refused.status_code == 401, refused.text
    assert runtime.wait_drained(60)
    return resolve(None, state_file=tmp_path / ".switchboard" / "local.json")


@pytest.fixture
def console(world: Target) -> Iterator[ConsoleServer]:
    with ConsoleServer(world, port=0) as server:
        yield server


@contextmanager
def browser(server: ConsoleServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.get(f"/?token={server.guard.token}").status_code == 303
        yield client


def rejected_id(client: httpx.Client) -> str:
    page = client.get("/dead-letters").text
    found = re.findall(r'data-testid="letter-row" data-event-id="([^"]+)"', page)
    assert len(found) == 1, page
    return str(found[0])


def test_every_page_renders_what_the_runtime_did(console: ConsoleServer) -> None:
    with browser(console) as client:
        for path in PAGES:
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.text[:2000])

        overview = client.get("/").text
        row = re.search(r'data-integration="website_to_crm">(.*?)</tr>', overview, flags=re.S)
        assert row is not None
        counts = dict(re.findall(r'data-count="([a-z-]+)">(?:<a[^>]*>)?([0-9-]+)', row.group(1)))
        assert counts["day-received"] == "2" and counts["day-processed"] == "1", counts
        assert counts["day-dead-lettered"] == "1" and counts["in-dlq"] == "1", counts

        events = client.get("/events?integration=website_to_crm").text
        assert f'data-event-id="{LEAD_ID}"' in events
        assert 'data-total="2"' in events

        story = client.get(f"/events/website_to_crm/{LEAD_ID}").text
        steps = re.findall(r'data-testid="step-row" data-step="([^"]+)"', story)
        assert steps == ["upsert_contact", "qualify", "note", "emit.lead.created"], story
        assert "signature verified" in story
        request = dict(re.findall(r'<tr data-header="([^"]+)"><th>[^<]*</th><td>([^<]*)</td>', story))
        assert request["content-type"] == "application/json" and request["webhook-id"] == LEAD_ID, request
        assert request["webhook-signature"] == request["webhook-timestamp"] == "verified (value not kept)"
        assert re.fullmatch(r"\d+ bytes", request["content-length"]), request
        assert "story-request-body" not in story  # the ingress keeps no body (shared/inbound.py)
        durations = re.findall(r"<td class=\"n\" data-duration>([^<]+)</td>", story)
        assert durations and all(re.fullmatch(r"-|\d+ ms|\d+\.\d s", d) for d in durations), durations
        downstream = set(
            re.findall(r'data-testid="downstream-row"><td>(\w+)</td><td><a[^>]*>([^<]+)<', story)
        )
        assert ("lead_enrichment", derived_id("enrich", LEAD_ID)) in downstream, downstream
        assert ("new_lead_notify", derived_id("ack", LEAD_ID)) in downstream, downstream

        dead = rejected_id(client)
        letter_story = client.get(f"/events/website_to_crm/{dead}").text
        assert 'data-testid="replay-button"' in letter_story
        assert "target_rejected" in letter_story and "INVALID_PHONE_NUMBER" in letter_story
        assert 'id="story-body"' in letter_story
        assert 'id="story-request"' not in letter_story  # a form post: the ingress keeps no request

        refused = client.get("/refused?integration=website_to_crm").text
        assert re.search(
            r'data-testid="refused-row" data-status="401" data-integration="website_to_crm"', refused
        )
        assert "invalid_signature" in refused

        flow = client.get("/flow").text
        edge = re.search(
            r'data-source="integration:website_to_crm" data-target="event:lead.created" data-count="(\d+)"',
            flow,
        )
        assert edge is not None and edge.group(1) == "1"
        assert 'data-source="event:lead.created" data-target="integration:lead_enrichment"' in flow


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def canaries(target: Target) -> set[str]:
    """Every secret value the local runtime holds (its stand-ins' sample credentials and tokens)."""
    found: set[str] = set()
    for conn, _used_by in connections().values():
        value = read_secret(target, conn)  # from its store: a secret, or an SSM parameter
        for key, field in value.items():
            if key in NOT_SECRET:
                continue
            found.update(s for s in _strings(field) if len(s) >= 8)
    return found


def test_no_page_shows_a_secret_or_a_persons_data(console: ConsoleServer, world: Target) -> None:
    secrets_ = canaries(world)
    assert len(secrets_) >= 10, secrets_  # signing secrets, API tokens, OAuth client secrets and tokens
    plaintext = create_key(
        world.client("dynamodb"), world.table, name="assistant", tools=["stock.get"], per_minute=5, per_day=50
    )[1]
    audit.write(
        world.client("dynamodb"),
        world.table,
        key_id="abcdefghij",
        tool="crm.upsert_contact",
        arguments={"email": REJECTED_EMAIL, "note": f"call {REJECTED_EMAIL} on +44 20 7946 0321"},
        outcome="ok",
        duration_ms=12.5,
        retention_days=1,
    )
    secrets_.add(plaintext)
    with browser(console) as client:
        pages = {path: client.get(path).text for path in PAGES}
        for _ in range(2):  # the pages' event links, then the downstream events the stories link
            links = {
                unquote(link)
                for text in pages.values()
                for link in re.findall(r'href="(/events/[^"]+)"', text)
            }
            pages |= {link: client.get(link).text for link in links - set(pages)}
        stories = [p for p in pages if p.startswith("/events/")]
        assert len(stories) >= 6, stories  # the lead, its notification and enrichment, the rejected form
        pages["email search"] = client.post(
            "/events", data={"csrf": console.guard.csrf, "email": REJECTED_EMAIL}
        ).text
    for path, text in pages.items():
        leaked = [s for s in secrets_ if s in text]
        assert not leaked, (path, leaked)
        for person in (
            LEAD_EMAIL,
            LEAD_EMAIL.lower(),
            REJECTED_EMAIL,
            "Lena Fischer",
            "Priya Raman",
            "7946 0321",
        ):
            assert person not in text, (path, person)
    assert "l***@fischer-kaffee.example" in pages[f"/events/website_to_crm/{_dead_id(pages)}"]
    assert "***" in pages["/keys"] and 'data-testid="audit-row" data-outcome="ok"' in pages["/keys"]
    assert "sb_live_" in pages["/keys"]  # the key's public id is shown, its secret part never


def _dead_id(pages: dict[str, str]) -> str:
    found = re.findall(r'data-testid="letter-row" data-event-id="([^"]+)"', pages["/dead-letters"])
    assert len(found) == 1
    return str(found[0])


def test_the_email_search_matches_by_hash_and_keeps_the_address_out_of_urls(console: ConsoleServer) -> None:
    with browser(console) as client:
        dead = rejected_id(client)
        found = client.post(
            "/events", data={"csrf": console.guard.csrf, "email": f"  {REJECTED_EMAIL.upper()} "}
        )
        assert found.status_code == 200
        assert re.findall(r'data-testid="event-row" data-event-id="([^"]+)"', found.text) == [dead]
        assert REJECTED_EMAIL not in found.text
        by_hash = client.get(f"/events?email_sha256={email_hash(REJECTED_EMAIL)}")
        assert re.findall(r'data-testid="event-row" data-event-id="([^"]+)"', by_hash.text) == [dead]
        nobody = client.post("/events", data={"csrf": console.guard.csrf, "email": "nobody@example.com"})
        assert 'data-total="0"' in nobody.text
        assert client.get("/events?email_sha256=not-a-hash").status_code == 400


def test_replay_needs_the_csrf_token_and_reruns_the_letter(
    console: ConsoleServer, runtime: LocalRuntime
) -> None:
    with browser(console) as client:
        dead = rejected_id(client)
        story = client.get(f"/events/website_to_crm/{dead}").text
        message_id = re.search(r'name="message_id" value="([^"]+)"', story)
        assert message_id is not None
        form = {"message_id": message_id.group(1)}
        refused = client.post("/dead-letters/website_to_crm/replay", data=form)
        assert refused.status_code == 403
        assert rejected_id(client) == dead  # still there

        done = client.post("/dead-letters/website_to_crm/replay", data={**form, "csrf": console.guard.csrf})
        assert done.status_code == 200, done.text
        assert f"replayed {dead} (website_to_crm)" in done.text
        assert runtime.wait_drained(60)
        after = client.get(f"/events/website_to_crm/{dead}").text
        assert 'data-testid="status">processed<' in after, after  # HubSpot's fault was used up
        assert 'data-count="0"' in client.get("/dead-letters").text.split('id="dlq-website_to_crm"')[1][:400]


def test_redrive_says_how_many_and_moves_only_what_was_confirmed(
    console: ConsoleServer, runtime: LocalRuntime
) -> None:
    with browser(console) as client:
        dead = rejected_id(client)
        question = client.get("/dead-letters/website_to_crm/redrive").text
        assert re.search(r'id="redrive-count" data-count="1"', question)
        assert "Move <strong" in question and "switchboard-local-website-to-crm-dlq" in question

        no_token = client.post("/dead-letters/website_to_crm/redrive", data={"count": "1"})
        assert no_token.status_code == 403
        changed = client.post(
            "/dead-letters/website_to_crm/redrive", data={"count": "2", "csrf": console.guard.csrf}
        )
        assert changed.status_code == 409 and "holds 1 letter(s) now, not the 2 you confirmed" in changed.text
        assert rejected_id(client) == dead

        done = client.post(
            "/dead-letters/website_to_crm/redrive", data={"count": "1", "csrf": console.guard.csrf}
        )
        assert done.status_code == 200, done.text
        assert "done: 1 message(s) back on switchboard-local-website-to-crm" in done.text
        assert runtime.wait_drained(60)
        assert 'data-testid="status">processed<' in client.get(f"/events/website_to_crm/{dead}").text


def test_a_story_with_retries_shows_each_with_its_back_off_and_reason(
    runtime: LocalRuntime, tmp_path: Path
) -> None:
    """HubSpot answers 503 twice, then takes the lead: two retries, then processed."""
    answer = deliver(runtime, "form_post_hubspot_unavailable.json")
    assert answer.status_code == 202, answer.text
    event_id = answer.json()["id"]
    assert runtime.wait_drained(60)
    target = resolve(None, state_file=tmp_path / ".switchboard" / "local.json")
    with ConsoleServer(target, port=0) as server, browser(server) as client:
        story = client.get(f"/events/website_to_crm/{event_id}").text
        assert 'data-testid="status">processed<' in story, story
        section = re.search(r'<section id="story-retries".*?</section>', story, re.S)
        assert section is not None
        retries = re.findall(
            r'<tr data-testid="retry-row"><td>[^<]+</td><td>(\d+)</td><td>([0-9.]+) s</td><td class="reason">([^<]*)</td>',
            section.group(0),
        )
        assert [attempt for attempt, _, _ in retries] == ["1", "2"], section.group(0)
        assert all(float(delay) > 0 and "503" in reason for _, delay, reason in retries), retries
        listed = client.get(f"/events?q={event_id}").text
        assert re.search(
            rf'data-event-id="{event_id}" data-integration="website_to_crm" data-status="processed"', listed
        )
