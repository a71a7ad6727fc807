"""Switchboard's error tree, written down once.

Every failure in Switchboard is one of these classes, and its class alone decides what happens next:
an ingress error is answered to the sender and nothing is queued; a retryable error puts the
message back on its queue with a back-off; a permanent error sends it to the dead-letter queue at
once, with its reason; a configuration error is a server fault that an operator must fix (it is
answered 500, counted and alarmed, and never turned into "skip the check").

    SwitchboardError
    ├── IngressError                  the request is refused; nothing is queued (status + code)
    │   ├── RouteNotFound             404  no integration serves this method and path
    │   ├── PayloadTooLarge           413  body over the trigger's limit
    │   ├── UnsupportedMediaType      415  content type the trigger does not accept
    │   ├── ForbiddenOrigin           403  browser form from a site not on the allow-list
    │   ├── SignatureError            401  the sender could not be authenticated
    │   │   ├── SignatureMissing           a signature or timestamp header is absent or doubled
    │   │   ├── SignatureMismatch          no signature matches any active secret
    │   │   └── TimestampOutOfTolerance    signed too long ago, or in the future (replay)
    │   ├── MalformedPayload          400  body is not valid UTF-8 / JSON / form encoding
    │   ├── InvalidPayload            400  body parsed but fields are wrong (names every field)
    │   └── QueueUnavailable          503  the event could not be made durable: the sender re-sends
    ├── ConfigurationError            500  deployment is wrong: fix it, then replay
    │   └── MissingSecret                  a secret (signing secret, credentials) is absent or empty
    ├── RetryableError                     a later attempt may succeed: back off and retry
    │   ├── TargetUnavailable              target answered 5xx, or could not be reached
    │   ├── TargetTimeout                  target did not answer within the timeout
    │   ├── RateLimited                    target answered 429 (carries ``retry_after``): waits, spends no attempt
    │   ├── CircuitOpen                    the target app's circuit is open: not called; waits, spends no attempt
    │   └── Contended                      another change came first; waits, spends no attempt
    │       ├── EventInProgress            the same event (or its entity, an OAuth refresh) is held elsewhere
    │       └── StockChanged               a compare-and-set write found another quantity (shared.actions.stock)
    └── PermanentError                     retrying cannot help: dead-letter queue at once
        ├── TargetRejected                 target answered 4xx (carries status and redacted text)
        ├── ConnectionRevoked              OAuth refresh refused (invalid_grant): re-authorise, redrive
        └── InvalidEvent                   a queued event does not match the integration's model

Messages carry no secrets and no personal data: target error texts are redacted before they are
stored on the exception (see :mod:`shared.redact`).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CircuitOpen",
    "ConfigurationError",
    "ConnectionRevoked",
    "Contended",
    "EventInProgress",
    "ForbiddenOrigin",
    "IngressError",
    "InvalidEvent",
    "InvalidPayload",
    "MalformedPayload",
    "MissingSecret",
    "PayloadTooLarge",
    "PermanentError",
    "QueueUnavailable",
    "RateLimited",
    "RetryableError",
    "RouteNotFound",
    "SignatureError",
    "SignatureMismatch",
    "SignatureMissing",
    "SwitchboardError",
    "TargetRejected",
    "TargetTimeout",
    "TargetUnavailable",
    "TimestampOutOfTolerance",
    "UnsupportedMediaType",
]


class SwitchboardError(Exception):
    """Base of every error Switchboard raises on purpose."""

    #: Short machine-readable name, used in JSON error bodies, DLQ reasons and metric dimensions.
    code: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message}


# --- ingress: answered to the sender, nothing queued ------------------------------------------


class IngressError(SwitchboardError):
    """The request is not accepted. The sender gets ``status`` and a JSON body; nothing is queued."""

    status: int = 400
    code = "bad_request"


class RouteNotFound(IngressError):
    status = 404
    code = "not_found"


class PayloadTooLarge(IngressError):
    status = 413
    code = "payload_too_large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"body is {size} bytes; this endpoint accepts at most {limit} bytes")
        self.size = size
        self.limit = limit

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "limit_bytes": self.limit}


class UnsupportedMediaType(IngressError):
    status = 415
    code = "unsupported_media_type"


class ForbiddenOrigin(IngressError):
    status = 403
    code = "forbidden_origin"


class SignatureError(IngressError):
    """The sender could not be authenticated. The message never says which secret was tried."""

    status = 401
    code = "invalid_signature"


class SignatureMissing(SignatureError):
    code = "missing_signature"


class SignatureMismatch(SignatureError):
    code = "invalid_signature"


class TimestampOutOfTolerance(SignatureError):
    code = "stale_signature"


class MalformedPayload(IngressError):
    code = "malformed_payload"


class InvalidPayload(IngressError):
    """The body parsed, but fields are wrong. ``errors`` names each field and what is wrong with it."""

    code = "invalid_payload"

    def __init__(self, errors: list[dict[str, str]]) -> None:
        fields = ", ".join(e["field"] for e in errors) or "body"
        super().__init__(f"invalid field(s): {fields}")
        self.errors = errors

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "errors": self.errors}


class QueueUnavailable(IngressError):
    """SQS did not take the event. 503 makes the provider re-send; the event id dedupes the re-send."""

    status = 503
    code = "queue_unavailable"


# --- configuration: a server fault an operator must fix ----------------------------------------


class ConfigurationError(SwitchboardError):
    """The deployment is wrong (not the request, not the target). Answered 500 and alarmed."""

    status = 500
    code = "configuration_error"


class MissingSecret(ConfigurationError):
    """A secret is absent or empty. A missing signing secret fails closed: never "skip the check"."""

    code = "missing_secret"


# --- worker outcomes ----------------------------------------------------------------------------


class RetryableError(SwitchboardError):
    """A later attempt may succeed. The message goes back on its queue with a back-off."""

    code = "retryable"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        #: Seconds the target asked us to wait, if it said so. Wins over the computed back-off.
        self.retry_after = retry_after


class TargetUnavailable(RetryableError):
    code = "target_unavailable"


class TargetTimeout(RetryableError):
    code = "target_timeout"


class RateLimited(RetryableError):
    code = "rate_limited"


class CircuitOpen(RetryableError):
    """The target app failed repeatedly and its circuit is open (:mod:`shared.health`): not called.

    Like a 429 it is the target's state, not the event's: the record waits on its queue until the
    next probe and spends none of its attempts, bounded by the retry horizon (:class:`RetryPolicy`).
    """

    code = "circuit_open"

    def __init__(
        self, message: str, *, app: str, since: float | None, waiting: int, retry_after: float | None
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.app = app
        #: When the circuit opened (Unix time), if known.
        self.since = since
        #: Events that waited for the app during this outage (every integration's).
        self.waiting = waiting


class Contended(RetryableError):
    """Another delivery or another change came first: try again once it is done.

    Someone else's state, not this event's failure - so the worker counts it as a wait, not an
    attempt (:mod:`shared.worker`): a burst of changes to one entity must not dead-letter the last
    of them for having waited its turn.
    """

    code = "contended"


class EventInProgress(Contended):
    code = "event_in_progress"


class PermanentError(SwitchboardError):
    """Retrying cannot help. The message goes to the dead-letter queue at once, with this reason."""

    code = "permanent"


class TargetRejected(PermanentError):
    code = "target_rejected"

    def __init__(self, message: str, *, status: int, app: str) -> None:
        super().__init__(message)
        self.status = status
        self.app = app

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "status": self.status, "app": self.app}


class ConnectionRevoked(PermanentError):
    """The app refused to refresh the connection's token (``invalid_grant``): revoked or expired.

    Permanent, not retryable: every retry would be refused the same way until a person authorises
    the app again. The event goes to the DLQ at once with a reason saying so, and is redriven after
    the new refresh token is stored (``switchboard secrets set`` then ``switchboard dlq redrive``).
    """

    code = "connection_revoked"


class InvalidEvent(PermanentError):
    code = "invalid_event"
