"""Standard Webhooks (https://www.standardwebhooks.com): the scheme Svix and many newer apps send.

The sender signs ``{webhook-id}.{webhook-timestamp}.{body}`` with HMAC-SHA256 under a key that is
shared as ``whsec_<base64>``, and lists its signatures, space-separated, in ``webhook-signature`` as
``v1,<base64>``. Signing the id and the timestamp (not just the body) is what makes a captured request
useless for a replay once the tolerance window has passed, and lets the id be trusted as the
idempotency key. Several signatures per header let the sender rotate keys with no downtime; we in
turn accept any of our active secrets (current and previous) for the same reason.

Entries with other versions (``v1a,`` is the asymmetric ed25519 scheme) are ignored, not failed: a
sender may add them next to ``v1`` at any time. Specification and reference libraries:
https://github.com/standard-webhooks/standard-webhooks (``spec/standard-webhooks.md``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from shared.errors import ConfigurationError, MissingSecret, SignatureMismatch, SignatureMissing
from shared.webhooks.base import WebhookRequest
from shared.webhooks.hmac import any_match, check_timestamp, require_secrets

__all__ = ["StandardWebhooks"]

_SECRET_PREFIX = "whsec_"


def _key(secret: str, scheme: str) -> bytes:
    """The HMAC key behind ``whsec_<base64>`` (the prefix is optional, as in the reference libraries).

    A secret that is not base64 is a deployment mistake (a pasted API key, say) and is raised as one,
    rather than silently becoming a key that can never match.
    """
    text = secret.strip().removeprefix(_SECRET_PREFIX)
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (ValueError, binascii.Error):
        raise ConfigurationError(f"a {scheme} signing secret is not base64 (expected whsec_...)") from None
    if not key:
        raise MissingSecret(f"a {scheme} signing secret is empty")
    return key


def _signed_content(msg_id: str, timestamp: str, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


@dataclass(kw_only=True, frozen=True)
class StandardWebhooks:
    """Verifier and signer for Standard Webhooks.

    ``header_prefix`` exists for senders that brand the same scheme (Svix sends ``svix-id``,
    ``svix-timestamp``, ``svix-signature``).
    """

    tolerance_s: int = 300
    header_prefix: str = "webhook"
    scheme: str = "standard-webhooks"

    def __post_init__(self) -> None:
        if self.tolerance_s <= 0 or not self.header_prefix:
            raise ValueError(f"{self.scheme}: need tolerance_s > 0 and a header_prefix")

    @property
    def _id_header(self) -> str:
        return f"{self.header_prefix}-id"

    @property
    def _timestamp_header(self) -> str:
        return f"{self.header_prefix}-timestamp"

    @property
    def _signature_header(self) -> str:
        return f"{self.header_prefix}-signature"

    def verify(self, request: WebhookRequest, secrets: Sequence[str], now: float) -> None:
        keys = [_key(s, self.scheme) for s in require_secrets(secrets, self.scheme)]
        sent = {name: (request.header(name) or "").strip() for name in self.signature_headers()}
        missing = [name for name, value in sent.items() if not value]
        if missing:
            raise SignatureMissing(f"missing header(s): {', '.join(missing)}")
        timestamp = check_timestamp(
            sent[self._timestamp_header],
            where=f"{self._timestamp_header} header",
            now=now,
            tolerance_s=self.tolerance_s,
        )
        candidates: list[bytes] = []
        for entry in sent[self._signature_header].split():
            version, _, value = entry.partition(",")
            if "," in value:
                # An entry is "<version>,<base64>"; a second comma means API Gateway joined two headers.
                raise SignatureMissing(f"{self._signature_header} header was sent more than once")
            if version != "v1":
                continue
            try:
                candidates.append(base64.b64decode(value, validate=True))
            except (ValueError, binascii.Error):
                continue
        signed = _signed_content(sent[self._id_header], timestamp, request.body)
        if not any_match(keys, signed, candidates):
            raise SignatureMismatch(f"no v1 signature in {self._signature_header} matches")

    def sign(
        self, *, method: str, url: str, body: bytes, secret: str, now: float, msg_id: str
    ) -> dict[str, str]:
        """Headers as a Standard Webhooks sender sends them (``method`` and ``url`` are not signed)."""
        (active,) = require_secrets([secret], self.scheme)
        timestamp = str(int(now))
        digest = hmac.new(_key(active, self.scheme), _signed_content(msg_id, timestamp, body), hashlib.sha256)
        return {
            self._id_header: msg_id,
            self._timestamp_header: timestamp,
            self._signature_header: "v1," + base64.b64encode(digest.digest()).decode(),
        }

    def signature_headers(self) -> tuple[str, ...]:
        return (self._id_header, self._timestamp_header, self._signature_header)
