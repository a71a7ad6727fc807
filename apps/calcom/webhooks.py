"""What Cal.com's webhooks deliver: the envelope and the booking payload.

Sources (Cal.com docs "Webhooks", https://cal.com/docs/developing/guides/automation/webhooks, payload
version ``2021-10-20`` as sent in the ``x-cal-webhook-version`` header):

* Envelope ``{"triggerEvent", "createdAt", "payload"}``; booking payload fields ``uid`` (string,
  the booking's public id), ``bookingId`` (number), ``title``, ``startTime``/``endTime`` (ISO 8601
  UTC), ``organizer`` ``{name, email, timeZone}``, ``attendees`` ``[{name, email, timeZone}]``,
  ``location``, ``description``, ``additionalNotes``, ``iCalUID``, ``iCalSequence``, ``status``
  (``ACCEPTED``, ``CANCELLED`` ...), ``cancellationReason``, ``seatsPerTimeSlot``.
* ``BOOKING_RESCHEDULED`` is the *new* booking (new ``uid`` and ``bookingId``) with ``rescheduleUid``
  / ``rescheduleId`` naming the booking it replaces and ``rescheduleStartTime`` /
  ``rescheduleEndTime`` its old times. (Older payloads carried ``rescheduleUid`` only, and some
  integrations spell the original ``fromReschedule`` - the Booking model's column - which is read as
  a fallback.) Cal.com sends no separate ``BOOKING_CANCELLED`` for the replaced booking.
* Seated event types: "the attendees array contains only the attendee associated with the specific
  seat that triggered the webhook".

The ingress path imports this module (the spec validates :class:`WebhookEnvelope`): pydantic and
the standard library only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from . import BOOKING_EVENTS

__all__ = ["Attendee", "Booking", "Organizer", "WebhookEnvelope"]


class _Model(BaseModel):
    # Cal.com's payload has dozens of fields and grows; only the ones used are declared.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Organizer(_Model):
    email: str = Field(min_length=3, max_length=320)
    name: str | None = Field(default=None, max_length=500)
    time_zone: str | None = Field(default=None, alias="timeZone")


class Attendee(_Model):
    email: str = Field(min_length=3, max_length=320)
    name: str | None = Field(default=None, max_length=500)
    time_zone: str | None = Field(default=None, alias="timeZone")


class Booking(_Model):
    uid: str = Field(min_length=1, max_length=200)
    booking_id: int | None = Field(default=None, alias="bookingId")
    title: str | None = None
    description: str | None = None
    additional_notes: str | None = Field(default=None, alias="additionalNotes")
    start_time: datetime = Field(alias="startTime")
    end_time: datetime = Field(alias="endTime")
    organizer: Organizer
    attendees: tuple[Attendee, ...] = ()
    #: ``integrations:daily``, an address, a URL ... as the event type's location says.
    location: str | None = None
    status: str | None = None
    cancellation_reason: str | None = Field(default=None, alias="cancellationReason")
    ical_uid: str | None = Field(default=None, alias="iCalUID")
    ical_sequence: int | None = Field(default=None, alias="iCalSequence")
    seats_per_time_slot: int | None = Field(default=None, alias="seatsPerTimeSlot")
    reschedule_uid: str | None = Field(
        default=None, validation_alias=AliasChoices("rescheduleUid", "fromReschedule")
    )
    reschedule_id: int | None = Field(default=None, alias="rescheduleId")
    metadata: dict[str, Any] | None = None

    @property
    def video_url(self) -> str | None:
        url = (self.metadata or {}).get("videoCallUrl")
        return url if isinstance(url, str) and url.startswith("https://") else None


class WebhookEnvelope(_Model):
    """A Cal.com webhook body. Booking events need a booking payload; others are kept out of it.

    Other triggers a webhook may be subscribed to (``MEETING_ENDED``, ``BOOKING_PAID`` ...) validate
    with ``payload`` left out and are accepted and ignored, not refused.
    """

    trigger_event: str = Field(alias="triggerEvent", min_length=1, max_length=100)
    created_at: datetime | None = Field(default=None, alias="createdAt")
    payload: Booking | None = None

    @model_validator(mode="before")
    @classmethod
    def _booking_events_only(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("triggerEvent") not in BOOKING_EVENTS:
            return {k: v for k, v in data.items() if k != "payload"}
        if isinstance(data, dict) and data.get("payload") is None:
            raise ValueError(f"{data.get('triggerEvent')} needs its booking payload")
        return data
