"""SQS pollers that invoke the handlers exactly as Lambda's SQS event source does.

Lambda's contract, reproduced: receive up to ``batch_size`` messages, call the function with an
``aws:sqs`` batch, delete the records not listed in ``batchItemFailures``, leave the others to
reappear when their visibility ends (the handler may have shortened or lengthened it), and if the
function raises, leave the whole batch. SQS's redrive policy moves a message to the DLQ after
``maxReceiveCount`` receives, as on AWS.

An invocation that crashes (:class:`~infra.local.transport.InvocationCrashed`, a ``BaseException``
raised where Lambda would have killed the process) is counted in :attr:`Poller.crashes`, not reported
as an error. As a Lambda timeout does, the crash ends the whole invocation: each one runs inside
:func:`~infra.local.transport.invocation`, so the batch's other records, running on other threads,
stop at their next outbound call (HTTP or AWS) instead of carrying on. Every record the invocation
held is released: none is deleted (acknowledged) and none reported as a failed item - each comes
back when its visibility timeout ends, and the idempotency records left in progress expire at the
invocation's deadline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .transport import InvocationCrashed, guard_aws_calls, invocation

__all__ = ["Poller", "sqs_event"]

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The ``aws:sqs`` event Lambda builds from received messages (field names as Lambda sends them)."""
    records = []
    for m in messages:
        attrs = m.get("Attributes", {})
        records.append(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": attrs.get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": attrs.get("SentTimestamp", "0"),
                    "SenderId": attrs.get("SenderId", "local"),
                    "ApproximateFirstReceiveTimestamp": attrs.get("ApproximateFirstReceiveTimestamp", "0"),
                },
                "messageAttributes": {
                    name: {
                        "stringValue": v.get("StringValue"),
                        "binaryValue": v.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": v.get("DataType", "String"),
                    }
                    for name, v in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


class Poller:
    def __init__(
        self,
        integration: str,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        batch_size: int,
        invoke: Invoke,
        *,
        region: str,
        on_error: Callable[[str, BaseException], None],
    ) -> None:
        self.integration = integration
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._batch_size = batch_size
        self._invoke = invoke
        self._region = region
        self._on_error = on_error
        self._stop = threading.Event()
        self._busy = threading.Event()
        #: Invocations that crashed (see the module docstring).
        self.crashes = 0
        self._thread = threading.Thread(target=self._run, name=f"poller-{integration}", daemon=True)
        guard_aws_calls()  # before the functions make their boto3 clients (see infra.local.transport)

    @property
    def busy(self) -> bool:
        return self._busy.is_set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(wait_s=1)
            except Exception as exc:  # keep polling, like the event source; report it
                self._on_error(self.integration, exc)
                self._stop.wait(0.5)

    def poll_once(self, wait_s: int = 0) -> int:
        """One receive + invoke + delete cycle; returns how many messages were received."""
        received = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = received.get("Messages", [])
        if not messages:
            return 0
        self._busy.set()
        try:
            with invocation() as current:
                try:
                    result = self._invoke(
                        self.integration, sqs_event(messages, self._queue_arn, self._region)
                    )
                except InvocationCrashed as crash:
                    current.end(str(crash))  # raised outside the transport: the same end
                    result = None
                except Exception as exc:
                    # The whole batch returns to the queue when its visibility ends, as on Lambda.
                    self._on_error(self.integration, exc)
                    return len(messages)
            if current.ended:
                # Nothing deleted, nothing reported: the batch comes back after its visibility timeout.
                self.crashes += 1
                return len(messages)
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
            done = [m for m in messages if m["MessageId"] not in failed]
            for start in range(0, len(done), 10):
                chunk = done[start : start + 10]
                self._sqs.delete_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                    ],
                )
            return len(messages)
        finally:
            self._busy.clear()
