"""What HubSpot's webhooks deliver (Webhooks API v3): the model the ingress path validates.

Imported by specs on the ingress path, so it holds the webhook payload only - no API models, no
client.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["WebhookEvent"]


class WebhookEvent(BaseModel):
    """One event of a HubSpot webhook request (Webhooks API v3). HubSpot POSTs a JSON *array* of these.

    Fields as HubSpot's webhooks guide lists them ("Webhook payloads",
    https://developers.hubspot.com/docs/api/webhooks): ``objectId`` (for contacts, the contact id),
    ``eventId`` ("not guaranteed to be unique"), ``subscriptionId``, ``portalId`` (the HubSpot
    account), ``appId``, ``occurredAt`` (milliseconds), ``subscriptionType`` (``contact.creation``,
    ``contact.propertyChange`` ...), ``attemptNumber`` (0 on the first delivery), ``changeSource``
    (``CRM_UI``, ``IMPORT``, ``API`` ...); ``changeFlag`` and ``sourceId`` on newer deliveries;
    ``propertyName``/``propertyValue`` on property changes only. A request holds up to 100 events, in
    no particular order, and an event may be delivered more than once.
    """

    # HubSpot adds fields over time; ignoring unknown ones keeps old workers working.
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    event_id: int = Field(alias="eventId")
    subscription_id: int | None = Field(default=None, alias="subscriptionId")
    portal_id: int = Field(alias="portalId")
    app_id: int | None = Field(default=None, alias="appId")
    occurred_at_ms: int = Field(alias="occurredAt")
    subscription_type: str = Field(alias="subscriptionType")
    attempt_number: int = Field(default=0, alias="attemptNumber")
    object_id: int = Field(alias="objectId")
    change_source: str | None = Field(default=None, alias="changeSource")
    change_flag: str | None = Field(default=None, alias="changeFlag")
    source_id: str | None = Field(default=None, alias="sourceId")
    property_name: str | None = Field(default=None, alias="propertyName")
    property_value: Any = Field(default=None, alias="propertyValue")

    @property
    def occurred_at(self) -> datetime:
        """``occurredAt`` as an aware UTC time."""
        return datetime.fromtimestamp(self.occurred_at_ms / 1000, UTC)
