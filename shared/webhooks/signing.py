"""Verifying a webhook against its signing connection: the pinned URL, and a rotated secret at once.

Two things a verifier alone cannot know, because they live in the signing connection's secret:

* **The URL the provider signs.** Square signs the notification URL exactly as it was registered
  (HubSpot v3 signs the URL too). Behind a proxy or a custom domain that rewrites ``Host`` the URL
  rebuilt from the request is not that one, and every delivery would be refused. A connection that
  declares the optional field ``notification_url`` (Square's) pins it - ``switchboard webhooks
  register`` writes it - and the verifier then sees that URL instead of the rebuilt one.
* **A secret rotated a moment ago.** Secrets are cached (5 minutes on Lambda). When ``webhooks
  register`` stores a new signing secret that the provider already signs with, a delivery signed
  with it fails against the cached value: before refusing it, the secret is read once more, fresh -
  at most once per :data:`FRESH_READ_INTERVAL_S` per connection, so forged requests cannot turn
  into a Secrets Manager call each.

Ingress path: standard library and :mod:`shared` only.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from shared.errors import SignatureMismatch
from shared.secrets import get_connection, stored_name

if TYPE_CHECKING:
    from shared.runtime import Runtime
    from shared.spec import WebhookTrigger
    from shared.webhooks.base import WebhookRequest

__all__ = ["FRESH_READ_INTERVAL_S", "PINNED_URL_FIELD", "pinned", "verify_webhook"]

#: The optional signing-connection field that pins the URL the provider signs.
PINNED_URL_FIELD: Final = "notification_url"
#: At most one fresh read of a connection's secret per this many seconds, per process.
FRESH_READ_INTERVAL_S: Final = 30.0

_last_fresh: dict[str, float] = {}
_lock = threading.Lock()


def pinned(request: WebhookRequest, value: Mapping[str, str]) -> WebhookRequest:
    """``request`` as the verifier should see it: with the pinned URL, if the connection has one."""
    url = value.get(PINNED_URL_FIELD)
    return dataclasses.replace(request, url=url) if url else request


def _secrets(value: Mapping[str, str]) -> list[str]:
    return [s for s in (value.get("secret"), value.get("previous_secret")) if s]


def _may_read_fresh(name: str) -> bool:
    now = time.monotonic()
    with _lock:
        last = _last_fresh.get(name)
        if last is not None and now - last < FRESH_READ_INTERVAL_S:
            return False
        _last_fresh[name] = now
        return True


def verify_webhook(rt: Runtime, trigger: WebhookTrigger, request: WebhookRequest, now: float) -> None:
    """Verify ``request`` for ``trigger``, or raise the verifier's :class:`SignatureError`.

    A missing secret is still a :class:`~shared.errors.MissingSecret` (fail closed), raised by the
    verifier before anything is compared.
    """
    value = get_connection(rt, trigger.secret)
    try:
        trigger.verifier.verify(pinned(request, value), _secrets(value), now)
    except SignatureMismatch:
        if not _may_read_fresh(stored_name(rt, trigger.secret)):
            raise
        fresh = get_connection(rt, trigger.secret, fresh=True)
        if _secrets(fresh) == _secrets(value) and fresh.get(PINNED_URL_FIELD) == value.get(PINNED_URL_FIELD):
            raise
        trigger.verifier.verify(pinned(request, fresh), _secrets(fresh), now)
