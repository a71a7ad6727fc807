"""``switchboard invoke``: run an integration's handler once, here or on its own queue.

Two ways in:

* an event file (a sample, an API Gateway HTTP API event or an SQS batch), run by the handler of a
  throwaway local runtime (:func:`run_event_file`);
* ``--date``: the schedule tick that covers that day (:func:`date_ticks`), run the same way
  (:func:`run_ticks`) or put on the integration's queue of the running local runtime or a deployed
  stage (:func:`queue_ticks`), where the ledger that knows which days were sent decides.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from infra.ops.target import CliError, Target, aws_errors
from shared.spec import FormTrigger, IntegrationSpec, WebhookTrigger

if TYPE_CHECKING:
    from infra.local.runtime import LocalRuntime

__all__ = ["date_ticks", "queue_ticks", "run_event_file", "run_ticks", "tick_event_ids"]


def date_ticks(spec: IntegrationSpec, day_text: str, *, resend: bool = False) -> list[str]:
    """Queue message(s) of the schedule tick that covers the day ``day_text`` (YYYY-MM-DD).

    The tick is the schedule's first after the day ended, in the schedule's own time zone: for a
    daily 07:00 report on "yesterday", ``--date 2026-11-20`` is the 07:00 tick of the 21st. Its event
    id is the one the real tick had, so a day already processed is not processed again (idempotency);
    ``resend`` appends ``:resend:<UTC time>`` to the id, so every step runs again on purpose.
    """
    from dataclasses import replace
    from datetime import UTC, date, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from infra.local.scheduler import next_fire, schedule_message
    from shared.envelope import Envelope
    from shared.spec import ScheduledRun, ScheduleTrigger

    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise CliError(f"--date {day_text!r} is not a date; expected YYYY-MM-DD") from None
    schedules = [t for t in spec.triggers if isinstance(t, ScheduleTrigger)]
    if len(schedules) != 1:
        raise CliError(
            f"--date runs a schedule, and {spec.name} has {len(schedules)} schedule triggers (needs one)"
        )
    trigger = schedules[0]
    day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(trigger.timezone))
    due = next_fire(trigger.expression, trigger.timezone, day_end - timedelta(minutes=1))
    if not resend:
        return [schedule_message(spec.name, trigger, due)]
    run = ScheduledRun(trigger=trigger.name, scheduled_at=due.isoformat(), timezone=trigger.timezone)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return [
        Envelope.wrap(
            spec.name, trigger.name, replace(a, event_id=f"{a.event_id}:resend:{stamp}")
        ).to_message()
        for a in trigger.accept(run)
    ]


def queue_ticks(target: Target, spec: IntegrationSpec, day: str, ticks: list[str], out: TextIO) -> None:
    """The tick(s) on the integration's own queue, where its function processes them as usual.

    Unlike running the handler here (a throwaway runtime), the ledger of that runtime or stage is the
    one that knows which days were already sent: a day sent before sends nothing again.
    """
    url = target.queue_url(spec.name)
    with aws_errors(target, f"queueing the tick on {target.queue_name(spec.name)}"):
        for body in ticks:
            target.client("sqs").send_message(QueueUrl=url, MessageBody=body)
    print(
        f"queued {len(ticks)} schedule tick(s) for {day} on {target.queue_name(spec.name)} ({target.where})",
        file=out,
    )
    stage = "" if target.is_local else f" --stage {target.stage}"
    for event_id in tick_event_ids(spec, ticks):
        print(f"follow it: switchboard trace {event_id}{stage}", file=out)


def tick_event_ids(spec: IntegrationSpec, ticks: list[str]) -> list[str]:
    """The event ids the worker will give the queued tick(s): what ``trace`` takes."""
    from shared.envelope import Envelope
    from shared.spec import ScheduledRun, ScheduleTrigger

    ids: list[str] = []
    for body in ticks:
        raw = json.loads(body)
        if Envelope.looks_like(raw):
            ids.append(str(raw["event_id"]))
            continue
        trigger = spec.trigger(str(raw["switchboard_schedule"]))
        assert isinstance(trigger, ScheduleTrigger)  # date_ticks made it from one
        run = ScheduledRun(trigger.name, str(raw["scheduled_at"]), trigger.timezone)
        ids.extend(a.event_id for a in trigger.accept(run))
    return ids


def run_ticks(spec: IntegrationSpec, ticks: list[str]) -> dict[str, Any]:
    """The handler's answer to the tick(s) as one SQS batch, as Lambda gets them."""
    return _dispatch(spec, lambda runtime: _sqs_batch(runtime, spec.name, ticks))


def run_event_file(spec: IntegrationSpec, path: Path) -> dict[str, Any]:
    """The handler's answer to an event file: a sample (signed here), an API Gateway event or an SQS batch."""
    try:
        raw: Any = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CliError(f"{path}: not a readable JSON file ({exc})") from exc

    def event(runtime: LocalRuntime) -> Any:
        if isinstance(raw, dict) and "trigger" in raw:
            return _sample_request(runtime, spec, path)
        return raw

    return _dispatch(spec, event, source=path)


def _dispatch(
    spec: IntegrationSpec, event: Callable[[LocalRuntime], Any], *, source: Path | None = None
) -> dict[str, Any]:
    """Run the handler once, in a local runtime without pollers, printing its trace as it goes."""
    from infra.local.console import TracePrinter
    from infra.local.runtime import LocalRuntime
    from shared import trace

    trace.add_sink(TracePrinter())
    with LocalRuntime(port=0, pollers=False, state_file=None) as runtime:
        raw = event(runtime)
        if not isinstance(raw, dict) or not ("requestContext" in raw or "Records" in raw):
            raise CliError(f"{source}: expected a sample, an API Gateway HTTP API event or an SQS batch")
        return runtime.dispatch(spec.name, raw)


def _sample_request(runtime: LocalRuntime, spec: IntegrationSpec, path: Path) -> dict[str, Any]:
    """The API Gateway event of a sample's request, signed with the runtime's secret."""
    from infra.local.gateway import api_gateway_event
    from infra.local.samples import SampleError, build_request, load_sample

    try:
        sample = load_sample(path, spec)
        url, headers, body = build_request(
            spec, sample, runtime.url, runtime.signing_secret(spec, sample.trigger)
        )
    except SampleError as exc:
        raise CliError(str(exc)) from exc
    trigger = spec.trigger(sample.trigger)
    assert isinstance(trigger, WebhookTrigger | FormTrigger)  # load_sample checked it
    request_path = url[len(runtime.url) :]
    headers["host"] = runtime.url.split("//", 1)[1]
    headers.setdefault("x-forwarded-proto", "http")
    return api_gateway_event(
        method=trigger.method,
        path=request_path,
        query="",
        headers=headers,
        body=body,
        route_key=f"{trigger.method} {request_path}",
    )


def _sqs_batch(runtime: LocalRuntime, integration: str, bodies: list[str]) -> dict[str, Any]:
    """An ``aws:sqs`` event carrying ``bodies``, for the integration's own queue."""
    import uuid

    from infra.local.poller import sqs_event

    rt = runtime.runtimes[integration]
    attrs = rt.aws("sqs").get_queue_attributes(QueueUrl=rt.queue_url, AttributeNames=["QueueArn"])
    arn = attrs["Attributes"]["QueueArn"]
    messages = [
        {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "switchboard-invoke", "Body": b} for b in bodies
    ]
    return sqs_event(messages, arn, arn.split(":")[3])
