"""Target health per app: the circuit breaker in the ledger table, waits that spend no attempt.

Two synthetic integrations (``health_a``, ``health_b``) call one synthetic app, ``acme``, whose
answers the test sets (an httpx MockTransport): what one integration's failures do to the breaker,
the other sees. Batches are really received from moto and run through ``shared.entry.dispatch``.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict

from infra.local.poller import sqs_event
from shared import health
from shared.app import App
from shared.entry import dispatch
from shared.envelope import Envelope
from shared.errors import CircuitOpen
from shared.runtime import Runtime
from shared.spec import Accepted, BusEvent, BusTrigger, IntegrationSpec, RetryPolicy
from shared.table import ledger_table
from shared.worker import WorkContext
from tests.shared.test_worker import (
    dead_letters,
    dlq_attributes,
    failures,
    make_visible,
    queue_arn,
    receive,
    send,
    spy,
)

ACME = App(name="acme", base_url="https://acme.test", auth="none", rate_per_s=2.0, title="Acme")
CONNECTION = ACME.connection()
REGION = "us-east-1"


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str


def accept(detail: Thing, event: BusEvent) -> list[Accepted]:
    return [Accepted(event_id=event.id, type=event.detail_type, data=detail)]


def call_acme(thing: Thing, ctx: WorkContext) -> Any:
    """Both synthetic specs' worker: one step that POSTs the thing to Acme."""
    return ctx.step(
        "post", lambda: ctx.api(ACME, CONNECTION).request("POST", "/things", json={"n": thing.name}).json()
    )


def _spec(name: str, **retry: Any) -> IntegrationSpec:
    return IntegrationSpec(
        name=name,
        description="test double calling acme",
        input_model=Thing,
        worker="tests.shared.test_health:call_acme",
        triggers=(BusTrigger(name="go", detail_types=("thing",), model=Thing, accept=accept),),
        connections=(CONNECTION,),
        max_concurrency=5,
        retry=RetryPolicy(**({"max_attempts": 3, "base_delay_s": 10, "max_delay_s": 60} | retry)),
    )


class Target:
    """Acme: answers ``status`` (and ``Retry-After`` with a 429), counting what it was asked."""

    def __init__(self) -> None:
        self.status = 200
        self.calls = 0
        self.lock = threading.Lock()
        #: Set by a test: the call waits for it (bounded) before answering.
        self.gate: threading.Event | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.calls += 1
        if self.gate is not None:
            self.gate.wait(10)
        headers = {"retry-after": "0"} if self.status == 429 else {}
        return httpx.Response(self.status, json={"ok": self.status < 400}, headers=headers)


@pytest.fixture
def target() -> Target:
    return Target()


@pytest.fixture
def make(resources: Any, aws: Any, target: Target) -> Any:
    """``make(name, **retry)``: a runtime of a synthetic integration calling ``acme`` on moto."""
    aws.client("secretsmanager").create_secret(
        Name=resources.secret_prefix + CONNECTION.name, SecretString=json.dumps({"base_url": ACME.base_url})
    )

    def build(name: str, **retry: Any) -> Runtime:
        sqs = aws.client("sqs")
        dlq = sqs.create_queue(QueueName=f"switchboard-test-{name}-dlq")["QueueUrl"]
        queue = sqs.create_queue(QueueName=f"switchboard-test-{name}", Attributes={"VisibilityTimeout": "30"})
        return Runtime(
            spec=_spec(name, **retry),
            stage="test",
            queue_url=queue["QueueUrl"],
            dlq_url=dlq,
            table=resources.table,
            bus=resources.bus,
            secret_prefix=resources.secret_prefix,
            secret_max_age_s=0,
            http_transport=httpx.MockTransport(target.handle),
        )

    return build


@pytest.fixture
def traced() -> Iterator[list[dict[str, Any]]]:
    from shared import trace

    entries: list[dict[str, Any]] = []
    trace.add_sink(entries.append)
    yield entries
    trace.remove_sink(entries.append)


def send_thing(rt: Runtime, event_id: str) -> None:
    envelope = Envelope.wrap(
        rt.name, "go", Accepted(event_id=event_id, type="thing", data=Thing(name=event_id))
    )
    send(rt, envelope.to_message(), event_id)


def run(rt: Runtime, messages: list[dict[str, Any]]) -> dict[str, Any]:
    return dispatch(rt, sqs_event(messages, queue_arn(rt), REGION))


def one_round(rt: Runtime, event_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    send_thing(rt, event_id)
    messages = receive(rt, expect=1)
    return run(rt, messages), messages


def breaker(rt: Runtime) -> dict[str, Any]:
    return health.describe(ledger_table(rt).get(health.health_key("acme")) or {})


def waits(rt: Runtime, message: dict[str, Any]) -> int:
    return health.waits_so_far(rt, message["MessageId"])


def stages(traced: list[dict[str, Any]], event_id: str) -> list[str]:
    return [
        "wait" if e.get("waiting") else str(e["stage"])
        for e in traced
        if e.get("event_id") == event_id and e["stage"] in ("retry", "processed", "dlq")
    ]


def open_circuit(rt: Runtime, target: Target) -> None:
    """Five 503s in a row (one event each) open Acme's circuit."""
    target.status = 503
    for i in range(health.OPEN_AFTER):
        one_round(rt, f"opening-{i}")
    assert breaker(rt)["state"] == health.OPEN


def probe_due_now(rt: Runtime) -> None:
    ledger_table(rt).update(health.health_key("acme"), "SET next_probe_at = :past", values={":past": 0})


# --- opening --------------------------------------------------------------------------------------


def test_consecutive_failures_open_the_circuit_and_later_records_wait_without_calling(
    make: Any, target: Target, traced: list[dict[str, Any]]
) -> None:
    a = make("health_a")
    target.status = 503
    for i in range(health.OPEN_AFTER - 1):
        one_round(a, f"evt-{i}")
        assert breaker(a)["state"] == health.CLOSED
        assert stages(traced, f"evt-{i}") == ["retry"]  # an attempt spent: the target may be flaky
    _, opening = one_round(a, "evt-opens")
    assert breaker(a)["state"] == health.OPEN and breaker(a)["failures"] == health.OPEN_AFTER
    assert stages(traced, "evt-opens") == ["wait"]  # its failure opened the circuit: it waits
    assert waits(a, opening[0]) == 1

    visibility = spy(a.aws("sqs"), "sqs", "ChangeMessageVisibility")
    result, held = one_round(a, "evt-held")

    assert failures(result) == [held[0]["MessageId"]]  # kept on its queue
    assert target.calls == health.OPEN_AFTER  # not called while open
    assert stages(traced, "evt-held") == ["wait"]
    reason = next(e["reason"] for e in traced if e.get("event_id") == "evt-held" and e["stage"] == "retry")
    assert reason.startswith("waiting, no attempt spent: Acme unavailable since ")
    assert reason.endswith(", 1 events waiting")
    # Back at the next probe (60 s), plus at most waiting / rate = 1 / 2 s of spread.
    [seconds] = [v["VisibilityTimeout"] for v in visibility]
    assert 55 <= seconds <= 61
    assert breaker(a)["waiting"] == {"health_a": 2}
    assert dead_letters(a) == []


def test_the_breaker_is_shared_by_integrations_calling_the_same_app(
    make: Any, target: Target, traced: list[dict[str, Any]]
) -> None:
    a, b = make("health_a"), make("health_b")
    open_circuit(a, target)
    target.status = 200

    result, held = one_round(b, "evt-b")

    assert failures(result) == [held[0]["MessageId"]]
    assert target.calls == health.OPEN_AFTER  # b never called Acme: a's failures opened its circuit
    assert stages(traced, "evt-b") == ["wait"]
    assert breaker(b)["waiting"] == {"health_a": 1, "health_b": 1}


# --- half-open --------------------------------------------------------------------------------------


def test_exactly_one_probe_while_half_open_then_the_waiting_work_drains(
    make: Any, target: Target, traced: list[dict[str, Any]]
) -> None:
    a, b = make("health_a"), make("health_b")
    open_circuit(a, target)
    probe_due_now(a)
    calls_before = target.calls
    target.status = 200
    target.gate = threading.Event()
    waited = threading.Semaphore(0)
    for rt, names in ((a, ("a1", "a2", "a3")), (b, ("b1", "b2"))):
        for name in names:
            send_thing(rt, name)

    def count_waits(entry: dict[str, Any]) -> None:
        if entry.get("waiting"):
            waited.release()

    from shared import trace

    trace.add_sink(count_waits)
    batches = [(a, receive(a, expect=3)), (b, receive(b, expect=2))]
    results: dict[str, dict[str, Any]] = {}
    workers = [
        threading.Thread(target=lambda rt=rt, m=m: results.update({rt.name: run(rt, m)})) for rt, m in batches
    ]
    for w in workers:
        w.start()
    for _ in range(4):  # every record but the probe decided to wait; then the probe may answer
        assert waited.acquire(timeout=30)
    target.gate.set()
    for w in workers:
        w.join(30)
    trace.remove_sink(count_waits)

    assert target.calls == calls_before + 1  # five records, five workers' threads, one probe
    assert sum(len(r["batchItemFailures"]) for r in results.values()) == 4
    assert breaker(a)["state"] == health.CLOSED and breaker(a)["failures"] == 0
    processed = [n for n in ("a1", "a2", "a3", "b1", "b2") if stages(traced, n) == ["processed"]]
    assert len(processed) == 1

    # Closed: the waiting records are attempted when they come back, none has spent an attempt.
    target.gate = None
    for rt, messages in batches:
        make_visible(rt, messages)
        again = receive(rt)
        assert run(rt, again) == {"batchItemFailures": []}
    held = [n for n in ("a1", "a2", "a3", "b1", "b2") if n not in processed]
    attempts = [e["attempt"] for e in traced if e["stage"] == "processing" and e["event_id"] in held]
    assert attempts == [1] * 8  # a wait, then the second receive is still the first attempt
    assert target.calls == calls_before + 5


def test_a_failed_probe_keeps_the_circuit_open_and_spends_no_attempt(
    make: Any, target: Target, traced: list[dict[str, Any]]
) -> None:
    a = make("health_a")
    open_circuit(a, target)
    probe_due_now(a)
    calls_before = target.calls

    result, probe = one_round(a, "evt-probe")

    assert target.calls == calls_before + 1  # it probed
    assert failures(result) == [probe[0]["MessageId"]]
    assert stages(traced, "evt-probe") == ["wait"]
    assert waits(a, probe[0]) == 1
    item = ledger_table(a).get(health.health_key("acme")) or {}
    assert item["state"] == health.OPEN and "probe_owner" not in item
    assert float(item["next_probe_at"]) > float(item["opened_at"])  # the next probe is re-armed

    one_round(a, "evt-after")  # the next probe is not due: no call
    assert target.calls == calls_before + 1


# --- waits and attempts ----------------------------------------------------------------------------


def test_a_429_storm_spends_no_attempts(make: Any, target: Target, traced: list[dict[str, Any]]) -> None:
    a = make("health_a")  # max_attempts=3
    target.status = 429
    send_thing(a, "evt-storm")
    for _ in range(4 * a.spec.retry.max_attempts):
        messages = receive(a, expect=1)
        assert failures(run(a, messages)) == [messages[0]["MessageId"]]
        make_visible(a, messages)
    assert dead_letters(a) == []
    assert breaker(a)["state"] == health.CLOSED  # a 429 is an answer: the target is there

    target.status = 200
    assert run(a, receive(a, expect=1)) == {"batchItemFailures": []}
    assert stages(traced, "evt-storm") == ["wait"] * 12 + ["processed"]
    [last] = [e for e in traced if e["stage"] == "processing" and e["event_id"] == "evt-storm"][-1:]
    assert last["attempt"] == 1  # 13 receives, 12 of them waits


def test_poison_still_dead_letters_after_its_attempts_however_often_it_waited(
    make: Any, target: Target, traced: list[dict[str, Any]]
) -> None:
    a = make("health_a")  # max_attempts=3, fewer than OPEN_AFTER: the circuit stays closed
    send_thing(a, "evt-poison")
    for status in (429, 429, 500, 500):
        target.status = status
        messages = receive(a, expect=1)
        assert failures(run(a, messages)) == [messages[0]["MessageId"]]
        make_visible(a, messages)
    assert run(a, receive(a, expect=1)) == {"batchItemFailures": []}  # its third attempt

    [dead] = dead_letters(a)
    attributes = dlq_attributes(dead)
    assert attributes["reason"].startswith(
        "retries exhausted after 3 attempts and 2 waits: acme POST /things: 500"
    )
    assert attributes["attempts"] == "3"
    assert stages(traced, "evt-poison") == ["wait", "wait", "retry", "retry", "dlq"]


def test_a_permanent_error_dead_letters_at_once_and_leaves_the_breaker_alone(
    make: Any, target: Target
) -> None:
    a = make("health_a")
    target.status = 400
    result, _ = one_round(a, "evt-rejected")
    assert result == {"batchItemFailures": []}
    [dead] = dead_letters(a)
    assert dlq_attributes(dead)["error"] == "target_rejected"
    assert dlq_attributes(dead)["attempts"] == "1"
    assert breaker(a) == health.describe({})  # an answer: nothing to write


def test_a_wait_past_the_retry_horizon_dead_letters_with_its_reason(make: Any, target: Target) -> None:
    a = make("health_a", horizon_s=0)
    target.status = 429
    result, _ = one_round(a, "evt-late")
    assert result == {"batchItemFailures": []}
    [dead] = dead_letters(a)
    attributes = dlq_attributes(dead)
    assert attributes["error"] == "rate_limited"
    assert attributes["reason"].startswith("still waiting for the target past the retry horizon (0 h): ")


def test_a_success_resets_failures_other_containers_added_meanwhile(make: Any, target: Target) -> None:
    a = make("health_a")
    target.status = 503
    for i in range(health.OPEN_AFTER - 1):
        one_round(a, f"evt-fail-{i}")
    target.status = 200
    one_round(a, "evt-ok")
    assert breaker(a)["failures"] == 0
    target.status = 503
    one_round(a, "evt-fail-again")
    assert breaker(a)["failures"] == 1  # one in a row, not five: the success in between counted
    assert breaker(a)["state"] == health.CLOSED


# --- the backstop -------------------------------------------------------------------------------------


def test_poison_that_crashes_every_receive_reaches_the_dlq_by_the_backstop(aws: Any) -> None:
    """A handler that dies before it can count anything: SQS's maxReceiveCount, derived from the
    horizon, still moves the message to the DLQ - after every attempt and wait, not after 2."""
    from infra.local.resources import create_resources

    spec = _spec("health_poison", max_attempts=2, max_wait_s=60, horizon_s=120)
    assert spec.retry.max_receives == 9
    made = create_resources((spec,), aws, stage="t", sandbox_url="http://127.0.0.1:9", visibility_scale=0.02)
    queue, dlq = made.queue_urls(spec.name)
    sqs = aws.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] in (9, "9")
    assert attributes["MessageRetentionPeriod"] == str(spec.retry.retention_s)
    sqs.send_message(QueueUrl=queue, MessageBody="crash")
    receives = 0
    for _ in range(50):  # bounded: each receive "crashes" (nothing deleted, visible again at once)
        got = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            break
        receives += 1
    assert receives == spec.retry.max_receives
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=dlq).get("Messages", [])] == ["crash"]


def test_the_spread_of_waiting_work_runs_on_the_runtimes_clock(make: Any, target: Target) -> None:
    """Under compressed time (chaos), the drain spread is compressed like the probe interval.

    400 events waiting for Acme (2 per second) spread over up to 200 s; at a retry scale of 1/100
    that is 2 s of wall time, not 200 - unscaled it ate the compressed retry horizon and the last
    of a Slack backlog dead-lettered.
    """
    rt = dataclasses.replace(make("health_a"), retry_scale=0.01)
    next_probe = round(time.time() + 1000, 3)  # far off: every record waits, none probes
    ledger_table(rt).update(
        health.health_key("acme"),
        "SET #s = :open, opened_at = :now, next_probe_at = :next, waiting_health_a = :w",
        names={"#s": "state"},
        values={
            ":open": health.OPEN,
            ":now": Decimal(str(round(time.time(), 3))),
            ":next": Decimal(str(next_probe)),
            ":w": 400,
        },
    )
    spreads = []
    for _ in range(20):
        until_probe = next_probe - time.time()  # at least what the guard sees a moment later
        with pytest.raises(CircuitOpen) as raised:
            health.RecordHealth(rt, Logger(service="test")).admit(ACME)
        assert raised.value.retry_after is not None
        spreads.append(raised.value.retry_after - until_probe)
    assert max(spreads) <= 400 / 2 * 0.01
    assert max(spreads) > 0.5  # there is a spread (20 draws of up to 2 s), only scaled
