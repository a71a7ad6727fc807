"""``switchboard dlq redrive <integration> --stage …``: the AWS path, a message move task, on moto.

The stage's queues are made as the CDK app makes them (the DLQ is the queue's redrive target), dead
letters carry the attributes the worker writes, and the command runs in-process as an operator runs
it. moto 5.2.5 has no message move tasks, so :mod:`tests.infra.sqs_move_tasks` adds them to moto as
the SQS API reference documents them: the messages really move between moto's queues.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto.sqs.responses import SQSResponse

from infra.cdk.naming import dlq_name, queue_name
from shared.registry import load_spec
from tests.infra import sqs_move_tasks

STAGE = "prod"
NAME = "website_to_crm"
REGION = "us-east-1"


def _stage_queues(session: boto3.session.Session, *, as_dlq: bool = True) -> tuple[Any, str, str]:
    """The integration's queue and DLQ on the stage, the DLQ as the queue's redrive target (CDK)."""
    sqs = session.client("sqs")
    dlq = sqs.create_queue(QueueName=dlq_name(STAGE, NAME))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes: dict[Any, str] = {}
    if as_dlq:
        policy = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": load_spec(NAME).retry.max_attempts}
        attributes["RedrivePolicy"] = json.dumps(policy)
    queue = sqs.create_queue(QueueName=queue_name(STAGE, NAME), Attributes=attributes)["QueueUrl"]
    return sqs, queue, dlq


def _dead_letters(sqs: Any, dlq: str, count: int) -> dict[str, str]:
    """``count`` dead letters as the worker writes them; event id -> body."""
    sent: dict[str, str] = {}
    for i in range(count):
        event_id = f"evt_redrive_{i:02d}"
        body = json.dumps({"event_id": event_id, "payload": {"email": f"p{i}@example.org"}})
        attributes = {
            "event_id": event_id,
            "reason": "target_unavailable",
            "error": "hubspot answered 503",
            "attempts": "5",
        }
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=body,
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
        sent[event_id] = body
    return sent


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    for _ in range(20):  # bounded: 20 x 10 messages
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=60
        ).get("Messages", [])
        if not batch:
            break
        got += batch
    return got


def test_moto_still_lacks_message_move_tasks() -> None:
    """When moto implements them, this fails: drop the fake and use moto's own."""
    assert not hasattr(SQSResponse, "start_message_move_task")
    assert not hasattr(SQSResponse, "list_message_move_tasks")


@pytest.mark.parametrize("rate", [None, 50], ids=["as-fast-as-sqs-goes", "rate-50"])
def test_redrive_on_a_stage_moves_every_dead_letter_back_with_a_move_task(
    aws: boto3.session.Session, cli: Any, monkeypatch: pytest.MonkeyPatch, rate: int | None
) -> None:
    tasks = sqs_move_tasks.install(monkeypatch)
    sqs, queue, dlq = _stage_queues(aws)
    sent = _dead_letters(sqs, dlq, sqs_move_tasks.STEP + 2)  # two ticks: progress, then done

    options = ["--rate", str(rate)] if rate else []
    result = cli("dlq", "redrive", NAME, "--stage", STAGE, "--region", REGION, *options)
    assert result.returncode == 0, result.stderr
    assert "is not available" not in result.stdout  # the move task ran, not the by-hand fallback
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"redrive {dlq_name(STAGE, NAME)} -> {queue_name(STAGE, NAME)}: task ")
    assert "  RUNNING    moved 10/12" in lines
    assert "  COMPLETED  moved 12/12" in lines
    assert lines[-1].startswith(f"done: 12 message(s) back on {queue_name(STAGE, NAME)}")

    (task,) = tasks
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    # The queue is named as destination: the worker wrote these letters itself, SQS knows no source.
    assert task.destination_arn == queue_arn and task.rate == rate
    assert _drain(sqs, dlq) == []
    back = _drain(sqs, queue)
    assert {m["MessageAttributes"]["event_id"]["StringValue"]: m["Body"] for m in back} == sent
    assert all(m["MessageAttributes"]["reason"]["StringValue"] == "target_unavailable" for m in back)


def test_a_dlq_that_sqs_does_not_know_as_one_is_refused_not_moved_by_hand(
    aws: boto3.session.Session, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS refuses a move task from a queue no redrive policy names; the command says so and exits 1
    rather than falling back to moving the messages itself (that fallback is for emulators only)."""
    tasks = sqs_move_tasks.install(monkeypatch)
    sqs, queue, dlq = _stage_queues(aws, as_dlq=False)
    _dead_letters(sqs, dlq, 3)

    result = cli("dlq", "redrive", NAME, "--stage", STAGE, "--region", REGION)
    assert result.returncode == 1
    assert "UnsupportedOperation" in result.stderr and dlq_name(STAGE, NAME) in result.stderr
    assert tasks == [] and _drain(sqs, queue) == []
    assert len(_drain(sqs, dlq)) == 3
