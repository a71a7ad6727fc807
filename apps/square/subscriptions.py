"""Square's Webhook Subscriptions API, for ``switchboard webhooks register|list|remove``.

Square generates each subscription's signature key and answers it once, in the create
(``CreateWebhookSubscription``) - and again on ``UpdateWebhookSubscriptionSignatureKey``, which is how
a key is rotated. A subscription is named (``name``, at most 64 characters): Switchboard names its own
(:func:`shared.subscriptions.label_for`) so that it finds one registered at an older URL.

Credentials: the application's personal access token (the ``square`` connection's ``token``) -
"Because webhook subscriptions are owned by the application and not by any one seller, you cannot use
OAuth access tokens with the Webhook Subscriptions API."

Sources: https://developer.squareup.com/docs/webhooks/webhook-subscriptions-api and Square's SDK
reference (``square/square-ruby-sdk`` ``doc/api/webhook-subscriptions.md`` and the models it links:
``WebhookSubscription``, ``ListWebhookSubscriptionsResponse`` with its ``cursor``,
``UpdateWebhookSubscriptionSignatureKeyResponse``). Operator-side only; never on a Lambda path.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from apps.square import APP, SQUARE_VERSION
from shared.subscriptions import JsonSubscriptions, Remote, Wanted

if TYPE_CHECKING:
    import httpx

__all__ = ["SquareSubscriptions", "open_api"]

_PATH = "/v2/webhooks/subscriptions"


class _Subscription(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    name: str | None = None
    enabled: bool = True
    event_types: list[str] = []
    notification_url: str = ""
    signature_key: str | None = None
    created_at: str = ""

    def remote(self) -> Remote:
        return Remote(
            id=self.id,
            url=self.notification_url,
            events=tuple(self.event_types),
            enabled=self.enabled,
            label=self.name or "",
            secret=self.signature_key,
            created_at=self.created_at,
        )


class _One(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subscription: _Subscription


class _Page(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subscriptions: list[_Subscription] = []
    cursor: str | None = None


class _Key(BaseModel):
    model_config = ConfigDict(extra="ignore")

    signature_key: str


class SquareSubscriptions(JsonSubscriptions):
    """:class:`shared.subscriptions.SubscriptionApi` for Square."""

    title = "Square"
    chooses_secret: Literal["provider", "us"] = "provider"
    reports_secret = False
    labels = True
    app = APP

    def list(self) -> list[Remote]:
        found: list[Remote] = []
        cursor: str | None = None
        while True:
            params = {"include_disabled": "true", "limit": "100", **({"cursor": cursor} if cursor else {})}
            page = self._api.parse(_Page, self._api.request("GET", _PATH, params=params), _PATH)
            found += [s.remote() for s in page.subscriptions]
            cursor = page.cursor
            if not cursor:
                return found

    def create(self, wanted: Wanted, secret: str | None) -> Remote:
        body = {
            "idempotency_key": str(uuid.uuid4()),
            "subscription": {
                "name": wanted.label,
                "enabled": True,
                "event_types": list(wanted.events),
                "notification_url": wanted.url,
                # Notifications are rendered in the version the models were written for.
                "api_version": SQUARE_VERSION,
            },
        }
        answer = self._api.request("POST", _PATH, json=body)
        return self._api.parse(_One, answer, _PATH).subscription.remote()

    def update(self, remote: Remote, wanted: Wanted) -> Remote:
        path = f"{_PATH}/{remote.id}"
        body = {"subscription": {"name": wanted.label, "enabled": True, "event_types": list(wanted.events)}}
        answer = self._api.request("PUT", path, json=body, template=_PATH + "/{id}")
        return self._api.parse(_One, answer, path).subscription.remote()

    def rotate(self, remote: Remote, wanted: Wanted, secret: str | None) -> Remote:
        """``UpdateWebhookSubscriptionSignatureKey``: Square signs with the new key from now on."""
        path = f"{_PATH}/{remote.id}/signature-key"
        answer = self._api.request(
            "POST", path, json={"idempotency_key": str(uuid.uuid4())}, template=_PATH + "/{id}/signature-key"
        )
        key = self._api.parse(_Key, answer, path).signature_key
        return Remote(
            remote.id, remote.url, remote.events, remote.enabled, remote.label, key, remote.created_at
        )

    def delete(self, remote: Remote) -> None:
        """Gone already (404) is as good as deleted."""
        self._api.request("DELETE", f"{_PATH}/{remote.id}", template=_PATH + "/{id}", ok=(404,))

    def close(self) -> None:
        self._api.close()


def open_api(
    credentials: Mapping[str, str], *, transport: httpx.BaseTransport | None = None
) -> SquareSubscriptions:
    return SquareSubscriptions(credentials, transport=transport)
