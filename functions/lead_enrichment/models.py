"""Models of lead_enrichment: the ``lead.created`` event it consumes, its work item, its settings.

``LeadCreated`` is another integration's event, so it tolerates extra fields (website_to_crm may add
some). ``EnrichLead`` is ours and strict: it carries only what scoring and the CRM update need - the
lead's name and phone number never enter this integration's queue.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.events import LeadCreated

__all__ = ["CompanySummary", "EnrichLead", "LeadCreated", "Settings"]

# A permissive shape check: website_to_crm validated the address; this only guarantees a domain.
_EMAIL = re.compile(r"^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
#: Work items are keyed ``enrich:<the lead's event id>`` (see :func:`shared.events.derived_id`).
EVENT_ID_PREFIX = "enrich"


class EnrichLead(BaseModel):
    """One lead to enrich and score: what the worker receives (strict, ours)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    contact_id: str = Field(min_length=1, max_length=50)
    email: str
    #: The company name the person typed, if any.
    company: str | None = None
    message: str | None = None
    source: str
    utm_source: str | None = None
    utm_medium: str | None = None
    crm_url: str | None = None
    #: ``source_event_id`` of the ``lead.created`` event (its sender's own event id).
    lead_event_id: str
    #: When the person submitted the lead: orders the leads of one contact (a newer lead's score is
    #: never overwritten by an older one's). ``None`` for items queued before it was carried.
    submitted_at: datetime | None = None

    @classmethod
    def from_event(cls, event: LeadCreated) -> EnrichLead:
        lead = event.lead
        if not lead.email or not _EMAIL.match(lead.email.strip()):
            raise ValueError("lead.email is not an email address with a domain")
        return cls(
            contact_id=event.contact_id,
            email=lead.email.strip(),
            company=lead.company or None,
            message=lead.message or None,
            source=lead.source,
            utm_source=lead.utm.source or None,
            utm_medium=lead.utm.medium or None,
            crm_url=event.crm_url,
            lead_event_id=event.source_event_id,
            submitted_at=lead.submitted_at,
        )

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2].strip().lower().rstrip(".")


class CompanySummary(BaseModel):
    """What this integration keeps of the company found: saved in the effects ledger and sent on the bus.

    Made from the ``company.enrich`` answer on the worker path (``worker.company_summary``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None
    domain: str | None
    size: str | None
    employee_count: int | None
    industry: str | None
    country: str | None
    locality: str | None
    linkedin_url: str | None
    likelihood: int | None


class Settings(BaseModel):
    """lead_enrichment's configuration, per stage (CDK context ``settings.lead_enrichment``)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    #: Ask PDL for matches at least this likely (1-10); a weaker match is a free 404. ``None``: PDL's default.
    min_likelihood: int | None = Field(default=None, ge=1, le=10)
    #: Replace the company name the person typed with PDL's. Off: a typed name is kept, PDL's fills a gap.
    overwrite_company: bool = False
