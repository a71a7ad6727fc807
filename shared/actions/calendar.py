"""Calendar actions: book an event in, move it, cancel it, read it, set its guests.

**Idempotency is Google's own.** An event's id is chosen by the caller (``event_id``: 5-1024
characters ``a-v`` and ``0-9`` - a UUID without its dashes is one): ``calendar.create_event`` inserts
under that id, and when the id exists already Google answers ``409 duplicate``; the action then
reads the event and answers it with ``created: false``. So repeating a create - after a timeout, a
retry, a model calling the tool twice - never makes a second event, and the caller sees what is
there (an event deleted since keeps its id with ``status: "cancelled"``: it is answered as such,
never silently revived). Moving, cancelling and setting guests are naturally idempotent (the same
patch twice is the same event; deleting a deleted event answers ``deleted: false``). A handler
derives the id from its booking (:func:`apps.google_calendar.event_id`).

This module is the contract (inputs, outputs); Google Calendar performs the actions
(:mod:`apps.google_calendar.actions`), under its own idempotency: the client-chosen event id.

Which calendar, and whether Google emails the guests itself (``sendUpdates``), are the deployment's
decisions: ``calendar_id`` and ``send_updates`` are config fields, filled from the host's settings
and hidden from AI tool schemas - a model never picks another calendar nor makes Google send
invitations the business did not choose to send.

Times go to Google as UTC RFC 3339 (``2026-12-14T10:00:00Z``) with the zone the event is *shown* in;
naive times are refused (which zone was meant decides when the meeting is).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from apps.google_calendar import EVENT_ID, SendUpdates

__all__ = [
    "CalendarEvent",
    "CancelEvent",
    "CancelledEvent",
    "CreateEvent",
    "CreatedEvent",
    "EventRef",
    "FoundEvent",
    "Guest",
    "MoveEvent",
    "SetAttendees",
]

_EVENT_ID_DESCRIPTION: Final = (
    "the event's id, chosen by the caller: 5-1024 characters a-v and 0-9 (e.g. a UUID without dashes); "
    "creating the same id again never makes a second event"
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Guest(_In):
    """A guest of an event (Google: an attendee)."""

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str | None = Field(default=None, max_length=500)


class _Deployment(_In):
    #: Config: the calendar (``primary``, or a calendar id such as ``...@group.calendar.google.com``).
    calendar_id: str = Field(min_length=1, max_length=300)


class _Notifying(_Deployment):
    #: Config: Google's own emails to the guests (``sendUpdates``).
    send_updates: SendUpdates


class _Details(_In):
    """What an event says besides its times; each ``None`` is left out of the request."""

    summary: str | None = Field(default=None, min_length=1, max_length=2000, description="the title")
    description: str | None = Field(default=None, max_length=20_000)
    location: str | None = Field(default=None, max_length=2000)
    attendees: list[Guest] | None = Field(default=None, max_length=100, description="the guests")
    private_properties: dict[str, str] | None = Field(
        default=None, max_length=50, description="data kept with the event, not shown to guests"
    )


class _Times(_In):
    start: AwareDatetime = Field(description="when it starts (RFC 3339 with offset)")
    end: AwareDatetime = Field(description="when it ends (RFC 3339 with offset)")
    time_zone: str | None = Field(
        default=None,
        max_length=64,
        description="IANA zone it is shown in (default: UTC; on a move: as it was)",
    )

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("is not an IANA time zone name (e.g. Europe/London)") from exc
        return value

    @model_validator(mode="after")
    def _order(self) -> _Times:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class _Target(_Notifying):
    event_id: str = Field(pattern=EVENT_ID.pattern, description="the event's id")


class CreateEvent(_Times, _Details, _Target):
    """A new event under a caller-chosen id."""

    event_id: str = Field(pattern=EVENT_ID.pattern, description=_EVENT_ID_DESCRIPTION)
    summary: str = Field(min_length=1, max_length=2000, description="the title")


class MoveEvent(_Times, _Details, _Target):
    """New times for an event (a reschedule); the other details change only when given."""


class SetAttendees(_Target):
    attendees: list[Guest] = Field(max_length=100, description="the whole new guest list")


class CancelEvent(_Target):
    """An event to delete (Google keeps its id, with status cancelled)."""


class EventRef(_Deployment):
    event_id: str = Field(pattern=EVENT_ID.pattern)


class Attendee(_Out):
    email: str
    name: str | None = None
    response_status: str | None = Field(default=None, description="needsAction, accepted, declined ...")


class CalendarEvent(_Out):
    event_id: str
    status: str = Field(description="confirmed, tentative, or cancelled (deleted)")
    ical_uid: str | None = Field(default=None, description="the UID invitations (.ics) carry")
    html_link: str | None = None
    summary: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    attendees: list[Attendee] = Field(default_factory=list)
    private_properties: dict[str, str] = Field(default_factory=dict)


class CreatedEvent(_Out):
    created: bool = Field(description="false: an event with this id was there already (shown as it is)")
    event: CalendarEvent


class FoundEvent(_Out):
    found: bool = Field(description="false: there is no event with this id")
    event: CalendarEvent | None = None


class CancelledEvent(_Out):
    event_id: str
    deleted: bool = Field(description="false: it was already gone")
