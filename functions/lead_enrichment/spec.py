"""lead_enrichment: know who wrote in - every new lead gets its company looked up and a score.

One way in: the ``lead.created`` domain event on the Switchboard bus (website_to_crm emits it after
the contact is in HubSpot). Work item event id: ``enrich:<source_event_id>`` - the lead event's own
id (``webhook-id``, Tally's ``eventId``, the form's content hash) under this integration's prefix. A
re-delivered or re-emitted ``lead.created`` is therefore the same work item, and the id names which
lead it was without carrying personal data.

Out: the HubSpot contact updated (company, industry, number of employees, score, reason) and a
``lead.scored`` event.
"""

from __future__ import annotations

from collections.abc import Sequence

from apps import hubspot, peopledatalabs
from shared.events import derived_id
from shared.spec import Accepted, BusEvent, BusTrigger, IntegrationSpec, RetryPolicy

from .models import EVENT_ID_PREFIX, EnrichLead, LeadCreated, Settings


def accept_lead(detail: LeadCreated, event: BusEvent) -> Sequence[Accepted]:
    return [
        Accepted(
            event_id=derived_id(EVENT_ID_PREFIX, detail.source_event_id),
            type="lead.enrich",
            data=EnrichLead.from_event(detail),
        )
    ]


SPEC = IntegrationSpec(
    name="lead_enrichment",
    description="lead.created -> company lookup (People Data Labs) -> lead score -> HubSpot contact, lead.scored",
    input_model=EnrichLead,
    settings=Settings,
    worker="functions.lead_enrichment.worker:process",
    triggers=(
        BusTrigger(
            name="lead_created",
            detail_types=("lead.created",),
            model=LeadCreated,
            accept=accept_lead,
            description="A lead is in the CRM (website_to_crm): enrich and score it",
        ),
    ),
    connections=(peopledatalabs.CONNECTION, hubspot.CONNECTION),
    emits=("lead.scored",),
    timeout_s=30,
    memory_mb=256,
    # Small batches: each lead is up to four calls (lookup, two cached property reads, update).
    batch_size=5,
    max_concurrency=peopledatalabs.APP.max_concurrency,
    # 2 invocations x 2 requests in flight: at most four at once, well inside HubSpot's lowest burst
    # limit (100 / 10 s) beside website_to_crm. A burst of leads can still pass PDL's free tier
    # (10 lookups a minute); those 429s back off like any other.
    max_invocations=2,
    # Quota (402) and rate (429) answers need minutes, not seconds: up to an hour apart, ten tries
    # (about four hours) before the DLQ - enough for someone to buy credits and see them used.
    retry=RetryPolicy(max_attempts=10, base_delay_s=30, max_delay_s=3600),
)
