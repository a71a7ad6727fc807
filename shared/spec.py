"""The integration declaration: one ``IntegrationSpec`` per ``functions/<name>/spec.py``.

A spec is plain data. The Lambda handler, the CDK constructs, the local runtime, the docs and the
scaffold all read it; nothing about an integration is written twice. A spec imports only
``shared`` types and its own models - never CDK, boto3 or httpx - so that importing it is cheap on the
ingress path.

The kinds of trigger cover what small businesses' tools do:

* :class:`WebhookTrigger` - a provider POSTs a signed request (Standard Webhooks, HubSpot v3,
  Square, Stripe, Tally ...); verified, validated and queued.
* :class:`FormTrigger` - a browser posts the business's own HTML form; guarded by an origin
  allow-list and a honeypot field instead of a signature.
* :class:`ScheduleTrigger` - an EventBridge schedule (cron or rate, in a time zone).
* :class:`BusTrigger` - a domain event another integration emitted on the Switchboard bus.
* :class:`RouteTrigger` - a synchronous route (``GET /stock/{sku}``) answered by calling the target.

Every trigger except the synchronous route turns its input into :class:`Accepted` work items, which
are queued; the worker path then processes them with retries, a DLQ and idempotency.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from shared.webhooks.base import Verifier, WebhookRequest

__all__ = [
    "SQS_MAX_RECEIVE_COUNT",
    "SQS_MAX_RETENTION_S",
    "Accepted",
    "BusEvent",
    "BusTrigger",
    "Connection",
    "EmailSender",
    "FormTrigger",
    "IntegrationSpec",
    "NoSettings",
    "RetryPolicy",
    "RouteTrigger",
    "ScheduleTrigger",
    "ScheduledRun",
    "Trigger",
    "WebhookTrigger",
    "accepted_status",
]

DEFAULT_MAX_BODY_BYTES = 256 * 1024


class NoSettings(BaseModel):
    """Settings model for an integration that has nothing to configure."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


@dataclass(frozen=True)
class Accepted:
    """One unit of work an inbound request (or schedule tick, or bus event) yields.

    ``event_id`` is the provider's own id for the event (``webhook-id``, Tally's ``eventId``,
    HubSpot's ``eventId`` ...), or a content hash where the sender has none. It is the idempotency
    key: the same id is processed at most once per step, however often it arrives.
    """

    event_id: str
    type: str
    data: BaseModel


@dataclass(frozen=True)
class Connection:
    """A set of credentials (one Secrets Manager secret) an integration uses.

    The secret's value is a JSON object with ``fields`` (required) and ``optional`` keys. ``local``
    is what ``make dev`` stores in the emulated Secrets Manager; the placeholder ``{sandbox}`` in a
    value becomes the local sandbox base URL. Connections are built by the app modules
    (``apps/<app>/``) so that the shape of an app's credentials is written once.
    """

    name: str
    app: str
    description: str
    fields: tuple[str, ...]
    optional: tuple[str, ...] = ()
    local: Mapping[str, str] = field(default_factory=dict)
    #: ``"signing"`` secrets verify inbound webhooks; ``"api"`` and ``"oauth2"`` ones call a target;
    #: ``"own-key"`` ones are Switchboard's own keys (API keys its callers present, the key connect
    #: links are signed with) - nothing a provider signs with, kept apart so no one rotates them as if.
    kind: Literal["api", "signing", "oauth2", "own-key"] = "api"


#: SQS's limits: ``maxReceiveCount`` at most 1,000, a queue keeps messages at most 14 days.
SQS_MAX_RECEIVE_COUNT = 1000
SQS_MAX_RETENTION_S = 14 * 24 * 3600


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed event is retried, how long it may wait for its target, how long its queue keeps it.

    Two kinds of "not yet" (see :mod:`shared.worker`):

    * an **attempt** - the event was tried and failed in a way a later try may fix (a 5xx, a timeout
      while the target's circuit is closed). Attempt ``n`` waits ``min(max_delay_s, base_delay_s *
      2**(n-1))`` with equal jitter; after ``max_attempts`` attempts the event is dead-lettered: it is
      poison for this target (others succeed where it keeps failing);
    * a **wait** - the target said "not now" (429 with ``Retry-After``) or its circuit is open
      (:mod:`shared.health`): the event was not the problem, so no attempt is spent. The ``k``-th wait
      lasts at least half of ``min(max_wait_s, base_delay_s * 2**(k-1))`` (longer if the target asked
      for longer, or its next probe is later), and waits are allowed for ``horizon_s``
      after the event was queued - longer than the providers keep re-sending a webhook themselves
      (Stripe about 3 days, Square 72 hours), so an outage they would ride out does not dead-letter.

    SQS counts every receive, waits included, so the queue's ``maxReceiveCount`` is a backstop
    (:attr:`max_receives`) derived from the horizon: poison that crashes the handler before it can
    count anything still ends in the DLQ. ``retention_s`` is how long the queue keeps a message; it
    must outlast the horizon and the attempts after it, or a message would expire instead of reaching
    the DLQ.
    """

    max_attempts: int = 8
    base_delay_s: float = 10.0
    max_delay_s: float = 900.0
    #: The longest gap between two waits the back-off makes (a target's ``Retry-After`` may ask more).
    max_wait_s: float = 900.0
    #: How long after it was queued an event may still wait for its target (5 days): the providers'
    #: own re-send windows (Stripe about 3 days, Square 72 hours) and two days more, so that an event
    #: queued shortly before a three-day outage still has time to get through the backlog after it.
    #: (With 4 days, soaks dead-lettered events queued a simulated half-day before an outage while
    #: the backlog after it drained.) The most that fits under SQS's 1,000 receives with waits up to
    #: 15 minutes apart.
    horizon_s: float = 5 * 24 * 3600
    #: How long the work queue keeps a message (7 days; the DLQ keeps 14 from the original enqueue).
    retention_s: int = 7 * 24 * 3600

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 < self.base_delay_s <= self.max_delay_s <= 43_200:
            raise ValueError("need 0 < base_delay_s <= max_delay_s <= 43200 (the SQS visibility limit)")
        if not 0 < self.max_wait_s <= 43_200:
            raise ValueError("need 0 < max_wait_s <= 43200 (the SQS visibility limit)")
        if self.horizon_s < 0:
            raise ValueError("horizon_s must not be negative")
        if not 60 <= self.retention_s < SQS_MAX_RETENTION_S:
            raise ValueError(
                f"retention_s must be 60..{SQS_MAX_RETENTION_S - 1}: below the DLQ's 14 days, which count "
                "from the original enqueue time"
            )
        if self.horizon_s + self.max_attempts * self.max_delay_s >= self.retention_s:
            raise ValueError(
                f"horizon_s ({self.horizon_s:.0f}s) plus {self.max_attempts} attempts of up to "
                f"{self.max_delay_s:.0f}s outlast retention_s ({self.retention_s}s): a message would "
                "expire on its queue instead of reaching the DLQ; raise retention_s or shorten horizon_s"
            )
        if self.max_receives > SQS_MAX_RECEIVE_COUNT:
            raise ValueError(
                f"waiting {self.horizon_s:.0f}s with waits of at most {self.max_wait_s:.0f}s needs "
                f"{self.max_receives} receives, over SQS's maxReceiveCount limit of "
                f"{SQS_MAX_RECEIVE_COUNT}; raise max_wait_s or shorten horizon_s"
            )

    def window_s(self, count: int) -> float:
        """The back-off window of the ``count``-th attempt (1-based), before jitter."""
        return float(min(self.max_delay_s, self.base_delay_s * 2.0 ** max(0, min(count, 64) - 1)))

    def wait_window_s(self, count: int) -> float:
        """The window of the ``count``-th wait (1-based), before jitter."""
        return float(min(self.max_wait_s, self.base_delay_s * 2.0 ** max(0, min(count, 64) - 1)))

    @property
    def max_waits(self) -> int:
        """Most waits that fit in the horizon: each wait lasts at least half its window."""
        waited, waits = 0.0, 0
        while waited < self.horizon_s:
            waits += 1
            waited += self.wait_window_s(waits) / 2
        return waits

    @property
    def max_receives(self) -> int:
        """The queue's ``maxReceiveCount``: every attempt, every wait the horizon allows, one more."""
        return self.max_attempts + self.max_waits + 1


@dataclass(frozen=True)
class WebhookTrigger:
    """A provider POSTs a signed request to ``path``."""

    name: str
    path: str
    verifier: Verifier
    secret: Connection
    model: type[BaseModel]
    #: Provider payload (validated ``model``) and the request -> work items to queue.
    accept: Callable[[Any, WebhookRequest], Sequence[Accepted]]
    content_types: tuple[str, ...] = ("application/json",)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    method: str = "POST"
    description: str = ""
    #: The provider's event types this trigger consumes (``payment.created``, ``invitee.created`` ...):
    #: what ``switchboard webhooks register`` subscribes the URL to, and what the manual steps name.
    events: tuple[str, ...] = ()
    #: The provider-API connection ``switchboard webhooks register`` manages the subscription with
    #: (Square's token, a Stripe key ...), for apps whose webhooks are created through an API.
    #: Operator-only: the function is never granted it (see :attr:`IntegrationSpec.operator_connections`).
    registration: Connection | None = None
    #: A form-encoded webhook whose one field carries the JSON document (Slack's interactivity
    #: ``payload=<JSON>``): that field is parsed as strictly as a JSON body - a broken document is a
    #: 400 ``malformed_payload`` naming it, as it would be sent raw - and ``model`` validates
    #: ``{field: document}``.
    form_json_field: str | None = None
    #: The status a delivery taken is answered with, its body ``{"id", "ids"}`` either way: ``202``
    #: (queued, the work comes after) unless the sender documents another. Slack's interactivity
    #: asks for "HTTP 200 OK" and may treat anything else as a failed click.
    accepted_status: Literal[200, 202] = 202

    def __post_init__(self) -> None:
        if self.accepted_status not in (200, 202):
            raise ValueError(f"webhook trigger {self.name}: accepted_status must be 200 or 202")
        if self.form_json_field is not None and "application/x-www-form-urlencoded" not in self.content_types:
            raise ValueError(f"webhook trigger {self.name}: form_json_field needs a form content type")
        if any(not e or e != e.strip() for e in self.events) or len(set(self.events)) != len(self.events):
            raise ValueError(f"webhook trigger {self.name}: events must be distinct non-empty names")
        if self.registration is not None and self.registration.kind == "signing":
            raise ValueError(f"webhook trigger {self.name}: registration must be an API connection")


@dataclass(frozen=True)
class FormTrigger:
    """A browser posts the business's own HTML form (``application/x-www-form-urlencoded``).

    A browser cannot sign, so the checks are an allow-list of site origins (from the integration's
    settings field ``origins_setting``) and a ``honeypot`` field that people leave empty and bots
    fill in. Spam is answered 202 (so bots learn nothing), counted, and dropped.
    """

    name: str
    path: str
    model: type[BaseModel]
    accept: Callable[[Any, WebhookRequest], Sequence[Accepted]]
    origins_setting: str = "allowed_origins"
    honeypot: str | None = "website"
    content_types: tuple[str, ...] = ("application/x-www-form-urlencoded", "multipart/form-data")
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    method: str = "POST"
    description: str = ""


@dataclass(frozen=True)
class ScheduledRun:
    """What a schedule tick carries: when it was due, in the schedule's time zone."""

    trigger: str
    scheduled_at: str
    timezone: str


@dataclass(frozen=True)
class ScheduleTrigger:
    """An EventBridge Scheduler schedule; each tick becomes one queued work item."""

    name: str
    expression: str
    accept: Callable[[ScheduledRun], Sequence[Accepted]]
    timezone: str = "UTC"
    description: str = ""


@dataclass(frozen=True)
class BusEvent:
    """An event from the Switchboard bus, as EventBridge delivers it."""

    id: str
    source: str
    detail_type: str
    time: str
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class BusTrigger:
    """Domain events emitted by integrations (``lead.created`` ...) that this integration consumes."""

    name: str
    detail_types: tuple[str, ...]
    model: type[BaseModel]
    accept: Callable[[Any, BusEvent], Sequence[Accepted]]
    sources: tuple[str, ...] = ("switchboard",)
    description: str = ""


@dataclass(frozen=True)
class RouteTrigger:
    """A synchronous route. ``handler`` is ``"module:function"``, imported when the route is hit."""

    name: str
    path: str
    handler: str
    method: str = "GET"
    cors: bool = False
    throttle_rate: float = 10.0
    throttle_burst: int = 20
    description: str = ""


@dataclass(frozen=True)
class EmailSender:
    """The integration sends email with Amazon SES (v2 ``SendEmail``) from an address in its settings.

    Declared so that the CDK construct grants ``ses:SendEmail`` on that identity only, and the local
    runtime verifies the identity in its emulated SES (SES refuses unverified senders, locally too).
    """

    #: Settings field holding the From address (``"Bramble Bakery <hello@bramble-bakery.example>"``).
    from_setting: str = "from_address"
    #: Settings fields holding fixed recipients (an address or a list of them): in the SES sandbox
    #: each must be a verified identity, which ``switchboard doctor`` checks before go-live.
    recipients: tuple[str, ...] = ()


Trigger: TypeAlias = WebhookTrigger | FormTrigger | ScheduleTrigger | BusTrigger | RouteTrigger


def accepted_status(trigger: Trigger) -> int:
    """The status that means "taken" for ``trigger``: its own for a webhook, ``202`` otherwise.

    Every tool that judges an answer (the sample replay, ``switchboard send``, the tests) asks here
    rather than comparing with ``202``.
    """
    return trigger.accepted_status if isinstance(trigger, WebhookTrigger) else 202


@dataclass(frozen=True)
class IntegrationSpec:
    """Everything about one integration, as data. See the module docstring."""

    name: str
    description: str
    input_model: type[BaseModel]
    triggers: tuple[Trigger, ...]
    #: Credentials the worker path uses to call targets (signing secrets are on the triggers).
    connections: tuple[Connection, ...] = ()
    #: Domain event types this integration emits on the bus.
    emits: tuple[str, ...] = ()
    #: Set if the integration sends email through SES.
    email: EmailSender | None = None
    #: Non-secret configuration (owners, allowed origins ...), set per stage, validated on load.
    settings: type[BaseModel] = NoSettings
    #: ``"module:function"`` doing the work for one event; imported lazily on the worker path only.
    worker: str = ""
    timeout_s: int = 30
    memory_mb: int = 256
    batch_size: int = 10
    #: Records of one batch processed at once: the app's concurrency cap (rate limits).
    max_concurrency: int = 5
    #: Concurrent Lambda invocations the SQS event source may run (>= 2, SQS's own floor).
    max_invocations: int = 5
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name != self.name.lower():
            raise ValueError(f"integration name {self.name!r} must be a lower-case identifier")
        names = [t.name for t in self.triggers]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.name}: trigger names must be unique, got {names}")
        if not 1 <= self.batch_size <= 10:
            raise ValueError(f"{self.name}: batch_size must be 1..10")
        if self.max_invocations < 2:
            raise ValueError(f"{self.name}: max_invocations must be at least 2 (SQS event source floor)")
        if self.queued_triggers and not self.worker:
            raise ValueError(f"{self.name}: a spec with queued triggers needs a worker")

    @property
    def queued_triggers(self) -> tuple[Trigger, ...]:
        return tuple(t for t in self.triggers if not isinstance(t, RouteTrigger))

    @property
    def http_triggers(self) -> tuple[WebhookTrigger | FormTrigger | RouteTrigger, ...]:
        return tuple(t for t in self.triggers if isinstance(t, WebhookTrigger | FormTrigger | RouteTrigger))

    @property
    def signing_secrets(self) -> tuple[Connection, ...]:
        seen: dict[str, Connection] = {}
        for t in self.triggers:
            if isinstance(t, WebhookTrigger):
                seen.setdefault(t.secret.name, t.secret)
        return tuple(seen.values())

    @property
    def all_connections(self) -> tuple[Connection, ...]:
        return self.signing_secrets + tuple(
            c for c in self.connections if c.name not in {s.name for s in self.signing_secrets}
        )

    @property
    def operator_connections(self) -> tuple[Connection, ...]:
        """Connections only the operator's commands use (``webhooks register``), not the function.

        No stage keeps them in a secret: the command takes them from the environment or asks.
        """
        own = {c.name for c in self.all_connections}
        seen: dict[str, Connection] = {}
        for t in self.triggers:
            if (
                isinstance(t, WebhookTrigger)
                and t.registration is not None
                and t.registration.name not in own
            ):
                seen.setdefault(t.registration.name, t.registration)
        return tuple(seen.values())

    def trigger(self, name: str) -> Trigger:
        for t in self.triggers:
            if t.name == name:
                return t
        raise KeyError(f"{self.name} has no trigger {name!r}")
