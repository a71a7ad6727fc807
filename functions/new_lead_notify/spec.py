"""new_lead_notify: a new lead is announced by email and in Slack - once.

Two ways in:

* the bus event ``lead.created`` that website_to_crm emits after writing a website enquiry to HubSpot;
* HubSpot's own ``contact.creation`` webhook (``POST /hooks/new_lead_notify/hubspot``, signed
  ``X-HubSpot-Signature-v3``), for contacts created in HubSpot itself: by hand, by an import, by a
  HubSpot form - and also for the contacts website_to_crm creates.

So one new contact can arrive twice. The work item's event id is the idempotency key, and both
arrivals of a new contact get the same one, ``contact:<portal id>:<contact id>``: whichever comes
second is a duplicate and nothing is announced twice (the portal of a ``lead.created`` is the one
in its ``crm_url``, which website_to_crm builds from its ``hubspot_portal_id``; read back with
:func:`apps.hubspot.portal_of`). An enquiry from an existing contact (``is_new_contact: false``) is
news of its own and gets ``lead:<source_event_id>``.
The acknowledgement to the lead is per enquiry (``ack:<source_event_id>``), a separate work item, so
it is sent even when HubSpot's webhook happened to announce the contact first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from apps import hubspot, slack
from shared.events import derived_id
from shared.spec import (
    Accepted,
    BusEvent,
    BusTrigger,
    EmailSender,
    IntegrationSpec,
    RetryPolicy,
    WebhookTrigger,
)
from shared.webhooks.base import WebhookRequest

from .models import HubSpotWebhook, LeadCreated, LeadNotice, Person, Settings

#: The only HubSpot subscription type announced; other events in a batch are accepted and ignored.
CONTACT_CREATION = "contact.creation"
#: Portal part of the key when the portal is unknown (a ``lead.created`` without ``crm_url``).
UNKNOWN_PORTAL = "hubspot"


def contact_key(portal_id: str | int | None, contact_id: str | int) -> str:
    """The event id of a *new contact*'s announcement, the same whichever way the contact arrives."""
    return f"contact:{portal_id or UNKNOWN_PORTAL}:{contact_id}"


def accept_lead_created(detail: LeadCreated, event: BusEvent) -> Sequence[Accepted]:
    """An announcement (keyed on the contact if it is new) and an acknowledgement (on the enquiry)."""
    lead = detail.lead
    portal = hubspot.portal_of(detail.crm_url)
    person = Person(
        first_name=lead.first_name,
        last_name=lead.last_name,
        email=lead.email,
        phone=lead.phone,
        company=lead.company,
    )
    occurred = lead.submitted_at or _parse_time(event.time)
    fields = {
        "contact_id": detail.contact_id,
        "portal_id": portal,
        "is_new_contact": detail.is_new_contact,
        "source": lead.source,
        "occurred_at": occurred,
        "crm_url": detail.crm_url,
        "person": person,
        "message": lead.message,
    }
    announce_id = (
        contact_key(portal, detail.contact_id)
        if detail.is_new_contact
        else derived_id("lead", detail.source_event_id)
    )
    return [
        Accepted(
            event_id=announce_id,
            type="lead.created",
            data=LeadNotice(action="announce", **fields),
        ),
        Accepted(
            event_id=derived_id("ack", detail.source_event_id),
            type="lead.acknowledge",
            data=LeadNotice(action="acknowledge", **fields),
        ),
    ]


def accept_hubspot(batch: HubSpotWebhook, request: WebhookRequest) -> Sequence[Accepted]:
    """One announcement per created contact in the batch; every other event type is ignored."""
    accepted: dict[str, Accepted] = {}
    for event in batch.root:
        if event.subscription_type != CONTACT_CREATION:
            continue
        key = contact_key(event.portal_id, event.object_id)
        source = f"hubspot:{event.change_source}" if event.change_source else "hubspot"
        # HubSpot may put the same event in a batch twice; queue it once.
        accepted.setdefault(
            key,
            Accepted(
                event_id=key,
                type=CONTACT_CREATION,
                data=LeadNotice(
                    action="announce",
                    contact_id=str(event.object_id),
                    portal_id=str(event.portal_id),
                    is_new_contact=True,
                    source=source[:100],
                    occurred_at=event.occurred_at,
                ),
            ),
        )
    return list(accepted.values())


def _parse_time(value: str) -> datetime:
    """EventBridge's ``time`` (``2026-11-20T09:14:05Z``); now if it is absent or unreadable."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)


SPEC = IntegrationSpec(
    name="new_lead_notify",
    description="New lead -> email to sales (SES) + Slack message, once per new contact; optional thank-you",
    input_model=LeadNotice,
    settings=Settings,
    worker="functions.new_lead_notify.worker:process",
    triggers=(
        BusTrigger(
            name="lead_created",
            detail_types=("lead.created",),
            model=LeadCreated,
            accept=accept_lead_created,
            description="website_to_crm wrote a website enquiry to HubSpot",
        ),
        WebhookTrigger(
            name="hubspot",
            path="/hooks/new_lead_notify/hubspot",
            verifier=hubspot.VERIFIER_V3,
            secret=hubspot.SIGNING,
            model=HubSpotWebhook,
            accept=accept_hubspot,
            description="HubSpot webhook (contact.creation), a JSON array of events",
            events=(CONTACT_CREATION,),
        ),
    ),
    connections=(hubspot.CONNECTION, slack.CONNECTION),
    email=EmailSender(from_setting="from_address", recipients=("sales_inbox",)),
    timeout_s=30,
    memory_mb=256,
    batch_size=10,
    # Slack's chat.postMessage allows about one message per second per channel, and every
    # announcement goes to the same channel: one record at a time per invocation (email, then Slack,
    # a few hundred ms) and at most two invocations (the SQS event source's floor) keep posts near
    # that rate even when an import creates a hundred contacts at once. Slack tolerates short
    # bursts; beyond them it answers 429 + Retry-After, which becomes the message's back-off. Leads
    # are a handful a day, so one at a time costs nothing.
    max_concurrency=1,
    max_invocations=2,
    # A Slack or SES outage of up to ~20 minutes is ridden out (10 s doubling, 8 tries in all);
    # after that the announcement waits in the DLQ for a redrive, with its completed steps kept.
    retry=RetryPolicy(max_attempts=8, base_delay_s=10, max_delay_s=900),
)
