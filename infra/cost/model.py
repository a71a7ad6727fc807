"""The cost of a deployment: per integration and for the stage, per event and per month.

Inputs, never hand-written figures: the synthesized templates (:mod:`infra.cost.inventory`: what is
deployed - functions with their memory, architecture and tracing mode, queues, event sources,
alarms, schedules, log retention, secrets, keys, dashboards) and the bench's measured figures per
event (:mod:`infra.cost.measured`), priced by :mod:`infra.cost.prices`.

Every charge is a :class:`LineItem` of one of three kinds:

* ``per_event`` - a quantity per event (requests, GB-s, units, bytes), times the events;
* ``fixed`` - a quantity per month whatever the traffic (alarms, secrets, keys, dashboards, the
  event sources' idle long polls, the runs of a schedule);
* ``volume`` - a monthly quantity that depends on the traffic but not in proportion: metric series
  (billed for each hour in which they receive data) and cold starts (an environment idle for long
  goes away, so the next event pays INIT).

The assumptions that remain are in :data:`ASSUMPTIONS`, printed with every table.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from infra.cost.inventory import IntegrationInventory, StageInventory, access_log_line_bytes
from infra.cost.measured import BenchResults, Measured
from infra.cost.prices import FREE_TIER, HOURS_PER_MONTH, price

__all__ = [
    "ASSUMPTIONS",
    "KEEP_WARM_MINUTES",
    "Deployment",
    "IntegrationCost",
    "LineItem",
    "ModelError",
    "cold_fraction",
    "deployment_cost",
    "idle_polls_per_month",
    "measured_items",
    "measured_per_million",
    "metric_hours_fraction",
    "platform_log_bytes",
    "schedule_runs_per_month",
    "xray_sampled_fraction",
]

Kind = Literal["per_event", "fixed", "volume"]
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
#: Lambda's SQS event source long-polls; taken to wait the longest SQS allows (20 s,
#: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/best-practices-setting-up-long-polling.html),
#: so an idle poller makes three ReceiveMessage requests a minute (an assumption: in ASSUMPTIONS).
LONG_POLL_SECONDS = 20
#: Lambda's default X-Ray sampling in ``Active`` mode: the first request each second, then 5 %
#: (https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html); it cannot be configured.
XRAY_RESERVOIR_PER_S = 1.0
XRAY_RATE = 0.05
#: ASSUMED (AWS publishes no figure): how long Lambda keeps an idle execution environment. An event
#: arriving later than this after the previous one of the same function pays a cold start.
KEEP_WARM_MINUTES = 5.0

ASSUMPTIONS = (
    "Each call to a target app (HubSpot, QuickBooks, Slack ...) takes 200 ms, billed as Lambda wall time "
    "(the bench's one assumption; AWS requests, CPU and log bytes are measured).",
    f"An idle Lambda execution environment is kept {KEEP_WARM_MINUTES:.0f} minutes (AWS publishes no figure): "
    "events further apart than that pay a cold start (INIT and the lazy imports, billed since 2025-08-01).",
    "An idle SQS event source's long polls wait 20 s each, SQS's maximum (AWS documents the five "
    "concurrent polls, not their wait): 657,000 requests a month per event source.",
    "Events arrive evenly over the month, split evenly over the integrations that take events "
    "(a schedule-only integration runs as its schedule says).",
    "Secret reads are priced as if each event finds the 5-minute secret cache expired: at these volumes "
    "one integration's events are minutes apart (`make bench` also reports the back-to-back figure).",
    "Each traced invocation is its own X-Ray trace (an upper bound: an SQS-triggered trace may be linked "
    "to its sender's); storage (logs, ledger) is priced uncompressed (AWS bills logs compressed).",
)


class ModelError(ValueError):
    """The templates and the bench results do not describe the same integrations."""


@dataclass(frozen=True)
class LineItem:
    meter: str
    label: str
    kind: Kind
    #: Per event for ``per_event``; per month for ``fixed`` and ``volume``.
    quantity: float
    #: Part of the bench's per-event figure (measured), or derived from the templates.
    measured: bool = False
    #: Items shown as one row (the runs of a schedule: every per-event charge, times the runs).
    group: str = ""

    @property
    def unit_usd(self) -> float:
        return price(self.meter).unit_usd

    def monthly_quantity(self, events: float) -> float:
        return self.quantity * events if self.kind == "per_event" else self.quantity

    def usd_per_month(self, events: float) -> float:
        return self.monthly_quantity(events) * self.unit_usd


@dataclass
class IntegrationCost:
    name: str
    #: Events a month this integration is priced at (its share of N; schedule runs are fixed items).
    events: float
    items: list[LineItem]
    outcome: str = "processed"
    notes: list[str] = field(default_factory=list)

    def _sum(self, kinds: Iterable[Kind], events: float | None = None) -> float:
        n = self.events if events is None else events
        return sum(i.usd_per_month(n) for i in self.items if i.kind in tuple(kinds))

    @property
    def per_million(self) -> float:
        """Dollars per million events, every per-event charge."""
        return sum(i.quantity * i.unit_usd for i in self.items if i.kind == "per_event") * 1e6

    @property
    def measured_per_million(self) -> float:
        """The bench's per-event figure: the per-event charges it measured."""
        return sum(i.quantity * i.unit_usd for i in self.items if i.kind == "per_event" and i.measured) * 1e6

    @property
    def fixed(self) -> float:
        return self._sum(("fixed",))

    @property
    def volume(self) -> float:
        return self._sum(("volume",))

    @property
    def monthly(self) -> float:
        return self._sum(("per_event", "fixed", "volume"))


@dataclass
class Deployment:
    stage: str
    events_per_month: float
    integrations: list[IntegrationCost]
    stage_items: list[LineItem]
    free_tier: bool
    measured_at: str
    prices_note: str = ""

    def meters(self) -> dict[str, float]:
        """Monthly quantity per meter over the whole deployment (before any free tier)."""
        totals: dict[str, float] = defaultdict(float)
        for cost in self.integrations:
            for item in cost.items:
                totals[item.meter] += item.monthly_quantity(cost.events)
        for item in self.stage_items:
            totals[item.meter] += item.quantity
        return dict(totals)

    def free_tier_credit(self) -> dict[str, float]:
        """Dollars the always-free allowances take off, per allowance (``--free-tier`` only)."""
        if not self.free_tier:
            return {}
        meters = self.meters()
        credit: dict[str, float] = {}
        for group, allowance in FREE_TIER.items():
            left = allowance
            usd = 0.0
            # The allowance goes to the dearest meter of the group first (it is the same quantity).
            for meter in sorted(group, key=lambda m: -price(m).unit_usd):
                used = min(left, meters.get(meter, 0.0))
                usd += used * price(meter).unit_usd
                left -= used
            if usd > 0:
                credit["+".join(group)] = usd
        return credit

    @property
    def stage_fixed(self) -> float:
        return sum(i.usd_per_month(0) for i in self.stage_items)

    @property
    def total(self) -> float:
        gross = sum(c.monthly for c in self.integrations) + self.stage_fixed
        return gross - sum(self.free_tier_credit().values())

    def by_service(self) -> dict[str, float]:
        """Monthly dollars per service (the meter's prefix), before any free tier, dearest first."""
        found: dict[str, float] = defaultdict(float)
        for meter, quantity in self.meters().items():
            found[meter.split(".")[0]] += quantity * price(meter).unit_usd
        return dict(sorted(found.items(), key=lambda kv: -kv[1]))


# --- the pieces -------------------------------------------------------------------------------------


def platform_log_bytes(memory_mb: int, traced: bool) -> int:
    """Bytes Lambda itself writes to the log group per invocation: its START, END and REPORT lines
    (https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html), with typical values."""
    request = "6bc28136-1f2d-4365-b021-0ce6b2e64ab0"
    lines = [
        f"START RequestId: {request} Version: $LATEST",
        f"END RequestId: {request}",
        f"REPORT RequestId: {request}\tDuration: 231.42 ms\tBilled Duration: 232 ms\t"
        f"Memory Size: {memory_mb} MB\tMax Memory Used: 139 MB\t"
        + (
            "\nXRAY TraceId: 1-5e34a614-10bd1e6bf1fb44f07bc535a1\tSegmentId: 07f5e8a22d1f6f85\tSampled: true\t"
            if traced
            else ""
        ),
    ]
    return sum(len(line.encode()) + 1 for line in lines)


def idle_polls_per_month(pollers: int) -> float:
    """ReceiveMessage requests of an idle SQS event source with ``pollers`` long polls open."""
    return pollers * SECONDS_PER_MONTH / LONG_POLL_SECONDS


def xray_sampled_fraction(invocations_per_month: float) -> float:
    """Share of invocations Lambda's ``Active`` tracing records at this (even, Poisson) rate: the first
    each second always, 5 % of the others."""
    lam = invocations_per_month / SECONDS_PER_MONTH
    if lam <= 0:
        return 1.0
    first = 1 - math.exp(-lam)
    sampled = first * XRAY_RESERVOIR_PER_S + XRAY_RATE * max(0.0, lam - first)
    return min(1.0, sampled / lam)


def metric_hours_fraction(events_per_month: float) -> float:
    """Share of the month's hours in which a metric emitted once per event receives data (custom
    metrics are prorated by the hour and billed only for hours with data)."""
    return 1 - math.exp(-events_per_month / HOURS_PER_MONTH) if events_per_month > 0 else 0.0


def cold_fraction(events_per_month: float, keep_warm_minutes: float = KEEP_WARM_MINUTES) -> float:
    """Share of events that find no warm environment: the gap since the previous event exceeds the
    keep-warm time (Poisson arrivals at the monthly rate)."""
    if events_per_month <= 0:
        return 0.0
    per_minute = events_per_month / (HOURS_PER_MONTH * 60)
    return math.exp(-per_minute * keep_warm_minutes)


def schedule_runs_per_month(expression: str, timezone: str) -> float:
    """Runs of an EventBridge Scheduler expression in a 30-day month, counted by stepping through it
    with the local scheduler's own evaluator (``cron``/``rate``; ``at`` runs once)."""
    from infra.local.scheduler import next_fire

    if expression.startswith("at("):
        return 0.0
    start = datetime(2026, 1, 5, tzinfo=UTC)
    end = start + timedelta(days=30)
    runs, at = 0, start
    while True:
        at = next_fire(expression, timezone, at)
        if at >= end:
            return runs * DAYS_PER_MONTH / 30
        runs += 1


def measured_items(m: Measured, memory_mb: int, architecture: str) -> list[LineItem]:
    """The per-event charges the bench measured for one integration (its ``usd_per_million``)."""
    gb = memory_mb / 1024
    gb_s = (
        (m.ingress_invocations * m.ingress_billed_ms + m.worker_invocations * m.worker_billed_ms) / 1000 * gb
    )
    items = [
        LineItem("lambda.requests", "Lambda invocations", "per_event", m.lambda_invocations, True),
        LineItem(f"lambda.gb_s.{architecture}", f"Lambda duration ({memory_mb} MB)", "per_event", gb_s, True),
        LineItem("http_api.requests", "HTTP API requests", "per_event", m.http_api_requests, True),
        LineItem("sqs.requests", "SQS requests (send, receive, delete)", "per_event", m.sqs_requests, True),
        LineItem("dynamodb.wru", "DynamoDB writes", "per_event", m.dynamodb_wru, True),
        LineItem("dynamodb.rru", "DynamoDB reads", "per_event", m.dynamodb_rru, True),
        LineItem("eventbridge.events", "EventBridge events emitted", "per_event", m.eventbridge_events, True),
        LineItem(
            "scheduler.invocations", "Scheduler invocations", "per_event", m.scheduler_invocations, True
        ),
        LineItem("secrets.api_calls", "Secrets Manager API calls", "per_event", m.secrets_api_calls, True),
        # Each GetSecretValue / PutSecretValue decrypts or encrypts with the secret's KMS key.
        LineItem("kms.requests", "KMS requests (secret reads)", "per_event", m.secrets_api_calls, True),
        LineItem("ses.emails", "SES emails", "per_event", m.ses_emails, True),
        LineItem("logs.ingest", "Logs: the function's own lines", "per_event", m.log_bytes / 1e9, True),
    ]
    return [i for i in items if i.quantity > 0]


def measured_per_million(m: Measured, memory_mb: int, architecture: str) -> float:
    """The bench's dollars per million events for one integration."""
    return sum(i.quantity * i.unit_usd for i in measured_items(m, memory_mb, architecture)) * 1e6


def _integration(
    inv: IntegrationInventory, m: Measured, stage: StageInventory, events: float
) -> IntegrationCost:
    from shared.ledger import RETENTION_S

    fn = inv.function
    traced = fn.tracing == "Active"
    items = measured_items(m, fn.memory_mb, fn.architecture)
    invocations_month = m.lambda_invocations * events
    runs = sum(schedule_runs_per_month(e, tz) for e, tz in inv.schedules)
    derived = []
    extra_log = platform_log_bytes(fn.memory_mb, traced) * m.lambda_invocations
    if stage.access_log_format:
        extra_log += access_log_line_bytes(stage.access_log_format) * m.http_api_requests
    derived.append(
        LineItem(
            "logs.ingest", "Logs: Lambda's START/END/REPORT + API access log", "per_event", extra_log / 1e9
        )
    )
    log_bytes = m.log_bytes + platform_log_bytes(fn.memory_mb, traced) * m.lambda_invocations
    access_bytes = (
        access_log_line_bytes(stage.access_log_format) * m.http_api_requests if stage.access_log_format else 0
    )
    derived.append(
        LineItem(
            "logs.storage",
            f"Logs stored ({inv.log_retention_days} days)",
            "per_event",
            (log_bytes * inv.log_retention_days + access_bytes * stage.access_log_retention_days)
            / DAYS_PER_MONTH
            / 1e9,
        )
    )
    ledger_gb_month = m.dynamodb_bytes_written / 1e9 * (RETENTION_S / 86400) / DAYS_PER_MONTH
    derived.append(
        LineItem("dynamodb.storage", "Ledger storage (15-day records)", "per_event", ledger_gb_month)
    )
    if stage.point_in_time_recovery:
        derived.append(
            LineItem("dynamodb.pitr", "Ledger point-in-time recovery", "per_event", ledger_gb_month)
        )
    if stage.bus_archives and m.eventbridge_bytes:
        derived.append(
            LineItem(
                "eventbridge.archive", "Bus archive (events emitted)", "per_event", m.eventbridge_bytes / 1e9
            )
        )
    if traced:
        rate_basis = invocations_month if events else runs * m.lambda_invocations
        derived.append(
            LineItem(
                "xray.traces",
                "X-Ray traces (Active: 1/s + 5 %)",
                "per_event",
                m.lambda_invocations * xray_sampled_fraction(rate_basis),
            )
        )
    per_event = [*items, *[i for i in derived if i.quantity > 0]]

    fixed = []
    if inv.alarm_metrics:
        fixed.append(
            LineItem("cloudwatch.alarm_metrics", f"{inv.alarms} alarms", "fixed", float(inv.alarm_metrics))
        )
    for pollers in inv.event_source_pollers:
        fixed.append(
            LineItem(
                "sqs.requests",
                f"SQS event source idle: {pollers} long polls",
                "fixed",
                idle_polls_per_month(pollers),
            )
        )
    if runs:
        group = f"{runs:.1f} scheduled runs a month x the per-event charges"
        fixed += [
            LineItem(i.meter, f"{i.label} (scheduled runs)", "fixed", i.quantity * runs, i.measured, group)
            for i in per_event
        ]
    volume = []
    happen = events + runs  # runs happen whatever N is; events are this integration's share of N
    series = len(m.metric_series)
    if series:
        volume.append(
            LineItem(
                "cloudwatch.metrics",
                f"{series} metric series x hours with data",
                "volume",
                series * metric_hours_fraction(happen),
            )
        )
    cold_ms = sum(m.cold_import_ms.values())
    if cold_ms and happen:
        volume.append(
            LineItem(
                f"lambda.init_gb_s.{fn.architecture}",
                f"INIT: cold starts ({cold_ms:.0f} ms of imports each)",
                "volume",
                happen * cold_fraction(happen) * cold_ms / 1000 * fn.memory_mb / 1024,
            )
        )
    notes = []
    if m.outcome == "refused":
        notes.append(f"measured on a refused request ({', '.join(m.samples)}): no successful sample ships")
    return IntegrationCost(inv.name, events, [*per_event, *fixed, *volume], m.outcome, notes)


def _takes_events(inv: IntegrationInventory) -> bool:
    """Anything but a schedule-only integration takes events from outside (webhooks, bus, routes)."""
    return bool(inv.routes or inv.bus_rules or not inv.schedules)


def deployment_cost(
    stage: StageInventory,
    bench: BenchResults,
    events_per_month: float,
    *,
    only: str | None = None,
    free_tier: bool = False,
    shares: Mapping[str, float] | None = None,
) -> Deployment:
    """The stage's cost at ``events_per_month`` events (split evenly unless ``shares`` says how)."""
    if events_per_month < 0:
        raise ModelError("events per month cannot be negative")
    missing = sorted(set(stage.integrations) - set(bench.integrations))
    if missing:
        raise ModelError(
            f"the bench results ({bench.source or 'cost.json'}) have no figures for {', '.join(missing)}: "
            "run `make bench` again"
        )
    names = list(stage.integrations)
    if only is not None:
        if only not in stage.integrations:
            raise ModelError(
                f"no integration {only!r} in stage {stage.stage}; known: {', '.join(names) or 'none'}"
            )
        names = [only]
    takers = [n for n in names if _takes_events(stage.integrations[n])]
    weights = {n: float((shares or {}).get(n, 1.0)) for n in takers}
    total_weight = sum(weights.values()) or 1.0
    costs = [
        _integration(
            stage.integrations[n],
            bench.integrations[n],
            stage,
            events_per_month * weights.get(n, 0.0) / total_weight,
        )
        for n in names
    ]
    stage_items = []
    if only is None:
        stage_items = [
            LineItem(
                "secrets.secrets",
                f"{stage.secrets} secrets (one per target-credential connection)",
                "fixed",
                float(stage.secrets),
            ),
            LineItem(
                "ssm.parameters",
                f"{len(stage.parameter_names)} SSM SecureString parameters (signing secrets, own keys)",
                "fixed",
                float(len(stage.parameter_names)),
            ),
            LineItem(
                "kms.keys",
                f"{stage.kms_keys} customer managed KMS key (alarm topic)",
                "fixed",
                float(stage.kms_keys),
            ),
            LineItem(
                "cloudwatch.dashboards", f"{stage.dashboards} dashboard", "fixed", float(stage.dashboards)
            ),
            LineItem(
                "cloudwatch.alarm_metrics",
                f"{stage.shared_alarms} per-app circuit-open alarms",
                "fixed",
                float(stage.shared_alarm_metrics),
            ),
        ]
        stage_items = [i for i in stage_items if i.quantity > 0]
    return Deployment(
        stage=stage.stage,
        events_per_month=events_per_month,
        integrations=costs,
        stage_items=stage_items,
        free_tier=free_tier,
        measured_at=bench.measured_at,
    )
