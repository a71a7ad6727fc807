"""Replays the sample events through the running local runtime and judges what became of them."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx

from shared.spec import BusEvent, BusTrigger, IntegrationSpec, ScheduledRun, ScheduleTrigger

from .samples import Sample, SampleError, build_request, load_samples
from .scheduler import schedule_message

if TYPE_CHECKING:
    from .console import TracePrinter
    from .runtime import LocalRuntime

__all__ = ["ReplayResult", "replay", "summarise"]


@dataclass
class ReplayResult:
    sample: Sample
    status: int
    event_ids: list[str] = field(default_factory=list)
    error: str | None = None


def replay(runtime: LocalRuntime, printer: TracePrinter, *, settle_s: float = 30.0) -> list[ReplayResult]:
    """Deliver every sample as its source would, one at a time.

    One at a time, and waiting for the queues around samples that inject sandbox faults, so a fault
    meant for one sample is never consumed by another's request.
    """
    results: list[ReplayResult] = []
    with httpx.Client(timeout=15) as client:
        for spec in runtime.specs:
            for sample in load_samples(spec):
                if sample.faults:
                    runtime.wait_drained(settle_s)
                    for app, faults in sample.faults.items():
                        for fault in faults:
                            client.post(
                                f"{runtime.url}/_sandbox/{app}/_faults", json=fault
                            ).raise_for_status()
                print(f"\n── {spec.name}/{sample.name}: {sample.description}")
                try:
                    results.append(_deliver(runtime, client, spec, sample))
                except (httpx.HTTPError, SampleError, ValueError) as exc:
                    results.append(ReplayResult(sample, 0, error=str(exc)))
                if sample.faults:
                    runtime.wait_drained(settle_s)
    return results


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
    if response.status_code == 202 and sample.expect == "spam":
        ids = []  # the id answered to a bot is not an event
    return ReplayResult(sample, response.status_code, ids)


def _outcome(result: ReplayResult, printer: TracePrinter) -> str:
    if result.error:
        return "error"
    if result.sample.kind == "route":
        return "answered"
    if result.status != 202:
        return "rejected"
    if not result.event_ids:
        return "spam" if result.sample.expect == "spam" else "ignored"
    stages = [s for event_id in result.event_ids for s in printer.stages_for(event_id)]
    if "dlq" in stages:
        return "dlq"
    if "processed" in stages or "duplicate" in stages:
        return "processed"
    return "pending"


def summarise(
    results: list[ReplayResult], printer: TracePrinter, drained: bool, runtime: LocalRuntime
) -> bool:
    """Print expected vs observed per sample; True if every sample ended as it should."""
    ok = drained
    print("\nSample replay summary")
    print(f"  {'sample':<44} {'status':>6}  {'expected':<10} {'observed':<10}")
    for r in results:
        observed = _outcome(r, printer)
        expected_status = r.sample.expect_status or 202  # bus and schedule samples: "delivered"
        good = observed == r.sample.expect and r.status == expected_status
        ok = ok and good
        mark = "ok " if good else "BAD"
        name = f"{r.sample.integration}/{r.sample.name}"
        print(f"  {mark} {name:<40} {r.status:>6}  {r.sample.expect:<10} {observed:<10} {r.error or ''}")
    depths = runtime.queue_depths()
    print("  queues (pending, dead-lettered): " + json.dumps({k: list(v) for k, v in depths.items()}))
    if not drained:
        print("  queues did not drain in time")
    if runtime.errors:
        ok = False
        print(f"  {len(runtime.errors)} poller/handler error(s): {runtime.errors[0]}")
    print("  result: " + ("all samples ended as expected" if ok else "SOME SAMPLES DID NOT END AS EXPECTED"))
    return ok
