"""One signed webhook delivery: the request a provider would make, and posting it.

``switchboard send`` and ``replay`` (through :func:`infra.local.samples.build_request`), the chaos
harness and the load harness all deliver webhooks the way the provider would - signed afresh with
the trigger's own verifier at the moment of sending. Signing lives here once, so that every sender
exercises the same check the ingress path makes, and a change to how requests are signed reaches
them all.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import NamedTuple

import httpx

from shared.spec import WebhookTrigger

__all__ = ["JSON", "SignedRequest", "post", "post_status", "signed_request"]

JSON = "application/json"


class SignedRequest(NamedTuple):
    """URL, headers and body of one POST (a tuple, so ``url, headers, body = ...`` unpacks it)."""

    url: str
    headers: dict[str, str]
    body: bytes


def signed_request(
    trigger: WebhookTrigger,
    base_url: str,
    body: bytes,
    secret: str,
    *,
    headers: Mapping[str, str] | None = None,
    msg_id: str | None = None,
    now: float | None = None,
) -> SignedRequest:
    """The request delivering ``body`` to ``trigger`` under ``base_url``, signed with ``secret``.

    ``headers`` are the provider's own (they may replace the JSON content type); the signature
    headers come last so nothing can overwrite them. ``msg_id`` is the delivery id the schemes that
    sign one (Standard Webhooks) put in the signature: a fresh one unless the caller names the event.
    """
    url = base_url.rstrip("/") + trigger.path
    signed = {"content-type": JSON, **(headers or {})}
    signed.update(
        trigger.verifier.sign(
            method=trigger.method,
            url=url,
            body=body,
            secret=secret,
            now=time.time() if now is None else now,
            msg_id=msg_id or f"msg_{uuid.uuid4().hex}",
        )
    )
    return SignedRequest(url, signed, body)


def post(
    request: SignedRequest, client: httpx.Client | None = None, *, timeout: float = 10
) -> httpx.Response:
    """POST ``request`` (through ``client`` when the caller keeps connections open)."""
    if client is None:
        return httpx.post(request.url, headers=request.headers, content=request.body, timeout=timeout)
    return client.post(request.url, headers=request.headers, content=request.body)


def post_status(request: SignedRequest, client: httpx.Client) -> int:
    """The status ``request`` was answered with; 0 when it got no answer (refused, timed out).

    Harnesses count a lost answer like a provider does: as a delivery to try again, not an error.
    """
    try:
        return post(request, client).status_code
    except httpx.HTTPError:
        return 0
