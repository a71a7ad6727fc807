"""Google Calendar's answers: the Event resource (the fields Switchboard reads) and error bodies.

An error body is ``{"error": {"errors": [{"domain", "reason", "message"}], "code", "message"}}``
(https://developers.google.com/workspace/calendar/api/guides/errors; what each reason means to the
client is in :mod:`.client`). Google adds fields freely: unknown ones are ignored. Worker path only.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "BusyPeriod",
    "ErrorDetail",
    "EventAttendee",
    "EventTime",
    "FreeBusyAnswer",
    "FreeBusyCalendar",
    "GoogleError",
    "GoogleEvent",
    "error_reason",
    "parse_error",
]


class _Model(BaseModel):
    # Google adds fields freely; unknown ones are ignored, never refused.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class EventTime(_Model):
    """``start`` / ``end``: ``dateTime`` (RFC 3339 with offset) and the zone it is shown in."""

    date_time: datetime | None = Field(default=None, alias="dateTime")
    date: str | None = None
    time_zone: str | None = Field(default=None, alias="timeZone")


class EventAttendee(_Model):
    email: str
    display_name: str | None = Field(default=None, alias="displayName")
    response_status: str | None = Field(default=None, alias="responseStatus")
    organizer: bool = False


class _ExtendedProperties(_Model):
    private: dict[str, str] = Field(default_factory=dict)
    shared: dict[str, str] = Field(default_factory=dict)


class GoogleEvent(_Model):
    """An Event resource, the fields Switchboard reads."""

    id: str
    status: str = "confirmed"
    html_link: str | None = Field(default=None, alias="htmlLink")
    ical_uid: str | None = Field(default=None, alias="iCalUID")
    sequence: int = 0
    summary: str | None = None
    start: EventTime | None = None
    end: EventTime | None = None
    attendees: tuple[EventAttendee, ...] = ()
    extended_properties: _ExtendedProperties | None = Field(default=None, alias="extendedProperties")
    updated: datetime | None = None

    def private(self, name: str) -> str | None:
        return self.extended_properties.private.get(name) if self.extended_properties else None


class GoogleError(_Model):
    domain: str | None = None
    reason: str | None = None
    message: str | None = None


class ErrorDetail(_Model):
    code: int | None = None
    message: str | None = None
    errors: tuple[GoogleError, ...] = ()
    status: str | None = None


class _ErrorBody(_Model):
    error: ErrorDetail


def parse_error(text: str | bytes) -> ErrorDetail | None:
    """Google's error body, or ``None`` if the answer is not one (a proxy's HTML page ...)."""
    try:
        return _ErrorBody.model_validate_json(text).error
    except ValidationError:
        return None


def error_reason(text: str | bytes) -> str | None:
    """The first ``errors[].reason`` of an error body (``duplicate``, ``deleted`` ...)."""
    detail = parse_error(text)
    if detail is None or not detail.errors:
        return None
    return detail.errors[0].reason


class BusyPeriod(_Model):
    """A ``TimePeriod`` of a free/busy answer: ``start`` and ``end`` (RFC 3339)."""

    start: datetime
    end: datetime


class FreeBusyCalendar(_Model):
    """One calendar's part of a free/busy answer: its busy periods, or ``errors`` (``notFound`` ...)."""

    busy: tuple[BusyPeriod, ...] = ()
    errors: tuple[dict[str, str], ...] = ()


class FreeBusyAnswer(_Model):
    """``POST /calendar/v3/freeBusy``'s answer (https://developers.google.com/workspace/calendar/api/v3/reference/freebusy/query):
    ``{"kind": "calendar#freeBusy", "timeMin", "timeMax", "calendars": {id: {"busy", "errors"}}}``."""

    kind: str | None = None
    time_min: datetime = Field(alias="timeMin")
    time_max: datetime = Field(alias="timeMax")
    calendars: dict[str, FreeBusyCalendar] = Field(default_factory=dict)
