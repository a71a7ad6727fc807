"""Models of lead_followup: the two ways in, the one work item the worker sees, and settings.

``lead.scored`` is lead_enrichment's event and the click is Slack's payload
(:mod:`apps.slack.interactivity`): both tolerate fields they do not know. :class:`FollowUp` is ours
and strict. Ingress path: pydantic, the standard library and the action contracts' models only.
"""

from __future__ import annotations

import email.utils
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.actions.calendar import NotifyGuests, WorkingHours

__all__ = ["BOOK", "NOT_NOW", "FollowUp", "LeadScored", "Settings", "contact_value"]

#: The buttons' ``action_id`` s.
BOOK = "lead_followup.book"
NOT_NOW = "lead_followup.not_now"
#: A button's ``value``: ``contact:<HubSpot contact id>`` - nothing secret, nothing personal.
_VALUE = re.compile(r"^contact:([0-9A-Za-z_-]{1,40})$")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def contact_value(contact_id: str) -> str:
    return f"contact:{contact_id}"


def contact_of(value: str | None) -> str | None:
    """The contact id a button's value carries, or ``None`` when it is not one of ours."""
    match = _VALUE.match(value or "")
    return match.group(1) if match else None


class LeadScored(BaseModel):
    """``lead.scored`` (lead_enrichment): the contact, its score 0-100 and the one-line reason."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    contact_id: str = Field(min_length=1, max_length=64)
    score: int = Field(ge=0, le=100)
    reason: str | None = Field(default=None, max_length=2000)
    crm_url: str | None = None
    #: The lead event the score is for (the key of the offer: one message per scored lead).
    lead_event_id: str | None = Field(default=None, max_length=200)


class FollowUp(BaseModel):
    """One unit of work: offer a scored lead to its rep, book it in, or note "not now"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["offer", "book", "dismiss"]
    contact_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")
    #: offer: the score and why.
    score: int | None = Field(default=None, ge=0, le=100)
    reason: str | None = Field(default=None, max_length=2000)
    crm_url: str | None = None
    #: book / dismiss: the message clicked (channel id and ts) and who clicked (a Slack user id).
    channel: str | None = Field(default=None, max_length=40)
    message_ts: str | None = Field(default=None, max_length=40)
    user_id: str | None = Field(default=None, max_length=40)


def _email_address(value: str, *, display_name: bool) -> str:
    name, address = email.utils.parseaddr(value)
    if not _ADDRESS.match(address) or (name and not display_name):
        raise ValueError("is not an email address")
    return value.strip()


def _office_week() -> list[WorkingHours]:
    return [WorkingHours(day=d, start="09:00", end="17:00") for d in ("mon", "tue", "wed", "thu", "fri")]


class Settings(BaseModel):
    """lead_followup's configuration, per stage (CDK context ``settings.lead_followup``)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    #: Leads scoring at least this are offered to the rep.
    min_score: int = Field(default=60, ge=0, le=100)
    #: Offer every scored lead, whatever its score.
    every_lead: bool = False
    #: Where offers go when the contact's owner has no entry in ``owner_channels``: a channel id or
    #: name the Slack app is in.
    slack_channel: str = Field(default="#new-leads", min_length=2, max_length=80)
    #: HubSpot owner id -> the Slack channel (``C...``/``#name``) or user (``U...``: a DM from the app).
    owner_channels: dict[str, str] = Field(default_factory=dict, max_length=500)
    #: The calendar meetings are booked on (``primary`` of the connected Google account, or an id).
    calendar_id: str = Field(default="primary", min_length=1, max_length=300)
    #: Whether Google itself emails the lead about the event (the flow sends its own confirmation).
    google_send_updates: NotifyGuests | Literal["externalOnly"] = "none"
    #: The zone working hours are in and times are shown in.
    time_zone: str = Field(default="Europe/London", max_length=64)
    working_hours: list[WorkingHours] = Field(default_factory=_office_week, min_length=1, max_length=21)
    meeting_minutes: int = Field(default=30, ge=5, le=480)
    buffer_minutes: int = Field(default=15, ge=0, le=240)
    notice_minutes: int = Field(default=120, ge=0, le=20_160)
    horizon_days: int = Field(default=10, ge=1, le=60)
    #: The meeting's title ("Intro call with Bramble Bakery").
    meeting_title: str = Field(default="Intro call", min_length=1, max_length=200)
    business_name: str = Field(min_length=1, max_length=100)
    #: The confirmation's sender; its domain must be verified in SES.
    from_address: str

    _from = field_validator("from_address")(lambda cls, v: _email_address(v, display_name=True))

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("is not an IANA time zone name (e.g. Europe/London)") from exc
        return value
