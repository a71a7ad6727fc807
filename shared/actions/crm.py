"""CRM actions (HubSpot): create or update a contact, set its properties, read it, log a note.

The contact's typed fields map onto HubSpot's property names here, once (``first_name`` ->
``firstname``; ``lead_source`` and ``utm_*`` are the custom properties ``switchboard setup hubspot``
creates). Anything else goes in ``properties`` by HubSpot's internal name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from apps import hubspot
from shared.actions.base import Action, ActionContext

__all__ = [
    "ACTIONS",
    "ADD_NOTE",
    "FIND_CONTACT",
    "GET_CONTACT",
    "UPDATE_CONTACT",
    "UPSERT_CONTACT",
    "AddNote",
    "ContactFound",
    "ContactRef",
    "FindContact",
    "GetContact",
    "NoteRef",
    "UpdateContact",
    "UpsertContact",
    "UpsertedContact",
]

_EMAIL: Final = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_PROPERTY: Final = r"^[a-z][a-z0-9_]{0,99}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class UpsertContact(_In):
    """A person to create, or to update if a contact has this email (HubSpot matches it case-insensitively)."""

    email: str = Field(
        pattern=_EMAIL, max_length=254, description="the contact's email address (the match key)"
    )
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    company: str | None = Field(default=None, max_length=200)
    lead_source: str | None = Field(default=None, max_length=100, description="where the lead came from")
    utm_source: str | None = Field(default=None, max_length=200)
    utm_medium: str | None = Field(default=None, max_length=200)
    utm_campaign: str | None = Field(default=None, max_length=200)
    utm_term: str | None = Field(default=None, max_length=200)
    utm_content: str | None = Field(default=None, max_length=200)
    properties: dict[str, str] = Field(
        default_factory=dict,
        description="other HubSpot contact properties by internal name; the typed fields above win",
    )

    def hubspot_properties(self) -> dict[str, str]:
        """HubSpot's property names; absent values are left out (an empty string would clear one)."""
        typed = {
            "email": self.email,
            "firstname": self.first_name,
            "lastname": self.last_name,
            "phone": self.phone,
            "company": self.company,
            "lead_source": self.lead_source,
            "utm_source": self.utm_source,
            "utm_medium": self.utm_medium,
            "utm_campaign": self.utm_campaign,
            "utm_term": self.utm_term,
            "utm_content": self.utm_content,
        }
        return {**self.properties, **{k: v for k, v in typed.items() if v}}


class UpsertedContact(_Out):
    id: str = Field(description="HubSpot's record id of the contact")
    is_new: bool = Field(description="true if this call created the contact")


class UpdateContact(_In):
    contact_id: str = Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z_-]+$")
    properties: dict[str, str] = Field(
        min_length=1, description="HubSpot contact properties by internal name; an empty string clears one"
    )


class ContactRef(_Out):
    id: str


class GetContact(_In):
    contact_id: str = Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z_-]+$")
    properties: list[str] = Field(
        default_factory=list, max_length=50, description="property names to read (default: HubSpot's few)"
    )


class FindContact(_In):
    email: str = Field(pattern=_EMAIL, max_length=254)
    properties: list[str] = Field(default_factory=list, max_length=50)


class ContactFound(_Out):
    found: bool
    id: str | None = None
    properties: dict[str, str | None] = Field(default_factory=dict)


class AddNote(_In):
    contact_id: str = Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z_-]+$")
    text: str = Field(
        min_length=1, max_length=65_536, description="plain text; shown on the contact's timeline"
    )
    timestamp: datetime | None = Field(default=None, description="when it happened (default: now)")


class NoteRef(_Out):
    id: str


def _client(ctx: ActionContext) -> hubspot.HubSpotClient:
    return hubspot.HubSpotClient(ctx.api(hubspot.APP, hubspot.CONNECTION))


def _upsert(ctx: ActionContext, data: UpsertContact) -> UpsertedContact:
    contact = _client(ctx).upsert_contact(data.email, data.hubspot_properties())
    return UpsertedContact(id=contact.id, is_new=bool(contact.is_new))


def _update(ctx: ActionContext, data: UpdateContact) -> ContactRef:
    return ContactRef(id=_client(ctx).update_contact(data.contact_id, data.properties).id)


def _get(ctx: ActionContext, data: GetContact) -> ContactFound:
    contact = _client(ctx).get_contact(data.contact_id, properties=data.properties)
    return ContactFound(found=True, id=contact.id, properties=contact.properties)


def _find(ctx: ActionContext, data: FindContact) -> ContactFound:
    contact = _client(ctx).find_contact_by_email(data.email, properties=data.properties)
    if contact is None:
        return ContactFound(found=False)
    return ContactFound(found=True, id=contact.id, properties=contact.properties)


def _note(ctx: ActionContext, data: AddNote) -> NoteRef:
    when = data.timestamp or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return NoteRef(id=_client(ctx).create_note(data.contact_id, data.text, when).id)


_CONNECTIONS = (hubspot.CONNECTION,)

UPSERT_CONTACT: Final = Action(
    name="crm.upsert_contact",
    description="Create a CRM contact, or update the one with this email (HubSpot; never a duplicate).",
    input=UpsertContact,
    output=UpsertedContact,
    app=hubspot.APP.name,
    connections=_CONNECTIONS,
    run=_upsert,
)
UPDATE_CONTACT: Final = Action(
    name="crm.update_contact",
    description="Set properties on an existing CRM contact by its record id (HubSpot).",
    input=UpdateContact,
    output=ContactRef,
    app=hubspot.APP.name,
    connections=_CONNECTIONS,
    run=_update,
)
GET_CONTACT: Final = Action(
    name="crm.get_contact",
    description="Read a CRM contact's properties by its record id (HubSpot).",
    input=GetContact,
    output=ContactFound,
    app=hubspot.APP.name,
    connections=_CONNECTIONS,
    run=_get,
    effect=False,
)
FIND_CONTACT: Final = Action(
    name="crm.find_contact",
    description="Find a CRM contact by email address; found=false if there is none (HubSpot).",
    input=FindContact,
    output=ContactFound,
    app=hubspot.APP.name,
    connections=_CONNECTIONS,
    run=_find,
    effect=False,
)
ADD_NOTE: Final = Action(
    name="crm.add_note",
    description="Log a plain-text note on a CRM contact's timeline (HubSpot).",
    input=AddNote,
    output=NoteRef,
    app=hubspot.APP.name,
    connections=_CONNECTIONS,
    run=_note,
)

ACTIONS: Final = (UPSERT_CONTACT, UPDATE_CONTACT, GET_CONTACT, FIND_CONTACT, ADD_NOTE)
