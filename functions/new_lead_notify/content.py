"""What an announcement says about a lead, in one place for the emails and the Slack message.

Plain values only: the email templates escape for HTML and the Slack message escapes for ``mrkdwn``,
each at the point of output, so nothing here is pre-escaped for either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from apps.hubspot import contact_url, is_app_url

from .models import LeadNotice, Person

__all__ = ["LeadView", "crm_link", "source_label", "template_context", "view"]

_SOURCES: Final = {
    "website_form": "website contact form",
    "website_webhook": "website",
    "tally": "Tally form",
}
# HubSpot's changeSource values a contact.creation carries most often, in words.
_HUBSPOT_SOURCES: Final = {
    "CRM_UI": "added in HubSpot",
    "IMPORT": "HubSpot import",
    "API": "HubSpot API",
    "INTEGRATION": "HubSpot integration",
    "FORM": "HubSpot form",
    "MOBILE_IOS": "HubSpot mobile app",
    "MOBILE_ANDROID": "HubSpot mobile app",
}


@dataclass(frozen=True)
class LeadView:
    name: str
    #: For a greeting ("Hi Priya,"); ``None`` when the lead gave no first name.
    first_name: str | None
    email: str | None
    phone: str | None
    company: str | None
    message: str | None
    source: str
    crm_url: str | None
    contact_id: str
    is_new_contact: bool
    occurred_at: datetime

    @property
    def headline(self) -> str:
        """ "New lead" for a new contact, "New enquiry" when someone already in the CRM writes again."""
        return "New lead" if self.is_new_contact else "New enquiry"

    @property
    def received(self) -> str:
        """When, for people: ``20 Nov 2026, 09:14 UTC``."""
        return self.occurred_at.strftime("%d %b %Y, %H:%M UTC")


def source_label(source: str) -> str:
    """``website_form`` -> "website contact form"; ``hubspot:IMPORT`` -> "HubSpot import"."""
    if source == "hubspot" or source.startswith("hubspot:"):
        change = source.partition(":")[2]
        return _HUBSPOT_SOURCES.get(
            change, f"HubSpot ({change.lower().replace('_', ' ')})" if change else "HubSpot"
        )
    return _SOURCES.get(source, source.replace("_", " "))


def crm_link(portal_id: str | None, contact_id: str) -> str | None:
    """The contact's page in HubSpot, when both ids are HubSpot's (digits: safe inside a link)."""
    if not (portal_id and portal_id.isdigit() and contact_id.isdigit()):
        return None
    return contact_url(portal_id, contact_id)


def view(
    notice: LeadNotice, person: Person, *, portal_fallback: str | None, source: str | None = None
) -> LeadView:
    """The lead as the announcement shows it. ``source`` overrides the notice's (HubSpot's own)."""
    return LeadView(
        name=person.name,
        first_name=(person.first_name or "").strip() or None,
        email=person.email,
        phone=person.phone,
        company=person.company,
        message=(notice.message or "").strip() or None,
        source=source_label(source or notice.source),
        crm_url=(
            notice.crm_url
            # A link we put into Slack mrkdwn and HTML must be HubSpot's and end nowhere early.
            if notice.crm_url and is_app_url(notice.crm_url)
            else crm_link(notice.portal_id or portal_fallback, notice.contact_id)
        ),
        contact_id=notice.contact_id,
        is_new_contact=notice.is_new_contact,
        occurred_at=notice.occurred_at,
    )


def template_context(lead: LeadView, business_name: str) -> dict[str, Any]:
    return {"lead": lead, "business_name": business_name}
