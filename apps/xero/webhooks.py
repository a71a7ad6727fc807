"""What Xero's webhooks deliver: a batch of events, each naming a changed resource (ingress path).

Xero sends no record in a webhook, only which resource changed (``resourceUrl``, ``resourceId``), in
which organisation (``tenantId``) and how (``eventType`` CREATE or UPDATE, ``eventCategory``): the
worker reads the resource itself. A credit-note event also carries ``data`` with the note's ``Type``
and ``Status``. The batch has sequence numbers and an ``entropy`` string; the intent-to-receive check
sends an empty ``events`` list (with sequence numbers 0), which validates here like any batch.

Source: ``XeroAPI/Xero-OpenAPI`` ``xero-webhooks.yaml`` 16.1.0 (``WebhookEvent``,
``CreditNoteWebhookEvent`` and their examples), https://developer.xero.com/documentation/guides/webhooks/overview/.
Tolerant (``extra="ignore"``): a field Xero adds must not start refusing deliveries.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["CreditNoteData", "Event", "Notification", "event_id"]


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CreditNoteData(_Tolerant):
    """``data`` of a CREDITNOTE event."""

    Type: str
    Status: str


class Event(_Tolerant):
    """One change: which resource, where, when and how."""

    resourceUrl: str = Field(min_length=1, max_length=2000)
    resourceId: str = Field(min_length=1, max_length=100)
    #: UTC, written without an offset (``2024-06-21T01:15:39.902``).
    eventDateUtc: datetime
    eventType: str = Field(min_length=1, max_length=40, description="CREATE or UPDATE")
    eventCategory: str = Field(min_length=1, max_length=40, description="INVOICE, CONTACT, CREDITNOTE ...")
    tenantId: str = Field(min_length=1, max_length=100)
    tenantType: str = Field(max_length=40, description="ORGANISATION, or APPLICATION for subscriptions")
    data: CreditNoteData | None = None

    @field_validator("eventDateUtc")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Notification(_Tolerant):
    """One delivery: zero or more events (zero: the intent-to-receive check)."""

    events: list[Event] = Field(max_length=1000)
    firstEventSequence: int = Field(ge=0, le=2_147_483_647)
    lastEventSequence: int = Field(ge=0, le=2_147_483_647)
    entropy: str = Field(max_length=200)


def event_id(event: Event) -> str:
    """A stable id of one change: Xero gives events no id of their own, so the resource, the kind of
    change and its time name it - a redelivered batch yields the same ids."""
    when = event.eventDateUtc.isoformat(timespec="milliseconds")
    return f"xero:{event.tenantId}:{event.eventCategory}:{event.resourceId}:{event.eventType}:{when}"
