"""The worker path: an SQS batch in, a partial batch response out.

Records of a batch run concurrently (Powertools' async batch processor, each record on a thread, at
most ``spec.max_concurrency`` at once - the app's concurrency cap). What happens to a record is
decided by the error tree alone:

* success, or a duplicate of a completed event -> the record is deleted;
* a *wait* - the target answered 429 (:class:`~shared.errors.RateLimited`), or its circuit is open
  (:class:`~shared.errors.CircuitOpen`, :mod:`shared.health`), or a call failed and the circuit is
  open now, or another delivery or change came first (:class:`~shared.errors.Contended`: the event,
  its entity or an OAuth refresh held elsewhere, a stock level changed) - is someone else's state,
  not the event's: the record is reported as failed with a visibility from its count of waits (the
  target's hint wins when longer), and no attempt is spent.
  Waits are counted per queued message in the ledger (``<integration>#waits#<message id>``), so
  the attempt number is the SQS receive count minus the waits before it. Past the policy's retry
  horizon a wait dead-letters instead;
* :class:`~shared.errors.RetryableError` (and any unexpected exception) -> the record is reported as
  failed and its visibility is set from its attempt number (``Retry-After`` wins), so SQS redelivers
  it later; on the last allowed attempt it goes to the DLQ with the reason instead;
* :class:`~shared.errors.PermanentError` -> the record is copied to the DLQ at once with its reason,
  then deleted. If the DLQ write itself fails, the record is reported as failed: a message is
  processed, in the DLQ with a reason, or still queued - never gone.

The DLQ is for permanent errors and poison only: an event that failed its attempts while the target
served others, or one whose handler crashes on every receive (the queue's ``maxReceiveCount``, a
backstop derived from the horizon, catches what the worker never got to count).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ValidationError

from shared import health, trace
from shared.backoff import visibility_delay, wait_delay
from shared.clients import api_client, current_metrics
from shared.envelope import Envelope
from shared.errors import (
    CircuitOpen,
    Contended,
    InvalidEvent,
    PermanentError,
    RateLimited,
    RetryableError,
)
from shared.ledger import Ledger
from shared.observability import event_context, get_logger, new_metrics
from shared.redact import redact_text
from shared.spec import BusEvent, BusTrigger, ScheduledRun, ScheduleTrigger
from shared.sync import resolve
from shared.table import ledger_table

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.metrics import EphemeralMetrics

    from shared.app import App
    from shared.http import ApiClient
    from shared.ledger import AttemptWindow
    from shared.runtime import Runtime
    from shared.spec import Connection

__all__ = ["WorkContext", "handle_sqs"]

T = TypeVar("T")


class WorkContext:
    """What an integration's worker function gets besides its input: steps, clients, the bus."""

    def __init__(
        self,
        rt: Runtime,
        envelope: Envelope,
        ledger: Ledger,
        logger: Logger,
        metrics: EphemeralMetrics,
        attempt: int,
    ) -> None:
        self.rt = rt
        self.envelope = envelope
        self.ledger = ledger
        self.logger = logger
        self.metrics = metrics
        self.attempt = attempt
        self.steps: list[tuple[str, bool]] = []
        #: Steps this run completed for good (decisions that do not bind yet left out): an attempt
        #: that completed one is progress, not a failure of the event (:func:`_progressed`).
        self.progress: list[str] = []

    @property
    def event_id(self) -> str:
        return self.envelope.event_id

    @property
    def settings(self) -> Any:
        return self.rt.settings

    def step(self, name: str, fn: Callable[[], T], *, binding_after: Sequence[str] = ()) -> T:
        """Run one side effect at most once for this event; a retry returns the saved result.

        With ``binding_after``, the step is a decision that binds only once one of those later steps
        completed; until then a retry takes it again (:meth:`shared.ledger.Ledger.run_step`).

        While ``fn`` runs, :data:`shared.http.current_work` names this event and step: target calls
        carry them as headers, and clients of targets without idempotency keys reconcile on them.
        """
        from shared.http import WorkStamp, current_work

        noted: list[AttemptWindow | None] = []

        def tried() -> AttemptWindow | None:
            # Once per run of the step: a second call must not find this run's own mark.
            if not noted:
                noted.append(self.ledger.note_attempt(self.event_id, name, self.rt.spec.timeout_s))
            return noted[0]

        stamp = WorkStamp(self.event_id, name, tried)

        def stamped() -> T:
            token = current_work.set(stamp)
            try:
                return fn()
            finally:
                current_work.reset(token)

        result, ran = self.ledger.run_step(self.event_id, name, stamped, binding_after=binding_after)
        self.steps.append((name, ran))
        if ran and not binding_after:
            self.progress.append(name)
        trace.record(
            self.rt.name,
            self.event_id,
            "effect" if ran else "effect-skipped",
            step=name,
            summary=_summary(result),
        )
        if not ran:
            self.logger.info("step already done", extra={"step": name})
        return result

    def api(self, app: App, connection: Connection) -> ApiClient:
        """The app's HTTP client for a connection (see :func:`shared.clients.api_client`).

        Raises :class:`~shared.errors.CircuitOpen` instead while the app's circuit is open and this
        record is not its probe (:mod:`shared.health`): the record waits without calling the app.
        """
        guard = health.current_health.get()
        if guard is not None:
            guard.admit(app)
        return api_client(self.rt, app, connection)

    def counter(self, name: str) -> int:
        """Next value of an atomic counter (round-robin assignment ...). Wrap it in a step."""
        counted = ledger_table(self.rt).update(
            f"{self.rt.name}#counter#{name}",
            "ADD #v :one",
            names={"#v": "value"},
            values={":one": 1},
            returns="UPDATED_NEW",
        )
        return int(counted["value"])

    def emit(self, detail_type: str, detail: Mapping[str, Any]) -> str:
        """Put a domain event on the Switchboard bus, once per event (a step of its own).

        ``detail.source_event_id`` carries this event's id, so consumers deduplicate on it.
        """
        if detail_type not in self.rt.spec.emits:
            raise InvalidEvent(f"{self.rt.name} does not declare that it emits {detail_type!r}")

        def put() -> dict[str, str]:
            events = self.rt.aws("events")
            body = {**detail, "source_event_id": self.event_id, "integration": self.rt.name}
            result = events.put_events(
                Entries=[
                    {
                        "Source": "switchboard",
                        "DetailType": detail_type,
                        "Detail": json.dumps(body, separators=(",", ":")),
                        "EventBusName": self.rt.bus,
                    }
                ]
            )
            entry = result["Entries"][0]
            if result.get("FailedEntryCount") or "EventId" not in entry:
                from shared.errors import TargetUnavailable

                raise TargetUnavailable(
                    f"EventBridge refused {detail_type}: {entry.get('ErrorCode', 'unknown')}"
                )
            return {"event_bus_id": str(entry["EventId"]), "detail_type": detail_type}

        return self.step(f"emit.{detail_type}", put)["event_bus_id"]


def _summary(result: Any) -> str:
    if isinstance(result, Mapping):
        return ", ".join(f"{k}={v}" for k, v in list(result.items())[:4])
    return "" if result is None else str(result)[:80]


# --- decoding what arrives on the queue ---------------------------------------------------------


def decode(rt: Runtime, body: str) -> list[Envelope]:
    """Envelope(s) from a queue message: our own envelope, a bus event, or a schedule tick."""
    try:
        raw = json.loads(body)
    except ValueError as exc:
        raise InvalidEvent("queue message is not JSON") from exc
    if Envelope.looks_like(raw):
        try:
            return [Envelope.model_validate(raw)]
        except ValidationError as exc:
            raise InvalidEvent(
                f"queue message is not a valid envelope: {exc.error_count()} error(s)"
            ) from exc
    if isinstance(raw, dict) and "detail-type" in raw and "detail" in raw:
        return _from_bus(rt, raw)
    if isinstance(raw, dict) and "switchboard_schedule" in raw:
        return _from_schedule(rt, raw)
    raise InvalidEvent("queue message is neither an envelope, a bus event nor a schedule tick")


def _from_bus(rt: Runtime, raw: dict[str, Any]) -> list[Envelope]:
    for trigger in rt.spec.triggers:
        if (
            isinstance(trigger, BusTrigger)
            and raw["detail-type"] in trigger.detail_types
            and raw.get("source") in trigger.sources
        ):
            event = BusEvent(
                id=str(raw.get("id", "")),
                source=str(raw.get("source")),
                detail_type=str(raw["detail-type"]),
                time=str(raw.get("time", "")),
                detail=raw["detail"],
            )
            try:
                model = trigger.model.model_validate(raw["detail"])
            except ValidationError as exc:
                raise InvalidEvent(
                    f"bus event {event.detail_type} does not match {trigger.model.__name__}"
                ) from exc
            try:
                accepted = trigger.accept(model, event)
            except ValueError as exc:  # the event is well-formed but unusable: no retry can fix it
                raise InvalidEvent(f"bus event {event.detail_type} refused by {trigger.name}: {exc}") from exc
            return [Envelope.wrap(rt.name, trigger.name, a) for a in accepted]
    raise InvalidEvent(f"no trigger of {rt.name} consumes bus events of type {raw['detail-type']!r}")


def _from_schedule(rt: Runtime, raw: dict[str, Any]) -> list[Envelope]:
    name = raw["switchboard_schedule"]
    for trigger in rt.spec.triggers:
        if isinstance(trigger, ScheduleTrigger) and trigger.name == name:
            due = raw.get("scheduled_at") or datetime.now(UTC).isoformat(timespec="seconds")
            run = ScheduledRun(trigger=name, scheduled_at=str(due), timezone=trigger.timezone)
            return [Envelope.wrap(rt.name, trigger.name, a) for a in trigger.accept(run)]
    raise InvalidEvent(f"{rt.name} has no schedule named {name!r}")


# --- processing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Batch:
    """What every record of one invocation shares."""

    rt: Runtime
    worker: Callable[[BaseModel, WorkContext], Any]
    ledger: Ledger
    logger: Logger
    metrics: EphemeralMetrics


_tracer: Any = None
_pools: dict[tuple[str, int], ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(rt: Runtime) -> ThreadPoolExecutor:
    """Threads for one integration's records, as many as its concurrency cap.

    Not asyncio's default executor: that one has ``cpu_count + 4`` threads - 6 on a 2-vCPU Lambda -
    which would silently cap every app at 6 records in flight whatever its spec declares.
    """
    key = (rt.name, rt.spec.max_concurrency)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = ThreadPoolExecutor(max_workers=key[1], thread_name_prefix=f"sb-{rt.name}")
            _pools[key] = pool
        return pool


def tracer() -> Any:
    """Powertools Tracer, made on first use (worker path only; disabled outside Lambda).

    Not auto-patched: records run on worker threads, where X-Ray has no current segment, so patched
    botocore/httpx calls would only log "segment not found". The batch is traced as one subsegment
    on the invocation's own thread, annotated so X-Ray can filter by integration and outcome.
    """
    global _tracer  # noqa: PLW0603 - one tracer per process, like the Powertools examples
    if _tracer is None:
        from aws_lambda_powertools import Tracer

        _tracer = Tracer(service="switchboard", auto_patch=False)
    return _tracer


def handle_sqs(rt: Runtime, event: Mapping[str, Any], lambda_context: Any = None) -> dict[str, Any]:
    with tracer().provider.in_subsegment("## process_batch") as subsegment:
        subsegment.put_annotation(key="integration", value=rt.name)
        subsegment.put_annotation(key="records", value=len(event.get("Records", [])))
        result = _handle_batch(rt, event, lambda_context)
        subsegment.put_annotation(key="failed_records", value=len(result.get("batchItemFailures", [])))
        return result


def _handle_batch(rt: Runtime, event: Mapping[str, Any], lambda_context: Any) -> dict[str, Any]:
    batch = _Batch(
        rt, resolve(rt.spec.worker), Ledger(rt, lambda_context), get_logger(rt.name), new_metrics(rt.name)
    )
    slots = asyncio.Semaphore(rt.spec.max_concurrency)

    async def record_handler(record: SQSRecord) -> Any:
        async with slots:
            ctx = contextvars.copy_context()
            ctx.run(current_metrics.set, batch.metrics)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(_pool(rt), ctx.run, _process_record, batch, record)

    processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    try:
        return dict(
            async_process_partial_response(
                event=dict(event), record_handler=record_handler, processor=processor, context=lambda_context
            )
        )
    finally:
        batch.metrics.flush_metrics()


def _process_record(batch: _Batch, record: SQSRecord) -> str:
    rt, logger = batch.rt, batch.logger
    receives = int(record.attributes.approximate_receive_count or 1)
    attribute: Any = record.message_attributes.get("event_id") or {}
    event_id: str | None = attribute.get("stringValue")
    correlation = event_id or record.message_id
    guard = health.RecordHealth(rt, logger)
    token = health.current_health.set(guard)
    with event_context(logger, event_id=correlation, correlation_id=correlation):
        waits = _waits_so_far(batch, record, receives)
        attempt = max(1, receives - waits)
        progress: list[str] = []
        try:
            for envelope in decode(rt, record.body):
                event_id = envelope.event_id
                _run_envelope(batch, envelope, attempt, progress)
            return "ok"
        except PermanentError as exc:
            _dead_letter_or_keep(batch, record, exc, attempt, event_id)
            return "dead-lettered"
        except Exception as exc:
            blocked = _wait_for(exc, guard)
            if blocked is not None and _within_horizon(rt, record):
                _wait(batch, record, exc, blocked, waits + 1, event_id)
                raise
            if blocked is not None:
                _dead_letter_or_keep(batch, record, exc, attempt, event_id, waited=waits)
                return "dead-lettered"
            if progress and isinstance(exc, RetryableError) and _within_horizon(rt, record):
                _retry_after_progress(batch, record, exc, attempt, progress, event_id)
                raise
            if attempt >= rt.spec.retry.max_attempts:
                _dead_letter_or_keep(batch, record, exc, attempt, event_id, exhausted=True, waited=waits)
                return "dead-lettered"
            retryable = isinstance(exc, RetryableError)
            retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
            delay = visibility_delay(rt.spec.retry, attempt, retry_after, scale=rt.retry_scale)
            _set_visibility(rt, record, delay, logger)
            batch.metrics.add_metric(name="Retried", unit="Count", value=1)
            reason = redact_text(str(exc))
            if not retryable:
                reason = f"unexpected {type(exc).__name__}: {reason}"
            log = logger.warning if retryable else logger.exception
            log("retrying later", extra={"attempt": attempt, "delay_s": delay, "reason": reason})
            trace.record(rt.name, event_id, "retry", attempt=attempt, delay_s=delay, reason=reason)
            raise
        finally:
            guard.finish()
            health.current_health.reset(token)


def _waits_so_far(batch: _Batch, record: SQSRecord, receives: int) -> int:
    """Receives of this message that were waits; none before its second receive (no read then)."""
    if receives <= 1:
        return 0
    try:
        return health.waits_so_far(batch.rt, record.message_id)
    except Exception as exc:  # unknown: count every receive as an attempt, the old, safe way
        batch.logger.warning("wait count unreadable", extra={"error": type(exc).__name__})
        return 0


def _wait_for(exc: Exception, guard: health.RecordHealth) -> RetryableError | None:
    """The target's "not now" this failure is, if it is one (then it spends no attempt)."""
    if isinstance(exc, CircuitOpen | RateLimited | Contended):
        # Contended: another delivery holds the event, the entity or the OAuth refresh, or another
        # change came first (a duplicate waiting for its twin, a crashed invocation's record until its
        # deadline, a stock level changed under a compare-and-set) - someone else's state, not this
        # event's failure. Spending attempts on it dead-lettered re-sends and busy SKUs.
        return exc
    if isinstance(exc, RetryableError) and guard.blocked is not None:
        return guard.blocked  # a call failed and its app's circuit is open now
    return None


def _within_horizon(rt: Runtime, record: SQSRecord) -> bool:
    """Whether the message is still young enough to wait (its age against the scaled horizon)."""
    sent = record.attributes.sent_timestamp
    if not sent:
        return True
    if rt.retry_scale <= 0:
        return True  # "retry at once" (tests): no horizon to scale; max_receives still ends the waits
    age_s = datetime.now(UTC).timestamp() - int(sent) / 1000
    return age_s < rt.spec.retry.horizon_s * rt.retry_scale


def _retry_after_progress(
    batch: _Batch,
    record: SQSRecord,
    exc: RetryableError,
    attempt: int,
    progress: Sequence[str],
    event_id: str | None,
) -> None:
    """Retry a record whose attempt failed after completing steps, without spending the attempt.

    ``max_attempts`` tells poison - an event that fails where others succeed - from bad luck. An
    attempt that completed a step got further than any before it, so it is not evidence of poison:
    a flow of ten calls against a target failing one call in five would otherwise spend its attempts
    on the calls before its first unfinished step and dead-letter good work. It is bounded: each such
    attempt completes at least one step for good, an event has finitely many, and the retry horizon
    still applies. It is counted as a wait (the attempt number stays), with the attempt's back-off.
    """
    rt, logger = batch.rt, batch.logger
    try:
        health.note_wait(rt, record.message_id, None, rt.spec.retry.retention_s)
    except Exception as error:  # not counted: this receive will count as an attempt, as before
        logger.warning("wait not counted", extra={"error": type(error).__name__})
    delay = visibility_delay(rt.spec.retry, attempt, exc.retry_after, scale=rt.retry_scale)
    _set_visibility(rt, record, delay, logger)
    batch.metrics.add_metric(name="Retried", unit="Count", value=1)
    reason = f"no attempt spent, steps completed ({', '.join(progress)}): {redact_text(str(exc))}"
    logger.warning("retrying later", extra={"attempt": attempt, "delay_s": delay, "reason": reason})
    trace.record(rt.name, event_id, "retry", attempt=attempt, delay_s=delay, reason=reason)


def _wait(
    batch: _Batch,
    record: SQSRecord,
    exc: Exception,
    blocked: RetryableError,
    count: int,
    event_id: str | None,
) -> None:
    """Put the record back without spending an attempt: counted in the ledger, visibility set."""
    rt, logger = batch.rt, batch.logger
    circuit = blocked if isinstance(blocked, CircuitOpen) else None
    try:
        health.note_wait(rt, record.message_id, circuit, rt.spec.retry.retention_s)
    except Exception as error:  # not counted: this receive will count as an attempt, as before
        logger.warning("wait not counted", extra={"error": type(error).__name__})
    if circuit is not None:
        hint = circuit.retry_after  # the next probe plus the spread: already on the runtime's clock
    else:
        hint = None if blocked.retry_after is None else blocked.retry_after * rt.retry_scale
    delay = wait_delay(rt.spec.retry, count, hint, scale=rt.retry_scale)
    _set_visibility(rt, record, delay, logger)
    batch.metrics.add_metric(name="Waited", unit="Count", value=1)
    if circuit is not None:
        health.publish(circuit.app, "TargetUnavailable", 1)
        health.publish(circuit.app, "Waiting", circuit.waiting)
    reason = f"waiting, no attempt spent: {redact_text(str(blocked))}"
    if exc is not blocked:
        reason += f" (after {redact_text(str(exc))})"
    logger.warning("waiting for the target", extra={"waits": count, "delay_s": delay, "reason": reason})
    trace.record(rt.name, event_id, "retry", attempt=count, delay_s=delay, reason=reason, waiting=True)


def _run_envelope(batch: _Batch, envelope: Envelope, attempt: int, progress: list[str]) -> None:
    rt, logger, metrics = batch.rt, batch.logger, batch.metrics
    try:
        data = rt.spec.input_model.model_validate(envelope.data)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise InvalidEvent(f"event data does not match {rt.spec.input_model.__name__}: {fields}") from exc
    ctx = WorkContext(rt, envelope, batch.ledger, logger, metrics, attempt)
    ctx.progress = progress  # the caller's list: what completed is known when the attempt fails
    trace.record(rt.name, envelope.event_id, "processing", attempt=attempt, trigger=envelope.trigger)
    result, ran = batch.ledger.run_event(envelope.event_id, lambda: batch.worker(data, ctx))
    if ran:
        metrics.add_metric(name="Processed", unit="Count", value=1)
        logger.info("processed", extra={"attempt": attempt, "steps": [s for s, _ in ctx.steps]})
        trace.record(rt.name, envelope.event_id, "processed", summary=_summary(result))
    else:
        metrics.add_metric(name="Duplicate", unit="Count", value=1)
        logger.info("duplicate event skipped", extra={"attempt": attempt})
        trace.record(rt.name, envelope.event_id, "duplicate")


def _set_visibility(rt: Runtime, record: SQSRecord, delay: int, logger: Logger) -> None:
    try:
        rt.aws("sqs").change_message_visibility(
            QueueUrl=rt.queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=delay
        )
    except Exception as exc:  # the queue's own visibility timeout still brings the message back
        logger.warning("could not set visibility", extra={"error": type(exc).__name__})


def _dead_letter_or_keep(
    batch: _Batch,
    record: SQSRecord,
    exc: Exception,
    attempt: int,
    event_id: str | None,
    *,
    exhausted: bool = False,
    waited: int | None = None,
) -> None:
    """Dead-letter the record; if the DLQ cannot take it, keep it on its queue (never drop it).

    ``waited`` is the record's count of waits when it ends here because of one: a wait past the
    retry horizon (``exhausted`` False), or attempts spent (``exhausted`` True) after waits.
    """
    try:
        _dead_letter(batch, record, exc, attempt, event_id, exhausted=exhausted, waited=waited)
    except Exception as dlq_error:
        batch.metrics.add_metric(name="DeadLetterFailed", unit="Count", value=1)
        batch.logger.error(
            "DLQ unavailable; the message stays on its queue",
            extra={"error": type(dlq_error).__name__, "attempt": attempt, "reason": redact_text(str(exc))},
        )
        delay = visibility_delay(batch.rt.spec.retry, attempt, scale=batch.rt.retry_scale)
        _set_visibility(batch.rt, record, delay, batch.logger)
        raise


def _dead_letter(
    batch: _Batch,
    record: SQSRecord,
    exc: Exception,
    attempt: int,
    event_id: str | None,
    *,
    exhausted: bool = False,
    waited: int | None = None,
) -> None:
    rt, logger, metrics = batch.rt, batch.logger, batch.metrics
    code = getattr(exc, "code", type(exc).__name__)
    reason = redact_text(str(exc))[:850]
    waits = f" and {waited} waits" if waited else ""
    if exhausted:
        reason = f"retries exhausted after {attempt} attempts{waits}: {reason}"
    elif waited is not None:
        horizon_h = rt.spec.retry.horizon_s * rt.retry_scale / 3600
        reason = f"still waiting for the target past the retry horizon ({horizon_h:g} h{waits}): {reason}"
    sent = record.attributes.sent_timestamp
    first_seen = datetime.fromtimestamp(int(sent) / 1000, UTC).isoformat() if sent else ""
    attributes = {
        "reason": reason,
        "error": str(code),
        "attempts": str(attempt),
        "integration": rt.name,
        "event_id": event_id or "",
        "first_seen": first_seen,
        "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source_message_id": record.message_id,
    }
    # Raises if the DLQ cannot take it: the record then stays on its queue (reported as failed).
    rt.aws("sqs").send_message(
        QueueUrl=rt.dlq_url,
        MessageBody=record.body,
        MessageAttributes={k: {"DataType": "String", "StringValue": v or "-"} for k, v in attributes.items()},
    )
    metrics.add_metric(name="DeadLettered", unit="Count", value=1)
    logger.error("sent to DLQ", extra={"error": code, "reason": reason, "attempt": attempt})
    trace.record(rt.name, event_id, "dlq", error=code, reason=reason)
