"""``switchboard status``: is each target app reachable, and what waits where.

Per app that some running integration's worker calls: its circuit (:mod:`shared.health`) - closed,
or open since when, how many events waited for it during this outage and which integration's they
are, and the last failure it saw. Per running integration: messages on its queue (visible, in flight
or delayed: waiting events are in flight) and in its DLQ. Locally it reads the running local runtime,
with ``--stage`` the deployed stage; it reads only (one ``BatchGetItem`` for the breakers, two
``GetQueueAttributes`` per integration), so it is safe to run at any time.
"""

from __future__ import annotations

import importlib
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from infra.cdk.access import breaker_keys
from infra.ops.dlq import running_names
from infra.ops.target import NotDeployed, Target, aws_errors
from shared import health
from shared.registry import load_specs
from shared.table import MAX_BATCH_GET, Item, Table

__all__ = ["AppHealth", "QueueDepth", "Status", "collect", "render", "render_json"]


@dataclass(frozen=True)
class AppHealth:
    app: str
    title: str
    #: The running integrations whose workers call the app.
    integrations: tuple[str, ...]
    state: str = health.CLOSED
    opened_at: float | None = None
    closed_at: float | None = None
    failures: int = 0
    last_error: str = ""
    #: integration -> events that waited during the current (or, once closed, the last) outage.
    waiting: dict[str, int] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.state == health.OPEN


@dataclass(frozen=True)
class QueueDepth:
    integration: str
    #: Visible, in flight (waiting events are) or delayed; ``None`` if the queue is not there.
    queued: int | None
    dead_letters: int | None


@dataclass(frozen=True)
class Status:
    where: str
    apps: list[AppHealth]
    queues: list[QueueDepth]


def _title(app: str) -> str:
    try:
        module = importlib.import_module(f"apps.{app}")
    except ImportError:
        return app
    declared = getattr(module, "APP", None)
    return str(getattr(declared, "display_name", app))


def collect(target: Target) -> Status:
    running = running_names(target)
    callers: dict[str, list[str]] = {}
    for spec in load_specs():
        if spec.name in running:
            for key in breaker_keys(spec):
                callers.setdefault(key[len(health.HEALTH_PREFIX) :], []).append(spec.name)
    items: dict[str, Item] = {}
    table = Table(target.client("dynamodb"), target.table)
    keys = [health.health_key(app) for app in sorted(callers)]
    for start in range(0, len(keys), MAX_BATCH_GET):
        with aws_errors(target, f"reading the target health in {target.table}"):
            read = table.get_batch(keys[start : start + MAX_BATCH_GET])
        items |= {str(i["id"]): i for i in read.items}
    apps = []
    for app in sorted(callers):
        described = health.describe(items.get(health.health_key(app), {}))
        apps.append(AppHealth(app=app, title=_title(app), integrations=tuple(callers[app]), **described))
    return Status(where=target.where, apps=apps, queues=[_depth(target, name) for name in running])


def _depth(target: Target, name: str) -> QueueDepth:
    counts: list[int | None] = []
    for dlq in (False, True):
        try:
            url = target.queue_url(name, dlq=dlq)
        except NotDeployed:
            counts.append(None)
            continue
        with aws_errors(target, f"reading {target.queue_name(name, dlq=dlq)}"):
            attributes = target.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
                "Attributes"
            ]
        counts.append(
            sum(
                int(attributes.get(a, 0))
                for a in (
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                )
            )
        )
    return QueueDepth(name, counts[0], counts[1])


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _app_line(a: AppHealth, now: float) -> str:
    waiting = sum(a.waiting.values())
    per = ", ".join(f"{n} {c}" for n, c in sorted(a.waiting.items()))
    if a.is_open:
        since = _when(a.opened_at) if a.opened_at else "unknown"
        ago = f" ({_duration(now - a.opened_at)})" if a.opened_at else ""
        line = f"{a.title} unavailable since {since}{ago}, {waiting} events waiting"
        line += f" ({per})" if per else ""
        return line + (f"; last error: {a.last_error}" if a.last_error else "")
    if a.closed_at:
        line = f"{a.title} available (circuit closed {_when(a.closed_at)}"
        return line + (f" after an outage {waiting} events waited for)" if waiting else ")")
    if a.failures:
        return f"{a.title} available ({a.failures} failure(s) in a row; the circuit opens at {health.OPEN_AFTER})"
    return f"{a.title} available"


def render(status: Status, out: TextIO, now: float | None = None) -> None:
    now = time.time() if now is None else now
    out.write(f"Target health ({status.where}):\n")
    if not status.apps:
        out.write("  no running integration calls a target app\n")
    width = max([len(a.app) for a in status.apps] + [4])
    for a in status.apps:
        mark = "OPEN  " if a.is_open else "closed"
        out.write(f"  {a.app:<{width}}  {mark}  {_app_line(a, now)}\n")
        out.write(f"  {'':<{width}}          called by {', '.join(a.integrations)}\n")
    out.write("\nQueues:\n")
    if not status.queues:
        out.write(f"  {status.where} runs no integration with a queue\n")
        return
    names = max([len(q.integration) for q in status.queues] + [len("INTEGRATION")])
    out.write(f"  {'INTEGRATION':<{names}}  {'QUEUED':>7}  {'DLQ':>5}\n")
    for q in status.queues:
        queued = "-" if q.queued is None else str(q.queued)
        dead = "-" if q.dead_letters is None else str(q.dead_letters)
        out.write(f"  {q.integration:<{names}}  {queued:>7}  {dead:>5}\n")
    if any(a.is_open for a in status.apps):
        out.write(
            "\nAn open circuit needs nobody: the waiting events go through when the app answers again "
            "(docs/runbooks/circuit-open.md).\n"
        )
    if any(q.dead_letters for q in status.queues):
        out.write("Dead letters: switchboard dlq list <integration>\n")


def render_json(status: Status, out: TextIO) -> None:
    data = asdict(status)
    for entry, a in zip(data["apps"], status.apps, strict=True):
        entry["waiting_total"] = sum(a.waiting.values())
    out.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
