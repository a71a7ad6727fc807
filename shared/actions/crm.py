"""The CRM domain's contract: create or update a contact, set its properties, read it, log a note.

The input and output models every CRM operation speaks, whoever calls it (a handler, an AI tool).
The actions themselves - and the mapping of the typed fields onto the CRM's own property names - are
the app's: :mod:`apps.hubspot.actions`. Anything beyond the typed fields goes in ``properties`` by
HubSpot's internal name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
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
