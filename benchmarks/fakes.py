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
import math
import threading
from collections import Counter, defaultdict
from typing import Any

__all__ = ["CallCounter", "FakeDynamoDB", "FakeEvents", "FakeSESv2", "FakeSQS", "FakeSecrets", "install"]


class CallCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.item_bytes: Counter[str] = Counter()
        #: Billed units (cost model): ``dynamodb.write`` / ``dynamodb.read`` request units,
        #: ``dynamodb.bytes_written``.
        self.units: defaultdict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    def add_units(self, kind: str, n: float) -> None:
        with self._lock:
            self.units[kind] += n

    def count(self, operation: str, size: int = 0) -> None:
        with self._lock:
            self.calls[operation] += 1
            self.item_bytes[operation] += size

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.item_bytes.clear()
            self.units.clear()


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

    def __init__(
        self, counter: CallCounter, service: str = "sqs", *, keep: bool = False, queue_url: str | None = None
    ) -> None:
        super().__init__(counter, service)
        #: Keep sent messages for :meth:`receive_message` (off where only sending is measured) - only
        #: those sent to ``queue_url`` when it is given (a dead letter must not come back as work).
        self._keep = keep
        self._queue_url = queue_url
        self._queued: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def _enqueue(self, body: str, attributes: Any, queue_url: str | None = None) -> str:
        message_id = f"m-{next(self._ids)}"
        if self._keep and (self._queue_url is None or queue_url == self._queue_url):
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

    @property
    def pending(self) -> int:
        """Messages kept and not yet received."""
        with self._lock:
            return len(self._queued)

    def send_message(self, **kw: Any) -> dict[str, Any]:
        self._count("SendMessage")
        message_id = self._enqueue(kw["MessageBody"], kw.get("MessageAttributes"), kw.get("QueueUrl"))
        return {"MessageId": message_id, "MD5OfMessageBody": "0" * 32}

    def send_message_batch(self, **kw: Any) -> dict[str, Any]:
        self._count("SendMessageBatch")
        return {
            "Successful": [
                {
                    "Id": e["Id"],
                    "MessageId": self._enqueue(
                        e["MessageBody"], e.get("MessageAttributes"), kw.get("QueueUrl")
                    ),
                }
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
    """Counts requests and the on-demand units they bill: a write is one WRU per started KB of the
    item (the key and what is written - the fake keeps no items, so an update is priced on its new
    values), a read one RRU (strongly consistent, up to 4 KB: these items are far smaller) or half
    of one (eventually consistent)."""

    def _write(self, op: str, payload: Any) -> None:
        size = len(json.dumps(payload, default=str)) if payload is not None else 0
        self._count(op, payload)
        self._counter.add_units("dynamodb.write", max(1, math.ceil(size / 1024)))
        self._counter.add_units("dynamodb.bytes_written", size)

    def _read(self, op: str, consistent: bool) -> None:
        self._count(op)
        self._counter.add_units("dynamodb.read", 1.0 if consistent else 0.5)

    def put_item(self, **kw: Any) -> dict[str, Any]:
        self._write("PutItem", kw.get("Item"))
        return {}

    def update_item(self, **kw: Any) -> dict[str, Any]:
        self._write("UpdateItem", {"Key": kw.get("Key"), **(kw.get("ExpressionAttributeValues") or {})})
        if kw.get("ReturnValues") == "UPDATED_NEW":
            return {"Attributes": {"value": {"N": "1"}}}
        return {}

    def get_item(self, **kw: Any) -> dict[str, Any]:
        self._read("GetItem", bool(kw.get("ConsistentRead")))
        return {}

    def delete_item(self, **kw: Any) -> dict[str, Any]:
        self._write("DeleteItem", kw.get("Key"))
        return {}

    def batch_get_item(self, **kw: Any) -> dict[str, Any]:
        self._count("BatchGetItem")
        for table in kw.get("RequestItems", {}).values():
            for _ in table.get("Keys", []):
                self._counter.add_units("dynamodb.read", 1.0 if table.get("ConsistentRead") else 0.5)
        return {"Responses": {name: [] for name in kw.get("RequestItems", {})}, "UnprocessedKeys": {}}

    def batch_write_item(self, **kw: Any) -> dict[str, Any]:
        self._count("BatchWriteItem")
        for requests in kw.get("RequestItems", {}).values():
            for request in requests:
                item = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get(
                    "Key"
                )
                size = len(json.dumps(item, default=str))
                self._counter.add_units("dynamodb.write", max(1, math.ceil(size / 1024)))
                self._counter.add_units("dynamodb.bytes_written", size)
        return {"UnprocessedItems": {}}


class FakeEvents(_Fake):
    def put_events(self, **kw: Any) -> dict[str, Any]:
        self._count("PutEvents", kw.get("Entries"))
        for _ in kw["Entries"]:
            self._counter.count("events.PutEvents.entries")
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"} for _ in kw["Entries"]]}


class FakeSecrets(_Fake):
    def __init__(self, counter: CallCounter, values: dict[str, str]) -> None:
        super().__init__(counter, "secretsmanager")
        self._values = dict(values)

    def get_secret_value(self, **kw: Any) -> dict[str, Any]:
        self._count("GetSecretValue")
        return {"Name": kw["SecretId"], "SecretString": self._values[kw["SecretId"]]}

    def reset(self, values: dict[str, str]) -> None:
        """Back to ``values`` (an OAuth refresh rotates what it read)."""
        self._values = dict(values)

    def put_secret_value(self, **kw: Any) -> dict[str, Any]:
        self._count("PutSecretValue")
        self._values[kw["SecretId"]] = kw["SecretString"]
        return {"Name": kw["SecretId"], "VersionId": "v-1"}


class FakeSSM(_Fake):
    """SSM ``GetParameter`` of the ``SecureString`` parameters (signing secrets, own keys), decrypted."""

    def __init__(self, counter: CallCounter, values: dict[str, str]) -> None:
        super().__init__(counter, "ssm")
        self._values = dict(values)

    def get_parameter(self, **kw: Any) -> dict[str, Any]:
        self._count("GetParameter")
        return {"Parameter": {"Name": kw["Name"], "Type": "SecureString", "Value": self._values[kw["Name"]]}}

    def reset(self, values: dict[str, str]) -> None:
        self._values = dict(values)


class FakeSESv2(_Fake):
    """SES v2 ``SendEmail``: one billed message per call (recipients are counted by the caller)."""

    def send_email(self, **kw: Any) -> dict[str, Any]:
        self._count("SendEmail")
        to = kw.get("Destination", {})
        for _ in (*to.get("ToAddresses", ()), *to.get("CcAddresses", ()), *to.get("BccAddresses", ())):
            self._counter.count("sesv2.recipients")  # SES bills each recipient as one email
        return {"MessageId": f"ses-{next(FakeSQS._ids)}"}


def install(counter: CallCounter, secrets: dict[str, str]) -> None:
    """Route Switchboard's boto3 clients and Powertools' secrets and SSM providers to the fakes.

    ``secrets`` holds both stores' values by name: secret names, and parameter names (``/...``).
    """
    from aws_lambda_powertools.utilities.parameters import base
    from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider
    from aws_lambda_powertools.utilities.parameters.ssm import SSMProvider

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
    fake_secrets = FakeSecrets(counter, secrets)
    # The runtime's own client too: an OAuth refresh writes the rotated tokens back through it.
    runtime._shared_clients["secretsmanager"] = fake_secrets
    base.DEFAULT_PROVIDERS["secrets"] = SecretsProvider(boto3_client=fake_secrets)  # type: ignore[attr-defined,arg-type]
    fake_ssm = FakeSSM(counter, secrets)
    runtime._shared_clients["ssm"] = fake_ssm
    base.DEFAULT_PROVIDERS["ssm"] = SSMProvider(boto3_client=fake_ssm)  # type: ignore[attr-defined]
