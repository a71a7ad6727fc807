"""``switchboard invoke``: run one event through an integration, from its way in to the worker's end.

Everything runs here, in a throwaway local runtime (embedded AWS, the apps' stand-ins) without
background pollers, so nothing else touches the queue while the event goes through:

* a webhook or form sample (signed here with the runtime's secret) or an API Gateway event goes to
  the ingress path, exactly as the gateway would hand it over; what the ingress queued is then
  received from the integration's queue and handed to the worker as Lambda's SQS event source would
  (:class:`~infra.local.poller.Poller`), again after each retry's delay, until every message is
  processed, skipped as a duplicate or dead-lettered - or the time budget ends;
* a bus sample is put on the bus, a schedule sample (or ``--date``'s tick, :func:`date_ticks`) on the
  queue, and the worker runs the same way; a route sample is answered by the ingress path alone;
* an SQS batch file is handed to the worker once, as given (its receive counts and attributes too).

A sample's ``faults`` are queued at the stand-ins first, so a sample that shows a retry or a dead
letter does so here too. The trace prints each step as it happens; :func:`print_report` then says
what came of it: the answer, each event's final status and steps, the domain events it emitted (and
which integrations consume them - ``invoke`` runs one integration; ``make dev`` runs the chain).

``--date --queue`` instead puts the tick on the queue of the running local runtime or of a deployed
stage (:func:`queue_ticks`), where that runtime's ledger decides whether the day was already sent.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from infra.ops.target import CliError, Target, aws_errors
from shared.spec import (
    BusTrigger,
    FormTrigger,
    IntegrationSpec,
    RouteTrigger,
    ScheduleTrigger,
    WebhookTrigger,
)

if TYPE_CHECKING:
    from infra.local.runtime import LocalRuntime
    from infra.local.samples import Sample

__all__ = [
    "InvokeReport",
    "date_ticks",
    "print_report",
    "queue_ticks",
    "run_event_file",
    "run_ticks",
    "tick_event_ids",
]

#: How long the worker phase may take, retries' delays included (they are scaled down, as in ``make dev``).
BUDGET_S = 120.0
#: Receive rounds at most (each waits :data:`POLL_S` when nothing is visible yet): a second bound.
MAX_ROUNDS = 1000
#: The pause between receives while a message is on the queue but not visible yet.
POLL_S = 0.2
#: Retry delays are the policy's times this: 1-13 s for the default policy's 8 attempts.
RETRY_SCALE = 0.02
#: What went in, by the sample's trigger (``InvokeReport.source``).
_SOURCES: dict[type, str] = {
    WebhookTrigger: "webhook sample",
    FormTrigger: "form sample",
    RouteTrigger: "route request",
    BusTrigger: "bus event sample",
    ScheduleTrigger: "schedule tick sample",
}
#: Worker trace stages that end an event's trip (or pause it, for ``retry``).
_OUTCOMES = ("processed", "duplicate", "dlq", "retry")


@dataclass
class InvokeReport:
    """What one invoke did: the ingress answer, the worker's answers, and the trace of every step."""

    integration: str
    #: What went in: ``webhook sample``, ``API Gateway event``, ``bus event``, ``schedule tick`` ...
    source: str
    #: The ingress path's HTTP answer (API Gateway response), if the event went through it.
    answer: dict[str, Any] | None = None
    #: The worker's answer to each SQS batch it was handed (``batchItemFailures``).
    batches: list[dict[str, Any]] = field(default_factory=list)
    #: Trace entries of this integration, in order.
    entries: list[dict[str, Any]] = field(default_factory=list)
    #: Messages still on the queue at the end: left there (``--ingress-only``) or waiting for a retry.
    pending: int = 0
    #: ``--ingress-only``: the worker was not run on purpose.
    ingress_only: bool = False
    #: The handler raised instead of answering (formatted exceptions).
    errors: list[str] = field(default_factory=list)
    #: Integrations whose bus rules take each emitted type (from the specs).
    consumers: dict[str, list[str]] = field(default_factory=dict)

    def record(self, entry: dict[str, Any]) -> None:
        """A trace sink: keeps this integration's entries."""
        if entry.get("integration") == self.integration:
            self.entries.append(entry)

    def events(self) -> dict[str, str]:
        """event id -> its last outcome: processed, duplicate, dlq, retry (still waiting), or queued."""
        found: dict[str, str] = {}
        for e in self.entries:
            event_id, stage = e.get("event_id"), e.get("stage")
            if not event_id:
                continue
            if stage in _OUTCOMES:
                found[str(event_id)] = str(stage)
            elif stage == "queued":
                found.setdefault(str(event_id), "queued")
        return found

    def steps(self, event_id: str) -> list[str]:
        """The steps of one event, ``↷`` marking those already done before (skipped)."""
        return [
            ("" if e["stage"] == "effect" else "↷") + str(e.get("step"))
            for e in self.entries
            if e.get("event_id") == event_id and e.get("stage") in ("effect", "effect-skipped")
        ]

    def why(self, event_id: str) -> str:
        """Why a dead-lettered event failed, or why a pending one waits (its last retry's reason)."""
        status = self.events().get(event_id)
        for e in reversed(self.entries):
            if e.get("event_id") != event_id:
                continue
            if status == "dlq" and e.get("stage") == "dlq":
                return f"{e.get('error')}: {e.get('reason')}"
            if status == "retry" and e.get("stage") == "retry":
                return f"{e.get('reason')} (next attempt in {e.get('delay_s')} s)"
        return ""

    def emitted(self) -> list[str]:
        """Domain event types this run put on the bus (the worker's ``emit.<type>`` steps that ran)."""
        types: list[str] = []
        for e in self.entries:
            step = str(e.get("step") or "")
            if e.get("stage") == "effect" and step.startswith("emit.") and step[5:] not in types:
                types.append(step[5:])
        return types

    @property
    def status(self) -> str:
        """The run in one word: failed, rejected, dlq, retry, queued, processed, duplicate, answered,
        spam or ignored."""
        if self.errors:
            return "failed"
        if self.answer is not None and int(self.answer.get("statusCode", 0)) >= 400:
            return "rejected"
        outcomes = set(self.events().values())
        for word in ("dlq", "retry", "queued", "processed", "duplicate"):
            if word in outcomes:
                return word
        if self.source == "route request":
            return "answered"
        if any(e.get("stage") == "spam" for e in self.entries):
            return "spam"  # answered 202 like any other (bots learn nothing), then dropped
        return "ignored"  # accepted, but no work came of it (spam, a payment not completed yet ...)

    @property
    def ok(self) -> bool:
        """Nothing refused, failed or left behind (``--ingress-only`` leaves the queue on purpose)."""
        if self.status == "queued":
            return self.ingress_only
        return self.status in ("processed", "duplicate", "answered", "ignored", "spam")

    def to_json(self) -> dict[str, Any]:
        return {
            "integration": self.integration,
            "source": self.source,
            "status": self.status,
            "ok": self.ok,
            "answer": self.answer,
            "events": {
                event_id: {"status": status, "steps": self.steps(event_id)}
                for event_id, status in self.events().items()
            },
            "emitted": {t: self.consumers.get(t, []) for t in self.emitted()},
            "batches": self.batches,
            "pending": self.pending,
            "errors": self.errors,
        }


# -- --date: the schedule tick of a day --------------------------------------------------------------


def date_ticks(spec: IntegrationSpec, day_text: str, *, resend: bool = False) -> list[str]:
    """Queue message(s) of the schedule tick that covers the day ``day_text`` (YYYY-MM-DD).

    The tick is the schedule's first after the day ended, in the schedule's own time zone: for a
    daily 07:00 report on "yesterday", ``--date 2026-11-20`` is the 07:00 tick of the 21st. Its event
    id is the one the real tick had, so a day already processed is not processed again (idempotency);
    ``resend`` appends ``:resend:<UTC time>`` to the id, so every step runs again on purpose.
    """
    from dataclasses import replace
    from datetime import UTC, date, datetime, timedelta
    from datetime import time as clock
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
    day_end = datetime.combine(day + timedelta(days=1), clock(0), tzinfo=ZoneInfo(trigger.timezone))
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


# -- running an event here -----------------------------------------------------------------------------


def run_ticks(spec: IntegrationSpec, ticks: list[str], *, quiet: bool = False) -> InvokeReport:
    """The tick(s) on the integration's queue of a throwaway runtime, and the worker run on them."""
    report = InvokeReport(spec.name, "schedule tick")

    def deliver(runtime: LocalRuntime) -> None:
        for body in ticks:
            runtime.send_to_queue(spec.name, body)
        _work(runtime, spec, report)

    return _in_runtime(spec, report, deliver, quiet=quiet)


def run_event_file(
    spec: IntegrationSpec, path: Path, *, ingress_only: bool = False, quiet: bool = False
) -> InvokeReport:
    """An event file through the integration: a sample (signed here), an API Gateway event or an SQS batch."""
    try:
        raw: Any = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CliError(f"{path}: not a readable JSON file ({exc})") from exc
    if isinstance(raw, dict) and "trigger" in raw:
        sample = _load_sample(spec, path)
        report = InvokeReport(spec.name, _SOURCES[type(spec.trigger(sample.trigger))])
        if sample.kind in ("bus", "schedule") and ingress_only:
            raise CliError(f"--ingress-only: a {sample.kind} sample has no ingress (it goes to the queue)")

        def deliver_sample(runtime: LocalRuntime) -> None:
            _queue_faults(runtime, sample)
            if sample.kind == "bus":
                _put_on_bus(runtime, spec, sample)
            elif sample.kind == "schedule":
                _tick(runtime, spec, sample)
            elif sample.kind == "route":
                report.answer = _ask_route(runtime, spec, sample)
                return
            else:
                report.answer = runtime.dispatch(spec.name, _sample_request(runtime, spec, sample))
            _work(runtime, spec, report, ingress_only=ingress_only)

        return _in_runtime(spec, report, deliver_sample, quiet=quiet)
    if isinstance(raw, dict) and "requestContext" in raw:
        report = InvokeReport(spec.name, "API Gateway event")

        def deliver_request(runtime: LocalRuntime) -> None:
            report.answer = runtime.dispatch(spec.name, raw)
            _work(runtime, spec, report, ingress_only=ingress_only)

        return _in_runtime(spec, report, deliver_request, quiet=quiet)
    if isinstance(raw, dict) and "Records" in raw:
        if ingress_only:
            raise CliError("--ingress-only: an SQS batch has no ingress (it is the worker's event)")
        report = InvokeReport(spec.name, "SQS batch")

        def deliver_batch(runtime: LocalRuntime) -> None:
            _invoke_worker(runtime, spec, report, raw)

        return _in_runtime(spec, report, deliver_batch, quiet=quiet)
    raise CliError(f"{path}: expected a sample, an API Gateway HTTP API event or an SQS batch")


def _in_runtime(
    spec: IntegrationSpec,
    report: InvokeReport,
    deliver: Callable[[LocalRuntime], None],
    *,
    quiet: bool,
) -> InvokeReport:
    """Run ``deliver`` in a throwaway runtime without pollers, with the trace printed as it goes."""
    from infra.local.console import TracePrinter
    from infra.local.runtime import LocalRuntime
    from shared import trace

    printer = TracePrinter(quiet=quiet)
    trace.add_sink(printer)
    trace.add_sink(report.record)
    try:
        with LocalRuntime(port=0, pollers=False, state_file=None, retry_scale=RETRY_SCALE) as runtime:
            deliver(runtime)
    finally:
        trace.remove_sink(report.record)
        trace.remove_sink(printer)
    report.consumers = _consumers(report.emitted())
    return report


def _load_sample(spec: IntegrationSpec, path: Path) -> Sample:
    from infra.local.samples import SampleError, load_sample

    try:
        return load_sample(path, spec)
    except SampleError as exc:
        raise CliError(str(exc)) from exc


def _queue_faults(runtime: LocalRuntime, sample: Sample) -> None:
    """The sample's stand-in faults (``"faults": {"hubspot": [...]}``), queued before it is delivered."""
    import httpx

    for app, faults in sample.faults.items():
        for fault in faults:
            answer = httpx.post(f"{runtime.url}/_sandbox/{app}/_faults", json=fault, timeout=10)
            if answer.status_code >= 400:
                raise CliError(f"{sample.path}: the {app} stand-in refused its fault: {answer.text[:200]}")


def _put_on_bus(runtime: LocalRuntime, spec: IntegrationSpec, sample: Sample) -> None:
    """The sample's domain event on the bus, whose rule puts it on the integration's queue."""
    rt = runtime.runtimes[spec.name]
    assert isinstance(spec.trigger(sample.trigger), BusTrigger)  # load_sample made it a bus sample
    entry = {"Source": sample.source, "DetailType": sample.detail_type, "Detail": json.dumps(sample.detail)}
    rt.aws("events").put_events(Entries=[{**entry, "EventBusName": rt.bus}])


def _tick(runtime: LocalRuntime, spec: IntegrationSpec, sample: Sample) -> None:
    from datetime import UTC, datetime

    from infra.local.scheduler import schedule_message

    trigger = spec.trigger(sample.trigger)
    assert isinstance(trigger, ScheduleTrigger)  # load_sample made it a schedule sample
    due = datetime.fromisoformat(sample.scheduled_at) if sample.scheduled_at else datetime.now(UTC)
    runtime.send_to_queue(spec.name, schedule_message(spec.name, trigger, due))


def _sample_request(runtime: LocalRuntime, spec: IntegrationSpec, sample: Sample) -> dict[str, Any]:
    """The API Gateway event of a webhook or form sample's request, signed with the runtime's secret."""
    from infra.local.gateway import api_gateway_event
    from infra.local.samples import SampleError, build_request

    try:
        url, headers, body = build_request(
            spec, sample, runtime.url, runtime.signing_secret(spec, sample.trigger)
        )
    except SampleError as exc:
        raise CliError(str(exc)) from exc
    trigger = spec.trigger(sample.trigger)
    assert isinstance(trigger, WebhookTrigger | FormTrigger)  # load_sample: an http sample
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


def _ask_route(runtime: LocalRuntime, spec: IntegrationSpec, sample: Sample) -> dict[str, Any]:
    """A route sample's request through the runtime's gateway (which matches the route's path
    parameters, as API Gateway does); its answer in API Gateway's response form."""
    import httpx

    from infra.local.samples import build_request

    trigger = spec.trigger(sample.trigger)
    assert isinstance(trigger, RouteTrigger)  # load_sample: a route sample
    url, headers, _body = build_request(spec, sample, runtime.url, None)
    answer = httpx.request(trigger.method, url, headers=headers, timeout=30)
    return {
        "statusCode": answer.status_code,
        "headers": {"content-type": answer.headers.get("content-type", "")},
        "body": answer.text,
    }


def _work(
    runtime: LocalRuntime, spec: IntegrationSpec, report: InvokeReport, *, ingress_only: bool = False
) -> None:
    """The worker on what is queued, as Lambda's SQS event source runs it, until nothing is left.

    Bounded twice: :data:`BUDGET_S` seconds and :data:`MAX_ROUNDS` receives. What is still queued at
    the end (a retry not due yet, or ``--ingress-only``) is counted in ``report.pending``.
    """
    from infra.local.poller import Poller

    rt = runtime.runtimes[spec.name]
    if rt.queue_url is None:
        return  # synchronous routes only: nothing is queued
    sqs = rt.aws("sqs")
    report.ingress_only = ingress_only
    if ingress_only:
        report.pending = _waiting(sqs, rt.queue_url)
        return
    arn = sqs.get_queue_attributes(QueueUrl=rt.queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    raised: list[BaseException] = []

    def invoke(name: str, event: dict[str, Any]) -> dict[str, Any]:
        answer = runtime.dispatch(name, event)
        report.batches.append(answer)
        return answer

    poller = Poller(
        spec.name,
        sqs,
        rt.queue_url,
        arn,
        spec.batch_size,
        invoke,
        region=arn.split(":")[3],
        on_error=lambda _name, exc: raised.append(exc),
    )
    deadline = time.monotonic() + BUDGET_S
    for _ in range(MAX_ROUNDS):
        if raised or time.monotonic() >= deadline:
            break
        if poller.poll_once(wait_s=0):
            continue
        if not _waiting(sqs, rt.queue_url):
            break
        time.sleep(POLL_S)  # a retry's delay, or a bus rule still delivering
    report.errors.extend("".join(traceback.format_exception(exc)).rstrip() for exc in raised)
    report.pending = _waiting(sqs, rt.queue_url)


def _invoke_worker(runtime: LocalRuntime, spec: IntegrationSpec, report: InvokeReport, batch: Any) -> None:
    """An SQS batch file handed to the worker once, as given."""
    try:
        report.batches.append(runtime.dispatch(spec.name, batch))
    except Exception as exc:  # the developer's handler: show them all of it
        report.errors.append("".join(traceback.format_exception(exc)).rstrip())


def _waiting(sqs: Any, queue_url: str) -> int:
    """Messages on the queue: visible, in flight (a retry's delay) or delayed."""
    q = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    return (
        int(q.get("ApproximateNumberOfMessages", 0))
        + int(q.get("ApproximateNumberOfMessagesNotVisible", 0))
        + int(q.get("ApproximateNumberOfMessagesDelayed", 0))
    )


def _consumers(types: list[str]) -> dict[str, list[str]]:
    """detail type -> the integrations whose bus triggers take it (their rules, from the specs)."""
    from shared.registry import load_specs

    return {
        t: [
            s.name
            for s in load_specs()
            if any(isinstance(tr, BusTrigger) and t in tr.detail_types for tr in s.triggers)
        ]
        for t in types
    }


# -- the report ------------------------------------------------------------------------------------


def print_report(report: InvokeReport, out: TextIO) -> None:
    """What came of the run, after the trace: answer, each event's outcome and steps, emitted events."""
    rows: list[tuple[str, str]] = []
    if report.answer is not None:
        body = str(report.answer.get("body") or "")
        rows.append(("answer", f"{report.answer.get('statusCode')} {_cut(body, 200)}".rstrip()))
    if report.batches:
        retried = sum(len(a.get("batchItemFailures", [])) for a in report.batches)
        rows.append(
            (
                "worker",
                f"{len(report.batches)} invocation(s)"
                + (f", {retried} record(s) sent back to retry" if retried else ""),
            )
        )
    for event_id, status in report.events().items():
        steps = report.steps(event_id)
        rows.append(("event", f"{event_id}  {_WORDS.get(status, status)}"))
        if steps:
            rows.append(("  steps", ", ".join(steps)))
        why = report.why(event_id)
        if why:
            rows.append(("  why", why))
    for detail_type in report.emitted():
        consumers = report.consumers.get(detail_type, [])
        to = (
            f" -> {', '.join(consumers)} (their queues; invoke runs {report.integration} only)"
            if consumers
            else ""
        )
        rows.append(("emitted", detail_type + to))
    if report.pending:
        why = (
            "left there (--ingress-only)"
            if report.ingress_only
            else "waiting for a retry past the time budget"
        )
        rows.append(("queue", f"{report.pending} message(s) {why}"))
    for error in report.errors:
        rows.append(("raised", error))
    rows.append(("result", f"{report.status}  ({report.source})"))
    print("", file=out)
    for key, value in rows:
        print(f"{key:<8} {value}", file=out)


_WORDS = {
    "processed": "processed",
    "duplicate": "duplicate (already processed; skipped)",
    "dlq": "dead-lettered",
    "retry": "retry pending (the worker asked to try again later)",
    "queued": "queued, not run",
}


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
