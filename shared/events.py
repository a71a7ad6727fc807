"""The domain events integrations put on the Switchboard bus, declared once.

The emitter and every consumer read the same model, so a field renamed by one cannot silently break
another. Consumer-side models tolerate extra fields (an emitter may add some), and every event
carries ``source_event_id`` - the id of the event that caused it - which consumers key their own
work items on, so a re-delivered bus event is processed once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.envelope import MAX_EVENT_ID

__all__ = [
    "BUTTON_CLICKED",
    "LEAD_CREATED",
    "LEAD_SCORED",
    "ButtonClicked",
    "LeadCreated",
    "LeadSnapshot",
    "LeadUtm",
    "derived_id",
]

LEAD_CREATED = "lead.created"
LEAD_SCORED = "lead.scored"
BUTTON_CLICKED = "chat.button_clicked"


def derived_id(prefix: str, source_event_id: str) -> str:
    """``<prefix>:<source_event_id>`` as a consumer's event id, hashed if it would be too long.

    The same source event always gives the same id, so the consumer's idempotency holds.
    """
    key = f"{prefix}:{source_event_id}"
    if len(key) <= MAX_EVENT_ID:
        return key
    return f"{prefix}:sha256-{hashlib.sha256(source_event_id.encode()).hexdigest()[:40]}"


class LeadUtm(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore", frozen=True)

    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    term: str | None = None
    content: str | None = None


class LeadSnapshot(BaseModel):
    """Who wrote in, as website_to_crm validated it (its ``Lead`` model, dumped)."""

    model_config = ConfigDict(defer_build=True, extra="ignore", frozen=True)

    #: Required by website_to_crm today; optional here so a phone-only lead source can emit too.
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    company: str | None = None
    message: str | None = Field(default=None, max_length=5000)
    consent: bool = False
    utm: LeadUtm = Field(default_factory=LeadUtm)
    #: ``website_form``, ``website_webhook``, ``tally`` ...
    source: str = Field(default="website", min_length=1, max_length=100)
    form_id: str | None = None
    page_url: str | None = None
    submitted_at: datetime | None = None


class LeadCreated(BaseModel):
    """``lead.created``: a lead is in the CRM (website_to_crm)."""

    model_config = ConfigDict(defer_build=True, extra="ignore", frozen=True)

    contact_id: str = Field(min_length=1, max_length=64)
    #: Whether this lead created the contact (False: an existing contact wrote again).
    is_new_contact: bool
    #: The contact's page in the CRM (:func:`apps.hubspot.contact_url`); the portal is read back from it
    #: with :func:`apps.hubspot.portal_of` by whoever needs it.
    crm_url: str | None = None
    owner_id: str | None = None
    #: The id of the event website_to_crm processed (``webhook-id``, Tally's ``eventId`` ...).
    source_event_id: str = Field(min_length=1, max_length=MAX_EVENT_ID)
    lead: LeadSnapshot
    integration: str | None = None


class ButtonClicked(BaseModel):
    """``chat.button_clicked``: someone clicked a button of a message a flow posted to chat.

    A chat app has one interactivity URL (Slack: *Interactivity & Shortcuts*), but many flows post
    buttons: the integration that owns the URL verifies the click and puts it here, and each flow
    takes the clicks whose ``action_id`` it gave its buttons (``lead_followup.book``,
    ``approval.approve`` ...) and ignores the rest. ``source_event_id`` is the click's own work item
    id - one per message and button, so a double click or the chat app's retry is one event.
    """

    model_config = ConfigDict(defer_build=True, extra="ignore", frozen=True)

    #: The button's ``action_id``, as the flow that posted it named it.
    action_id: str = Field(min_length=1, max_length=255)
    #: The button's ``value`` (what the flow put there: an id, never a secret).
    value: str | None = Field(default=None, max_length=2000)
    #: Who clicked: the chat app's user id (Slack ``U…``) and, when sent, their name.
    user_id: str = Field(min_length=1, max_length=40)
    user_name: str | None = Field(default=None, max_length=200)
    #: The message the button is in: its channel and its ``ts`` (its id in the channel).
    channel: str = Field(min_length=1, max_length=40)
    message_ts: str = Field(min_length=1, max_length=40)
    #: The chat app (``slack``).
    app: str = Field(default="slack", min_length=1, max_length=40)
    source_event_id: str = Field(min_length=1, max_length=MAX_EVENT_ID)
