"""Models of new_lead_notify: the two ways a lead arrives, the one shape the worker sees, settings.

``LeadNotice`` is ours, so it is strict. The arrivals are someone else's: ``lead.created`` is
website_to_crm's event and HubSpot's webhook is HubSpot's, so both ignore fields they do not know
(a producer adding a field must not start dead-lettering leads).
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

from apps.hubspot.webhooks import WebhookEvent
from shared.events import LeadCreated

__all__ = [
    "HubSpotWebhook",
    "LeadCreated",
    "LeadNotice",
    "Person",
    "Settings",
]

_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- arrivals ----------------------------------------------------------------------------------


class HubSpotWebhook(RootModel[list[WebhookEvent]]):
    """A HubSpot webhook request: a JSON array of events (up to 100), not an object."""


# --- what the worker sees ----------------------------------------------------------------------


class Person(BaseModel):
    """Who the lead is. Every field may be missing: HubSpot contacts need no name or email."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None

    @property
    def name(self) -> str:
        full = " ".join(p.strip() for p in (self.first_name, self.last_name) if p and p.strip())
        return full or self.email or "(no name)"


class LeadNotice(BaseModel):
    """One unit of work: announce a lead (email to sales + Slack), or acknowledge it (email to them).

    The two are separate work items because they are keyed differently: an announcement once per
    *contact* (the website and HubSpot both report a new one), an acknowledgement once per *enquiry*.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["announce", "acknowledge"]
    contact_id: str = Field(min_length=1, max_length=64)
    #: The HubSpot portal the contact is in, when known.
    portal_id: str | None = None
    is_new_contact: bool
    #: Where the lead came from: ``website_form``, ``tally`` ..., or ``hubspot:<changeSource>``.
    source: str = Field(min_length=1, max_length=100)
    occurred_at: datetime
    crm_url: str | None = None
    #: Who it is. ``None`` when HubSpot only said "contact created": the worker reads the contact.
    person: Person | None = None
    message: str | None = Field(default=None, max_length=5000)

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- settings ----------------------------------------------------------------------------------


def _email_address(value: str, *, display_name: bool) -> str:
    name, address = email.utils.parseaddr(value)
    if not _ADDRESS.match(address) or (name and not display_name):
        raise ValueError("is not an email address")
    return value.strip()


class Settings(BaseModel):
    """new_lead_notify's configuration, per stage (CDK context ``settings.new_lead_notify``)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    #: Where announcements are emailed (a shared sales mailbox or a person).
    sales_inbox: str
    #: The sender, with a display name if wanted; its domain must be verified in SES.
    from_address: str
    #: Shown in email subjects and signatures ("Bramble Bakery").
    business_name: str = Field(min_length=1, max_length=100)
    #: Channel name (``#new-leads``) or id (``C0123ABCDEF``); the Slack app must be in it.
    slack_channel: str = Field(default="#new-leads", min_length=2, max_length=80)
    #: Also email the lead a short "thanks, we'll be in touch" (website enquiries only).
    acknowledge_lead: bool = False
    #: The HubSpot account id, for links to contacts when an event carries none.
    hubspot_portal_id: str | None = Field(default=None, pattern=r"^\d{1,12}$")

    _sales_inbox = field_validator("sales_inbox")(lambda cls, v: _email_address(v, display_name=False))
    _from_address = field_validator("from_address")(lambda cls, v: _email_address(v, display_name=True))
