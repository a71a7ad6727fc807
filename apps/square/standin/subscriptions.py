"""Square's Webhook Subscriptions API, offline: the subscriptions the notifications are sent to.

Served, in Square's shapes (``WebhookSubscription``: ``id``, ``name``, ``enabled``, ``event_types``,
``notification_url``, ``api_version``, ``signature_key`` - only in the answer to a create -,
``created_at``, ``updated_at``):

* ``GET /v2/webhooks/subscriptions`` (ListWebhookSubscriptions) - ``include_disabled`` (default
  false), ``sort_order`` (by creation, default ``ASC``), ``limit`` (default and maximum 100),
  ``cursor``; no ``signature_key`` in a listing;
* ``POST /v2/webhooks/subscriptions`` (CreateWebhookSubscription) - ``{"idempotency_key",
  "subscription": {...}}``; Square generates the signature key and answers it once;
* ``GET|PUT|DELETE /v2/webhooks/subscriptions/{subscription_id}`` (Retrieve / Update / Delete);
  an update changes ``name``, ``enabled``, ``event_types``, ``notification_url``, ``api_version``;
* ``POST /v2/webhooks/subscriptions/{subscription_id}/signature-key``
  (UpdateWebhookSubscriptionSignatureKey) - ``{"idempotency_key"}``, answers
  ``{"signature_key": <the new key>}``; notifications are signed with it from then on.

The subscriptions live in the app's webhook sender (:mod:`sandbox.sender`), so a payment created
after a subscription was made through this API is delivered to its ``notification_url``, for its
``event_types`` only, signed with its ``signature_key``. Like Square's own, subscriptions belong to
the application, not to the seller's data: ``POST /_reset`` keeps them.

Sources: Square's SDK reference for the Webhook Subscriptions API and its models
(``square/square-ruby-sdk`` ``doc/api/webhook-subscriptions.md``, ``doc/models/webhook-subscription.md``,
``create-webhook-subscription-response.md``, ``list-webhook-subscriptions-response.md``,
``update-webhook-subscription-signature-key-response.md`` - including the ``created_at`` format
``2022-01-10 23:29:48 +0000 UTC`` these answers use, unlike the RFC 3339 of other APIs) and
https://developer.squareup.com/docs/webhooks/webhook-subscriptions-api. The notification URL must
be HTTPS ("The notification URL must be formatted correctly, use the HTTPS protocol");
the stand-in also takes ``http://`` to 127.0.0.1 and localhost, where the local runtime listens.
Where Square documents no ``detail`` text, the text is ours, in Square's error shape.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from apps.square import SQUARE_VERSION
from sandbox.base import SandboxRequest, SandboxResponse
from sandbox.sender import Subscription, WebhookSender

from .base import SquareApi
from .wire import (
    Invalid,
    Page,
    idempotency_key,
    invalid_request,
    json_object,
    not_found_error,
    optional_idempotency_key,
)

__all__ = ["EVENT_TYPES", "WebhookSubscriptionsApi", "new_signature_key", "new_subscription_id"]

#: Event types the stand-in accepts in a subscription (Square's names; the ones it sends first).
EVENT_TYPES: Final = (
    "payment.created",
    "payment.updated",
    "refund.created",
    "refund.updated",
    "order.created",
    "order.updated",
    "order.fulfillment.updated",
    "inventory.count.updated",
    "catalog.version.updated",
    "customer.created",
    "customer.updated",
    "customer.deleted",
)
_MAX_NAME: Final = 64
_MAX_PAGE: Final = 100
_VERSION: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})


def new_subscription_id() -> str:
    """``wbhk_`` and 32 hex digits, as Square's subscription ids look."""
    return "wbhk_" + secrets.token_hex(16)


def new_signature_key() -> str:
    """22 URL-safe characters, as Square's signature keys look (``1k9bIJKCeTmSQwyagtNRLg``)."""
    return secrets.token_urlsafe(16)[:22]


def _square_time(epoch_s: float) -> str:
    """``2022-01-10 23:29:48 +0000 UTC``: how the Webhook Subscriptions API writes its times."""
    return time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(epoch_s))


class WebhookSubscriptionsApi(SquareApi):
    """The Webhook Subscriptions API over the app's webhook sender (``self.webhooks``)."""

    #: CreateWebhookSubscription / UpdateWebhookSubscriptionSignatureKey idempotency:
    #: (endpoint, key) -> (request body, answer).
    _subscription_requests: dict[tuple[str, str], tuple[Any, dict[str, Any]]]

    def _reset_subscription_requests(self) -> None:
        self._subscription_requests = {}

    # --- shapes --------------------------------------------------------------------------------

    @staticmethod
    def _subscription_json(sub: Subscription, *, with_key: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": sub.id,
            "name": sub.fields.get("name", ""),
            "enabled": sub.enabled,
            "event_types": list(sub.events or ()),
            "notification_url": sub.url,
            "api_version": sub.fields.get("api_version", ""),
        }
        if with_key:
            out["signature_key"] = sub.secret
        out["created_at"] = _square_time(sub.created_at)
        out["updated_at"] = _square_time(sub.updated_at)
        return out

    def _sender(self) -> WebhookSender:
        if self.webhooks is None:  # pragma: no cover - SquareSandbox always has its sender
            raise RuntimeError("the Square stand-in has no webhook sender")
        return self.webhooks

    def _subscription(self, params: Mapping[str, str]) -> Subscription:
        found = self._sender().find(params["subscription_id"])
        if found is None:
            raise not_found_error(
                f"Webhook subscription `{params['subscription_id']}` not found.", "subscription_id"
            )
        return found

    # --- checks --------------------------------------------------------------------------------

    def _replayed(self, endpoint: str, key: str | None, body: Any) -> SandboxResponse | None:
        if key is None or (endpoint, key) not in self._subscription_requests:
            return None
        first, answer = self._subscription_requests[(endpoint, key)]
        if first != body:
            raise invalid_request(
                "IDEMPOTENCY_KEY_REUSED",
                "The idempotency key was already used with another request.",
                "idempotency_key",
            )
        return SandboxResponse.json(answer)

    @staticmethod
    def _fields(data: Any, *, creating: bool) -> dict[str, Any]:
        """The writable fields of a ``subscription`` object, checked."""
        if not isinstance(data, dict):
            raise invalid_request(
                "MISSING_REQUIRED_PARAMETER", "Missing required parameter `subscription`.", "subscription"
            )
        out: dict[str, Any] = {}
        if "name" in data:
            name = data["name"]
            if not isinstance(name, str):
                raise invalid_request("EXPECTED_STRING", "Expected a string for `name`.", "subscription.name")
            if len(name) > _MAX_NAME:
                raise invalid_request(
                    "VALUE_TOO_LONG", f"`name` must be at most {_MAX_NAME} characters.", "subscription.name"
                )
            out["name"] = name
        if "enabled" in data:
            if not isinstance(data["enabled"], bool):
                raise invalid_request(
                    "EXPECTED_BOOLEAN", "Expected a boolean for `enabled`.", "subscription.enabled"
                )
            out["enabled"] = data["enabled"]
        if "event_types" in data or creating:
            events = data.get("event_types")
            if not isinstance(events, list) or not events:
                raise invalid_request(
                    "MISSING_REQUIRED_PARAMETER",
                    "Missing required parameter `event_types`.",
                    "subscription.event_types",
                )
            for i, event in enumerate(events):
                if event not in EVENT_TYPES:
                    raise invalid_request(
                        "INVALID_VALUE",
                        f"`{event}` is not a valid event type.",
                        f"subscription.event_types[{i}]",
                    )
            out["event_types"] = tuple(dict.fromkeys(events))
        if "notification_url" in data or creating:
            url = data.get("notification_url")
            if not isinstance(url, str) or not url:
                raise invalid_request(
                    "MISSING_REQUIRED_PARAMETER",
                    "Missing required parameter `notification_url`.",
                    "subscription.notification_url",
                )
            parts = urlsplit(url)
            secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)
            if not secure or not parts.netloc:
                raise invalid_request(
                    "INVALID_VALUE",
                    "The notification URL must be a valid URL that uses the HTTPS protocol.",
                    "subscription.notification_url",
                )
            out["notification_url"] = url
        if "api_version" in data:
            version = data["api_version"]
            if not isinstance(version, str) or not _VERSION.match(version):
                raise invalid_request(
                    "INVALID_VALUE",
                    "`api_version` must be a Square API version (YYYY-MM-DD).",
                    "subscription.api_version",
                )
            out["api_version"] = version
        return out

    # --- handlers ------------------------------------------------------------------------------

    def _list_subscriptions(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            include_disabled = (req.param("include_disabled") or "false").lower() == "true"
            order = req.param("sort_order") or "ASC"
            if order not in ("ASC", "DESC"):
                raise invalid_request(
                    "INVALID_ENUM_VALUE", f"`{order}` is not a valid SortOrder.", "sort_order"
                )
            size = _MAX_PAGE
            if req.param("limit") is not None:
                try:
                    limit = int(req.param("limit") or "")
                except ValueError:
                    raise invalid_request(
                        "EXPECTED_INTEGER", "Expected an integer value for `limit`.", "limit"
                    ) from None
                if limit < 1:
                    raise invalid_request("VALUE_TOO_LOW", "`limit` must be at least 1.", "limit")
                size = min(limit, _MAX_PAGE)
            found = [s for s in self._sender().subscriptions if include_disabled or s.enabled]
            found.sort(key=lambda s: s.created_at, reverse=order == "DESC")
            page = Page.open(
                "webhook_subscriptions", req.param("cursor"), found, min(size, self.max_page_size)
            )
        except Invalid as invalid:
            return invalid.response
        cursor = page.take()
        out: dict[str, Any] = {}  # an empty result is {} - no empty array
        if page.out:
            out["subscriptions"] = [self._subscription_json(s) for s in page.out]
        if cursor:
            out["cursor"] = cursor
        return SandboxResponse.json(out)

    def _create_subscription(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            body = json_object(req)
            key = optional_idempotency_key(body)
            replay = self._replayed("create", key, body)
            if replay is not None:
                return replay
            fields = self._fields(body.get("subscription"), creating=True)
        except Invalid as invalid:
            return invalid.response
        sub = self._sender().add(
            fields["notification_url"],
            new_signature_key(),
            events=fields["event_types"],
            enabled=fields.get("enabled", True),
            fields={
                "name": fields.get("name", ""),
                "api_version": fields.get("api_version", self._version(req)),
            },
        )
        answer = {"subscription": self._subscription_json(sub, with_key=True)}
        if key is not None:
            self._subscription_requests[("create", key)] = (body, answer)
        return SandboxResponse.json(answer)

    @staticmethod
    def _version(req: SandboxRequest) -> str:
        """ "The value defaults to the API version used by the application" (the request's pin)."""
        return req.header("square-version") or SQUARE_VERSION

    def _retrieve_subscription(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        try:
            return SandboxResponse.json({"subscription": self._subscription_json(self._subscription(params))})
        except Invalid as invalid:
            return invalid.response

    def _update_subscription(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        try:
            sub = self._subscription(params)
            fields = self._fields(json_object(req).get("subscription"), creating=False)
        except Invalid as invalid:
            return invalid.response
        if "notification_url" in fields:
            sub.url = fields["notification_url"]
        if "event_types" in fields:
            sub.events = fields["event_types"]
        if "enabled" in fields:
            sub.enabled = fields["enabled"]
        for name in ("name", "api_version"):
            if name in fields:
                sub.fields[name] = fields[name]
        self._sender().touch(sub)
        return SandboxResponse.json({"subscription": self._subscription_json(sub)})

    def _delete_subscription(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        try:
            sub = self._subscription(params)
        except Invalid as invalid:
            return invalid.response
        self._sender().remove(sub.id)
        return SandboxResponse.json({})

    def _update_signature_key(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        try:
            sub = self._subscription(params)
            body = json_object(req)
            key = idempotency_key(body)
            replay = self._replayed(f"signature-key:{sub.id}", key, body)
            if replay is not None:
                return replay
        except Invalid as invalid:
            return invalid.response
        sub.secret = new_signature_key()
        self._sender().touch(sub)
        answer = {"signature_key": sub.secret}
        if key is not None:
            self._subscription_requests[(f"signature-key:{sub.id}", key)] = (body, answer)
        return SandboxResponse.json(answer)
