"""AWS answered in-process with zero latency, every request counted.

The benchmarks measure Switchboard's own cost (CPU, memory) and *count* the AWS requests an event
really makes, so the dollar figures come from counted calls, not assumptions. These fakes answer
the calls the code makes with the smallest successful response; they do not emulate semantics
(conditional writes always succeed), which is exactly what a zero-latency, always-available AWS
looks like to the caller.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from typing import Any

__all__ = ["CallCounter", "FakeDynamoDB", "FakeEvents", "FakeSQS", "FakeSecrets", "install"]


class CallCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.item_bytes: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, operation: str, size: int = 0) -> None:
        with self._lock:
            self.calls[operation] += 1
            self.item_bytes[operation] += size

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.item_bytes.clear()


class _Fake:
    def __init__(self, counter: CallCounter, service: str) -> None:
        self._counter = counter
        self._service = service

    def _count(self, op: str, payload: Any = None) -> None:
        size = len(json.dumps(payload, default=str)) if payload is not None else 0
        self._counter.count(f"{self._service}.{op}", size)


class FakeSQS(_Fake):
    """One queue: what is sent can be received (as the event source does) and deleted.

    Enough for :class:`infra.local.poller.Poller` - the local stand-in for Lambda's SQS event source -
    to run against it, so that the event source's own requests (receive, delete) are counted like the
    function's, not assumed. Visibility is not emulated: a received message is gone until deleted.
    """

    _ids = itertools.count(1)

    def __init__(self, counter: CallCounter, service: str = "sqs", *, keep: bool = False) -> None:
        super().__init__(counter, service)
        #: Keep sent messages for :meth:`receive_message` (off where only sending is measured).
        self._keep = keep
        self._queued: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def _enqueue(self, body: str, attributes: Any) -> str:
        message_id = f"m-{next(self._ids)}"
        if self._keep:
            message = {
                "MessageId": message_id,
                "ReceiptHandle": f"rh-{message_id}",
                "Body": body,
                "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "MessageAttributes": attributes or {},
            }
            with self._lock:
                self._queued.append(message)
        return message_id

    def send_message(self, **kw: Any) -> dict[str, Any]:
        self._count("SendMessage")
        message_id = self._enqueue(kw["MessageBody"], kw.get("MessageAttributes"))
        return {"MessageId": message_id, "MD5OfMessageBody": "0" * 32}

    def send_message_batch(self, **kw: Any) -> dict[str, Any]:
        self._count("SendMessageBatch")
        return {
            "Successful": [
                {"Id": e["Id"], "MessageId": self._enqueue(e["MessageBody"], e.get("MessageAttributes"))}
                for e in kw["Entries"]
            ]
        }

    def receive_message(self, **kw: Any) -> dict[str, Any]:
        self._count("ReceiveMessage")
        with self._lock:
            taken = self._queued[: kw.get("MaxNumberOfMessages", 1)]
            del self._queued[: len(taken)]
        return {"Messages": taken} if taken else {}

    def delete_message(self, **kw: Any) -> dict[str, Any]:
        self._count("DeleteMessage")
        return {}

    def delete_message_batch(self, **kw: Any) -> dict[str, Any]:
        self._count("DeleteMessageBatch")
        return {"Successful": [{"Id": e["Id"]} for e in kw["Entries"]], "Failed": []}

    def change_message_visibility(self, **kw: Any) -> dict[str, Any]:
        self._count("ChangeMessageVisibility")
        return {}


class FakeDynamoDB(_Fake):
    def put_item(self, **kw: Any) -> dict[str, Any]:
        self._count("PutItem", kw.get("Item"))
        return {}

    def update_item(self, **kw: Any) -> dict[str, Any]:
        self._count("UpdateItem", kw.get("ExpressionAttributeValues"))
        if kw.get("ReturnValues") == "UPDATED_NEW":
            return {"Attributes": {"value": {"N": "1"}}}
        return {}

    def get_item(self, **kw: Any) -> dict[str, Any]:
        self._count("GetItem")
        return {}

    def delete_item(self, **kw: Any) -> dict[str, Any]:
        self._count("DeleteItem")
        return {}


class FakeEvents(_Fake):
    def put_events(self, **kw: Any) -> dict[str, Any]:
        self._count("PutEvents", kw.get("Entries"))
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"} for _ in kw["Entries"]]}


class FakeSecrets(_Fake):
    def __init__(self, counter: CallCounter, values: dict[str, str]) -> None:
        super().__init__(counter, "secretsmanager")
        self._values = values

    def get_secret_value(self, **kw: Any) -> dict[str, Any]:
        self._count("GetSecretValue")
        return {"Name": kw["SecretId"], "SecretString": self._values[kw["SecretId"]]}


def install(counter: CallCounter, secrets: dict[str, str]) -> None:
    """Route Switchboard's boto3 clients and Powertools' secrets provider to the fakes."""
    from aws_lambda_powertools.utilities.parameters import base
    from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider

    from shared import runtime
    from shared.runtime import reset_process_state

    reset_process_state()
    runtime._shared_clients.update(
        {
            "sqs": FakeSQS(counter, "sqs"),
            "dynamodb": FakeDynamoDB(counter, "dynamodb"),
            "events": FakeEvents(counter, "events"),
        }
    )
    base.DEFAULT_PROVIDERS["secrets"] = SecretsProvider(boto3_client=FakeSecrets(counter, secrets))  # type: ignore[arg-type]
