"""Groups the trace of the local runtime into deliveries, each in the order it happened.

A delivery is one trip of an event through its queue: ``queued`` (for a webhook or form), then
``processing``, the steps, and ``processed`` / ``duplicate`` / ``dlq`` (with ``retry`` and further
attempts in between). The gateway records ``queued`` only after SQS took the message, so the poller
on another thread can record ``processing`` first; trace order is therefore not event order. This
module puts a delivery's ``queued`` first again, and tells the live console which lines must wait
for it. The same event id can travel several times (a provider re-sends a webhook): each ``queued``
starts a delivery of its own, and the first attempt of processing joins the oldest one waiting.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.spec import FormTrigger, IntegrationSpec, WebhookTrigger

__all__ = ["Delivery", "DeliveryLog", "ingress_triggers"]

Entry = dict[str, Any]

#: Stages after which a delivery has nothing more to say.
_FINAL = frozenset({"processed", "duplicate", "dlq"})


def ingress_triggers(specs: Iterable[IntegrationSpec]) -> frozenset[tuple[str, str]]:
    """(integration, trigger) of every trigger whose events the gateway queues (and traces ``queued``)."""
    return frozenset(
        (spec.name, trigger.name)
        for spec in specs
        for trigger in spec.triggers
        if isinstance(trigger, WebhookTrigger | FormTrigger)
    )


@dataclass
class Delivery:
    """One trip of one event through its queue, its trace entries in event order."""

    integration: str
    event_id: str
    entries: list[Entry] = field(default_factory=list)
    #: ``processing`` came before the gateway's ``queued``: lines wait until it comes.
    awaiting_queued: bool = False

    @property
    def stages(self) -> list[str]:
        return [str(e["stage"]) for e in self.entries]


class DeliveryLog:
    """Trace entries, grouped into deliveries as they arrive (not thread-safe; the caller locks).

    :meth:`add` answers the entries that may be shown now, in event order: none while a delivery
    waits for its ``queued``, and the ``queued`` line followed by the held ones when it comes.
    ``thread`` is the thread that recorded the entry: the worker runs each SQS record, from
    ``processing`` to its outcome, on one thread, which tells apart two deliveries of the same
    event in flight at once (a re-sent webhook in the same batch as the first).
    """

    def __init__(self, ingress: Collection[tuple[str, str]] = ()) -> None:
        self.ingress = frozenset(ingress)
        self.deliveries: list[Delivery] = []
        #: entries that name no event (rejections, spam, answers, schedule ticks), in arrival order
        self.loose: list[Entry] = []
        #: the delivery the last :meth:`add` started holding (so the caller can time it out)
        self.new_hold: Delivery | None = None
        self._waiting: dict[str, deque[Delivery]] = {}  # queued, not picked up yet
        self._early: dict[str, deque[Delivery]] = {}  # picked up before their queued line
        self._open: dict[str, list[Delivery]] = {}  # picked up, no outcome yet
        self._running: dict[tuple[str, int], Delivery] = {}  # an attempt under way on a thread

    def add(self, entry: Entry, thread: int = 0) -> list[Entry]:
        self.new_hold = None
        event_id = entry.get("event_id")
        if not event_id:
            self.loose.append(entry)
            return [entry]
        if entry["stage"] == "queued":
            return self._queued(event_id, entry)
        delivery = self._delivery_for(event_id, entry, thread)
        delivery.entries.append(entry)
        if entry["stage"] in _FINAL or entry["stage"] == "retry":
            self._running.pop((event_id, thread), None)  # this attempt is over
        if entry["stage"] in _FINAL:
            self._open[event_id].remove(delivery)
        return [] if delivery.awaiting_queued else [entry]

    def release(self, delivery: Delivery) -> list[Entry]:
        """Stop waiting for a ``queued`` line that is not coming (a message put back on the queue by
        ``dlq replay``, say); answers the held entries."""
        if not delivery.awaiting_queued:
            return []
        delivery.awaiting_queued = False
        early = self._early.get(delivery.event_id)
        if early and delivery in early:
            early.remove(delivery)
        return list(delivery.entries)

    def _queued(self, event_id: str, entry: Entry) -> list[Entry]:
        early = self._early.get(event_id)
        if early:
            delivery = early.popleft()
            delivery.entries.insert(0, entry)
            delivery.awaiting_queued = False
            return list(delivery.entries)
        delivery = self._new(entry)
        delivery.entries.append(entry)
        self._waiting.setdefault(event_id, deque()).append(delivery)
        return [entry]

    def _delivery_for(self, event_id: str, entry: Entry, thread: int) -> Delivery:
        starts = entry["stage"] == "processing"
        running = self._running.get((event_id, thread))
        if running is not None and not starts:
            return running  # a step or the outcome of the attempt under way
        opened = self._open.setdefault(event_id, [])
        if starts and int(entry.get("attempt", 1)) > 1:
            # A later attempt: the delivery whose last attempt asked for a retry, else (its
            # invocation crashed) the oldest one no thread is working on.
            busy = {id(d) for (eid, _), d in self._running.items() if eid == event_id}
            later = [d for d in opened if d.stages[-1] == "retry"] or [d for d in opened if id(d) not in busy]
            delivery = later[0] if later else self._start(event_id, entry)
        elif not starts and opened and not self._waiting.get(event_id):
            delivery = opened[0]
        else:
            delivery = self._start(event_id, entry)
        self._running[(event_id, thread)] = delivery
        return delivery

    def _start(self, event_id: str, entry: Entry) -> Delivery:
        """The delivery a first attempt (or an outcome without one) belongs to: the oldest queued
        one, else a new one (which waits for its ``queued`` line if the gateway will write one)."""
        waiting = self._waiting.get(event_id)
        if waiting:
            delivery = waiting.popleft()
        else:
            delivery = self._new(entry)
            if (
                entry["stage"] == "processing"
                and int(entry.get("attempt", 1)) <= 1
                and (entry["integration"], entry.get("trigger")) in self.ingress
            ):
                delivery.awaiting_queued = True
                self.new_hold = delivery
                self._early.setdefault(event_id, deque()).append(delivery)
        self._open.setdefault(event_id, []).append(delivery)
        return delivery

    def _new(self, entry: Entry) -> Delivery:
        delivery = Delivery(str(entry["integration"]), str(entry["event_id"]))
        self.deliveries.append(delivery)
        return delivery
