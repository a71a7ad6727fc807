"""One HMAC-SHA256 verifier, described by parameters, for the many apps that sign "their own way".

Tally, Typeform, GitHub, Cal.com, Square, Stripe, Calendly and HubSpot v3 all compute
``HMAC-SHA256(secret, <some bytes>)`` and differ only in which bytes, which header, how the digest is
encoded and where the timestamp lives. Writing each as parameters (not as code) keeps one audited
implementation of the dangerous parts: constant-time comparison, raw-body signing, replay windows and
fail-closed secrets. For example::

    GITHUB = HmacVerifier(scheme="github", header="x-hub-signature-256", prefix="sha256=")
    STRIPE = HmacVerifier(scheme="stripe", header="stripe-signature", format="kv",
                          content="{timestamp}.{body}")
    SQUARE = HmacVerifier(scheme="square", header="x-square-hmacsha256-signature",
                          encoding="base64", content="{url}{body}")
    HUBSPOT = HmacVerifier(scheme="hubspot", header="x-hubspot-signature-v3", encoding="base64",
                           content="{method}{url}{body}{timestamp}",
                           timestamp_header="x-hubspot-request-timestamp", timestamp_unit="ms",
                           url_normalizer=hubspot_v3_uri)

A non-numeric timestamp is reported as :class:`SignatureMissing` (there is no usable timestamp), not as
a mismatch: it is a malformed request, and nothing was compared.

Only the standard library is imported: this module is on the ingress path.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from shared.errors import MissingSecret, SignatureMismatch, SignatureMissing, TimestampOutOfTolerance
from shared.webhooks.base import WebhookRequest

__all__ = ["HmacVerifier", "any_match", "check_timestamp", "require_secrets"]

_PLACEHOLDERS = frozenset({"method", "url", "body", "timestamp", "id"})

#: A parsed content template: literal text, then the placeholder that follows it (or ``None``).
_Template = tuple[tuple[str, str | None], ...]


def any_match(keys: Sequence[bytes], signed: bytes, signatures: Sequence[bytes]) -> bool:
    """Whether any sent signature is the HMAC-SHA256 of ``signed`` under any active key.

    Every candidate is compared in constant time, so which key or signature matched (and how much of
    a forged one was right) is not observable. Several keys: the current and previous secret during a
    rotation; several signatures: senders that sign with more than one secret at once.
    """
    for key in keys:
        expected = hmac.new(key, signed, hashlib.sha256).digest()
        if any(hmac.compare_digest(expected, s) for s in signatures):
            return True
    return False


def require_secrets(secrets: Sequence[str], scheme: str) -> list[str]:
    """The non-empty secrets, or :class:`MissingSecret`.

    An unset secret must never turn into "skip the check": an empty list (or a list of empty strings)
    is a deployment fault, raised before the request is even looked at so it cannot hide behind a 401.
    """
    active = [s for s in secrets if s]
    if not active:
        raise MissingSecret(f"no signing secret is configured for {scheme} webhooks")
    return active


def check_timestamp(
    value: str | None, *, where: str, now: float, tolerance_s: int, unit: Literal["s", "ms"] = "s"
) -> str:
    """Return the timestamp exactly as sent (that is what was signed), once it is fresh enough.

    The window is checked both ways: a timestamp far in the future is as suspicious as an old one (a
    pre-signed request kept for a later replay, or a badly wrong clock).
    """
    text = (value or "").strip()
    if not text:
        raise SignatureMissing(f"{where} is missing")
    if "," in text:
        raise SignatureMissing(f"{where} was repeated (the header was sent more than once)")
    # A real time has at most 13 digits even in ms; the cap also keeps int() off its 4300-digit limit.
    if not (text.isascii() and text.isdigit() and len(text) <= 16):
        raise SignatureMissing(
            f"{where} is not a unix time in {'milliseconds' if unit == 'ms' else 'seconds'}"
        )
    signed_at = int(text) / 1000 if unit == "ms" else int(text)
    age = now - signed_at
    if age > tolerance_s:
        raise TimestampOutOfTolerance(f"signed {age:.0f} s ago; at most {tolerance_s} s is accepted")
    if -age > tolerance_s:
        raise TimestampOutOfTolerance(
            f"signed {-age:.0f} s in the future; at most {tolerance_s} s is accepted"
        )
    return text


@cache
def _parse_template(content: str) -> _Template:
    """Split ``content`` once into literals and placeholders, refusing anything we would not fill."""
    parts: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in string.Formatter().parse(content):
        if name is not None and (name not in _PLACEHOLDERS or spec or conversion):
            raise ValueError(f"content template: unknown placeholder {{{name}}}; use {sorted(_PLACEHOLDERS)}")
        parts.append((literal, name))
    return tuple(parts)


@dataclass(kw_only=True, frozen=True)
class HmacVerifier:
    """An HMAC-SHA256 scheme as data; see the module docstring."""

    scheme: str
    header: str
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = ""
    content: str = "{body}"
    timestamp_header: str | None = None
    timestamp_unit: Literal["s", "ms"] = "s"
    tolerance_s: int = 300
    format: Literal["plain", "kv"] = "plain"
    kv_timestamp_key: str = "t"
    kv_signature_key: str = "v1"
    id_header: str | None = None
    url_normalizer: Callable[[str], str] | None = None
    #: The sender wants bare answers: ``200`` with no body for a delivery taken (not ``202`` with ids)
    #: and refusals with no body either - Xero's "intent to receive" check fails an endpoint otherwise.
    empty_answers: bool = False

    def __post_init__(self) -> None:
        # Configuration mistakes surface at import time, not as 401s in production.
        names = {name for _, name in _parse_template(self.content)}
        if "body" not in names:
            raise ValueError(
                f"{self.scheme}: content must include {{body}}, or the body is not authenticated"
            )
        if "timestamp" in names and self.format == "plain" and not self.timestamp_header:
            raise ValueError(f"{self.scheme}: content uses {{timestamp}} but no timestamp_header is set")
        if "id" in names and not self.id_header:
            raise ValueError(f"{self.scheme}: content uses {{id}} but no id_header is set")
        if self.encoding not in ("hex", "base64") or self.format not in ("plain", "kv"):
            raise ValueError(f"{self.scheme}: unknown encoding {self.encoding!r} or format {self.format!r}")
        if self.timestamp_unit not in ("s", "ms") or self.tolerance_s <= 0 or not self.header:
            raise ValueError(f"{self.scheme}: need a header, timestamp_unit 's' or 'ms' and tolerance_s > 0")

    def verify(self, request: WebhookRequest, secrets: Sequence[str], now: float) -> None:
        keys = [s.encode() for s in require_secrets(secrets, self.scheme)]
        raw = (request.header(self.header) or "").strip()
        if not raw:
            raise SignatureMissing(f"{self.header} header is missing")
        if self.format == "kv":
            sent_timestamp, candidates = self._parse_kv(raw)
        else:
            sent_timestamp, candidates = self._parse_plain(raw, request)
        names = {name for _, name in _parse_template(self.content)}
        timestamp = ""
        if "timestamp" in names:
            timestamp = check_timestamp(
                sent_timestamp,
                where=self._timestamp_where(),
                now=now,
                tolerance_s=self.tolerance_s,
                unit=self.timestamp_unit,
            )
        msg_id = ""
        if "id" in names:
            msg_id = (request.header(self.id_header or "") or "").strip()
            if not msg_id:
                raise SignatureMissing(f"{self.id_header} header is missing")
        signed = self._content(request.method, request.url, request.body, timestamp, msg_id)
        decoded = [d for d in (self._decode(c) for c in candidates) if d is not None]
        if not any_match(keys, signed, decoded):
            raise SignatureMismatch(f"no signature in {self.header} matches")

    def sign(
        self, *, method: str, url: str, body: bytes, secret: str, now: float, msg_id: str
    ) -> dict[str, str]:
        """The headers the app itself would send, so tests and replays exercise the real check."""
        (key,) = require_secrets([secret], self.scheme)
        timestamp = str(int(now * 1000)) if self.timestamp_unit == "ms" else str(int(now))
        digest = hmac.new(key.encode(), self._content(method, url, body, timestamp, msg_id), hashlib.sha256)
        raw = digest.digest()
        signature = self.prefix + (raw.hex() if self.encoding == "hex" else base64.b64encode(raw).decode())
        headers: dict[str, str] = {}
        if self.format == "kv":
            kv = f"{self.kv_timestamp_key}={timestamp},{self.kv_signature_key}={signature}"
            headers[self.header.lower()] = kv
        else:
            headers[self.header.lower()] = signature
            if self.timestamp_header:
                headers[self.timestamp_header.lower()] = timestamp
        if self.id_header:
            headers[self.id_header.lower()] = msg_id
        return headers

    def signature_headers(self) -> tuple[str, ...]:
        names = (self.header, self.timestamp_header, self.id_header)
        return tuple(n.lower() for n in names if n)

    # --- parsing -------------------------------------------------------------------------------

    def _parse_plain(self, raw: str, request: WebhookRequest) -> tuple[str | None, list[str]]:
        # hex and base64 never contain ",": one here means API Gateway joined a repeated header.
        rest = raw[len(self.prefix) :] if raw.startswith(self.prefix) else raw
        if "," in rest:
            raise SignatureMissing(f"{self.header} header was sent more than once")
        sent = request.header(self.timestamp_header) if self.timestamp_header else None
        return sent, [raw]

    def _parse_kv(self, raw: str) -> tuple[str | None, list[str]]:
        """``t=1492774577,v1=5257a8...,v1=...,v0=...``: one timestamp, any number of signatures."""
        timestamp: str | None = None
        signatures: list[str] = []
        for item in raw.split(","):
            key, sep, value = item.strip().partition("=")
            if not sep:
                raise SignatureMismatch(f"{self.header} header is not a list of key=value pairs")
            if key == self.kv_timestamp_key:
                if timestamp is not None:
                    raise SignatureMissing(f"{self.header} header was sent more than once")
                timestamp = value
            elif key == self.kv_signature_key:
                signatures.append(value)
        if not signatures:
            raise SignatureMissing(f"{self.header} header has no {self.kv_signature_key}= signature")
        return timestamp, signatures

    def _timestamp_where(self) -> str:
        if self.format == "kv":
            return f"{self.kv_timestamp_key}= in the {self.header} header"
        return f"{self.timestamp_header} header"

    def _decode(self, value: str) -> bytes | None:
        """The digest bytes a signature value carries, or ``None`` if it cannot be one."""
        if not value.startswith(self.prefix):
            return None
        text = value[len(self.prefix) :]
        try:
            return bytes.fromhex(text) if self.encoding == "hex" else base64.b64decode(text, validate=True)
        except (ValueError, binascii.Error):
            return None

    def _content(self, method: str, url: str, body: bytes, timestamp: str, msg_id: str) -> bytes:
        """The signed bytes. Concatenated as bytes: the body is never decoded or re-serialized."""
        out = bytearray()
        for literal, name in _parse_template(self.content):
            out += literal.encode()
            if name == "body":
                out += body
            elif name == "method":
                out += method.upper().encode()
            elif name == "url":
                out += (self.url_normalizer(url) if self.url_normalizer else url).encode()
            elif name == "timestamp":
                out += timestamp.encode()
            elif name == "id":
                out += msg_id.encode()
        return bytes(out)
