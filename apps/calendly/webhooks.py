"""What Calendly's webhooks deliver: the envelope and the invitee (with its scheduled event).

Sources:

* Payload (webhook subscription v2, ``invitee.created`` / ``invitee.canceled``): an envelope
  ``{"event", "created_at", "created_by", "payload": <Invitee>}`` where the invitee carries the
  embedded ``scheduled_event``. Fields as in the Invitee and Event resources of
  https://developer.calendly.com/api-docs (``uri``, ``email``, ``name``, ``first_name``,
  ``last_name``, ``timezone``, ``status``, ``rescheduled``, ``old_invitee``, ``new_invitee``,
  ``cancel_url``, ``reschedule_url``, ``questions_and_answers``, ``cancellation``, ``tracking``;
  event ``uri``, ``name``, ``status``, ``start_time``, ``end_time``, ``location``,
  ``invitees_counter``, ``event_memberships``, ``event_guests``).

The ingress path imports this module (the spec validates :class:`WebhookEnvelope`): pydantic and
the standard library only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import INVITEE_CANCELED, INVITEE_CREATED, uuid_of

__all__ = [
    "Cancellation",
    "EventGuest",
    "EventMembership",
    "Invitee",
    "InviteeCounter",
    "Location",
    "QuestionAnswer",
    "ScheduledEvent",
    "WebhookEnvelope",
]


class _Model(BaseModel):
    # Calendly adds fields over time; a new field must not start refusing bookings.
    model_config = ConfigDict(extra="ignore", frozen=True)


class Location(_Model):
    """``{"type": "physical", "location": "..."}``, ``{"type": "zoom", "join_url": "..."}`` ..."""

    type: str | None = None
    location: str | None = None
    join_url: str | None = None
    data: dict[str, Any] | None = None

    def text(self) -> str | None:
        """The place or link a person can use, if the location says one."""
        return self.location or self.join_url


class EventMembership(_Model):
    """A host of the scheduled event (the business's Calendly user)."""

    user: str | None = None
    user_email: str | None = None
    user_name: str | None = None


class EventGuest(_Model):
    email: str
    created_at: datetime | None = None
    updated_at: datetime | None = None


class InviteeCounter(_Model):
    total: int = 0
    active: int = 0
    #: Seats of the event: 1 for one-on-one events, more for group events.
    limit: int = 1


class ScheduledEvent(_Model):
    uri: str
    name: str | None = None
    status: Literal["active", "canceled"] = "active"
    start_time: datetime
    end_time: datetime
    event_type: str | None = None
    location: Location | None = None
    invitees_counter: InviteeCounter | None = None
    event_memberships: tuple[EventMembership, ...] = ()
    event_guests: tuple[EventGuest, ...] = ()
    meeting_notes_plain: str | None = None

    @property
    def uuid(self) -> str:
        return uuid_of(self.uri)

    @property
    def is_group(self) -> bool:
        """A group event (several invitees share it); a one-on-one event has one seat."""
        return self.invitees_counter is not None and self.invitees_counter.limit > 1


class QuestionAnswer(_Model):
    question: str
    answer: str = ""
    position: int = 0


class Cancellation(_Model):
    canceled_by: str | None = None
    reason: str | None = None
    canceler_type: str | None = None
    created_at: datetime | None = None


class Invitee(_Model):
    uri: str = Field(min_length=1, max_length=500)
    email: str = Field(min_length=3, max_length=320)
    name: str | None = Field(default=None, max_length=500)
    first_name: str | None = None
    last_name: str | None = None
    status: Literal["active", "canceled"] = "active"
    #: The invitee's own time zone (IANA name), used to show them times.
    timezone: str | None = None
    rescheduled: bool = False
    old_invitee: str | None = None
    new_invitee: str | None = None
    cancel_url: str | None = None
    reschedule_url: str | None = None
    questions_and_answers: tuple[QuestionAnswer, ...] = ()
    cancellation: Cancellation | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    scheduled_event: ScheduledEvent

    @property
    def uuid(self) -> str:
        return uuid_of(self.uri)


class WebhookEnvelope(_Model):
    """A Calendly webhook request body.

    For ``invitee.created`` / ``invitee.canceled`` the payload must be a valid invitee (a 400 names
    the field otherwise). Other events a subscription may also carry (``invitee_no_show.created``,
    ``routing_form_submission.created`` ...) have other payloads: they validate with ``payload`` left
    out, so they can be accepted and ignored rather than refused - Calendly disables a subscription
    whose deliveries keep failing.
    """

    event: str = Field(min_length=1, max_length=100)
    created_at: datetime | None = None
    created_by: str | None = None
    payload: Invitee | None = None

    @model_validator(mode="before")
    @classmethod
    def _invitee_events_only(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("event") not in (INVITEE_CREATED, INVITEE_CANCELED):
            return {k: v for k, v in data.items() if k != "payload"}
        if isinstance(data, dict) and data.get("payload") is None:
            raise ValueError(f"{data.get('event')} needs its invitee payload")
        return data
