"""Models of booking_to_calendar: the two ways a booking arrives, the one shape the worker sees, settings.

The arrivals are Calendly's and Cal.com's (:mod:`apps.calendly.webhooks`, :mod:`apps.calcom.webhooks`),
tolerant of fields they add. :class:`BookingChange` is ours and strict: whatever the provider, the
worker sees one booking change - create, reschedule (a move of the booking it replaces), cancel, or
ignore (a webhook that needs no work, kept as a work item so that it shows in traces).
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from apps.calcom.webhooks import WebhookEnvelope as CalcomWebhook
from apps.calendly.webhooks import WebhookEnvelope as CalendlyWebhook

__all__ = ["BookingChange", "CalcomWebhook", "CalendlyWebhook", "Person", "Settings"]

_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
Action = Literal["create", "reschedule", "cancel", "ignore"]


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: str = Field(min_length=3, max_length=320)
    name: str | None = Field(default=None, max_length=500)
    #: IANA zone name the person sees times in (``Europe/London``), when the provider says.
    time_zone: str | None = Field(default=None, max_length=64)

    @property
    def first_name(self) -> str | None:
        return self.name.split()[0] if self.name and self.name.strip() else None


class BookingChange(BaseModel):
    """One unit of work: a booking created, moved, cancelled - or a webhook to ignore."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    provider: Literal["calendly", "calcom"]
    #: The booking's identity: ``calendly:<scheduled event uuid>`` / ``calcom:<booking uid>``.
    booking_key: str | None = Field(default=None, min_length=1, max_length=300)
    #: For a reschedule: the key of the booking it replaces (whose calendar event moves).
    previous_key: str | None = Field(default=None, min_length=1, max_length=300)
    title: str = Field(default="Booking", min_length=1, max_length=500)
    start: datetime | None = None
    end: datetime | None = None
    location: str | None = Field(default=None, max_length=2000)
    notes: str | None = Field(default=None, max_length=8000)
    organizer: Person | None = None
    #: Who booked: the confirmation goes to them.
    invitee: Person | None = None
    #: Everyone the booking puts on the calendar event (the invitee and their guests).
    attendees: tuple[Person, ...] = ()
    #: A seat of a group (Calendly) or seated (Cal.com) event: join or leave it, never move or
    #: delete the whole event, which other people are booked on too.
    seat_only: bool = False
    #: Zone the business's calendar shows the event in, when the provider says (Cal.com organizer).
    time_zone: str | None = Field(default=None, max_length=64)
    cancel_url: str | None = Field(default=None, max_length=2000)
    reschedule_url: str | None = Field(default=None, max_length=2000)
    #: Cancellation reason, or why a webhook is ignored.
    reason: str | None = Field(default=None, max_length=2000)

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @model_validator(mode="after")
    def _complete(self) -> BookingChange:
        if self.action == "ignore":
            return self
        if self.booking_key is None or self.start is None or self.end is None or self.invitee is None:
            raise ValueError(f"a {self.action} needs booking_key, start, end and invitee")
        if self.end < self.start:
            raise ValueError("end is before start")
        if self.action == "reschedule" and self.previous_key is None:
            raise ValueError("a reschedule needs previous_key")
        return self


def _email_address(value: str, *, display_name: bool) -> str:
    name, address = email.utils.parseaddr(value)
    if not _ADDRESS.match(address) or (name and not display_name):
        raise ValueError("is not an email address")
    return value.strip()


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("is not an IANA time zone name") from exc
    return value


class Settings(BaseModel):
    """booking_to_calendar's configuration, per stage (CDK context ``settings.booking_to_calendar``)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    #: The Google calendar bookings go to: ``primary`` (the connected account's own) or a calendar id.
    calendar_id: str = Field(default="primary", min_length=1, max_length=300)
    #: The sender of confirmations, with a display name if wanted; its domain must be verified in SES.
    from_address: str
    #: Where the invitee's replies go (the business's inbox); the organizer's address if unset.
    reply_to: str | None = None
    #: Shown in the emails ("Bramble Bakery").
    business_name: str = Field(min_length=1, max_length=100)
    #: The business's zone: the calendar event's zone when the provider does not say one.
    time_zone: str = "Europe/London"
    #: Google's own invitation emails (``sendUpdates``). ``none``: Switchboard's confirmation with its
    #: .ics is the one email the invitee gets; ``all`` would send them Google's as well.
    google_send_updates: Literal["none", "all", "externalOnly"] = "none"

    _from_address = field_validator("from_address")(lambda cls, v: _email_address(v, display_name=True))
    _time_zone = field_validator("time_zone")(lambda cls, v: _zone(v))

    @field_validator("reply_to")
    @classmethod
    def _reply_to(cls, value: str | None) -> str | None:
        return None if value is None else _email_address(value, display_name=True)
