"""The ``crm.*`` actions, performed by HubSpot: create or update a contact, set its properties, read
it, log a note.

The domain contract - the input and output models - is :mod:`shared.actions.crm`. This module maps
it onto HubSpot once: the contact's typed fields onto HubSpot's property names (``first_name`` ->
``firstname``; ``lead_source`` and ``utm_*`` are the custom properties ``switchboard setup hubspot``
creates, :data:`apps.hubspot.properties.CUSTOM_PROPERTIES`), and each operation onto a call of
:class:`apps.hubspot.client.HubSpotClient`. Worker and MCP path only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from shared.actions.base import Action, ActionContext
from shared.actions.crm import (
    AddNote,
    ContactFound,
    ContactRef,
    FindContact,
    GetContact,
    NoteRef,
    UpdateContact,
    UpsertContact,
    UpsertedContact,
)

from . import APP, CONNECTION
from .client import HubSpotClient

__all__ = [
    "ACTIONS",
    "ADD_NOTE",
    "FIND_CONTACT",
    "GET_CONTACT",
    "UPDATE_CONTACT",
    "UPSERT_CONTACT",
    "contact_properties",
]


def contact_properties(data: UpsertContact) -> dict[str, str]:
    """HubSpot's property names; absent values are left out (an empty string would clear one).

    Anything in ``data.properties`` is already named the HubSpot way; the typed fields win over it.
    """
    typed = {
        "email": data.email,
        "firstname": data.first_name,
        "lastname": data.last_name,
        "phone": data.phone,
        "company": data.company,
        "lead_source": data.lead_source,
        "utm_source": data.utm_source,
        "utm_medium": data.utm_medium,
        "utm_campaign": data.utm_campaign,
        "utm_term": data.utm_term,
        "utm_content": data.utm_content,
    }
    return {**data.properties, **{k: v for k, v in typed.items() if v}}


def _client(ctx: ActionContext) -> HubSpotClient:
    return HubSpotClient(ctx.api(APP, CONNECTION))


def _upsert(ctx: ActionContext, data: UpsertContact) -> UpsertedContact:
    contact = _client(ctx).upsert_contact(data.email, contact_properties(data))
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


_CONNECTIONS = (CONNECTION,)

UPSERT_CONTACT: Final = Action(
    name="crm.upsert_contact",
    description="Create a CRM contact, or update the one with this email (HubSpot; never a duplicate).",
    input=UpsertContact,
    output=UpsertedContact,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_upsert,
)
UPDATE_CONTACT: Final = Action(
    name="crm.update_contact",
    description="Set properties on an existing CRM contact by its record id (HubSpot).",
    input=UpdateContact,
    output=ContactRef,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_update,
)
GET_CONTACT: Final = Action(
    name="crm.get_contact",
    description="Read a CRM contact's properties by its record id (HubSpot).",
    input=GetContact,
    output=ContactFound,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_get,
    effect=False,
)
FIND_CONTACT: Final = Action(
    name="crm.find_contact",
    description="Find a CRM contact by email address; found=false if there is none (HubSpot).",
    input=FindContact,
    output=ContactFound,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_find,
    effect=False,
)
ADD_NOTE: Final = Action(
    name="crm.add_note",
    description="Log a plain-text note on a CRM contact's timeline (HubSpot).",
    input=AddNote,
    output=NoteRef,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_note,
)

ACTIONS: Final = (UPSERT_CONTACT, UPDATE_CONTACT, GET_CONTACT, FIND_CONTACT, ADD_NOTE)
