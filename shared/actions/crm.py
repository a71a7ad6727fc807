"""The CRM domain's contract: contacts, notes, tasks, meetings, deals, owners, search, the lead score.

The input and output models every CRM operation speaks, whoever calls it (a handler, an AI tool).
The actions themselves - and the mapping of the typed fields onto the CRM's own property names - are
the app's: :mod:`apps.hubspot.actions`. Anything beyond the typed fields goes in ``properties`` by
HubSpot's internal name.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AddNote",
    "CompleteTask",
    "ContactFound",
    "ContactMatches",
    "ContactRef",
    "ContactSummary",
    "CreateDeal",
    "CreateTask",
    "Deal",
    "DealCreated",
    "DealList",
    "DealMoved",
    "ExplainScore",
    "FindContact",
    "GetContact",
    "GetOwner",
    "ListDeals",
    "ListOpenTasks",
    "ListOwners",
    "LogMeeting",
    "MeetingLogged",
    "MeetingOutcome",
    "MoveDealStage",
    "NoteRef",
    "Owner",
    "OwnerFound",
    "OwnerList",
    "ScoreExplanation",
    "ScoreReason",
    "SearchContacts",
    "Task",
    "TaskCompleted",
    "TaskCreated",
    "TaskList",
    "TaskPriority",
    "TaskStatus",
    "TaskType",
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


# --- tasks, meetings, deals, owners, search, the lead score (the assistant's CRM tools) ---------------
#
# **Writes are named by the caller's key.** ``create_task``, ``log_meeting`` and ``create_deal`` take
# ``key``, the caller's own stable name for the record (a UUID, a booking's id): creating with a key
# used before for the same contact answers the record that is there with ``created: false`` instead of
# making a second one - a retry after a lost answer, or a model calling the tool twice, is safe.
# Completing a task and moving a deal are naturally idempotent (the same change twice is one state).

_ID: Final = r"^[0-9A-Za-z_-]+$"
MAX_KEY: Final = 200
_KEY_DESCRIPTION: Final = (
    "your own stable name for this record (a UUID ...): the same key again never makes a second one"
)

TaskStatus = Literal["NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"]
TaskPriority = Literal["LOW", "MEDIUM", "HIGH"]
TaskType = Literal["TODO", "CALL", "EMAIL"]
MeetingOutcome = Literal["SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"]


def _record_id(description: str) -> Any:
    return Field(min_length=1, max_length=40, pattern=_ID, description=description)


class _Keyed(_In):
    key: str = Field(min_length=1, max_length=MAX_KEY, description=_KEY_DESCRIPTION)
    contact_id: str = _record_id("the contact's record id")


class CreateTask(_Keyed):
    """A to-do on a contact, for a rep: "call Jane back on Tuesday"."""

    subject: str = Field(min_length=1, max_length=500, description="the task's title")
    due: AwareDatetime = Field(description="when it is due (RFC 3339 with offset)")
    body: str | None = Field(default=None, max_length=60_000, description="notes (plain text)")
    priority: TaskPriority | None = None
    task_type: TaskType = Field(default="TODO", description="TODO, CALL or EMAIL")
    owner_id: str | None = Field(
        default=None, max_length=40, pattern=_ID, description="the rep it is for (crm_list_owners)"
    )


class Task(_Out):
    id: str
    subject: str | None = None
    body: str | None = Field(default=None, description="the notes, without Switchboard's reference line")
    status: str | None = Field(
        default=None, description="NOT_STARTED, IN_PROGRESS, WAITING, COMPLETED or DEFERRED"
    )
    priority: str | None = None
    task_type: str | None = None
    due: datetime | None = None
    owner_id: str | None = None


class TaskCreated(_Out):
    created: bool = Field(description="false: the key's task was there already (shown as it is)")
    task: Task


class ListOpenTasks(_In):
    contact_id: str = _record_id("the contact's record id")
    limit: int = Field(default=50, ge=1, le=100)


class TaskList(_Out):
    tasks: list[Task] = Field(description="not completed, soonest due first")


class CompleteTask(_In):
    task_id: str = _record_id("the task's record id")


class TaskCompleted(_Out):
    changed: bool = Field(description="false: it was completed already")
    task: Task


class LogMeeting(_Keyed):
    """A meeting on a contact's timeline (one that happened, or one booked)."""

    title: str = Field(min_length=1, max_length=500)
    start: AwareDatetime
    end: AwareDatetime
    body: str | None = Field(default=None, max_length=60_000, description="what was said (plain text)")
    outcome: MeetingOutcome = Field(default="COMPLETED")
    owner_id: str | None = Field(default=None, max_length=40, pattern=_ID)

    @model_validator(mode="after")
    def _order(self) -> LogMeeting:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class MeetingLogged(_Out):
    created: bool = Field(description="false: the key's meeting was logged already")
    id: str


class Deal(_Out):
    id: str
    name: str | None = None
    pipeline: str | None = Field(default=None, description="the pipeline's id")
    stage: str | None = Field(default=None, description="the stage's id")
    stage_label: str | None = None
    amount: Decimal | None = None
    close_date: datetime | None = None
    owner_id: str | None = None


class ListDeals(_In):
    contact_id: str | None = Field(
        default=None, max_length=40, pattern=_ID, description="only this contact's deals (default: all)"
    )
    limit: int = Field(default=20, ge=1, le=100)
    after: str | None = Field(default=None, max_length=100, description="next_after of the previous page")


class DealList(_Out):
    deals: list[Deal]
    next_after: str | None = Field(
        default=None, description="pass as after for the next page; none: last page"
    )


class CreateDeal(_Keyed):
    name: str = Field(min_length=1, max_length=500)
    pipeline: str = Field(default="default", min_length=1, max_length=100, description="pipeline id or label")
    stage: str | None = Field(
        default=None, max_length=100, description="stage id or label (default: the pipeline's first)"
    )
    amount: Decimal | None = Field(default=None, ge=0, max_digits=15, decimal_places=2)
    close_date: date | None = None
    owner_id: str | None = Field(default=None, max_length=40, pattern=_ID)


class DealCreated(_Out):
    created: bool = Field(description="false: the key's deal was there already (shown as it is)")
    deal: Deal


class MoveDealStage(_In):
    deal_id: str = _record_id("the deal's record id")
    stage: str = Field(
        min_length=1, max_length=100, description="a stage of the deal's pipeline, by id or label"
    )


class DealMoved(_Out):
    changed: bool = Field(description="false: the deal was in that stage already")
    deal: Deal


class Owner(_Out):
    id: str = Field(description="what owner_id fields take")
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class ListOwners(_In):
    email: str | None = Field(default=None, pattern=_EMAIL, max_length=254, description="only this rep")
    limit: int = Field(default=100, ge=1, le=100)
    after: str | None = Field(default=None, max_length=100)


class OwnerList(_Out):
    owners: list[Owner]
    next_after: str | None = None


class GetOwner(_In):
    owner_id: str = _record_id("the owner's id (a contact's hubspot_owner_id)")


class OwnerFound(_Out):
    found: bool
    owner: Owner | None = None


class SearchContacts(_In):
    """Contacts by name, company or email domain (all given must match; words match whole words)."""

    name: str | None = Field(default=None, min_length=1, max_length=200, description="first and/or last name")
    company: str | None = Field(default=None, min_length=1, max_length=200)
    email_domain: str | None = Field(
        default=None,
        pattern=r"^@?[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",
        max_length=253,
        description="e.g. example.com",
    )
    limit: int = Field(default=10, ge=1, le=100)
    after: str | None = Field(default=None, max_length=100, description="next_after of the previous page")

    @model_validator(mode="after")
    def _something(self) -> SearchContacts:
        if not (self.name or self.company or self.email_domain):
            raise ValueError("give a name, a company or an email_domain to search by")
        return self


class ContactSummary(_Out):
    id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None


class ContactMatches(_Out):
    total: int
    contacts: list[ContactSummary]
    next_after: str | None = None


class ExplainScore(_In):
    """A contact to score by its record id, or the signals themselves (``email`` then required).

    With a ``contact_id``, what the contact holds (email, ``lead_source``, UTM fields, industry,
    country) is read; signals given as well are added to it and win (a message, a company size).
    """

    contact_id: str | None = Field(default=None, max_length=40, pattern=_ID)
    email: str | None = Field(default=None, pattern=_EMAIL, max_length=254)
    source: str | None = Field(default=None, max_length=100, description="website_form, tally ...")
    utm_source: str | None = Field(default=None, max_length=200)
    utm_medium: str | None = Field(default=None, max_length=200)
    message: str | None = Field(default=None, max_length=20_000, description="what the lead wrote")
    company_size: str | None = Field(default=None, max_length=20, description="e.g. 11-50")
    industry: str | None = Field(default=None, max_length=200)
    country: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _one(self) -> ExplainScore:
        if (self.contact_id is None) == (self.email is None):
            raise ValueError("give a contact_id, or the signals with an email - one of the two")
        return self


class ScoreReason(_Out):
    points: int
    label: str


class ScoreExplanation(_Out):
    score: int = Field(description="0-100 by the business's own rules")
    total: int = Field(description="the sum before keeping it within 0-100")
    reasons: list[ScoreReason]
    reason: str = Field(description="one line, as written to the CRM")
    signals: dict[str, str | None] = Field(description="what the score was computed from")
    stored_score: str | None = Field(
        default=None, description="the score the CRM holds, when read from a contact"
    )
