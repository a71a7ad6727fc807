"""The overview page: per integration, what came in and what became of it, the alarms, the latest events.

Counts over the last hour and the last day come from the event index (:mod:`infra.console.events`):
*received* is every event first seen in the window, *processed* the ones that completed (a duplicate
that was skipped counts as processed: its work was done), *retried* the retries scheduled, and
*dead-lettered* the events that went to the DLQ. *Waiting* and *in the DLQ* are what the queues hold
now (``GetQueueAttributes``, nothing received). Alarms are the stage's CloudWatch alarms
(``switchboard-<stage>-…``); the local runtime raises none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from infra.cdk.naming import resource_name
from infra.console.events import EventRow
from infra.ops.dlq import counts
from infra.ops.target import NotDeployed, Target, aws_errors

__all__ = ["Alarm", "Counts", "IntegrationCounts", "alarms", "integration_counts", "waiting"]


@dataclass
class Counts:
    received: int = 0
    processed: int = 0
    retried: int = 0
    dead_lettered: int = 0

    def add(self, row: EventRow) -> None:
        self.received += 1
        self.processed += row.status in ("processed", "duplicate")
        self.retried += row.retries
        self.dead_lettered += row.status == "dead-lettered"


@dataclass
class IntegrationCounts:
    integration: str
    hour: Counts = field(default_factory=Counts)
    day: Counts = field(default_factory=Counts)
    #: Messages on the queue now (visible + being processed); ``None``: no queue (routes only).
    waiting: int | None = None
    #: Messages in the DLQ now; ``None``: no DLQ.
    in_dlq: int | None = None
    alarms: list[Alarm] = field(default_factory=list)


@dataclass(frozen=True)
class Alarm:
    name: str
    state: str
    reason: str


def integration_counts(
    names: Sequence[str], rows: Sequence[EventRow], now: float
) -> dict[str, IntegrationCounts]:
    """Hour and day counts per integration from the day's rows (newest first)."""
    found = {n: IntegrationCounts(n) for n in names}
    for row in rows:
        entry = found.get(row.integration)
        if entry is None:
            continue
        entry.day.add(row)
        if row.first >= now - 3600:
            entry.hour.add(row)
    return found


def waiting(target: Target, queued: Sequence[str]) -> dict[str, tuple[int | None, int | None]]:
    """``(on the queue, in the DLQ)`` now per queued integration; ``None`` where it is not deployed."""
    sqs = target.client("sqs")
    found: dict[str, tuple[int | None, int | None]] = {}
    dlq = dict(counts(target, queued))
    for name in queued:
        try:
            url = target.queue_url(name)
        except NotDeployed:
            found[name] = (None, None)
            continue
        with aws_errors(target, f"reading {target.queue_name(name)}"):
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
        on_queue = int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )
        letters = dlq.get(name)
        found[name] = (on_queue, letters if isinstance(letters, int) else None)
    return found


def alarms(target: Target, names: Sequence[str]) -> dict[str, list[Alarm]]:
    """The stage's metric alarms by integration (``""``: the stage's own); none locally."""
    if target.is_local:
        return {}
    prefix = resource_name(target.stage, "")
    by_name: dict[str, list[Alarm]] = {}
    with aws_errors(target, f"reading the alarms {prefix}*"):
        pages = target.client("cloudwatch").get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix)
        for page in pages:
            for alarm in page.get("MetricAlarms", []):
                name = str(alarm.get("AlarmName", ""))
                owner = next(
                    (
                        n
                        for n in sorted(names, key=len, reverse=True)
                        if name.startswith(resource_name(target.stage, n))
                    ),
                    "",
                )
                by_name.setdefault(owner, []).append(
                    Alarm(name, str(alarm.get("StateValue", "?")), str(alarm.get("StateReason", "")))
                )
    return by_name
