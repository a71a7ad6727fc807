"""Calendar actions: book an event in, move it, cancel it, read it, set its guests; free/busy, free slots.

**An event is named by the caller's key.** ``calendar.create_event`` takes ``key``, the caller's own
stable name for the event (a booking's id, a UUID): creating with a key that was used before never
makes a second event - the action answers the event that is there with ``created: false`` (one
deleted since is answered as such, ``status: "cancelled"``, never silently revived). So repeating a
create - after a timeout, a retry, a model calling the tool twice - is safe. Every other action
names its event by that ``key`` or by the ``event_id`` the calendar answered for it. Moving,
cancelling and setting guests are naturally idempotent (the same patch twice is the same event;
cancelling a cancelled event answers ``deleted: false``). A create may also name the ``event_id`` an
event had before, to make that event again under it where the calendar allows.

This module is the contract (inputs, outputs, the domain's words); the app that performs the
actions (today :mod:`apps.google_calendar.actions`) maps the key onto its own idempotency feature
and ``notify`` onto its own notification setting.

Which calendar, and whether the calendar emails the guests about a change itself (``notify``:
``all`` guests, ``external`` guests only - those outside the calendar's own organisation - or
``none``), are the deployment's decisions: ``calendar_id`` and ``notify`` are config fields, filled
from the host's settings and hidden from AI tool schemas - a model never picks another calendar nor
makes the calendar send invitations the business did not choose to send.

Times are aware (RFC 3339 with an offset) and the event is shown in ``time_zone``; naive times are
refused (which zone was meant decides when the meeting is).

**Free slots.** ``calendar.free_busy`` answers the calendar's busy periods in a window;
``calendar.find_slots`` turns them into the first free slots that fit the business's rules -
working hours per weekday in a time zone, the meeting's length, a buffer around other meetings, a
minimum notice and a horizon (:mod:`shared.actions.slots`, pure and provider-free). No slot in the
horizon is an answer (``slots: []``), not an error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "Attendee",
    "CalendarEvent",
    "CancelEvent",
    "CancelledEvent",
    "CreateEvent",
    "CreatedEvent",
    "EventRef",
    "FindSlots",
    "FoundEvent",
    "FreeBusy",
    "FreeBusyQuery",
    "FreeSlots",
    "Guest",
    "MoveEvent",
    "NotifyGuests",
    "Period",
    "ResponseStatus",
    "SetAttendees",
    "WorkingHours",
]

#: Whom the calendar itself emails about a change: every guest, guests outside the calendar's own
#: organisation, or nobody (the business sends its own confirmations).
NotifyGuests = Literal["all", "external", "none"]
#: A guest's answer to an invitation.
ResponseStatus = Literal["needs_action", "accepted", "declined", "tentative"]

#: The most characters a key may have (booking ids, UUIDs and the like are far shorter).
MAX_KEY: Final = 500
#: An event id as a calendar answers it: opaque, printable, no spaces.
_EVENT_ID: Final = r"^[!-~]{1,1024}$"
_KEY_DESCRIPTION: Final = (
    "your own stable name for the event (a booking's id, a UUID ...): creating with the same key "
    "again never makes a second event"
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Guest(_In):
    """A guest of an event."""

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str | None = Field(default=None, max_length=500)


class _Deployment(_In):
    #: Config: the calendar (``primary``, or a calendar id such as ``...@group.calendar.google.com``).
    calendar_id: str = Field(min_length=1, max_length=300)


class _Notifying(_Deployment):
    #: Config: whom the calendar itself emails about the change (:data:`NotifyGuests`).
    notify: NotifyGuests

    @field_validator("notify", mode="before")
    @classmethod
    def _settings_word(cls, value: Any) -> Any:
        # Deployments' settings (``google_send_updates``) name "external" in Google's word.
        return "external" if value == "externalOnly" else value


class _Which(_In):
    """One existing event, named by the id the calendar answered for it or by the caller's key."""

    event_id: str | None = Field(
        default=None, pattern=_EVENT_ID, description="the event's id, as the calendar answered it"
    )
    key: str | None = Field(
        default=None, min_length=1, max_length=MAX_KEY, description="or: the key it was created under"
    )

    @model_validator(mode="after")
    def _one(self) -> _Which:
        if (self.event_id is None) == (self.key is None):
            raise ValueError("name the event by event_id or by key, one of the two")
        return self


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


class _Target(_Notifying, _Which):
    """An existing event to change."""


class _Keyed(_Notifying):
    key: str = Field(min_length=1, max_length=MAX_KEY, description=_KEY_DESCRIPTION)
    event_id: str | None = Field(
        default=None,
        pattern=_EVENT_ID,
        description="only to make an event again: the id the calendar answered for it before",
    )


class CreateEvent(_Times, _Details, _Keyed):
    """A new event under the caller's key."""

    summary: str = Field(min_length=1, max_length=2000, description="the title")


class MoveEvent(_Times, _Details, _Target):
    """New times for an event (a reschedule); the other details change only when given."""


class SetAttendees(_Target):
    attendees: list[Guest] = Field(max_length=100, description="the whole new guest list")


class CancelEvent(_Target):
    """An event to cancel (the calendar keeps it, with status cancelled)."""


class EventRef(_Deployment, _Which):
    """An event to read."""


class Attendee(_Out):
    email: str
    name: str | None = None
    response_status: ResponseStatus | None = Field(default=None, description="the guest's answer, if known")


class CalendarEvent(_Out):
    event_id: str = Field(description="the calendar's id of the event")
    status: str = Field(description="confirmed, tentative, or cancelled (deleted)")
    ical_uid: str | None = Field(default=None, description="the UID invitations (.ics) carry")
    url: str | None = Field(default=None, description="the event's page in the calendar")
    summary: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    attendees: list[Attendee] = Field(default_factory=list)
    private_properties: dict[str, str] = Field(default_factory=dict)


class CreatedEvent(_Out):
    created: bool = Field(description="false: the key's event was there already (shown as it is)")
    event: CalendarEvent


class FoundEvent(_Out):
    found: bool = Field(description="false: there is no such event")
    event: CalendarEvent | None = None
    event_id: str | None = Field(
        default=None, description="the calendar's id of the event asked for, if known"
    )


class CancelledEvent(_Out):
    event_id: str | None = Field(default=None, description="the calendar's id of the event, if known")
    ical_uid: str | None = Field(default=None, description="the UID its invitations (.ics) carried, if known")
    deleted: bool = Field(description="false: it was already gone")


# --- free/busy and free slots ------------------------------------------------------------------

#: The longest window one free/busy question or slot search covers (days).
MAX_HORIZON_DAYS: Final = 60
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
#: Weekdays in ``date.weekday()`` order.
WEEKDAYS: Final[tuple[Weekday, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK: Final = r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("is not an IANA time zone name (e.g. Europe/London)") from exc
    return value


class FreeBusyQuery(_Deployment):
    """When the deployment's calendar is busy between two instants."""

    start: AwareDatetime = Field(description="from (RFC 3339 with offset)")
    end: AwareDatetime = Field(
        description=f"to (RFC 3339 with offset), at most {MAX_HORIZON_DAYS} days later"
    )

    @model_validator(mode="after")
    def _span(self) -> FreeBusyQuery:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if (self.end - self.start).days >= MAX_HORIZON_DAYS:
            raise ValueError(f"the window may be at most {MAX_HORIZON_DAYS} days long")
        return self


class Period(_Out):
    start: datetime
    end: datetime


class FreeBusy(_Out):
    start: datetime
    end: datetime
    busy: list[Period] = Field(description="busy periods, merged and in order (UTC)")


class WorkingHours(_In):
    """One stretch of a weekday when meetings may be booked, in the search's time zone."""

    day: Weekday
    start: str = Field(pattern=_CLOCK, description="HH:MM local time, e.g. 09:00")
    end: str = Field(pattern=_CLOCK, description="HH:MM local time, e.g. 17:30 (24:00 = midnight)")

    @model_validator(mode="after")
    def _order(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError(f"{self.day}: end {self.end} must be after start {self.start}")
        return self


def _office_week() -> list[WorkingHours]:
    return [WorkingHours(day=d, start="09:00", end="17:00") for d in WEEKDAYS[:5]]


class FindSlots(_Deployment):
    """What a free slot must be: its length, the hours it may fall in, the gaps around it."""

    time_zone: str = Field(max_length=64, description="IANA zone the working hours are in (Europe/London)")
    duration_minutes: int = Field(ge=5, le=480, description="the meeting's length")
    working_hours: list[WorkingHours] = Field(
        default_factory=_office_week,
        min_length=1,
        max_length=21,
        description="when meetings may be booked (default Mon-Fri 09:00-17:00)",
    )
    buffer_minutes: int = Field(default=0, ge=0, le=240, description="free time kept before and after")
    notice_minutes: int = Field(default=60, ge=0, le=20_160, description="no slot starts sooner than this")
    step_minutes: int = Field(default=30, ge=5, le=240, description="slots start this often from an opening")
    horizon_days: int = Field(default=14, ge=1, le=MAX_HORIZON_DAYS, description="how far ahead to look")
    count: int = Field(default=5, ge=1, le=50, description="at most this many slots")
    after: AwareDatetime | None = Field(default=None, description="look from here on (default: now)")

    _zone = field_validator("time_zone")(lambda cls, v: _check_zone(v))


class FreeSlots(_Out):
    slots: list[Period] = Field(description="the first free slots, in order; empty: none in the horizon")
    searched_from: datetime
    searched_until: datetime
    time_zone: str
