"""The Square stand-in's webhooks: notifications in Square's shape, signed as Square signs them.

``payment.created`` / ``payment.updated`` / ``refund.created`` / ``refund.updated``: ``{"merchant_id",
"type", "event_id", "created_at", "data": {"type", "id", "object": {<type>: {...}}}}``. They are
built under the app's lock and sent after it is released, so a slow subscriber holds up no other
request.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from typing import Any

from sandbox.base import iso_ms

from .base import SquareApi
from .seed import MERCHANT_ID

__all__ = ["NotificationsApi", "square_signature"]


def square_signature(url: str, body: bytes, secret: str, now: float) -> dict[str, str]:
    """Square's webhook signature, written from Square's documentation (not from shared/webhooks).

    "Square generates the signature by concatenating the notification URL and the raw request body,
    then HMAC-SHA256 hashing it with the subscription's signature key, and base64-encoding the
    result" - in the ``x-square-hmacsha256-signature`` header. Square signs no timestamp (``now`` is
    unused). https://developer.squareup.com/docs/webhooks/step3validate
    """
    digest = hmac.new(secret.encode("utf-8"), url.encode("utf-8") + body, hashlib.sha256).digest()
    return {"x-square-hmacsha256-signature": base64.b64encode(digest).decode("ascii")}


class NotificationsApi(SquareApi):
    """Notifications queued by the API sections, sent by :meth:`_flush_webhooks`."""

    #: Notifications built under the lock, sent after it is released (see ``SquareSandbox.handle``).
    _outbox: list[dict[str, Any]]
    #: Every notification built (tests read them even with no subscription).
    notifications: list[dict[str, Any]]
    #: Counts every created object and notification, so ids made from it never repeat.
    _sequence: int

    def _reset_notifications(self) -> None:
        self._outbox = []
        self.notifications = []
        self._sequence = 0

    def _notify(self, event_type: str, object_type: str, obj: Mapping[str, Any]) -> None:
        """Queue a notification in Square's shape; :meth:`handle` sends it once the lock is released."""
        self._sequence += 1
        payload = {
            "merchant_id": MERCHANT_ID,
            "type": event_type,
            "event_id": str(
                uuid.UUID(
                    bytes=hashlib.sha256(f"{event_type}:{obj['id']}:{self._sequence}".encode()).digest()[:16],
                    version=4,
                )
            ),
            "created_at": iso_ms(self.clock()),
            "data": {"type": object_type, "id": obj["id"], "object": {object_type: copy.deepcopy(dict(obj))}},
        }
        self.notifications.append(payload)
        self._outbox.append(payload)

    def _flush_webhooks(self) -> None:
        with self.lock:
            pending, self._outbox = self._outbox, []
        if self.webhooks is not None:
            for payload in pending:
                self.webhooks.send(payload)
