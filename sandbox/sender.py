"""The provider side of webhooks: a sandbox app that *sends* signed webhooks, like Square or Stripe do.

A sandbox app that creates payments, bookings or charges tells Switchboard about them the way the
real provider would: it POSTs a JSON event, signed with the subscription's secret, to each subscribed
URL. Each app passes its own ``sign`` function, written from the provider's documentation and
independently of :mod:`shared.webhooks` - so a delivery that Switchboard accepts is a cross-check of
our verifier against a second implementation, not the verifier agreeing with itself.

The senders hold the provider's subscriptions: one store that both the provider's own
subscription API (Square's Webhook Subscriptions, Stripe's webhook endpoints, Calendly's webhook
subscriptions, Cal.com's webhooks - each stand-in serves it in the provider's shapes) and the local
runtime write to. A subscription has event types (``None``: every event) and can be disabled; an
event goes to every enabled subscription that wants its type (``event_type`` of the payload), signed
with that subscription's secret - so after ``switchboard webhooks register`` a payment made at the
stand-in arrives signed with the key the provider's API returned. The local runtime subscribes every
sender to the webhook triggers whose signing connection belongs to the same app at start-up, as if
the subscription had been made in the provider's dashboard (``switchboard dev`` wires this up;
nothing to configure). Control endpoints:

* ``GET /_webhooks/subscriptions`` - the subscriptions (id, url, events, enabled; never a secret);
* ``POST /_webhooks/subscriptions`` ``{"url": ..., "secret": ...}`` - subscribe a URL;
* ``DELETE /_webhooks/subscriptions`` - remove them all;
* ``GET /_webhooks`` - the deliveries made (event id, url, status), newest last;
* ``POST /_webhooks/redeliver`` ``{"delivery_id": ...}`` - send a delivery again, freshly signed, as
  a provider's "resend" button or its own retry does (the event id stays the same).

Deliveries are synchronous and not retried on their own: a test or the chaos harness decides when a
provider re-sends.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.base import SandboxResponse

if TYPE_CHECKING:
    from sandbox.base import SandboxRequest

__all__ = ["Deliver", "Delivery", "Sign", "Subscription", "WebhookSender"]

#: ``sign(url, body, secret, now) -> headers``: the provider's signature headers for one delivery.
Sign = Callable[[str, bytes, str, float], Mapping[str, str]]
#: ``deliver(url, headers, body) -> status``: how a delivery reaches the URL (HTTP by default).
Deliver = Callable[[str, Mapping[str, str], bytes], int]

_MAX_DELIVERIES = 5000
_TIMEOUT_S = 10.0


@dataclass
class Subscription:
    """One subscription at the provider: where to, signed with what, for which event types."""

    url: str
    secret: str = field(repr=False)
    deliver: Deliver | None = None
    id: str = ""
    #: The event types delivered; ``None`` (or ``"*"`` among them, Stripe's wildcard): every event.
    events: tuple[str, ...] | None = None
    enabled: bool = True
    created_at: float = 0.0
    updated_at: float = 0.0
    #: The provider's other fields (Square's ``name`` and ``api_version``, Stripe's ``description``
    #: and ``metadata`` ...), kept as its API was given them.
    fields: dict[str, Any] = field(default_factory=dict)

    def wants(self, event_type: str) -> bool:
        return self.enabled and (self.events is None or "*" in self.events or event_type in self.events)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "events": None if self.events is None else list(self.events),
            "enabled": self.enabled,
        }


@dataclass
class Delivery:
    id: int
    event_id: str
    url: str
    body: bytes = field(repr=False)
    status: int | None = None
    error: str = ""
    #: The provider's own headers of this event (Shopify's ``X-Shopify-Topic`` ...), sent again on a
    #: redelivery; the signature headers are added at each sending.
    headers: dict[str, str] = field(default_factory=dict, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event_id": self.event_id,
            "url": self.url,
            "status": self.status,
            "error": self.error,
        }


class WebhookSender:
    """Signs and POSTs a provider's webhook events to the subscribed URLs."""

    def __init__(
        self,
        sign: Sign,
        *,
        content_type: str = "application/json",
        event_id: Callable[[Mapping[str, Any]], str] | None = None,
        event_type: Callable[[Mapping[str, Any]], str] | None = None,
        new_id: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sign = sign
        self._content_type = content_type
        self._event_id = event_id or (lambda payload: str(payload.get("id", "")))
        self._event_type = event_type or (lambda payload: str(payload.get("type", "")))
        self._clock = clock
        self._ids = itertools.count(1)
        numbers = itertools.count(1)
        self._new_id = new_id or (lambda: f"sub_{next(numbers)}")
        self.subscriptions: list[Subscription] = []
        self.deliveries: deque[Delivery] = deque(maxlen=_MAX_DELIVERIES)

    def subscribe(
        self,
        url: str,
        secret: str,
        *,
        deliver: Deliver | None = None,
        events: tuple[str, ...] | None = None,
    ) -> Subscription:
        """Add (or replace, by URL) a subscription, as a dashboard would; ``deliver`` replaces HTTP
        (in-process tests). The provider APIs use :meth:`add`, which keeps the others."""
        self.subscriptions = [s for s in self.subscriptions if s.url != url]
        now = self._clock()
        subscription = Subscription(url, secret, deliver, self._new_id(), events, True, now, now)
        self.subscriptions.append(subscription)
        return subscription

    def add(
        self,
        url: str,
        secret: str,
        *,
        events: tuple[str, ...] | None,
        enabled: bool = True,
        fields: Mapping[str, Any] | None = None,
    ) -> Subscription:
        """A new subscription (a provider API's create); the provider decides about duplicates."""
        now = self._clock()
        subscription = Subscription(
            url, secret, None, self._new_id(), events, enabled, now, now, dict(fields or {})
        )
        self.subscriptions.append(subscription)
        return subscription

    def find(self, subscription_id: str) -> Subscription | None:
        return next((s for s in self.subscriptions if s.id == subscription_id), None)

    def remove(self, subscription_id: str) -> Subscription | None:
        found = self.find(subscription_id)
        if found is not None:
            self.subscriptions = [s for s in self.subscriptions if s is not found]
        return found

    def touch(self, subscription: Subscription) -> None:
        """Record an update (``updated_at``)."""
        subscription.updated_at = self._clock()

    def clear_deliveries(self) -> None:
        self.deliveries.clear()

    def send(
        self,
        payload: Mapping[str, Any],
        *,
        event_type: str | None = None,
        event_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> list[Delivery]:
        """Deliver one event to every subscription that wants its type; returns each delivery.

        ``event_type`` and ``event_id`` are for providers that say them in headers rather than in the
        body (Shopify's ``X-Shopify-Topic``); ``headers`` are such headers, sent with the event.
        """
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        event_id = self._event_id(payload) if event_id is None else event_id
        kind = self._event_type(payload) if event_type is None else event_type
        extra = {k.lower(): v for k, v in (headers or {}).items()}
        return [
            self._deliver(s, Delivery(next(self._ids), event_id, s.url, body, headers=extra))
            for s in list(self.subscriptions)
            if s.wants(kind)
        ]

    def redeliver(self, delivery_id: int) -> Delivery | None:
        """Send a past delivery again, re-signed now (same body, same event id)."""
        for past in self.deliveries:
            if past.id == delivery_id:
                for subscription in self.subscriptions:
                    if subscription.url == past.url:
                        again = Delivery(
                            next(self._ids), past.event_id, past.url, past.body, headers=past.headers
                        )
                        return self._deliver(subscription, again)
        return None

    def _deliver(self, subscription: Subscription, delivery: Delivery) -> Delivery:
        headers = {
            "content-type": self._content_type,
            **delivery.headers,
            **self._sign(subscription.url, delivery.body, subscription.secret, self._clock()),
        }
        try:
            if subscription.deliver is not None:
                delivery.status = subscription.deliver(subscription.url, headers, delivery.body)
            else:
                delivery.status = _post(subscription.url, headers, delivery.body)
        except Exception as exc:  # a provider records the failure and carries on
            delivery.error = type(exc).__name__
        self.deliveries.append(delivery)
        return delivery

    # --- control endpoints -----------------------------------------------------------------------

    def control(self, req: SandboxRequest) -> SandboxResponse:
        path, method = req.path.split("?", 1)[0], req.method.upper()
        if path == "/_webhooks" and method == "GET":
            return SandboxResponse.json({"deliveries": [d.as_json() for d in self.deliveries]})
        if path == "/_webhooks/subscriptions":
            if method == "GET":
                return SandboxResponse.json({"subscriptions": [s.as_json() for s in self.subscriptions]})
            if method == "DELETE":
                self.subscriptions.clear()
                return SandboxResponse.json({"subscriptions": []})
            if method == "POST":
                body = _object(req)
                url, secret = body.get("url"), body.get("secret")
                if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                    return SandboxResponse.json({"error": "url must be an http(s) URL"}, 400)
                if not isinstance(secret, str) or not secret:
                    return SandboxResponse.json({"error": "secret must be a non-empty string"}, 400)
                self.subscribe(url, secret)
                return SandboxResponse.json({"url": url}, 201)
        if path == "/_webhooks/redeliver" and method == "POST":
            delivery_id = _object(req).get("delivery_id")
            if not isinstance(delivery_id, int):
                return SandboxResponse.json({"error": "delivery_id must be an integer"}, 400)
            again = self.redeliver(delivery_id)
            if again is None:
                return SandboxResponse.json({"error": f"no delivery {delivery_id} to a subscribed URL"}, 404)
            return SandboxResponse.json(again.as_json(), 201)
        return SandboxResponse.json({"error": f"no control endpoint {method} {path}"}, 404)


def _object(req: SandboxRequest) -> dict[str, Any]:
    try:
        data = req.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _post(url: str, headers: Mapping[str, str], body: bytes) -> int:
    import httpx

    with httpx.Client(timeout=_TIMEOUT_S) as client:
        return client.post(url, headers=dict(headers), content=body).status_code
