"""The worker path end to end: SQS batches, really received from moto, through ``shared.entry.dispatch``.

``website_to_crm`` (with the HubSpot sandbox) covers the real integration; a small synthetic spec,
whose worker is :func:`synthetic_worker` in this module, covers behaviour the real one cannot be made
to show on demand (a step failing after another succeeded, an event in progress, concurrency, bus
events and schedule ticks, emitting twice).
"""

from __future__ import annotations

import dataclasses
import json
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from apps.hubspot.standin import DEFAULT_TOKEN, HubSpotSandbox
from functions.website_to_crm.models import Lead
from infra.local.poller import sqs_event
from sandbox.base import SandboxRequest
from shared.entry import dispatch
from shared.envelope import Envelope
from shared.errors import TargetUnavailable
from shared.ledger import Ledger
from shared.runtime import Runtime
from shared.spec import (
    Accepted,
    BusEvent,
    BusTrigger,
    IntegrationSpec,
    RetryPolicy,
    ScheduledRun,
    ScheduleTrigger,
)
from shared.worker import WorkContext

REGION = "us-east-1"
NAME = "website_to_crm"
UPSERT = "/crm/v3/objects/contacts/batch/upsert"
NOTES = "/crm/v3/objects/notes"


# --- the synthetic integration -------------------------------------------------------------------


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str


class ThingDone(BaseModel):
    name: str


def accept_bus(detail: ThingDone, event: BusEvent) -> list[Accepted]:
    return [Accepted(event_id=f"bus-{event.id}", type=event.detail_type, data=Item(name=detail.name))]


def accept_tick(run: ScheduledRun) -> list[Accepted]:
    return [
        Accepted(
            event_id=f"tick-{run.trigger}-{run.scheduled_at}",
            type="schedule.tick",
            data=Item(name=f"{run.trigger}@{run.scheduled_at} {run.timezone}"),
        )
    ]


SYNTHETIC = IntegrationSpec(
    name="synthetic",
    description="test double",
    input_model=Item,
    worker="tests.shared.test_worker:synthetic_worker",
    triggers=(
        BusTrigger(name="on_thing", detail_types=("thing.done",), model=ThingDone, accept=accept_bus),
        ScheduleTrigger(
            name="nightly", expression="cron(0 2 * * ? *)", accept=accept_tick, timezone="Europe/London"
        ),
    ),
    emits=("thing.done",),
    max_concurrency=3,
    retry=RetryPolicy(max_attempts=3, base_delay_s=10, max_delay_s=60),
)

Behaviour = Callable[[Item, WorkContext], Any]
_behaviour: list[Behaviour] = []


def synthetic_worker(item: Item, ctx: WorkContext) -> Any:
    """The synthetic spec's worker (resolved by ``"module:function"``): runs the test's behaviour."""
    return _behaviour[0](item, ctx)


@pytest.fixture
def behave() -> Any:
    def set_behaviour(fn: Behaviour) -> None:
        _behaviour[:] = [fn]

    yield set_behaviour
    _behaviour.clear()


@pytest.fixture
def syn(resources: Any, aws: Any) -> Runtime:
    sqs = aws.client("sqs")
    dlq = sqs.create_queue(QueueName="switchboard-test-synthetic-dlq")["QueueUrl"]
    queue = sqs.create_queue(QueueName="switchboard-test-synthetic", Attributes={"VisibilityTimeout": "30"})[
        "QueueUrl"
    ]
    return Runtime(
        spec=SYNTHETIC,
        stage="test",
        queue_url=queue,
        dlq_url=dlq,
        table=resources.table,
        bus=resources.bus,
        secret_prefix=resources.secret_prefix,
        secret_max_age_s=0,
    )


# --- helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def traced() -> Any:
    """What the worker reports through ``shared.trace`` (the stage of each event, with reasons)."""
    from shared import trace

    entries: list[dict[str, Any]] = []
    trace.add_sink(entries.append)
    yield entries
    trace.remove_sink(entries.append)


@pytest.fixture
def top_of_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Back-off jitter always picks the top of its window, so delays are exact."""
    monkeypatch.setattr(random, "uniform", lambda low, high: high)


def queue_arn(rt: Runtime) -> str:
    attrs = rt.aws("sqs").get_queue_attributes(QueueUrl=rt.queue_url, AttributeNames=["QueueArn"])
    return str(attrs["Attributes"]["QueueArn"])


def send(rt: Runtime, body: str, event_id: str | None = None) -> None:
    attributes = {"event_id": {"DataType": "String", "StringValue": event_id}} if event_id else {}
    rt.aws("sqs").send_message(QueueUrl=rt.queue_url, MessageBody=body, MessageAttributes=attributes)


def send_envelope(rt: Runtime, trigger: str, event_id: str, data: BaseModel, type_: str = "t") -> Envelope:
    envelope = Envelope.wrap(rt.name, trigger, Accepted(event_id=event_id, type=type_, data=data))
    send(rt, envelope.to_message(), event_id)
    return envelope


def receive(rt: Runtime, url: str | None = None, expect: int | None = None) -> list[dict[str, Any]]:
    got = rt.aws("sqs").receive_message(
        QueueUrl=url or rt.queue_url,
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        WaitTimeSeconds=0,
    )
    messages: list[dict[str, Any]] = got.get("Messages", [])
    if expect is not None:
        assert len(messages) == expect, messages
    return messages


def run(rt: Runtime, messages: list[dict[str, Any]]) -> dict[str, Any]:
    return dispatch(rt, sqs_event(messages, queue_arn(rt), REGION))


def failures(result: dict[str, Any]) -> list[str]:
    return sorted(f["itemIdentifier"] for f in result["batchItemFailures"])


def make_visible(rt: Runtime, messages: list[dict[str, Any]]) -> None:
    for m in messages:
        rt.aws("sqs").change_message_visibility(
            QueueUrl=rt.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
        )


def delete(rt: Runtime, messages: list[dict[str, Any]]) -> None:
    for m in messages:
        rt.aws("sqs").delete_message(QueueUrl=rt.queue_url, ReceiptHandle=m["ReceiptHandle"])


def dead_letters(rt: Runtime) -> list[dict[str, Any]]:
    return receive(rt, rt.dlq_url)


def dlq_attributes(message: dict[str, Any]) -> dict[str, str]:
    return {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}


def spy(client: Any, service: str, operation: str) -> list[dict[str, Any]]:
    """Parameters of every ``operation`` call made through ``client`` (the call still happens)."""
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    client.meta.events.register(f"provide-client-params.{service}.{operation}", record)
    return calls


def lead(email: str, *, message: str | None = None) -> Lead:
    return Lead(
        email=email,
        first_name="Ada",
        last_name="Lovelace",
        message=message,
        source="website_webhook",
        submitted_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
    )


def seed_contact(hubspot: HubSpotSandbox, email: str) -> None:
    body = {"inputs": [{"id": email, "idProperty": "email", "properties": {"email": email}}]}
    resp = hubspot.handle(
        SandboxRequest(
            "POST",
            UPSERT,
            headers={"authorization": f"Bearer {DEFAULT_TOKEN}", "content-type": "application/json"},
            body=json.dumps(body).encode(),
        )
    )
    assert resp.status == 200, resp.parsed()


def add_fault(hubspot: HubSpotSandbox, fault: dict[str, Any]) -> None:
    resp = hubspot.handle(SandboxRequest("POST", "/_faults", body=json.dumps(fault).encode()))
    assert resp.status == 201, resp.parsed()


def recorded(hubspot: HubSpotSandbox, method: str, path: str) -> list[dict[str, Any]]:
    resp = hubspot.handle(SandboxRequest("GET", "/_requests", query={"path": [path]}))
    return [r for r in resp.parsed()["requests"] if r["method"] == method]


def upserts_for(hubspot: HubSpotSandbox, email: str) -> int:
    return sum(
        1 for r in recorded(hubspot, "POST", UPSERT) if any(i["id"] == email for i in r["json"]["inputs"])
    )


def contact(hubspot: HubSpotSandbox, email: str) -> dict[str, Any] | None:
    for c in hubspot.handle(SandboxRequest("GET", "/_state")).parsed()["contacts"]:
        if c["properties"].get("email") == email:
            found: dict[str, Any] = c
            return found
    return None


# --- website_to_crm: the mixed batch -------------------------------------------------------------


def test_mixed_batch_ok_duplicate_permanent_and_retryable(
    make_runtime: Any, hubspot: HubSpotSandbox, top_of_window: None
) -> None:
    rt: Runtime = make_runtime(NAME)
    ok_email, dup_email = "olive.ok@example.com", "dan.dup@example.com"
    perm_email, retry_email = "lena@fischer-kaffee.example", "rita.retry@example.com"

    # The duplicate: an event that already completed in an earlier batch.
    send_envelope(rt, "webhook", "evt-dup", lead(dup_email), "form.submitted")
    first = run(rt, receive(rt, expect=1))
    assert first == {"batchItemFailures": []}
    assert upserts_for(hubspot, dup_email) == 1

    # Existing contacts are not "qualified" (no PATCH), so the PATCH fault can only hit the new lead;
    # only the permanent lead has a message, so the notes fault can only hit it. Deterministic under
    # concurrency.
    seed_contact(hubspot, ok_email)
    seed_contact(hubspot, perm_email)
    rejection = {
        "status": "error",
        "message": f"Property values were not valid: contact {perm_email} is locked by policy",
        "correlationId": "3f1d6c2a-7b8e-4d5f-a9c0-1e2f3a4b5c6d",
        "category": "VALIDATION_ERROR",
    }
    add_fault(hubspot, {"kind": "status", "status": 400, "path": NOTES, "body": rejection})
    add_fault(
        hubspot, {"kind": "status", "status": 503, "method": "PATCH", "path": "/crm/v3/objects/contacts/"}
    )

    send_envelope(rt, "webhook", "evt-ok", lead(ok_email), "form.submitted")
    send_envelope(rt, "webhook", "evt-dup", lead(dup_email), "form.submitted")
    send_envelope(rt, "webhook", "evt-perm", lead(perm_email, message="Do you ship?"), "form.submitted")
    send_envelope(rt, "webhook", "evt-retry", lead(retry_email), "form.submitted")
    messages = receive(rt, expect=4)
    by_event = {m["MessageAttributes"]["event_id"]["StringValue"]: m for m in messages}
    visibility = spy(rt.aws("sqs"), "sqs", "ChangeMessageVisibility")

    result = run(rt, messages)

    # Only the 503 is reported failed (retried); the rest are done or dead-lettered.
    assert failures(result) == [by_event["evt-retry"]["MessageId"]]
    # The 503's visibility was set from its receive count: attempt 1 waits up to base_delay_s (10 s).
    assert len(visibility) == 1
    assert visibility[0]["ReceiptHandle"] == by_event["evt-retry"]["ReceiptHandle"]
    assert visibility[0]["QueueUrl"] == rt.queue_url
    assert visibility[0]["VisibilityTimeout"] == 10

    # The permanent failure is in the DLQ at once, with its redacted reason.
    dlq = dead_letters(rt)
    assert len(dlq) == 1
    assert dlq[0]["Body"] == by_event["evt-perm"]["Body"]
    attrs = dlq_attributes(dlq[0])
    assert attrs["error"] == "target_rejected"
    assert attrs["attempts"] == "1"
    assert attrs["event_id"] == "evt-perm"
    assert attrs["integration"] == NAME
    assert attrs["source_message_id"] == by_event["evt-perm"]["MessageId"]
    assert attrs["reason"].startswith("hubspot POST /crm/v3/objects/notes: 400 ")
    assert "l***@fischer-kaffee.example is locked by policy" in attrs["reason"]
    assert perm_email not in attrs["reason"]
    assert perm_email not in json.dumps(attrs)

    # The duplicate made no second HubSpot call; the ok lead was written.
    assert upserts_for(hubspot, dup_email) == 1
    assert upserts_for(hubspot, ok_email) == 2  # the seed and the worker
    ok_contact = contact(hubspot, ok_email)
    assert ok_contact is not None
    assert ok_contact["properties"]["lead_source"] == "website_webhook"
    assert ok_contact["properties"]["firstname"] == "Ada"

    # The retried lead resumes on its next delivery: the upsert is not repeated, the PATCH is.
    make_visible(rt, [by_event["evt-retry"]])
    again = receive(rt, expect=1)
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert run(rt, again) == {"batchItemFailures": []}
    assert upserts_for(hubspot, retry_email) == 1
    patches = recorded(hubspot, "PATCH", "/crm/v3/objects/contacts/")
    assert [p["status"] for p in patches if p["path"].endswith(contact(hubspot, retry_email)["id"])] == [  # type: ignore[index]
        503,
        200,
    ]
    assert contact(hubspot, retry_email)["properties"]["lifecyclestage"] == "lead"  # type: ignore[index]
    assert dead_letters(rt) == []


def test_lead_queued_by_ingress_is_processed(make_runtime: Any, hubspot: HubSpotSandbox) -> None:
    from infra.local.gateway import api_gateway_event
    from shared.secrets import signing_secrets
    from shared.spec import WebhookTrigger

    rt: Runtime = make_runtime(NAME)
    trigger = rt.spec.trigger("webhook")
    assert isinstance(trigger, WebhookTrigger)
    body = json.dumps(
        {
            "type": "form.submitted",
            "timestamp": "2026-11-20T09:14:03.512Z",
            "data": {"name": "Priya Raman", "email": "Priya@Northwind.example", "message": "Quote?"},
        }
    ).encode()
    headers = {"host": "h.test", "x-forwarded-proto": "http", "content-type": "application/json"}
    headers.update(
        trigger.verifier.sign(
            method="POST",
            url="http://h.test/hooks/website_to_crm",
            body=body,
            secret=signing_secrets(rt, trigger.secret)[0],
            now=time.time(),
            msg_id="msg_pipeline",
        )
    )
    event = api_gateway_event(
        method="POST",
        path=trigger.path,
        query="",
        headers=headers,
        body=body,
        route_key=f"POST {trigger.path}",
    )
    assert dispatch(rt, event)["statusCode"] == 202

    assert run(rt, receive(rt, expect=1)) == {"batchItemFailures": []}

    created = contact(hubspot, "priya@northwind.example")
    assert created is not None
    assert created["properties"]["firstname"] == "Priya"
    assert created["properties"]["hubspot_owner_id"] == "41629779"  # first of the round-robin owners
    notes = hubspot.handle(SandboxRequest("GET", "/_state")).parsed()["notes"]
    assert len(notes) == 1
    assert "Quote?" in notes[0]["properties"]["hs_note_body"]


def test_retry_after_on_429_sets_the_visibility(make_runtime: Any, hubspot: HubSpotSandbox) -> None:
    rt: Runtime = make_runtime(NAME)
    add_fault(hubspot, {"kind": "rate_limit", "retry_after": 30, "path": UPSERT})
    send_envelope(rt, "webhook", "evt-429", lead("rate.limited@example.com"), "form.submitted")
    messages = receive(rt, expect=1)
    visibility = spy(rt.aws("sqs"), "sqs", "ChangeMessageVisibility")

    result = run(rt, messages)

    assert failures(result) == [messages[0]["MessageId"]]
    assert [v["VisibilityTimeout"] for v in visibility] == [30]  # longer than the first wait's window (10 s)
    assert dead_letters(rt) == []


def test_retry_after_is_scaled_by_the_runtime(make_runtime: Any, hubspot: HubSpotSandbox) -> None:
    rt: Runtime = make_runtime(NAME, retry_scale=0.5)
    add_fault(hubspot, {"kind": "rate_limit", "retry_after": 31, "path": UPSERT})
    send_envelope(rt, "webhook", "evt-429s", lead("scaled@example.com"), "form.submitted")
    visibility = spy(rt.aws("sqs"), "sqs", "ChangeMessageVisibility")
    run(rt, receive(rt, expect=1))
    assert [v["VisibilityTimeout"] for v in visibility] == [16]  # ceil(31 * 0.5)


# --- the effects ledger ----------------------------------------------------------------------------


def test_a_retry_resumes_at_the_failed_step(syn: Runtime, behave: Any) -> None:
    calls = {"one": 0, "two": 0}
    steps_seen: list[list[tuple[str, bool]]] = []

    def two_steps(item: Item, ctx: WorkContext) -> dict[str, Any]:
        def one() -> dict[str, str]:
            calls["one"] += 1
            return {"id": f"one-{item.name}"}

        def two() -> dict[str, str]:
            calls["two"] += 1
            if calls["two"] == 1:
                raise TargetUnavailable("second app answered 503")
            return {"id": "two"}

        first = ctx.step("one", one)
        try:
            second = ctx.step("two", two)
        finally:
            steps_seen.append(list(ctx.steps))
        return {"one": first["id"], "two": second["id"]}

    behave(two_steps)
    send_envelope(syn, "on_thing", "evt-steps", Item(name="x"))
    first = receive(syn, expect=1)

    assert failures(run(syn, first)) == [first[0]["MessageId"]]
    assert calls == {"one": 1, "two": 1}

    make_visible(syn, first)
    second = receive(syn, expect=1)
    assert second[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert run(syn, second) == {"batchItemFailures": []}

    assert calls == {"one": 1, "two": 2}
    assert steps_seen == [[("one", True)], [("one", False), ("two", True)]]
    assert dead_letters(syn) == []

    # A third delivery of the completed event does nothing at all.
    send_envelope(syn, "on_thing", "evt-steps", Item(name="x"))
    assert run(syn, receive(syn, expect=1)) == {"batchItemFailures": []}
    assert calls == {"one": 1, "two": 2}
    assert len(steps_seen) == 2


def test_saved_step_result_is_returned_on_retry(syn: Runtime, behave: Any) -> None:
    results: list[Any] = []
    attempts = {"n": 0}

    def worker(item: Item, ctx: WorkContext) -> None:
        attempts["n"] += 1
        results.append(ctx.step("stamp", lambda: {"attempt": attempts["n"]}))
        if attempts["n"] == 1:
            raise TargetUnavailable("later")

    behave(worker)
    send_envelope(syn, "on_thing", "evt-saved", Item(name="x"))
    first = receive(syn, expect=1)
    run(syn, first)
    make_visible(syn, first)
    run(syn, receive(syn, expect=1))
    assert results == [{"attempt": 1}, {"attempt": 1}]


def test_earlier_attempt_is_known_across_deliveries_not_within_one_run(syn: Runtime, behave: Any) -> None:
    """A re-sent webhook is a new message (receive count 1, a new receive time): the mark is not."""
    from shared.http import current_work

    seen: list[tuple[Any, Any, int]] = []

    def worker(item: Item, ctx: WorkContext) -> None:
        def write() -> None:
            stamp = current_work.get()
            assert stamp is not None
            # Asked twice in one run: the second answer must not be this run's own mark.
            seen.append((stamp.earlier_attempt(), stamp.earlier_attempt(), ctx.attempt))
            if len(seen) == 1:
                raise TargetUnavailable("answer lost after the write")

        ctx.step("write", write)
        ctx.step("other", lambda: None)  # a step that never asks writes no mark

    behave(worker)
    before = time.time()
    send_envelope(syn, "on_thing", "evt-marked", Item(name="x"))
    first = receive(syn, expect=1)
    assert failures(run(syn, first)) == [first[0]["MessageId"]]
    # The provider re-sends: a second message; the first one's retry is not awaited.
    send_envelope(syn, "on_thing", "evt-marked", Item(name="x"))
    second = [m for m in receive(syn) if m["MessageId"] != first[0]["MessageId"]]
    assert run(syn, second) == {"batchItemFailures": []}

    [(none, still_none, one), (earlier, same, attempt)] = seen
    assert none is None and still_none is None and one == 1
    assert attempt == 1 and earlier is not None and earlier == same
    # From the first attempt's start to the last earlier one's start plus the function's timeout.
    assert before <= earlier.start <= time.time()
    assert earlier.end == pytest.approx(earlier.start + syn.spec.timeout_s, abs=0.01)
    from shared.ledger import attempt_key

    table = syn.aws("dynamodb")
    assert "Item" not in table.get_item(
        TableName=syn.table, Key={"id": {"S": attempt_key(syn.name, "other", "evt-marked")}}
    )


# --- retries end -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code", "text"),
    [
        (TargetUnavailable("target answered 503 for ada@example.com"), "target_unavailable", "503"),
        (KeyError("missing"), "KeyError", "missing"),
    ],
)
def test_exhausted_retries_go_to_the_dlq(
    syn: Runtime, behave: Any, error: Exception, code: str, text: str
) -> None:
    syn.retry_scale = 0  # visibility 0: redelivered at once, so three receives need no waiting
    calls = {"n": 0}

    def always_fails(item: Item, ctx: WorkContext) -> None:
        calls["n"] += 1
        raise error

    behave(always_fails)
    send_envelope(syn, "on_thing", "evt-exhaust", Item(name="x"))
    for attempt in (1, 2):
        messages = receive(syn, expect=1)
        assert messages[0]["Attributes"]["ApproximateReceiveCount"] == str(attempt)
        assert failures(run(syn, messages)) == [messages[0]["MessageId"]]
        assert dead_letters(syn) == []

    last = receive(syn, expect=1)
    assert last[0]["Attributes"]["ApproximateReceiveCount"] == "3"
    result = run(syn, last)

    assert result == {"batchItemFailures": []}  # not retried again: it is in the DLQ
    assert calls["n"] == 3
    dlq = dead_letters(syn)
    assert len(dlq) == 1
    attrs = dlq_attributes(dlq[0])
    assert attrs["reason"].startswith("retries exhausted after 3 attempts: ")
    assert text in attrs["reason"]
    assert "ada@example.com" not in attrs["reason"]
    assert attrs["error"] == code
    assert attrs["attempts"] == "3"
    assert attrs["event_id"] == "evt-exhaust"


def test_an_attempt_that_completed_a_step_spends_no_attempt(syn: Runtime, behave: Any) -> None:
    """Five steps, each attempt completing one before the next fails: more than max_attempts (3)
    receives, no dead letter; an attempt that completes nothing new still counts."""
    done: list[str] = []
    names = [f"s{i}" for i in range(5)]

    def one_step_per_attempt(item: Item, ctx: WorkContext) -> str:
        before = len(done)
        for name in names:
            ctx.step(name, lambda n=name: done.append(n) or n)  # type: ignore[func-returns-value]
            if len(done) > before and name != names[-1]:
                raise TargetUnavailable("hubspot GET /x: 503")
        return "ok"

    behave(one_step_per_attempt)
    send_envelope(syn, "on_thing", "evt-progress", Item(name="x"))
    for receive_count in range(1, 6):
        messages = receive(syn, expect=1)
        assert messages[0]["Attributes"]["ApproximateReceiveCount"] == str(receive_count)
        result = run(syn, messages)
        if receive_count < 5:
            assert failures(result) == [messages[0]["MessageId"]]
            make_visible(syn, messages)
    assert result == {"batchItemFailures": []}
    assert done == names
    assert dead_letters(syn) == []
    delete(syn, messages)  # the event source would: it went through

    # No progress: the attempts count again, and the third dead-letters it.
    behave(lambda item, ctx: (_ for _ in ()).throw(TargetUnavailable("hubspot GET /x: 503")))
    send_envelope(syn, "on_thing", "evt-stuck", Item(name="x"))
    for _ in range(3):
        messages = receive(syn, expect=1)
        run(syn, messages)
        make_visible(syn, messages)
    assert [dlq_attributes(m)["attempts"] for m in dead_letters(syn)] == ["3"]


def test_unexpected_exception_is_retried_not_dropped(syn: Runtime, behave: Any, top_of_window: None) -> None:
    def buggy(item: Item, ctx: WorkContext) -> None:
        raise ZeroDivisionError("division by zero")

    behave(buggy)
    send_envelope(syn, "on_thing", "evt-bug", Item(name="x"))
    messages = receive(syn, expect=1)
    visibility = spy(syn.aws("sqs"), "sqs", "ChangeMessageVisibility")

    result = run(syn, messages)

    assert failures(result) == [messages[0]["MessageId"]]
    assert dead_letters(syn) == []
    assert [v["VisibilityTimeout"] for v in visibility] == [10]  # attempt 1: base_delay_s


def test_dlq_unavailable_keeps_a_permanent_failure_on_its_queue(
    syn: Runtime, behave: Any, top_of_window: None
) -> None:
    from shared.errors import InvalidEvent

    def rejects(item: Item, ctx: WorkContext) -> None:
        raise InvalidEvent("never valid")

    behave(rejects)
    syn.dlq_url = syn.queue_url.rsplit("/", 1)[0] + "/no-such-dlq"
    send_envelope(syn, "on_thing", "evt-nodlq", Item(name="x"))
    messages = receive(syn, expect=1)
    visibility = spy(syn.aws("sqs"), "sqs", "ChangeMessageVisibility")
    assert failures(run(syn, messages)) == [messages[0]["MessageId"]]
    # Kept on its queue with a back-off, so it comes back later instead of spinning.
    assert [v["VisibilityTimeout"] for v in visibility] == [10]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("this is not json", id="not-json"),
        pytest.param('{"hello": "world"}', id="unknown-shape"),
        pytest.param(
            '{"v": 1, "event_id": "evt-bad", "integration": "synthetic", "trigger": "on_thing"}',
            id="incomplete-envelope",
        ),
        pytest.param(
            json.dumps(
                {
                    "v": 1,
                    "integration": "synthetic",
                    "trigger": "on_thing",
                    "event_id": "evt-bad",
                    "type": "t",
                    "received_at": "2026-01-01T00:00:00Z",
                    "data": {"unexpected": True},
                }
            ),
            id="data-not-the-input-model",
        ),
        pytest.param(
            '{"version": "0", "id": "e1", "detail-type": "other.thing", "source": "switchboard", "detail": {}}',
            id="bus-event-nobody-consumes",
        ),
        pytest.param('{"switchboard_schedule": "hourly"}', id="unknown-schedule"),
    ],
)
def test_invalid_message_goes_to_the_dlq(syn: Runtime, behave: Any, body: str) -> None:
    called: list[Item] = []
    behave(lambda item, ctx: called.append(item))
    send(syn, body, "evt-bad")
    messages = receive(syn, expect=1)

    assert run(syn, messages) == {"batchItemFailures": []}

    assert called == []
    dlq = dead_letters(syn)
    assert len(dlq) == 1
    assert dlq[0]["Body"] == body
    attrs = dlq_attributes(dlq[0])
    assert attrs["error"] == "invalid_event"
    assert attrs["attempts"] == "1"
    assert attrs["event_id"] == "evt-bad"


def test_emitting_an_undeclared_event_type_is_permanent(syn: Runtime, behave: Any) -> None:
    behave(lambda item, ctx: ctx.emit("not.declared", {}))
    send_envelope(syn, "on_thing", "evt-undeclared", Item(name="x"))
    assert run(syn, receive(syn, expect=1)) == {"batchItemFailures": []}
    attrs = dlq_attributes(dead_letters(syn)[0])
    assert attrs["error"] == "invalid_event"
    assert "not.declared" in attrs["reason"]


# --- idempotency across workers ----------------------------------------------------------------------


def test_event_in_progress_elsewhere_is_retried(
    syn: Runtime, behave: Any, traced: list[dict[str, Any]]
) -> None:
    called: list[Item] = []
    behave(lambda item, ctx: called.append(item))
    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold() -> bool:
        holding.set()
        return release.wait(10)

    def other_worker() -> None:
        try:
            Ledger(syn, None).run_event("evt-busy", hold)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
            holding.set()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert holding.wait(10)
        send_envelope(syn, "on_thing", "evt-busy", Item(name="x"))
        messages = receive(syn, expect=1)
        visibility = spy(syn.aws("sqs"), "sqs", "ChangeMessageVisibility")

        result = run(syn, messages)
    finally:
        release.set()
        thread.join(10)

    assert errors == []
    assert failures(result) == [messages[0]["MessageId"]]
    assert called == []
    assert dead_letters(syn) == []
    assert len(visibility) == 1
    retries = [(t["event_id"], t["reason"]) for t in traced if t["stage"] == "retry"]
    assert retries == [
        ("evt-busy", "waiting, no attempt spent: synthetic#event: another worker is processing this event")
    ]
    assert [t["waiting"] for t in traced if t["stage"] == "retry"] == [True]
    # Once the other worker finished, the redelivery is a duplicate: done, and not run again.
    make_visible(syn, messages)
    assert run(syn, receive(syn, expect=1)) == {"batchItemFailures": []}
    assert called == []


# --- concurrency -------------------------------------------------------------------------------------


def test_records_run_concurrently_within_the_cap(syn: Runtime, behave: Any) -> None:
    lock = threading.Lock()
    active = {"now": 0, "max": 0, "done": 0}
    full = threading.Event()
    cap = SYNTHETIC.max_concurrency

    def tracked(item: Item, ctx: WorkContext) -> None:
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
            if active["now"] >= cap:
                full.set()
        full.wait(5)  # the first records wait until the cap is reached; later ones pass at once
        with lock:
            active["now"] -= 1
            active["done"] += 1

    behave(tracked)
    entries = [
        {
            "Id": str(i),
            "MessageBody": Envelope.wrap(
                syn.name, "on_thing", Accepted(event_id=f"evt-c{i}", type="t", data=Item(name=str(i)))
            ).to_message(),
        }
        for i in range(10)
    ]
    syn.aws("sqs").send_message_batch(QueueUrl=syn.queue_url, Entries=entries)
    messages = receive(syn, expect=10)

    assert run(syn, messages) == {"batchItemFailures": []}

    assert active["done"] == 10
    assert active["max"] == cap == 3


def test_a_cap_above_the_default_thread_pool_is_reached(syn: Runtime, behave: Any) -> None:
    """asyncio's default executor has cpu_count + 4 threads (6 on 2 vCPUs): the cap must not depend on it."""
    syn.spec = dataclasses.replace(syn.spec, max_concurrency=10)
    lock = threading.Lock()
    active = {"now": 0, "max": 0}
    all_in = threading.Event()

    def tracked(item: Item, ctx: WorkContext) -> None:
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
            if active["now"] == 10:
                all_in.set()
        all_in.wait(5)
        with lock:
            active["now"] -= 1

    behave(tracked)
    entries = [
        {
            "Id": str(i),
            "MessageBody": Envelope.wrap(
                syn.name, "on_thing", Accepted(event_id=f"evt-w{i}", type="t", data=Item(name=str(i)))
            ).to_message(),
        }
        for i in range(10)
    ]
    syn.aws("sqs").send_message_batch(QueueUrl=syn.queue_url, Entries=entries)
    assert run(syn, receive(syn, expect=10)) == {"batchItemFailures": []}
    assert active["max"] == 10


# --- bus events and schedule ticks -------------------------------------------------------------------


def test_bus_event_delivered_by_an_eventbridge_rule_is_decoded(syn: Runtime, behave: Any, aws: Any) -> None:
    seen: list[tuple[Item, Envelope]] = []
    behave(lambda item, ctx: seen.append((item, ctx.envelope)))
    events = aws.client("events")
    events.put_rule(
        Name="synthetic-on-thing",
        EventBusName=syn.bus,
        EventPattern=json.dumps({"source": ["switchboard"], "detail-type": ["thing.done"]}),
    )
    events.put_targets(
        Rule="synthetic-on-thing", EventBusName=syn.bus, Targets=[{"Id": "q", "Arn": queue_arn(syn)}]
    )
    put = events.put_events(
        Entries=[
            {
                "Source": "switchboard",
                "DetailType": "thing.done",
                "Detail": json.dumps({"name": "widget", "source_event_id": "evt-0"}),
                "EventBusName": syn.bus,
            }
        ]
    )
    bus_id = put["Entries"][0]["EventId"]
    messages = receive(syn, expect=1)
    raw = json.loads(messages[0]["Body"])
    assert raw["detail-type"] == "thing.done"

    assert run(syn, messages) == {"batchItemFailures": []}

    assert len(seen) == 1
    item, envelope = seen[0]
    assert item == Item(name="widget")
    assert envelope.event_id == f"bus-{raw['id']}"
    assert raw["id"] == bus_id
    assert envelope.trigger == "on_thing"
    assert envelope.type == "thing.done"
    assert envelope.integration == "synthetic"


def test_bus_shaped_body_is_decoded(syn: Runtime, behave: Any) -> None:
    seen: list[Envelope] = []
    behave(lambda item, ctx: seen.append(ctx.envelope))
    body = {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "thing.done",
        "source": "switchboard",
        "account": "123456789012",
        "time": "2026-03-01T09:30:00Z",
        "region": REGION,
        "resources": [],
        "detail": {"name": "gadget"},
    }
    send(syn, json.dumps(body))
    assert run(syn, receive(syn, expect=1)) == {"batchItemFailures": []}
    assert [(e.event_id, e.trigger, e.type, e.data) for e in seen] == [
        ("bus-6a7e8feb-b491-4cf7-a9f1-bf3703467718", "on_thing", "thing.done", {"name": "gadget"})
    ]


def test_bus_event_from_another_source_is_invalid(syn: Runtime, behave: Any) -> None:
    behave(lambda item, ctx: None)
    body = {"version": "0", "id": "x1", "detail-type": "thing.done", "source": "elsewhere", "detail": {}}
    send(syn, json.dumps(body))
    assert run(syn, receive(syn, expect=1)) == {"batchItemFailures": []}
    assert dlq_attributes(dead_letters(syn)[0])["error"] == "invalid_event"


def test_bus_event_whose_detail_does_not_match_is_invalid(syn: Runtime, behave: Any) -> None:
    behave(lambda item, ctx: None)
    body = {"version": "0", "id": "x2", "detail-type": "thing.done", "source": "switchboard", "detail": {}}
    send(syn, json.dumps(body))
    run(syn, receive(syn, expect=1))
    attrs = dlq_attributes(dead_letters(syn)[0])
    assert attrs["error"] == "invalid_event"
    assert "ThingDone" in attrs["reason"]


def test_schedule_tick_is_decoded(syn: Runtime, behave: Any) -> None:
    from infra.local.scheduler import schedule_message

    seen: list[tuple[Item, Envelope]] = []
    behave(lambda item, ctx: seen.append((item, ctx.envelope)))
    trigger = SYNTHETIC.trigger("nightly")
    assert isinstance(trigger, ScheduleTrigger)
    due = datetime.fromisoformat("2026-03-29T02:00:00+01:00")
    send(syn, schedule_message("synthetic", trigger, due))

    assert run(syn, receive(syn, expect=1)) == {"batchItemFailures": []}

    item, envelope = seen[0]
    assert item == Item(name="nightly@2026-03-29T02:00:00+01:00 Europe/London")
    assert envelope.event_id == "tick-nightly-2026-03-29T02:00:00+01:00"
    assert envelope.trigger == "nightly"
    assert envelope.type == "schedule.tick"


def test_the_same_schedule_tick_twice_runs_once(syn: Runtime, behave: Any) -> None:
    seen: list[Item] = []
    behave(lambda item, ctx: seen.append(item))
    tick = json.dumps({"switchboard_schedule": "nightly", "scheduled_at": "2026-03-30T02:00:00+01:00"})
    send(syn, tick)
    assert run(syn, receive(syn, expect=1)) == {"batchItemFailures": []}
    send(syn, tick)  # the scheduler fired the same tick again (at-least-once delivery)
    assert run(syn, receive(syn, expect=1)) == {"batchItemFailures": []}
    assert len(seen) == 1


# --- emitting on the bus -----------------------------------------------------------------------------


def test_emit_puts_the_event_on_the_bus_once_even_when_processed_twice(
    syn: Runtime, behave: Any, aws: Any
) -> None:
    sqs, events = aws.client("sqs"), aws.client("events")
    observer = sqs.create_queue(QueueName="observer")["QueueUrl"]
    observer_arn = sqs.get_queue_attributes(QueueUrl=observer, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="observe-thing-done",
        EventBusName=syn.bus,
        EventPattern=json.dumps({"source": ["switchboard"], "detail-type": ["thing.done"]}),
    )
    events.put_targets(
        Rule="observe-thing-done", EventBusName=syn.bus, Targets=[{"Id": "o", "Arn": observer_arn}]
    )
    attempts = {"n": 0}
    bus_ids: list[str] = []

    def emits_then_fails(item: Item, ctx: WorkContext) -> None:
        attempts["n"] += 1
        bus_ids.append(ctx.emit("thing.done", {"name": item.name}))
        if attempts["n"] == 1:
            raise TargetUnavailable("a later step failed")

    behave(emits_then_fails)
    put_events = spy(syn.aws("events"), "events", "PutEvents")
    syn.retry_scale = 0
    send_envelope(syn, "on_thing", "evt-emit", Item(name="sprocket"))

    assert len(failures(run(syn, receive(syn, expect=1)))) == 1
    assert run(syn, receive(syn, expect=1)) == {"batchItemFailures": []}

    assert attempts["n"] == 2
    assert len(put_events) == 1
    assert bus_ids[0] == bus_ids[1]  # the saved result of the emit step
    delivered = sqs.receive_message(QueueUrl=observer, MaxNumberOfMessages=10).get("Messages", [])
    assert len(delivered) == 1
    event = json.loads(delivered[0]["Body"])
    assert event["id"] == bus_ids[0]
    assert event["source"] == "switchboard"
    assert event["detail-type"] == "thing.done"
    assert event["detail"] == {"name": "sprocket", "source_event_id": "evt-emit", "integration": "synthetic"}


# --- dispatch edge cases -----------------------------------------------------------------------------


def test_empty_batch_has_no_failures(syn: Runtime) -> None:
    assert dispatch(syn, {"Records": []}) == {"batchItemFailures": []}


def test_unrecognised_event_is_refused(syn: Runtime) -> None:
    with pytest.raises(ValueError, match="unrecognised event"):
        dispatch(syn, {"Records": [{"eventSource": "aws:kinesis"}]})


class _Subsegment:
    def __init__(self, name: str, log: list[tuple[str, Any]]) -> None:
        self.name, self.log = name, log

    def __enter__(self) -> _Subsegment:
        self.log.append(("enter", self.name))
        return self

    def __exit__(self, *exc: object) -> None:
        self.log.append(("exit", self.name))

    def put_annotation(self, key: str, value: Any) -> None:
        self.log.append((key, value))


def test_each_batch_is_traced_with_its_integration_and_outcome(
    syn: Runtime, behave: Any, monkeypatch: pytest.MonkeyPatch, top_of_window: None
) -> None:
    import types

    import shared.worker

    log: list[tuple[str, Any]] = []
    provider = types.SimpleNamespace(in_subsegment=lambda name: _Subsegment(name, log))
    monkeypatch.setattr(shared.worker, "_tracer", types.SimpleNamespace(provider=provider))

    def half_fail(item: Item, ctx: WorkContext) -> None:
        if item.name == "bad":
            raise TargetUnavailable("down")

    behave(half_fail)
    send_envelope(syn, "on_thing", "evt-good", Item(name="good"))
    send_envelope(syn, "on_thing", "evt-bad", Item(name="bad"))
    run(syn, receive(syn, expect=2))
    assert log == [
        ("enter", "## process_batch"),
        ("integration", syn.name),
        ("records", 2),
        ("failed_records", 1),
        ("exit", "## process_batch"),
    ]


# --- decisions that bind once acted on ------------------------------------------------------------------


def test_a_decision_is_taken_again_until_a_step_acted_on_it(syn: Runtime) -> None:
    ledger = Ledger(syn, None)
    seen = {"state": "alive"}

    def decide() -> dict[str, str]:
        return dict(seen)

    first, ran = ledger.run_step("evt-decide", "resolve", decide, binding_after=("act",))
    assert (first, ran) == ({"state": "alive"}, True)
    seen["state"] = "cancelled"  # another delivery changed the state; nothing acted on the decision
    again, ran = ledger.run_step("evt-decide", "resolve", decide, binding_after=("act",))
    assert (again, ran) == ({"state": "cancelled"}, True)

    ledger.run_step("evt-decide", "act", lambda: {"done": True})
    seen["state"] = "moved"  # now the saved decision was acted on: it binds
    bound, ran = ledger.run_step("evt-decide", "resolve", decide, binding_after=("act",))
    assert (bound, ran) == ({"state": "cancelled"}, False)
    plain, ran = ledger.run_step("evt-decide", "resolve", decide)  # without binding_after: as before
    assert (plain, ran) == ({"state": "cancelled"}, False)


def test_contention_is_a_wait_and_a_plain_retryable_error_is_an_attempt() -> None:
    """A stock level changed under a compare-and-set (a busy SKU), an event or entity held elsewhere:
    someone else's change came first - waits. A target's 5xx is this attempt's failure."""
    from types import SimpleNamespace

    from shared.actions.stock import StockChanged
    from shared.errors import EventInProgress, TargetUnavailable
    from shared.ordering import EntityBusy
    from shared.worker import _wait_for

    unblocked: Any = SimpleNamespace(blocked=None)
    for contended in (StockChanged("the level moved"), EventInProgress("held"), EntityBusy("held")):
        assert _wait_for(contended, unblocked) is contended
    assert _wait_for(TargetUnavailable("503"), unblocked) is None
