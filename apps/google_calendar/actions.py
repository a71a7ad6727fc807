"""The catalogue actions Google Calendar performs: ``calendar.create_event``, ``move_event``,
``set_attendees``, ``cancel_event`` and ``get_event``; ``free_busy`` and ``find_slots``.

Their contracts are the domain's (:mod:`shared.actions.calendar`); this module turns them into
Events calls, mapping the domain's words onto Google's:

* the caller's ``key`` becomes Google's client-chosen event id, :func:`apps.google_calendar.event_id`
  of the key (base32hex of its SHA-256) - the same key, the same id, so the events deployed
  calendars hold keep being found. A create inserts under that id (or under the ``event_id`` the
  caller names); when Google answers ``409 duplicate`` the event is read and answered with
  ``created: false``, never inserted twice. An ``event_id`` that breaks Google's rule is refused here,
  as Google would refuse it, before any call;
* ``notify`` becomes ``sendUpdates`` (``external`` is Google's ``externalOnly``);
* Google's answers (``needsAction`` ...) become the domain's (``needs_action`` ...).

``free_busy`` is ``freebusy.query`` for the deployment's calendar; ``find_slots`` asks it for the
search's window and applies the domain's rule (:func:`shared.actions.slots.find_slots`) to the answer.

Times go to Google as UTC RFC 3339 (``2026-12-14T10:00:00Z``) with the zone the event is *shown* in.

Worker and MCP path only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from apps import google_calendar
from shared.actions.base import Action, ActionContext
from shared.actions.calendar import (
    Attendee,
    CalendarEvent,
    CancelEvent,
    CancelledEvent,
    CreatedEvent,
    CreateEvent,
    EventRef,
    FindSlots,
    FoundEvent,
    FreeBusy,
    FreeBusyQuery,
    FreeSlots,
    Guest,
    MoveEvent,
    NotifyGuests,
    Period,
    ResponseStatus,
    SetAttendees,
)
from shared.actions.slots import find_slots, search_window
from shared.errors import TargetRejected, TargetUnavailable

from .client import GoogleCalendarClient, attendees_body
from .models import EventTime, GoogleEvent

__all__ = [
    "ACTIONS",
    "CANCEL_EVENT",
    "CREATE_EVENT",
    "FIND_SLOTS",
    "FREE_BUSY",
    "GET_EVENT",
    "MOVE_EVENT",
    "SET_ATTENDEES",
]

#: The domain's ``notify`` in Google's words (``sendUpdates``).
_SEND_UPDATES: Final[Mapping[NotifyGuests, google_calendar.SendUpdates]] = {
    "all": "all",
    "external": "externalOnly",
    "none": "none",
}
#: Google's ``responseStatus`` in the domain's words; another value is not known (``None``).
_RESPONSES: Final[Mapping[str, ResponseStatus]] = {
    "needsAction": "needs_action",
    "accepted": "accepted",
    "declined": "declined",
    "tentative": "tentative",
}


def _google_id(event_id: str | None, key: str | None) -> str:
    """The Google id of the event a call names: the id given, else the one derived from the key."""
    if event_id is not None:
        if not google_calendar.EVENT_ID.match(event_id):
            raise TargetRejected(
                f"{event_id!r} is not a Google Calendar event id (5-1024 characters a-v and 0-9)",
                status=400,
                app=google_calendar.APP.name,
            )
        return event_id
    if key is None:  # the contract names one of the two; mypy cannot see it
        raise ValueError("an event is named by its event_id or its key")
    return google_calendar.event_id(key)


def _ical_uid(event_id: str) -> str:
    """The UID of an event Google made (none was sent with it): what its invitations carried."""
    return f"{event_id}@google.com"


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _attendees(guests: list[Guest]) -> list[dict[str, str]]:
    return attendees_body([(g.email, g.name) for g in guests])


def _details_body(data: CreateEvent | MoveEvent) -> dict[str, Any]:
    """What an event says besides its times; each ``None`` is left out of the request."""
    body: dict[str, Any] = {}
    if data.summary is not None:
        body["summary"] = data.summary
    if data.description is not None:
        body["description"] = data.description
    if data.attendees is not None:
        body["attendees"] = _attendees(data.attendees)
    if data.private_properties:
        body["extendedProperties"] = {"private": dict(data.private_properties)}
    if data.location:
        body["location"] = data.location
    return body


def _times_body(data: CreateEvent | MoveEvent, default_zone: str | None = None) -> dict[str, Any]:
    """``start`` and ``end``; without a zone (and no default) Google keeps the event's own."""
    zone = data.time_zone or default_zone
    extra = {"timeZone": zone} if zone else {}
    return {
        "start": {"dateTime": _rfc3339(data.start), **extra},
        "end": {"dateTime": _rfc3339(data.end), **extra},
    }


def _event(event: GoogleEvent) -> CalendarEvent:
    def when(t: EventTime | None) -> datetime | None:
        return t.date_time if t is not None else None

    return CalendarEvent(
        event_id=event.id,
        status=event.status,
        ical_uid=event.ical_uid or _ical_uid(event.id),
        url=event.html_link,
        summary=event.summary,
        start=when(event.start),
        end=when(event.end),
        attendees=[
            Attendee(
                email=a.email,
                name=a.display_name,
                response_status=_RESPONSES.get(a.response_status or ""),
            )
            for a in event.attendees
        ],
        private_properties=dict(event.extended_properties.private) if event.extended_properties else {},
    )


def _client(ctx: ActionContext) -> GoogleCalendarClient:
    # The package's APP at call time (not a copy taken at import): tests and tools may replace it.
    return GoogleCalendarClient(ctx.api(google_calendar.APP, google_calendar.CONNECTION))


def _create(ctx: ActionContext, data: CreateEvent) -> CreatedEvent:
    client = _client(ctx)
    event_id = _google_id(data.event_id, data.key)
    body = {
        "id": event_id,
        "summary": data.summary,
        **({"description": data.description} if data.description is not None else {}),
        **_times_body(data, default_zone="UTC"),
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
    made = client.insert_event(data.calendar_id, body, send_updates=_SEND_UPDATES[data.notify])
    if made is not None:
        return CreatedEvent(created=True, event=_event(made))
    existing = client.get_event(data.calendar_id, event_id)
    if existing is None:  # 409, yet not readable: Google is mid-way; look again later
        raise TargetUnavailable("google_calendar: 409 duplicate, but the event cannot be read yet")
    return CreatedEvent(created=False, event=_event(existing))


def _found(event_id: str, event: GoogleEvent | None) -> FoundEvent:
    return FoundEvent(found=event is not None, event=_event(event) if event else None, event_id=event_id)


def _move(ctx: ActionContext, data: MoveEvent) -> FoundEvent:
    # "confirmed": a reschedule means the meeting is on, also if the event had been cancelled.
    body = {**_details_body(data), **_times_body(data), "status": "confirmed"}
    event_id = _google_id(data.event_id, data.key)
    send = _SEND_UPDATES[data.notify]
    return _found(event_id, _client(ctx).patch_event(data.calendar_id, event_id, body, send_updates=send))


def _set_attendees(ctx: ActionContext, data: SetAttendees) -> FoundEvent:
    body = {"attendees": _attendees(data.attendees)}
    event_id = _google_id(data.event_id, data.key)
    send = _SEND_UPDATES[data.notify]
    return _found(event_id, _client(ctx).patch_event(data.calendar_id, event_id, body, send_updates=send))


def _cancel(ctx: ActionContext, data: CancelEvent) -> CancelledEvent:
    event_id = _google_id(data.event_id, data.key)
    send = _SEND_UPDATES[data.notify]
    deleted = _client(ctx).delete_event(data.calendar_id, event_id, send_updates=send)
    return CancelledEvent(event_id=event_id, ical_uid=_ical_uid(event_id), deleted=deleted)


def _get(ctx: ActionContext, data: EventRef) -> FoundEvent:
    event_id = _google_id(data.event_id, data.key)
    return _found(event_id, _client(ctx).get_event(data.calendar_id, event_id))


_CONNECTIONS: Final = (google_calendar.CONNECTION,)
_APP: Final = google_calendar.APP.name
_WHERE: Final = {"calendar_id": "calendar_id"}
_NOTIFY: Final = {**_WHERE, "notify": "google_send_updates"}

CREATE_EVENT: Final = Action(
    name="calendar.create_event",
    description="Book an event into the business calendar; the same key never makes two (Google Calendar).",
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
    description="Cancel (delete) a calendar event by its id or key; deleted=false if it was already gone (Google).",
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
    description="Read a calendar event by its id or key: times, guests, status (Google Calendar).",
    input=EventRef,
    output=FoundEvent,
    app=_APP,
    connections=_CONNECTIONS,
    run=_get,
    effect=False,
    config=_WHERE,
)


def _free_busy(ctx: ActionContext, data: FreeBusyQuery) -> FreeBusy:
    found = GoogleCalendarClient(ctx.api(google_calendar.APP, google_calendar.CONNECTION)).free_busy(
        data.calendar_id, data.start, data.end
    )
    busy = [Period(start=b.start, end=b.end) for b in found.busy]
    return FreeBusy(start=data.start, end=data.end, busy=busy)


def _find_slots(ctx: ActionContext, data: FindSlots) -> FreeSlots:
    now = datetime.now(UTC)
    start, end = search_window(data, now)
    client = GoogleCalendarClient(ctx.api(google_calendar.APP, google_calendar.CONNECTION))
    found = client.free_busy(data.calendar_id, start, end)
    return find_slots(data, ((b.start, b.end) for b in found.busy), now)


FREE_BUSY: Final = Action(
    name="calendar.free_busy",
    description="When the calendar is busy between two times (free/busy periods only, no details; Google).",
    input=FreeBusyQuery,
    output=FreeBusy,
    app=_APP,
    connections=_CONNECTIONS,
    run=_free_busy,
    effect=False,
    config=_WHERE,
)
FIND_SLOTS: Final = Action(
    name="calendar.find_slots",
    description="First free meeting slots in working hours (length, buffer, notice, zone, days ahead); none is [] (Google).",
    input=FindSlots,
    output=FreeSlots,
    app=_APP,
    connections=_CONNECTIONS,
    run=_find_slots,
    effect=False,
    config=_WHERE,
)

ACTIONS: Final = (CREATE_EVENT, MOVE_EVENT, SET_ATTENDEES, CANCEL_EVENT, GET_EVENT, FREE_BUSY, FIND_SLOTS)
