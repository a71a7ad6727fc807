"""Models of website_to_crm: the three ways a lead arrives, and the one shape the worker sees.

``Lead`` is ours, so it is strict (unknown fields are an error). The provider payloads are theirs,
so they tolerate extra fields: Tally adds keys over time and that must not start rejecting leads.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from apps.tally.webhooks import TallyField, TallyWebhook

__all__ = [
    "FormPost",
    "Lead",
    "LeadWebhook",
    "LeadWebhookData",
    "Settings",
    "TallyField",
    "TallyWebhook",
    "Utm",
]

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$"
)
_PHONE_CHARS = re.compile(r"^\+?[0-9 ().-]{6,30}$")
_TRUE = {"true", "on", "yes", "1", "y", "checked"}
_FALSE = {"false", "off", "no", "0", "n", ""}


def normalise_email(value: str) -> str:
    """Lower-cased and checked: HubSpot matches contacts by email, case-insensitively."""
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("is not a valid email address")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}".lower()


def normalise_phone(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    digits = re.sub(r"\D", "", value)
    if not _PHONE_CHARS.match(value) or not 6 <= len(digits) <= 15:
        raise ValueError("is not a valid phone number (6-15 digits, optional leading +)")
    return ("+" if value.startswith("+") else "") + digits


def parse_consent(value: Any) -> bool:
    """HTML checkboxes send "on" or nothing; JSON senders send booleans."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("must be true or false")


class Utm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    source: str | None = Field(default=None, max_length=200)
    medium: str | None = Field(default=None, max_length=200)
    campaign: str | None = Field(default=None, max_length=200)
    term: str | None = Field(default=None, max_length=200)
    content: str | None = Field(default=None, max_length=200)


class Lead(BaseModel):
    """A person who wrote in, whichever way they did. What the worker path receives."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    email: str
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    phone: str | None = None
    company: str | None = Field(default=None, max_length=200)
    message: str | None = Field(default=None, max_length=5000)
    consent: bool = False
    utm: Utm = Field(default_factory=Utm)
    #: Where the lead came from: ``website_form``, ``tally`` or the form service's name.
    source: str = Field(min_length=1, max_length=50)
    form_id: str | None = Field(default=None, max_length=100)
    page_url: str | None = Field(default=None, max_length=2000)
    submitted_at: datetime

    _email = field_validator("email")(lambda cls, v: normalise_email(v))
    _phone = field_validator("phone")(lambda cls, v: normalise_phone(v))

    @field_validator("submitted_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def split_name(full: str) -> tuple[str, str | None]:
    parts = full.strip().split(None, 1)
    if not parts:
        raise ValueError("name is empty")
    return parts[0], (parts[1] if len(parts) > 1 else None)


class _PersonFields(BaseModel):
    """The fields a website form and a signed lead webhook share (flat, as forms send them)."""

    name: str | None = Field(default=None, max_length=200)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    email: str
    phone: str | None = None
    company: str | None = Field(default=None, max_length=200)
    message: str | None = Field(default=None, max_length=5000)
    consent: bool = False
    utm_source: str | None = Field(default=None, max_length=200)
    utm_medium: str | None = Field(default=None, max_length=200)
    utm_campaign: str | None = Field(default=None, max_length=200)
    utm_term: str | None = Field(default=None, max_length=200)
    utm_content: str | None = Field(default=None, max_length=200)
    form_id: str | None = Field(default=None, max_length=100)
    page_url: str | None = Field(default=None, max_length=2000)

    _email = field_validator("email")(lambda cls, v: normalise_email(v))
    _phone = field_validator("phone")(lambda cls, v: normalise_phone(v))
    _consent = field_validator("consent", mode="before")(lambda cls, v: parse_consent(v))

    @model_validator(mode="after")
    def _needs_a_name(self) -> _PersonFields:
        if not (self.first_name or (self.name and self.name.strip())):
            raise ValueError("name or first_name is required")
        return self

    def to_lead(self, *, source: str, submitted_at: datetime) -> Lead:
        if self.first_name:
            first, last = self.first_name, self.last_name
        else:
            first, last = split_name(self.name or "")
        return Lead(
            email=self.email,
            first_name=first,
            last_name=last,
            phone=self.phone,
            company=self.company or None,
            message=self.message or None,
            consent=self.consent,
            utm=Utm(
                source=self.utm_source or None,
                medium=self.utm_medium or None,
                campaign=self.utm_campaign or None,
                term=self.utm_term or None,
                content=self.utm_content or None,
            ),
            source=source,
            form_id=self.form_id,
            page_url=self.page_url,
            submitted_at=submitted_at,
        )


class FormPost(_PersonFields):
    """The business's own HTML form (``application/x-www-form-urlencoded``).

    Unknown fields are ignored (site builders add their own hidden inputs), but every field we use
    is checked. The honeypot field (``website``) is handled by the ingress path before this model.
    """

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class LeadWebhookData(_PersonFields):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class LeadWebhook(BaseModel):
    """A signed lead from a form service or the site's backend, in the Standard Webhooks shape.

    ``{"type": "form.submitted", "timestamp": "...", "data": {...}}`` - the event id is the
    ``webhook-id`` header, as Standard Webhooks defines it.
    """

    model_config = ConfigDict(extra="ignore")

    type: str = Field(pattern=r"^form\.submitted$")
    timestamp: datetime
    data: LeadWebhookData


class Settings(BaseModel):
    """website_to_crm's configuration, per stage (CDK context ``settings.website_to_crm``)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    #: Sites allowed to post the HTML form (scheme://host[:port]).
    allowed_origins: tuple[str, ...] = ()
    #: Where a browser is sent after a plain HTML form post (no JavaScript); JSON answer if unset.
    thank_you_url: str | None = None
    #: HubSpot owner ids to assign new leads to, in turn. Empty: leave unassigned.
    owner_ids: tuple[str, ...] = ()
    lifecycle_stage: str = "lead"
    lead_status: str = "NEW"
    #: Link shown in events and logs: ``{portal}`` is the HubSpot portal id.
    hubspot_portal_id: str | None = None
    #: Tally field label -> Lead field, for forms whose labels differ from the defaults.
    tally_labels: dict[str, str] = Field(default_factory=dict)
