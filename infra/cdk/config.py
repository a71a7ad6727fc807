"""Per-stage configuration, read once from CDK context.

Everything that differs between ``dev`` and ``prod`` is decided here and nowhere else, so a construct
asks ``config.is_prod`` questions in one vocabulary instead of comparing stage strings. Context comes
from ``cdk.json`` (dicts) or from the command line (``-c settings='{"...": {...}}'`` arrives as a JSON
string), and both forms are accepted.

Context keys:

* ``stage`` (default ``dev``): part of every stack and resource name; ``prod`` keeps data on delete,
  logs at INFO for 3 months and archives bus events for 30 days (dev: DEBUG, 2 weeks, 7 days);
* ``settings``: ``{"<integration>": {...}}``, validated against each spec's settings model; the word
  ``local`` (``make synth SETTINGS=local``) takes every integration's ``settings.local.json``, the
  sample business ``make dev`` runs, so a first synth works before any real settings exist;
* ``alarm_email``: an address subscribed to the alarm topic - a string (``-c alarm_email=ops@example.com``)
  or a mapping per stage (``{"prod": "ops@example.com"}`` in ``cdk.json``); the subscription must be
  confirmed from the email AWS sends;
* ``runbook_base_url``: prefix for the runbook links in alarm descriptions (e.g. the repository's web
  URL ending in ``/blob/main/``); without it they are repository paths (``docs/runbooks/<alarm>.md``);
* ``tracing``: the functions' X-Ray tracing mode, ``active`` (default) or ``pass_through``, once or
  per stage (``{"prod": "active", "dev": "pass_through"}``) - see :data:`TRACING_MODES`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from constructs import Node

__all__ = ["DEFAULT_TRACING", "PROD_STAGES", "TRACING_MODES", "VISIBILITY_FACTOR", "StageConfig"]

#: Stages that keep data when a stack is deleted and log longer.
PROD_STAGES = frozenset({"prod"})

#: Lambda's recommendation for SQS event sources: visibility timeout >= 6 x function timeout, so a
#: batch whose invocation Lambda retries (throttling) does not reappear to another poller meanwhile.
VISIBILITY_FACTOR = 6

#: X-Ray tracing modes a stage may choose, and why each exists. Lambda decides the sampling itself:
#: in ``active`` mode it records the first request each second and 5 % of the rest, and that rate
#: cannot be configured for a function (custom X-Ray sampling rules do not apply to Lambda's own
#: sampling), so the tracing mode *is* the sampling choice. X-Ray bills $5.00 per million traces
#: recorded after 100,000 free a month; at the volumes Switchboard is built for (~10,000 events a
#: month, two invocations each) ``active`` stays inside the free tier. A stage with more traffic, or
#: one that does not want traces, chooses ``pass_through``: a function then records a trace only
#: when its caller already sampled one (an SQS message from a traced sender), which for webhooks
#: (HTTP APIs do not trace) and schedules means none - and no cost.
TRACING_MODES = {
    "active": "Lambda samples 1 request/s + 5 % of the rest; $5 per million traces after 100,000 free",
    "pass_through": "a trace only where the caller sampled one: no traces from webhooks or schedules",
}
#: Every stage traces actively unless its context says otherwise (cost: see :data:`TRACING_MODES`).
DEFAULT_TRACING = "active"

# Lower-case, short: the stage is part of queue, function, bus and secret names (SQS caps at 80).
_STAGE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
# Deliberately loose: SNS validates the address; this catches "-c alarm_email=true" and typos like "ops".
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class StageConfig:
    stage: str
    #: Non-secret settings per integration (``name -> dict``), validated against ``spec.settings``.
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Default throttling of the HTTP API stage (requests per second, burst).
    api_rate_limit: float = 50.0
    api_burst_limit: int = 100
    #: Throttle of each browser-form route (requests per second, burst): a small business's contact
    #: form sees a few posts an hour, and a bot flooding it must not use up the webhooks' share.
    form_rate_limit: float = 5.0
    form_burst_limit: int = 10
    #: Subscribed to the alarm topic (email); ``None``: alarms reach only the topic.
    alarm_email: str | None = None
    #: Prefix of runbook links in alarm descriptions ("" -> repository-relative paths).
    runbook_base_url: str = ""
    #: The functions' X-Ray tracing mode (a key of :data:`TRACING_MODES`).
    tracing: str = DEFAULT_TRACING

    def __post_init__(self) -> None:
        if not _STAGE.match(self.stage):
            raise ValueError(f"stage {self.stage!r} must match {_STAGE.pattern}")
        if self.alarm_email is not None and not _EMAIL.match(self.alarm_email):
            raise ValueError(f"context alarm_email {self.alarm_email!r} is not an email address")
        if self.tracing not in TRACING_MODES:
            raise ValueError(
                f"context tracing {self.tracing!r} for stage {self.stage} must be one of "
                f"{', '.join(TRACING_MODES)}"
            )

    @classmethod
    def from_node(cls, node: Node) -> StageConfig:
        stage = str(node.try_get_context("stage") or "dev")
        raw = node.try_get_context("settings")
        settings = _local_settings() if raw == "local" else _mapping(raw, "settings")
        for name, value in settings.items():
            _mapping(value, f"settings.{name}")
        return cls(
            stage=stage,
            settings=settings,
            alarm_email=_per_stage(node.try_get_context("alarm_email"), stage, "alarm_email"),
            runbook_base_url=str(node.try_get_context("runbook_base_url") or ""),
            tracing=_per_stage(node.try_get_context("tracing"), stage, "tracing") or DEFAULT_TRACING,
        )

    @property
    def name_prefix(self) -> str:
        """``switchboard-<stage>``: the dashboard, the bus and every resource name start with it."""
        return f"switchboard-{self.stage}"

    @property
    def is_prod(self) -> bool:
        return self.stage in PROD_STAGES

    @property
    def removal_policy(self) -> cdk.RemovalPolicy:
        """Data (table, secrets, keys, logs) survives a ``cdk destroy`` of prod; dev stacks clean up."""
        return cdk.RemovalPolicy.RETAIN if self.is_prod else cdk.RemovalPolicy.DESTROY

    @property
    def log_retention(self) -> logs.RetentionDays:
        return logs.RetentionDays.THREE_MONTHS if self.is_prod else logs.RetentionDays.TWO_WEEKS

    @property
    def log_level(self) -> str:
        return "INFO" if self.is_prod else "DEBUG"

    @property
    def archive_retention(self) -> cdk.Duration:
        """How long the bus archive keeps events for replay.

        Longer than the idempotency records (15 days) in prod on purpose, for disaster recovery; a
        replay of events older than 15 days is not deduplicated (see docs/runbooks/bus-replay.md).
        """
        return cdk.Duration.days(30) if self.is_prod else cdk.Duration.days(7)

    def runbook(self, name: str) -> str:
        """Link to ``docs/runbooks/<name>.md`` for alarm descriptions."""
        return f"{self.runbook_base_url}docs/runbooks/{name}.md"

    def settings_for(self, integration: str) -> Mapping[str, Any] | None:
        """The raw settings given for one integration, or ``None`` when the context has none."""
        return self.settings.get(integration)


def _per_stage(value: Any, stage: str, what: str) -> str | None:
    """A context value given once (``"x"``) or per stage (``{"prod": "x"}``, JSON text accepted)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.lstrip().startswith("{"):
        value = _mapping(value, what)
    if isinstance(value, Mapping):
        value = value.get(stage)
        return None if value in (None, "") else str(value)
    return str(value)


def _local_settings() -> dict[str, Any]:
    """Every integration's ``functions/<name>/settings.local.json`` (``make dev``'s sample business)."""
    from shared.registry import FUNCTIONS_DIR

    return {
        path.parent.name: _mapping(path.read_text(encoding="utf-8"), f"settings.{path.parent.name} ({path})")
        for path in sorted(FUNCTIONS_DIR.glob("*/settings.local.json"))
    }


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"context {what} is not valid JSON: {exc}") from exc
    if not isinstance(value, Mapping):
        raise TypeError(f"context {what} must be an object, got {type(value).__name__}")
    return dict(value)
