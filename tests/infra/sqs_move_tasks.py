"""SQS message move tasks for moto, which lacks them: ``StartMessageMoveTask`` and ``ListMessageMoveTasks``.

moto 5.2.5 implements neither action: ``moto/sqs/responses.py`` has no ``start_message_move_task`` or
``list_message_move_tasks`` (a call answers moto's "not yet implemented" error), and its ``SQSBackend``
keeps no tasks. :func:`install` adds both to moto's ``SQSResponse`` for one test, so the request is
serialized and the answer parsed by botocore from the real SQS model, and the messages are really moved
between moto's queues - the test sees what lands on the queue, not what a hand-written client says.

What the fake answers follows the SQS API reference (API version 2012-11-05), and nothing else:

* ``StartMessageMoveTask`` -
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html:
  ``SourceArn`` must be a queue (else ``ResourceNotFoundException``) configured as the dead-letter queue
  of another queue (else ``AWS.SimpleQueueService.UnsupportedOperation``: "This action is currently
  limited to supporting message redrive from queues that are configured as dead-letter queues (DLQs)
  of other Amazon SQS queues only"; the error is described as "Error code 400. Unsupported
  operation.", its message text is not documented); ``DestinationArn`` left blank redrives to the
  original source queue (here: the queue whose redrive policy names the DLQ); the answer is
  ``{"TaskHandle"}``.
* ``ListMessageMoveTasks`` -
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasks.html and
  ``ListMessageMoveTasksResultEntry``: "the most recent message movement tasks (up to 10)" of the
  source, newest first, ``MaxResults`` 1 by default; ``TaskHandle`` "only populated for tasks that
  are in RUNNING status"; ``DestinationArn`` and ``MaxNumberOfMessagesPerSecond`` only when the start
  request set them; ``ApproximateNumberOfMessagesToMove`` "obtained at the time of starting";
  ``FailureReason`` only when ``FAILED``; ``StartedTimestamp`` in epoch milliseconds.

The task is asynchronous on AWS; here each ``ListMessageMoveTasks`` call is one tick of it, moving up
to :data:`STEP` messages (receive, send with body and message attributes, delete), so a poller sees
``RUNNING`` with progress before ``COMPLETED``. A destination that is gone at a tick ends the task
``FAILED`` with the error code as its reason (the reference does not list the reasons).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from moto.core.responses import ActionResult
from moto.sqs.exceptions import SQSException
from moto.sqs.models import Queue, SQSBackend
from moto.sqs.responses import SQSResponse

__all__ = ["STEP", "MoveTask", "install"]

#: Messages one tick of a task moves.
STEP = 10


@dataclass
class MoveTask:
    handle: str
    source_arn: str
    destination_arn: str | None
    rate: int | None
    to_move: int
    started_ms: int
    moved: int = 0
    status: str = "RUNNING"
    failure: str | None = None

    def entry(self) -> dict[str, Any]:
        """The task as a ``ListMessageMoveTasksResultEntry``."""
        out: dict[str, Any] = {
            "Status": self.status,
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started_ms,
        }
        if self.status == "RUNNING":
            out["TaskHandle"] = self.handle
        if self.destination_arn is not None:
            out["DestinationArn"] = self.destination_arn
        if self.rate is not None:
            out["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.status == "FAILED":
            out["FailureReason"] = self.failure
        return out


def _by_arn(backend: SQSBackend, arn: str) -> Queue | None:
    return next((q for q in backend.queues.values() if q.queue_arn == arn), None)


def _not_found() -> SQSException:
    # The error's description in the reference (the message AWS words is not documented).
    return SQSException("ResourceNotFoundException", "One or more specified resources don't exist.")


def install(monkeypatch: pytest.MonkeyPatch) -> list[MoveTask]:
    """Add the two actions to moto for this test; the tasks started, oldest first, are returned."""
    tasks: list[MoveTask] = []

    def start_message_move_task(self: SQSResponse) -> ActionResult:
        backend = self.sqs_backend
        source_arn = str(self._get_param("SourceArn"))
        source = _by_arn(backend, source_arn)
        if source is None:
            raise _not_found()
        origins = [
            q
            for q in backend.queues.values()
            if (q.redrive_policy or {}).get("deadLetterTargetArn") == source_arn
        ]
        if not origins:
            # The query-compatible code SQS reports (botocore's older SQS model names it so).
            raise SQSException("AWS.SimpleQueueService.UnsupportedOperation", "Unsupported operation.")
        destination = self._get_param("DestinationArn")
        rate = self._get_param("MaxNumberOfMessagesPerSecond")
        handle = base64.b64encode(
            json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source_arn}).encode()
        ).decode()
        tasks.append(
            MoveTask(
                handle=handle,
                source_arn=source_arn,
                destination_arn=None if destination is None else str(destination),
                rate=None if rate is None else int(rate),
                to_move=len(source.messages),
                started_ms=int(time.time() * 1000),
            )
        )
        return ActionResult({"TaskHandle": handle})

    def list_message_move_tasks(self: SQSResponse) -> ActionResult:
        backend = self.sqs_backend
        source_arn = str(self._get_param("SourceArn"))
        if _by_arn(backend, source_arn) is None:
            raise _not_found()
        limit = int(self._get_param("MaxResults") or 1)
        mine = [t for t in tasks if t.source_arn == source_arn]
        for task in mine:
            if task.status == "RUNNING":
                _tick(backend, task)
        return ActionResult({"Results": [t.entry() for t in reversed(mine)][: min(limit, 10)]})

    monkeypatch.setattr(SQSResponse, "start_message_move_task", start_message_move_task, raising=False)
    monkeypatch.setattr(SQSResponse, "list_message_move_tasks", list_message_move_tasks, raising=False)
    return tasks


def _tick(backend: SQSBackend, task: MoveTask) -> None:
    """Move up to :data:`STEP` of the messages the task still has to move."""
    source = _by_arn(backend, task.source_arn)
    arn = task.destination_arn or next(
        q.queue_arn
        for q in backend.queues.values()
        if (q.redrive_policy or {}).get("deadLetterTargetArn") == task.source_arn
    )
    destination = _by_arn(backend, arn)
    if source is None or destination is None:
        task.status, task.failure = "FAILED", "AWS.SimpleQueueService.NonExistentQueue"
        return
    want = min(STEP, task.to_move - task.moved)
    messages = backend.receive_message(source.name, want, 0, 30, ["All"]) if want else []
    for message in messages:
        backend.send_message(
            destination.name, message.body, message_attributes=dict(message.message_attributes)
        )
        backend.delete_message(source.name, str(message.receipt_handle))
        task.moved += 1
    if task.moved >= task.to_move or not messages:
        task.status = "COMPLETED"
