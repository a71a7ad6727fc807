"""Refused requests, kept for a week so that "why didn't my webhook arrive?" has an answer.

A request the ingress refuses (401 forged or missing signature, 400 bad body, 413, 415, 403 origin,
404, 503, a 500 configuration error) queues nothing, so no event id ever exists for it. Each one gets
a *request id* instead: it is returned in the JSON error body (``request_id``), written in the
"request refused" log line, and recorded in the ledger table as one item

    ``<integration>#refused#<ISO time>#<request id>``

holding what an operator needs to answer the sender - when, which route, the status and the error
class's code (``reason``), its message redacted, the sender's network (the address masked to a /24 or
/48), the content type, the user agent, the *names* of the signature headers that were present, and
the body's size. Never the body, never a header value that could authenticate (signature,
authorization, cookie, API key). Items expire after :data:`RETENTION_S` (DynamoDB TTL on
``expiration``, as every ledger item).

The key starts with the integration's name, so the function's role may write it under the
``dynamodb:LeadingKeys`` grant it already has (``<integration>#*``, :mod:`infra.cdk.access`) and no
other integration's.

Recording must never cost the refusal its answer: the write goes through a DynamoDB client that waits
at most :data:`CONNECT_TIMEOUT_S` + :data:`READ_TIMEOUT_S` and tries once, any failure is logged
("refusal not recorded") and swallowed, and a flood of forged requests turns into at most
:data:`RECORDS_PER_S` writes a second per process (a token bucket of :data:`RECORD_BURST`), never a
write each. The reader side (:mod:`infra.ops.refused`: the operator console's list, ``switchboard
trace``) scans, so it lives outside the function's bundle and runs with the operator's credentials.

Ingress path: standard library, boto3 and :mod:`shared` only.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from shared.redact import redact_text
from shared.table import Item, Table

if TYPE_CHECKING:
    from shared.runtime import Runtime
    from shared.webhooks.base import WebhookRequest

__all__ = [
    "CONNECT_TIMEOUT_S",
    "KEY_KIND",
    "READ_TIMEOUT_S",
    "RECORDS_PER_S",
    "RECORD_BURST",
    "REQUEST_ID_PREFIX",
    "RETENTION_S",
    "Refusal",
    "describe",
    "mask_address",
    "new_request_id",
    "record",
    "refused_key",
    "refused_prefix",
]

#: How long a refused request is kept (the item's ``expiration``; DynamoDB deletes it after).
RETENTION_S: Final = 7 * 86400
#: The key segment after the integration's name that marks a refused-request item.
KEY_KIND: Final = "refused"
#: Request ids start with this, so ``switchboard trace`` can tell one from a provider's event id.
REQUEST_ID_PREFIX: Final = "req_"
#: The recording write's own limits: an unreachable DynamoDB delays the refusal by at most this.
CONNECT_TIMEOUT_S: Final = 0.5
READ_TIMEOUT_S: Final = 1.0
#: At most this many refusals recorded per second per process, after a burst of :data:`RECORD_BURST`.
RECORDS_PER_S: Final = 10.0
RECORD_BURST: Final = 50
_TEXT_LIMIT: Final = 300
#: Header names that carry (or name) a signature, a credential or a replay guard: recorded by name only.
_SIGNATURE_HINT: Final = re.compile(r"signature|signed|hmac|auth|token|secret|api-key|apikey|webhook-|x-hub")
_MAX_HEADER_NAMES: Final = 20


def new_request_id() -> str:
    """A fresh request id (``req_`` + 20 hex digits): unguessable, and says what it is."""
    return REQUEST_ID_PREFIX + secrets.token_hex(10)


def refused_prefix(integration: str) -> str:
    """The key prefix every refused request of ``integration`` has."""
    return f"{integration}#{KEY_KIND}#"


def refused_key(integration: str, at: str, request_id: str) -> str:
    """The ledger key of one refused request: newest last when sorted, one integration's together."""
    return f"{refused_prefix(integration)}{at}#{request_id}"


@dataclass(frozen=True)
class Refusal:
    """One refused request, as recorded (and as the console and ``switchboard trace`` show it)."""

    request_id: str
    #: When it was refused, UTC, ISO 8601 with microseconds (``2026-12-05T19:02:11.123456Z``).
    time: str
    integration: str
    #: ``METHOD /path`` as the request came (query string left off: it may carry a token).
    route: str
    method: str
    #: The trigger the route belongs to, if the route was found.
    trigger: str | None
    status: int
    #: The error class's code (``invalid_signature``, ``payload_too_large`` ...).
    reason: str
    #: The error's message, redacted.
    detail: str
    #: The sender's network: the address masked to a /24 (IPv4) or /48 (IPv6); empty if unknown.
    remote: str
    content_type: str
    user_agent: str
    #: Names (never values) of the signature / credential headers the request carried.
    signature_headers: tuple[str, ...]
    body_bytes: int

    def key(self) -> str:
        return refused_key(self.integration, self.time, self.request_id)

    def to_item(self, expires_at: int) -> Item:
        return {
            "id": self.key(),
            "request_id": self.request_id,
            "time": self.time,
            "integration": self.integration,
            "route": self.route,
            "method": self.method,
            "trigger": self.trigger or "",
            "status": self.status,
            "reason": self.reason,
            "detail": self.detail,
            "remote": self.remote,
            "content_type": self.content_type,
            "user_agent": self.user_agent,
            "signature_headers": list(self.signature_headers),
            "body_bytes": self.body_bytes,
            "expiration": expires_at,
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Refusal:
        return cls(
            request_id=str(item["request_id"]),
            time=str(item["time"]),
            integration=str(item["integration"]),
            route=str(item.get("route", "")),
            method=str(item.get("method", "")),
            trigger=str(item["trigger"]) if item.get("trigger") else None,
            status=int(item.get("status", 0)),
            reason=str(item.get("reason", "")),
            detail=str(item.get("detail", "")),
            remote=str(item.get("remote", "")),
            content_type=str(item.get("content_type", "")),
            user_agent=str(item.get("user_agent", "")),
            signature_headers=tuple(str(h) for h in item.get("signature_headers") or ()),
            body_bytes=int(item.get("body_bytes", 0)),
        )


def describe(
    integration: str,
    request: WebhookRequest,
    *,
    request_id: str,
    status: int,
    reason: str,
    detail: str,
    trigger: Any = None,
    now: float,
    body_bytes: int | None = None,
) -> Refusal:
    """What is kept of a refused ``request``: never its body, never a credential header's value.

    ``trigger`` is the route's trigger when the route was found; a webhook trigger's verifier names
    the signature headers its scheme reads, and those count as signature headers besides the names
    that look like one (``_SIGNATURE_HINT``). ``body_bytes`` is the body's size when ``request`` could
    not carry the body (it could not be decoded).
    """
    expected: set[str] = set()
    verifier = getattr(trigger, "verifier", None)
    if verifier is not None:
        expected = {h.lower() for h in verifier.signature_headers()}
    present = sorted(h for h in request.headers if h in expected or _SIGNATURE_HINT.search(h))
    return Refusal(
        request_id=request_id,
        time=_iso(now),
        integration=integration,
        route=_clip(f"{request.method} {request.path}"),
        method=request.method,
        trigger=getattr(trigger, "name", None),
        status=status,
        reason=reason,
        detail=_clip(redact_text(detail)),
        remote=mask_address(request.source_ip),
        content_type=_clip(request.header("content-type") or ""),
        user_agent=_clip(redact_text(request.header("user-agent") or "")),
        signature_headers=tuple(_clip(h) for h in present[:_MAX_HEADER_NAMES]),
        body_bytes=len(request.body) if body_bytes is None else body_bytes,
    )


def mask_address(address: str) -> str:
    """The sender's network, not the sender: ``203.0.113.7`` -> ``203.0.113.0/24``, IPv6 to a /48."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return ""
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def record(rt: Runtime, refusal: Refusal) -> bool:
    """Write ``refusal`` to the ledger table; whether it was written. Never raises.

    A failed or skipped write is logged ("refusal not recorded", with the request id, so the log line
    still answers the question) and the refusal is answered all the same.
    """
    from shared.observability import get_logger

    if not _bucket.take():
        get_logger(rt.name).warning(
            "refusal not recorded",
            extra={"request_id": refusal.request_id, "error": "rate", "detail": "over the recording rate"},
        )
        return False
    try:
        expires_at = int(_epoch(refusal.time)) + RETENTION_S
        Table(_writer(rt), rt.table).put(refusal.to_item(expires_at))
    except Exception as exc:  # DynamoDB down, throttled, denied: the refusal is still answered
        get_logger(rt.name).warning(
            "refusal not recorded",
            extra={"request_id": refusal.request_id, "error": type(exc).__name__, "detail": str(exc)[:200]},
        )
        return False
    return True


# --- the write's client and rate ------------------------------------------------------------------

_fast_lock = threading.Lock()
#: The runtime's shared DynamoDB client -> the recording client made from it; one pair per process.
_fast: list[tuple[Any, Any]] = []


def _writer(rt: Runtime) -> Any:
    """A DynamoDB client like the runtime's but quick to give up: short timeouts, one attempt.

    Made once per process from the runtime's shared client (same endpoint, region and credentials);
    a stand-in client that is not botocore's (the benchmarks' counting fake) is used as it is.
    """
    from botocore.config import Config

    base = rt.aws("dynamodb")
    meta = getattr(base, "meta", None)
    config = getattr(meta, "config", None)
    if meta is None or not isinstance(config, Config):
        return base
    with _fast_lock:
        if not _fast or _fast[0][0] is not base:
            import boto3

            quick = Config(
                connect_timeout=CONNECT_TIMEOUT_S,
                read_timeout=READ_TIMEOUT_S,
                retries={"total_max_attempts": 1},
            )
            client = boto3.client(
                "dynamodb",
                region_name=meta.region_name,
                endpoint_url=meta.endpoint_url,
                config=config.merge(quick),
            )
            _fast[:] = [(base, client)]
        return _fast[0][1]


class _Bucket:
    """A token bucket: :data:`RECORD_BURST` at once, then :data:`RECORDS_PER_S` a second."""

    def __init__(self, rate: float, burst: int, clock: Any = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


_bucket = _Bucket(RECORDS_PER_S, RECORD_BURST)


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _epoch(iso: str) -> float:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def _clip(text: str) -> str:
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"
