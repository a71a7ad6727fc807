"""HubSpot's CRM API answers as typed models: records, owners, properties, error bodies.

Worker path only (the client parses into these). Sources: the CRM objects guide and batch upsert,
https://developers.hubspot.com/docs/api-reference/latest/crm/objects/contacts/guide and
https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/upsert-contacts;
error bodies as documented there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "AssociatedId",
    "AssociationPage",
    "AssociationPageV4",
    "AssociationV4",
    "AssociationsV4",
    "BatchResult",
    "Contact",
    "CrmObject",
    "HubSpotError",
    "Note",
    "NoteBatch",
    "ObjectBatch",
    "ObjectPage",
    "Owner",
    "OwnerPage",
    "Page",
    "Paging",
    "Pipeline",
    "PipelineStage",
    "PropertyInfo",
    "PropertyModification",
    "PropertyOption",
    "PropertySchema",
    "ResultsPage",
    "parse_error",
]


class _Model(BaseModel):
    # HubSpot adds fields over time; ignoring unknown ones keeps old workers working.
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


class AssociatedId(_Model):
    id: str
    type: str


class AssociationPage(_Model):
    results: tuple[AssociatedId, ...] = ()


class Contact(_Model):
    """A contact record. Property values are strings (HubSpot sends every value as a string)."""

    id: str
    properties: dict[str, str | None]
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")
    archived: bool = False
    #: From an upsert: whether HubSpot created the record. ``None`` where HubSpot does not say.
    is_new: bool | None = Field(default=None, alias="new")
    #: Only when asked for (``associations=("notes",)``): object type -> associated record ids.
    associations: dict[str, AssociationPage] = Field(default_factory=dict)


class Note(_Model):
    id: str
    properties: dict[str, str | None]
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")
    archived: bool = False


class Owner(_Model):
    """A HubSpot user who can own records; ``id`` is what ``hubspot_owner_id`` takes."""

    id: str
    email: str | None = None
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    user_id: int | None = Field(default=None, alias="userId")
    archived: bool = False


class PropertyInfo(_Model):
    """A property as the portal lists it (``GET /crm/v3/properties/contacts``)."""

    name: str
    label: str
    type: str
    field_type: str = Field(alias="fieldType")
    group_name: str = Field(alias="groupName")
    hubspot_defined: bool = Field(default=False, alias="hubspotDefined")


class PropertyOption(_Model):
    value: str
    hidden: bool = False


class PropertyModification(_Model):
    read_only_value: bool = Field(default=False, alias="readOnlyValue")


class PropertySchema(_Model):
    """One property as ``GET /crm/v3/properties/contacts/{name}`` answers: what a writer checks.

    Only ``name`` and ``type`` are required, so that an answer without the display fields still
    says whether the value is writable (``modificationMetadata.readOnlyValue``) and which options a
    dropdown (``type`` ``enumeration``) takes.
    """

    name: str
    type: str
    options: tuple[PropertyOption, ...] = ()
    modification_metadata: PropertyModification = Field(
        default_factory=PropertyModification, alias="modificationMetadata"
    )


class HubSpotError(_Model):
    """HubSpot's error body: ``{"status":"error","message":...,"correlationId":...,"category":...}``.

    ``errors`` (per-field details such as ``PROPERTY_DOESNT_EXIST``), ``context`` and, on 429,
    ``policyName`` (``TEN_SECONDLY_ROLLING`` or ``DAILY``) are present only on some answers.
    """

    status: str = "error"
    message: str
    correlation_id: str | None = Field(default=None, alias="correlationId")
    category: str | None = None
    errors: tuple[dict[str, Any], ...] = ()
    context: dict[str, Any] = Field(default_factory=dict)
    policy_name: str | None = Field(default=None, alias="policyName")


def parse_error(text: str) -> HubSpotError | None:
    """The HubSpot error body in ``text``, or ``None`` if it is not one (HTML from an edge proxy ...)."""
    try:
        return HubSpotError.model_validate_json(text)
    except ValidationError:
        return None


class BatchResult(_Model):
    """A batch write's answer; 2xx with ``errors`` when some inputs failed (207 multi-status)."""

    status: str
    results: tuple[Contact, ...] = ()
    num_errors: int = Field(default=0, alias="numErrors")
    errors: tuple[HubSpotError, ...] = ()


class AssociationV4(_Model):
    to_object_id: int | str = Field(alias="toObjectId")


class AssociationsV4(_Model):
    """``GET /crm/v4/objects/{type}/{id}/associations/{to type}``'s answer (first page)."""

    results: tuple[AssociationV4, ...] = ()


class NoteBatch(_Model):
    """A batch read's answer (200, or 207 when some ids were not found - those are left out)."""

    results: tuple[Note, ...] = ()


class ResultsPage(_Model):
    """A list endpoint's page (``{"results": [...]}``), its records parsed by the caller."""

    results: tuple[dict[str, Any], ...] = ()


class CrmObject(_Model):
    """A task, meeting or deal record (``/crm/v3/objects/{type}``): values are strings, as HubSpot sends them."""

    id: str
    properties: dict[str, str | None]
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")
    archived: bool = False


class ObjectBatch(_Model):
    """A batch read's answer (200, or 207 when some ids were not found - those are left out)."""

    results: tuple[CrmObject, ...] = ()


class _Next(_Model):
    after: str


class Paging(_Model):
    next: _Next | None = None


class Page(_Model):
    """A list or search page: ``results``, ``paging.next.after`` when there is more (and ``total`` on search)."""

    results: tuple[dict[str, Any], ...] = ()
    paging: Paging | None = None
    total: int | None = None

    @property
    def next_after(self) -> str | None:
        return self.paging.next.after if self.paging and self.paging.next else None


class ObjectPage(Page):
    """A page of records: ``GET /crm/v3/objects/{type}`` or a search (which adds ``total``)."""

    results: tuple[CrmObject, ...] = ()  # type: ignore[assignment]


class OwnerPage(Page):
    """A page of ``GET /crm/v3/owners``."""

    results: tuple[Owner, ...] = ()  # type: ignore[assignment]


class AssociationPageV4(Page):
    """A page of v4 associations, with ``paging.next.after`` when there is more."""

    results: tuple[AssociationV4, ...] = ()  # type: ignore[assignment]


class PipelineStage(_Model):
    id: str
    label: str
    display_order: int = Field(default=0, alias="displayOrder")
    metadata: dict[str, str] = Field(default_factory=dict)


class Pipeline(_Model):
    """A deal pipeline (``GET /crm/v3/pipelines/deals/{id}``) and its stages, in their order."""

    id: str
    label: str
    stages: tuple[PipelineStage, ...] = ()

    def stage(self, wanted: str) -> PipelineStage | None:
        """The stage named by its id, or by its label (case-insensitive)."""
        by_id = next((s for s in self.stages if s.id == wanted), None)
        return by_id or next(
            (s for s in self.stages if s.label.casefold() == wanted.strip().casefold()), None
        )
