"""Replays the sample events through the running local runtime and judges what became of them."""

from __future__ import annotations

import contextlib
import json
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from shared.spec import BusEvent, BusTrigger, IntegrationSpec, ScheduledRun, ScheduleTrigger

from .sample_links import from_http, in_replay_order, resolve
from .samples import Lookup, Sample, SampleError, build_request, load_samples
from .scheduler import schedule_message

if TYPE_CHECKING:
    from .console import TracePrinter
    from .deliveries import Delivery
    from .runtime import LocalRuntime

__all__ = ["ReplayResult", "SampleOutcome", "judge", "replay", "summarise"]

#: Called after each sample with (samples done, samples in all): a progress bar's hook.
Progress = Callable[[int, int], None]


@dataclass
class ReplayResult:
    sample: Sample
    status: int
    event_ids: list[str] = field(default_factory=list)
    error: str | None = None
    #: the printer's entries recorded while the sample was being delivered: [start, end)
    span: tuple[int, int] = (0, 0)


@dataclass
class SampleOutcome:
    """What became of one sample: its deliveries and loose lines (its details), judged."""

    result: ReplayResult
    deliveries: list[Delivery]
    loose: list[dict[str, Any]]
    observed: str

    @property
    def good(self) -> bool:
        expected_status = self.result.sample.expect_status or 202  # bus and schedule: "delivered"
        return self.observed == self.result.sample.expect and self.result.status == expected_status

    @property
    def entries(self) -> list[dict[str, Any]]:
        """Every trace line of the sample in event order: what it answered, then each delivery."""
        return [*self.loose, *(e for d in self.deliveries for e in d.entries)]


def replay(
    runtime: LocalRuntime,
    printer: TracePrinter,
    *,
    settle_s: float = 30.0,
    progress: Progress | None = None,
) -> list[ReplayResult]:
    """Deliver every sample as its source would, one at a time.

    One at a time, and waiting for the queues around samples that inject sandbox faults, so a fault
    meant for one sample is never consumed by another's request - and around samples with settings
    of their own, which are processed under them alone. A sample that continues others (``after``,
    ``lookup``: :mod:`infra.local.sample_links`) comes after them, once the queues have drained, with
    its placeholders filled from the stand-ins.
    """
    every = [(spec, sample) for spec in runtime.specs for sample in load_samples(spec)]
    todo, blocked = in_replay_order(every)
    results: list[ReplayResult] = []
    answers: dict[Lookup, Any] = {}
    with httpx.Client(timeout=15) as client:
        fetch = from_http(client, runtime.url)
        for spec, sample in todo:
            if sample.faults:
                runtime.wait_drained(settle_s)
                for app, faults in sample.faults.items():
                    for fault in faults:
                        client.post(f"{runtime.url}/_sandbox/{app}/_faults", json=fault).raise_for_status()
            start = len(printer.entries)
            if sample.settings or sample.after or sample.lookups:  # alone, or after what came before
                runtime.wait_drained(settle_s)
            try:
                with _settings(runtime, spec, sample):
                    ready = resolve(sample, fetch, answers) if sample.lookups else sample
                    result = _deliver(runtime, client, spec, ready)
                    if sample.settings:
                        runtime.wait_drained(settle_s)
            except (httpx.HTTPError, SampleError, ValueError) as exc:
                result = ReplayResult(sample, 0, error=str(exc))
            result.span = (start, len(printer.entries))
            results.append(result)
            if sample.faults:
                runtime.wait_drained(settle_s)
            if progress is not None:
                progress(len(results), len(every))
        for _, sample, reason in blocked:
            results.append(ReplayResult(sample, 0, error=f"not replayed: it {reason}"))
            if progress is not None:
                progress(len(results), len(every))
    return results


def _settings(runtime: LocalRuntime, spec: IntegrationSpec, sample: Sample) -> AbstractContextManager[None]:
    if not sample.settings:
        return contextlib.nullcontext()
    return runtime.settings_overridden(spec.name, sample.settings, f"the settings of {sample.path.name}")


def _deliver(
    runtime: LocalRuntime, client: httpx.Client, spec: IntegrationSpec, sample: Sample
) -> ReplayResult:
    if sample.kind == "bus":
        trigger = spec.trigger(sample.trigger)
        assert isinstance(trigger, BusTrigger)
        rt = runtime.runtimes[spec.name]
        entry = {
            "Source": sample.source,
            "DetailType": sample.detail_type,
            "Detail": json.dumps(sample.detail),
        }
        put = rt.aws("events").put_events(Entries=[{**entry, "EventBusName": rt.bus}])
        bus_event = BusEvent(
            id=put["Entries"][0].get("EventId", ""),
            source=sample.source,
            detail_type=sample.detail_type,
            time="",
            detail=sample.detail,
        )
        accepted = trigger.accept(trigger.model.model_validate(sample.detail), bus_event)
        return ReplayResult(sample, 202, [a.event_id for a in accepted])
    if sample.kind == "schedule":
        trigger = spec.trigger(sample.trigger)
        assert isinstance(trigger, ScheduleTrigger)
        due = datetime.fromisoformat(sample.scheduled_at) if sample.scheduled_at else datetime.now(UTC)
        runtime.send_to_queue(spec.name, schedule_message(spec.name, trigger, due))
        run = ScheduledRun(trigger=trigger.name, scheduled_at=due.isoformat(), timezone=trigger.timezone)
        return ReplayResult(sample, 202, [a.event_id for a in trigger.accept(run)])
    url, headers, body = build_request(
        spec, sample, runtime.url, runtime.signing_secret(spec, sample.trigger)
    )
    if sample.kind == "route":
        response = client.request(spec.trigger(sample.trigger).method, url, headers=headers)  # type: ignore[union-attr]
        return ReplayResult(sample, response.status_code, [])
    response = client.post(url, headers=headers, content=body)
    ids: list[str] = []
    with contextlib.suppress(ValueError, AttributeError):  # an error body has no ids
        ids = list(response.json().get("ids") or [])
    if response.status_code == sample.accepted_status and sample.expect == "spam":
        ids = []  # the id answered to a bot is not an event
    return ReplayResult(sample, response.status_code, ids)


def judge(
    results: list[ReplayResult], printer: TracePrinter
) -> tuple[list[SampleOutcome], list[Delivery], list[dict[str, Any]]]:
    """Each sample's outcome, and what belongs to no sample (events the workers put on the bus,
    schedules firing on their own): (outcomes, other deliveries, other loose lines).

    The n-th delivery of an event id belongs to the n-th sample that produced that id (a provider's
    re-sent webhook carries the id of the first), and a line naming no event belongs to the sample
    being delivered when it was recorded (rejections and answers are recorded inside the request).
    """
    with printer.lock:
        entries = list(printer.entries)
        all_deliveries = list(printer.log.deliveries)
        all_loose = list(printer.log.loose)
    by_id: dict[tuple[str, str], list[Delivery]] = {}
    for delivery in all_deliveries:
        by_id.setdefault((delivery.integration, delivery.event_id), []).append(delivery)
    queues = {key: deque(deliveries) for key, deliveries in by_id.items()}
    claimed: set[int] = set()
    outcomes = []
    for result in results:
        deliveries = []
        for event_id in result.event_ids:
            mine = queues.get((result.sample.integration, event_id))
            if mine:
                deliveries.append(mine.popleft())
        start, end = result.span
        loose = [e for e in entries[start:end] if not e.get("event_id")]
        claimed.update(id(e) for e in loose)
        # Judged on every delivery of its ids (a re-sent webhook is done when the event is).
        stages = [
            s
            for e in result.event_ids
            for d in by_id.get((result.sample.integration, e), [])
            for s in d.stages
        ]
        outcomes.append(SampleOutcome(result, deliveries, loose, _observed(result, stages)))
    others = [d for waiting in queues.values() for d in waiting]
    others.sort(key=lambda d: float(d.entries[0]["time"]))
    loose_others = [e for e in all_loose if id(e) not in claimed]
    return outcomes, others, loose_others


def _observed(result: ReplayResult, stages: list[str]) -> str:
    if result.error:
        return "error"
    if result.sample.kind == "route":
        return "answered"
    if result.status != result.sample.accepted_status:
        return "rejected"
    if not result.event_ids:
        return "spam" if result.sample.expect == "spam" else "ignored"
    if "dlq" in stages:
        return "dlq"
    if "processed" in stages or "duplicate" in stages:
        return "processed"
    return "pending"


def summarise(
    results: list[ReplayResult],
    printer: TracePrinter,
    drained: bool,
    runtime: LocalRuntime,
    *,
    verbose: bool = False,
) -> bool:
    """Print one line per sample (details under a sample that did not end as expected; every step
    of every sample with ``verbose``); True if every sample ended as it should."""
    from .report import Summary

    outcomes, other_deliveries, other_loose = judge(results, printer)
    summary = Summary(
        outcomes,
        drained=drained,
        depths=runtime.queue_depths(),
        errors=[f"{name}: {type(exc).__name__}: {exc}" for name, exc in runtime.errors],
    )
    if verbose:
        summary.print_steps(printer, other_deliveries, other_loose)
    return summary.print(printer)
