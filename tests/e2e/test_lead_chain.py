"""End to end over real HTTP: a website form post becomes a HubSpot contact, ``lead.created``, one
email to sales and one Slack message - and HubSpot's own webhook for that contact changes nothing.

The local runtime runs website_to_crm and new_lead_notify with moto (SES included) and the sandbox
apps. Sent emails are read the way anyone can read them from a moto server: ``/moto-api/data.json``
lists every moto model instance, SES's ``Message`` (simple emails) and ``RawMessage`` among them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from infra.local.runtime import LocalRuntime
from infra.local.samples import EVENTS_DIR, build_request, load_sample
from shared.registry import load_spec

pytestmark = pytest.mark.e2e

WEBSITE = load_spec("website_to_crm")
NOTIFY = load_spec("new_lead_notify")
SALES = "sales@bramble-bakery.example"
LEAD = "tomas.oneill@gmail.example"


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(port=0, specs=(WEBSITE, NOTIFY), retry_scale=0.02, log_dir=None, state_file=None) as rt:
        yield rt
    assert rt.errors == [], rt.errors


def sent_emails(rt: LocalRuntime) -> list[dict[str, Any]]:
    """The emails the moto server's SES accepted, from its model dump."""
    data = httpx.get(f"{rt.aws_endpoint}/moto-api/data.json", timeout=10).json()
    ses = data.get("ses", {})
    return [*ses.get("Message", []), *ses.get("RawMessage", [])]


def to(emails: list[dict[str, Any]], address: str) -> list[dict[str, Any]]:
    return [m for m in emails if address in m["destinations"].get("ToAddresses", [])]


def sandbox(rt: LocalRuntime, app: str, path: str) -> Any:
    return httpx.get(f"{rt.url}/_sandbox/{app}/{path}", timeout=5).json()


def post_form(rt: LocalRuntime) -> httpx.Response:
    sample = load_sample(EVENTS_DIR / "website_to_crm" / "form_post.json", WEBSITE)
    url, headers, body = build_request(WEBSITE, sample, rt.url, None)
    return httpx.post(url, headers=headers, content=body, timeout=10)


def post_hubspot_creation(rt: LocalRuntime, contact_id: str) -> httpx.Response:
    """HubSpot's contact.creation webhook for the contact, signed with the local client secret."""
    template = load_sample(
        EVENTS_DIR / "new_lead_notify" / "lead_created_new_contact_hubspot_webhook.json", NOTIFY
    )
    events = json.loads(template.body)[:1]
    events[0] |= {
        "objectId": int(contact_id),
        "occurredAt": int(time.time() * 1000),
        "changeSource": "INTEGRATION",
    }
    sample = template.__class__(**{**template.__dict__, "body": json.dumps(events).encode()})
    url, headers, body = build_request(NOTIFY, sample, rt.url, rt.signing_secret(NOTIFY, sample.trigger))
    # X-HubSpot-Signature-v3 signs the URL, scheme included; API Gateway tells the function the
    # scheme in X-Forwarded-Proto, and the local gateway serves plain http.
    headers["x-forwarded-proto"] = "http"
    return httpx.post(url, headers=headers, content=body, timeout=10)


def test_a_website_lead_is_announced_once_by_email_and_in_slack(runtime: LocalRuntime) -> None:
    answers = [post_form(runtime) for _ in range(2)]  # a double-clicked submit
    assert [a.status_code for a in answers] == [202, 202]
    assert runtime.wait_drained(60)

    [contact] = sandbox(runtime, "hubspot", "_state")["contacts"]
    assert contact["properties"]["email"] == LEAD
    hooked = post_hubspot_creation(runtime, contact["id"])  # HubSpot reports the contact it created
    assert hooked.status_code == 202, hooked.text
    assert hooked.json()["ids"] == [f"contact:24681357:{contact['id']}"]
    assert runtime.wait_drained(60)

    emails = sent_emails(runtime)
    [announcement] = to(emails, SALES)
    assert announcement["subject"] == "New lead: Tomás O'Neill"
    assert announcement["source"] == "Bramble Bakery <hello@bramble-bakery.example>"
    link = f"https://app.hubspot.com/contacts/24681357/record/0-1/{contact['id']}"
    assert link in announcement["body"]
    [thanks] = to(emails, LEAD)
    assert thanks["subject"] == "Thanks for getting in touch with Bramble Bakery"
    assert len(emails) == 2

    [post] = sandbox(runtime, "slack", "_state")["messages"]
    assert post["channel_name"] == "new-leads"
    assert post["text"] == "New lead: Tomás O'Neill, via website contact form"
    assert f"<{link}|Open the contact in HubSpot>" in json.dumps(post["blocks"])
    # The webhook's announcement was a duplicate: HubSpot was never asked for the contact.
    reads = sandbox(runtime, "hubspot", f"_requests?path=/crm/v3/objects/contacts/{contact['id']}")[
        "requests"
    ]
    assert [r["method"] for r in reads] == ["PATCH"]  # website_to_crm's qualify step, nothing else
    assert runtime.queue_depths() == {"website_to_crm": (0, 0), "new_lead_notify": (0, 0)}
