"""Calendar actions (Google Calendar v3): book an event in, move it, cancel it, read it, set its guests.

**Idempotency is Google's own.** An event's id is chosen by the caller (``event_id``: 5-1024
characters ``a-v`` and ``0-9`` - a UUID without its dashes is one): ``calendar.create_event`` inserts
under that id, and when the id exists already Google answers ``409 duplicate``; the action then
reads the event and answers it with ``created: false``. So repeating a create - after a timeout, a
retry, a model calling the tool twice - never makes a second event, and the caller sees what is
there (an event deleted since keeps its id with ``status: "cancelled"``: it is answered as such,
never silently revived). Moving, cancelling and setting guests are naturally idempotent (the same
patch twice is the same event; deleting a deleted event answers ``deleted: false``). A handler
derives the id from its booking (:func:`apps.google_calendar.event_id`).

Which calendar, and whether Google emails the guests itself (``sendUpdates``), are the deployment's
decisions: ``calendar_id`` and ``send_updates`` are config fields, filled from the host's settings
and hidden from AI tool schemas - a model never picks another calendar nor makes Google send
invitations the business did not choose to send.

Times go to Google as UTC RFC 3339 (``2026-12-14T10:00:00Z``) with the zone the event is *shown* in;
naive times are refused (which zone was meant decides when the meeting is).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from apps import google_calendar
from shared.actions.base import Action, ActionContext
from shared.errors import TargetUnavailable

__all__ = [
    "ACTIONS",
    "CANCEL_EVENT",
    "CREATE_EVENT",
    "GET_EVENT",
    "MOVE_EVENT",
    "SET_ATTENDEES",
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

SendUpdates = Literal["all", "externalOnly", "none"]
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

    def details_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.summary is not None:
            body["summary"] = self.summary
        if self.description is not None:
            body["description"] = self.description
        if self.attendees is not None:
            body["attendees"] = _attendees(self.attendees)
        if self.private_properties:
            body["extendedProperties"] = {"private": dict(self.private_properties)}
        if self.location:
            body["location"] = self.location
        return body


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

    def times_body(self, default_zone: str | None = None) -> dict[str, Any]:
        """``start`` and ``end``; without a zone (and no default) Google keeps the event's own."""
        zone = self.time_zone or default_zone
        extra = {"timeZone": zone} if zone else {}
        return {
            "start": {"dateTime": _rfc3339(self.start), **extra},
            "end": {"dateTime": _rfc3339(self.end), **extra},
        }


class _Target(_Notifying):
    event_id: str = Field(pattern=google_calendar.EVENT_ID.pattern, description="the event's id")


class CreateEvent(_Times, _Details, _Target):
    """A new event under a caller-chosen id."""

    event_id: str = Field(pattern=google_calendar.EVENT_ID.pattern, description=_EVENT_ID_DESCRIPTION)
    summary: str = Field(min_length=1, max_length=2000, description="the title")


class MoveEvent(_Times, _Details, _Target):
    """New times for an event (a reschedule); the other details change only when given."""


class SetAttendees(_Target):
    attendees: list[Guest] = Field(max_length=100, description="the whole new guest list")


class CancelEvent(_Target):
    """An event to delete (Google keeps its id, with status cancelled)."""


class EventRef(_Deployment):
    event_id: str = Field(pattern=google_calendar.EVENT_ID.pattern)


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


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _attendees(guests: list[Guest]) -> list[dict[str, str]]:
    return google_calendar.attendees_body([(g.email, g.name) for g in guests])


def _event(event: google_calendar.GoogleEvent) -> CalendarEvent:
    def when(t: google_calendar.EventTime | None) -> datetime | None:
        return t.date_time if t is not None else None

    return CalendarEvent(
        event_id=event.id,
        status=event.status,
        ical_uid=event.ical_uid,
        html_link=event.html_link,
        summary=event.summary,
        start=when(event.start),
        end=when(event.end),
        attendees=[
            Attendee(email=a.email, name=a.display_name, response_status=a.response_status)
            for a in event.attendees
        ],
        private_properties=dict(event.extended_properties.private) if event.extended_properties else {},
    )


def _client(ctx: ActionContext) -> google_calendar.GoogleCalendarClient:
    # The module's APP at call time (not a copy taken at import): tests and tools may replace it.
    return google_calendar.GoogleCalendarClient(ctx.api(google_calendar.APP, google_calendar.CONNECTION))


def _create(ctx: ActionContext, data: CreateEvent) -> CreatedEvent:
    client = _client(ctx)
    body = {
        "id": data.event_id,
        "summary": data.summary,
        **({"description": data.description} if data.description is not None else {}),
        **data.times_body(default_zone="UTC"),
        "attendees": _attendees(data.attendees or []),
        **(
            {"extendedProperties": {"private": dict(data.private_properties)}}
            if data.private_properties
            else {}
        ),
        "reminders": {"useDefault": True},
        "status": "confirmed",
        **({"location": data.location} if data.location else {}),
    }
    made = client.insert_event(data.calendar_id, body, send_updates=data.send_updates)
    if made is not None:
        return CreatedEvent(created=True, event=_event(made))
    existing = client.get_event(data.calendar_id, data.event_id)
    if existing is None:  # 409, yet not readable: Google is mid-way; look again later
        raise TargetUnavailable("google_calendar: 409 duplicate, but the event cannot be read yet")
    return CreatedEvent(created=False, event=_event(existing))


def _move(ctx: ActionContext, data: MoveEvent) -> FoundEvent:
    # "confirmed": a reschedule means the meeting is on, also if the event had been cancelled.
    body = {**data.details_body(), **data.times_body(), "status": "confirmed"}
    moved = _client(ctx).patch_event(data.calendar_id, data.event_id, body, send_updates=data.send_updates)
    return FoundEvent(found=moved is not None, event=_event(moved) if moved else None)


def _set_attendees(ctx: ActionContext, data: SetAttendees) -> FoundEvent:
    body = {"attendees": _attendees(data.attendees)}
    patched = _client(ctx).patch_event(data.calendar_id, data.event_id, body, send_updates=data.send_updates)
    return FoundEvent(found=patched is not None, event=_event(patched) if patched else None)


def _cancel(ctx: ActionContext, data: CancelEvent) -> CancelledEvent:
    deleted = _client(ctx).delete_event(data.calendar_id, data.event_id, send_updates=data.send_updates)
    return CancelledEvent(event_id=data.event_id, deleted=deleted)


def _get(ctx: ActionContext, data: EventRef) -> FoundEvent:
    event = _client(ctx).get_event(data.calendar_id, data.event_id)
    return FoundEvent(found=event is not None, event=_event(event) if event else None)


_CONNECTIONS: Final = (google_calendar.CONNECTION,)
_APP: Final = google_calendar.APP.name
_WHERE: Final = {"calendar_id": "calendar_id"}
_NOTIFY: Final = {**_WHERE, "send_updates": "google_send_updates"}

CREATE_EVENT: Final = Action(
    name="calendar.create_event",
    description="Book an event into the business calendar; the same event_id never makes two (Google Calendar).",
    input=CreateEvent,
    output=CreatedEvent,
    app=_APP,
    connections=_CONNECTIONS,
    run=_create,
    config=_NOTIFY,
)
MOVE_EVENT: Final = Action(
    name="calendar.move_event",
    description="Move a calendar event to new times (reschedule); other details change only if given (Google).",
    input=MoveEvent,
    output=FoundEvent,
    app=_APP,
    connections=_CONNECTIONS,
    run=_move,
    config=_NOTIFY,
)
SET_ATTENDEES: Final = Action(
    name="calendar.set_attendees",
    description="Replace a calendar event's whole guest list; read it first with calendar_get_event (Google).",
    input=SetAttendees,
    output=FoundEvent,
    app=_APP,
    connections=_CONNECTIONS,
    run=_set_attendees,
    config=_NOTIFY,
    destructive=True,
)
CANCEL_EVENT: Final = Action(
    name="calendar.cancel_event",
    description="Cancel (delete) a calendar event by its id; deleted=false if it was already gone (Google).",
    input=CancelEvent,
    output=CancelledEvent,
    app=_APP,
    connections=_CONNECTIONS,
    run=_cancel,
    config=_NOTIFY,
    destructive=True,
)
GET_EVENT: Final = Action(
    name="calendar.get_event",
    description="Read a calendar event by its id: times, guests, status (Google Calendar).",
    input=EventRef,
    output=FoundEvent,
    app=_APP,
    connections=_CONNECTIONS,
    run=_get,
    effect=False,
    config=_WHERE,
)

ACTIONS: Final = (CREATE_EVENT, MOVE_EVENT, SET_ATTENDEES, CANCEL_EVENT, GET_EVENT)
