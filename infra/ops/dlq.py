"""``switchboard dlq``: list, show, redrive and replay an integration's dead letters.

A dead letter is the original queue message, kept whole, with the attributes the worker adds when it
gives up (``reason``, ``error``, ``attempts``, ``event_id``, ``first_seen``, ``failed_at``,
``source_message_id``; see :mod:`shared.worker`). Messages that SQS's own redrive policy moved (the
function crashed on its last attempt) have only the ingress attributes (``event_id``, ``trigger``,
``type``).

SQS cannot peek: reading a message hides it for its visibility timeout. :class:`DlqScan` therefore
receives every message of a DLQ with a short hold, and on exit makes the ones it did not consume
visible again at once, so a listing leaves the DLQ as it found it.

Putting a message back - one (``replay``) or all (``redrive``) - sends it to the integration's own
queue, where it is processed like any other delivery: completed steps are not repeated (the effects
ledger), and a duplicate of a completed event is skipped. ``redrive`` uses SQS's
``StartMessageMoveTask`` with the queue as explicit destination (the worker writes dead letters
itself, so SQS does not know their "original source"); where that API is missing (moto, the local
runtime) it moves the messages itself: receive, send, delete.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from infra.ops.event_ids import pick
from infra.ops.target import CliError, NotDeployed, OperationFailed, Target, aws_errors, integration
from shared.inbound import mask_people
from shared.redact import redact
from shared.registry import load_specs
from shared.spec import IntegrationSpec

__all__ = [
    "DeadLetter",
    "DlqScan",
    "counts",
    "find",
    "list_dlq",
    "mask_personal",
    "redrive",
    "replay",
    "running_integration",
    "running_names",
    "show",
]

#: Seconds a scanned message stays hidden before it is released (released at once on a clean exit).
HOLD_S = 30
#: A scan stops after this many messages (a DLQ that large needs a redrive, not a listing).
SCAN_LIMIT = 1000
_MOVE_UNSUPPORTED = {"NotImplemented", "InvalidAction", "UnknownOperationException", "500", "501"}


@dataclass
class DeadLetter:
    integration: str
    queue_url: str
    message_id: str
    receipt_handle: str
    body: str
    #: Message attributes as SQS returns them (``{"DataType": ..., "StringValue": ...}``).
    message_attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: SQS system attributes (``SentTimestamp``, ``ApproximateReceiveCount`` ...).
    system: dict[str, str] = field(default_factory=dict)

    def attribute(self, name: str) -> str:
        value = self.message_attributes.get(name, {}).get("StringValue")
        return "" if value in (None, "-") else str(value)

    @property
    def event_id(self) -> str:
        found = self.attribute("event_id")
        if not found:
            with contextlib.suppress(ValueError, AttributeError):
                found = str(json.loads(self.body).get("event_id") or "")
        return found

    @property
    def reason(self) -> str:
        return self.attribute("reason") or "(no reason: moved by SQS after its last receive - see the logs)"

    @property
    def error(self) -> str:
        return self.attribute("error") or "-"

    @property
    def attempts(self) -> str:
        return self.attribute("attempts") or "-"

    @property
    def first_seen(self) -> str:
        return self.attribute("first_seen")

    @property
    def failed_at(self) -> str:
        found = self.attribute("failed_at")
        if not found and self.system.get("SentTimestamp"):
            found = datetime.fromtimestamp(int(self.system["SentTimestamp"]) / 1000, UTC).isoformat()
        return found

    def forwardable_attributes(self) -> dict[str, dict[str, Any]]:
        """The message attributes to send along, in ``SendMessage`` form (as SQS's redrive keeps them)."""
        out: dict[str, dict[str, Any]] = {}
        for name, value in self.message_attributes.items():
            data_type = str(value.get("DataType", "String"))
            if value.get("StringValue") is not None:
                out[name] = {"DataType": data_type, "StringValue": value["StringValue"]}
            elif value.get("BinaryValue") is not None:
                out[name] = {"DataType": data_type, "BinaryValue": value["BinaryValue"]}
        return out


class DlqScan:
    """Every message of one integration's DLQ, held for :data:`HOLD_S` seconds and released on exit."""

    def __init__(self, target: Target, name: str, *, limit: int = SCAN_LIMIT) -> None:
        self.target = target
        self.integration = name
        self.limit = limit
        self.url = target.queue_url(name, dlq=True)
        self.letters: list[DeadLetter] = []
        #: Messages held by someone else when the scan ran (another listing, a running redrive).
        self.in_flight = 0
        self._consumed: set[str] = set()

    def __enter__(self) -> DlqScan:
        sqs = self.target.client("sqs")
        with aws_errors(self.target, f"reading {self.target.queue_name(self.integration, dlq=True)}"):
            counts = sqs.get_queue_attributes(
                QueueUrl=self.url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            visible = int(counts.get("ApproximateNumberOfMessages", 0))
            self.in_flight = int(counts.get("ApproximateNumberOfMessagesNotVisible", 0))
            seen: dict[str, DeadLetter] = {}
            # Long polling (1 s) asks every SQS server, so an empty answer means empty; moto has one.
            wait = 0 if self.target.is_local else 1
            while visible and len(seen) < self.limit:
                received = sqs.receive_message(
                    QueueUrl=self.url,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=HOLD_S,
                    WaitTimeSeconds=wait,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if not received:
                    break
                for m in received:
                    seen[m["MessageId"]] = DeadLetter(
                        integration=self.integration,
                        queue_url=self.url,
                        message_id=m["MessageId"],
                        receipt_handle=m["ReceiptHandle"],
                        body=m.get("Body", ""),
                        message_attributes=dict(m.get("MessageAttributes", {})),
                        system={k: str(v) for k, v in m.get("Attributes", {}).items()},
                    )
        self.letters = sorted(seen.values(), key=lambda d: (d.failed_at, d.message_id))
        return self

    def consumed(self, letter: DeadLetter) -> None:
        """``letter`` was deleted from the DLQ: do not release it."""
        self._consumed.add(letter.message_id)

    def __exit__(self, *exc: object) -> None:
        keep = [d for d in self.letters if d.message_id not in self._consumed]
        sqs = self.target.client("sqs")
        for start in range(0, len(keep), 10):
            chunk = keep[start : start + 10]
            with contextlib.suppress(Exception):  # unreleased messages come back after HOLD_S anyway
                sqs.change_message_visibility_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": d.receipt_handle, "VisibilityTimeout": 0}
                        for i, d in enumerate(chunk)
                    ],
                )


# -- formatting ------------------------------------------------------------------------------------


def when(iso: str) -> str:
    """``2026-11-21T11:44:18.123+00:00`` -> ``2026-11-21 11:44:18Z``."""
    if not iso:
        return "-"
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


#: The one masking of people in what an operator sees (names and addresses to a first letter).
mask_personal = mask_people


# -- commands --------------------------------------------------------------------------------------


def queued_integration(name: str) -> IntegrationSpec:
    """The spec named ``name``, if anything is queued for it: a route-only integration has no DLQ."""
    spec = integration(name)
    if not spec.queued_triggers:
        raise CliError(f"{name} only answers synchronous routes: nothing is queued for it, so it has no DLQ")
    return spec


def queued_names() -> list[str]:
    """The integrations that have a queue and a DLQ."""
    return [s.name for s in load_specs() if s.queued_triggers]


def running_names(target: Target) -> list[str]:
    """The integrations whose DLQ exists on the target: what the local runtime or the stage runs.

    The checkout may declare more than the target runs (an integration scaffolded after ``make dev``
    started, or not deployed to this stage yet); asking for their DLQ would only fail. One
    ``ListQueues`` by the stage's name prefix answers for all of them.
    """
    prefix = target.queue_name("")  # switchboard-<stage>-
    found: set[str] = set()
    with aws_errors(target, f"listing the queues of {target.where}"):
        pages = target.client("sqs").get_paginator("list_queues").paginate(QueueNamePrefix=prefix)
        for page in pages:
            found.update(url.rsplit("/", 1)[-1] for url in page.get("QueueUrls", []))
    return [n for n in queued_names() if target.queue_name(n, dlq=True) in found]


def running_integration(target: Target, name: str, running: Sequence[str] | None = None) -> str:
    """``name`` if the target runs it (it has a DLQ there), else a one-line error naming the ones it runs."""
    names = list(running) if running is not None else running_names(target)
    if name in names:
        return name
    known = ", ".join(names) or "none"
    if name in {s.name for s in load_specs()}:
        queued_integration(name)  # a route-only integration: say that it has no DLQ at all
        raise CliError(
            f"{target.where} does not run {name} (no DLQ {target.queue_name(name, dlq=True)}); "
            f"it runs: {known}"
        )
    raise CliError(f"no integration {name!r} in {target.where}; it runs: {known}")


def list_dlq(target: Target, name: str, out: TextIO) -> int:
    running_integration(target, name)
    with DlqScan(target, name) as scan:
        letters = scan.letters
    dlq = target.queue_name(name, dlq=True)
    if not letters:
        out.write(f"{dlq} is empty.\n")
    else:
        ids = max(len("EVENT ID"), *(len(d.event_id or d.message_id) for d in letters))
        out.write(f"{'EVENT ID':<{ids}}  {'ATTEMPTS':>8}  {'FIRST SEEN':<20}  {'FAILED AT':<20}  REASON\n")
        for d in letters:
            out.write(
                f"{d.event_id or d.message_id:<{ids}}  {d.attempts:>8}  {when(d.first_seen):<20}  "
                f"{when(d.failed_at):<20}  {_short(f'{d.error}: {d.reason}', 100)}\n"
            )
        out.write(
            f"{len(letters)} message(s) in {dlq}.  Details: switchboard dlq show <event id>   "
            f"retry one: switchboard dlq replay <event id>   all: switchboard dlq redrive {name}\n"
        )
    if scan.in_flight:
        out.write(f"({scan.in_flight} more are being read or moved by another command right now.)\n")
    return len(letters)


@contextlib.contextmanager
def find(target: Target, ident: str, name: str | None = None) -> Iterator[tuple[DeadLetter, DlqScan]]:
    """The one dead letter whose event id or message id is ``ident`` (or starts with it, see
    :mod:`infra.ops.event_ids`), held while the block runs."""
    if not ident.strip():
        raise CliError("give the event id (or message id) shown by `switchboard dlq list <integration>`")
    names = [queued_integration(name).name] if name else queued_names()
    with contextlib.ExitStack() as stack:
        scans = []
        for n in names:
            try:
                scans.append(stack.enter_context(DlqScan(target, n)))
            except NotDeployed:
                if name:
                    raise
                # An integration not deployed on this stage has no DLQ to look in.
        where = f"the DLQ of {name}" if name else f"any DLQ of {target.where}"
        yield pick(
            ident.strip(),
            [(d, s) for s in scans for d in s.letters],
            lambda pair: (pair[0].event_id, pair[0].message_id),
            describe=lambda pair: (
                f"{pair[0].message_id} ({pair[0].integration}, event {pair[0].event_id or '-'})"
            ),
            nothing=f"no dead letter {ident.strip()!r} in {where} (see `switchboard dlq list <integration>`)",
            narrow="name one by its message id",
        )


def show(target: Target, ident: str, name: str | None, out: TextIO) -> None:
    with find(target, ident, name) as (d, _scan):
        rows = [
            ("integration", d.integration),
            ("queue", target.queue_name(d.integration, dlq=True)),
            ("message id", d.message_id),
            ("event id", d.event_id or "-"),
            ("error", d.error),
            ("reason", redact(d.reason)),
            ("attempts", d.attempts),
            ("first seen", when(d.first_seen)),
            ("failed at", when(d.failed_at)),
        ]
        shown = {"reason", "error", "attempts", "event_id", "first_seen", "failed_at", "integration"}
        rows += [
            (k, str(redact(d.attribute(k)) or "-")) for k in sorted(d.message_attributes) if k not in shown
        ]
        for key, value in rows:
            out.write(f"{key:<18} {value}\n")
        try:
            body: Any = mask_personal(json.loads(d.body))
            text = json.dumps(body, indent=2, ensure_ascii=False)
        except ValueError:
            text = redact(d.body)
        out.write("body (personal data masked):\n" + text + "\n")


def _send(target: Target, letter: DeadLetter) -> str:
    sqs = target.client("sqs")
    with aws_errors(target, f"sending to {target.queue_name(letter.integration)}"):
        sent = sqs.send_message(
            QueueUrl=target.queue_url(letter.integration),
            MessageBody=letter.body,
            MessageAttributes=letter.forwardable_attributes(),
        )
    return str(sent["MessageId"])


def _delete(target: Target, letter: DeadLetter) -> None:
    with aws_errors(target, f"deleting from {target.queue_name(letter.integration, dlq=True)}"):
        target.client("sqs").delete_message(QueueUrl=letter.queue_url, ReceiptHandle=letter.receipt_handle)


def replay(target: Target, ident: str, name: str | None, out: TextIO) -> None:
    """Re-send one dead letter through the normal path: onto its queue, then off the DLQ."""
    with find(target, ident, name) as (letter, scan):
        message_id = _send(target, letter)
        _delete(target, letter)  # after the send: a crash in between leaves a copy, never nothing
        scan.consumed(letter)
    out.write(
        f"replayed {letter.event_id or letter.message_id} ({letter.integration}): queued on "
        f"{target.queue_name(letter.integration)} as {message_id}, removed from the DLQ.\n"
        f"Follow it: switchboard trace {letter.event_id or message_id}\n"
    )


def redrive(
    target: Target,
    name: str,
    out: TextIO,
    *,
    rate: int | None = None,
    poll_s: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Move every message of the integration's DLQ back to its queue, showing progress."""
    queued_integration(name)
    source, destination = target.queue_arn(name, dlq=True), target.queue_arn(name)
    dlq, queue = target.queue_name(name, dlq=True), target.queue_name(name)
    if target.is_local and not _moto_moves_messages():
        out.write(
            f"StartMessageMoveTask is not available at {target.where} (moto); moving the messages here\n"
        )
        _move_by_hand(target, name, out)
        return
    # No retries: an emulator that lacks the API answers 500, and retrying that only wastes time.
    probe = target.client("sqs", retries={"max_attempts": 1, "mode": "standard"})
    from botocore.exceptions import ClientError

    try:
        with aws_errors(target, f"starting a redrive of {dlq}"):
            options: dict[str, Any] = {"SourceArn": source, "DestinationArn": destination}
            if rate:
                options["MaxNumberOfMessagesPerSecond"] = rate
            task = probe.start_message_move_task(**options)
    except OperationFailed as exc:
        cause = exc.__cause__
        if not (isinstance(cause, ClientError) and _move_unsupported(cause)):
            raise
        out.write(f"StartMessageMoveTask is not available at {target.where}; moving the messages here\n")
        _move_by_hand(target, name, out)
        return
    out.write(f"redrive {dlq} -> {queue}: task {str(task.get('TaskHandle', ''))[:12]}… started\n")
    sqs = target.client("sqs")
    while True:
        with aws_errors(target, f"reading the redrive of {dlq}"):
            tasks = sqs.list_message_move_tasks(SourceArn=source, MaxResults=1).get("Results", [])
        current = tasks[0] if tasks else {}
        status = str(current.get("Status", "RUNNING"))
        moved = current.get("ApproximateNumberOfMessagesMoved", 0)
        total = current.get("ApproximateNumberOfMessagesToMove", "?")
        out.write(f"  {status:<10} moved {moved}/{total}\n")
        out.flush()
        if status in ("COMPLETED", "CANCELLED", "FAILED"):
            break
        sleep(poll_s)
    if status != "COMPLETED":
        raise OperationFailed(
            f"the redrive of {dlq} ended {status}: {current.get('FailureReason', 'no reason')}"
        )
    out.write(f"done: {moved} message(s) back on {queue}; follow one with `switchboard trace <event id>`\n")


def _moto_moves_messages() -> bool:
    """Whether the embedded moto implements ``StartMessageMoveTask`` (5.2 does not).

    Asked of the installed moto instead of the server: calling an action moto lacks makes its server
    print a traceback into the ``make dev`` terminal.
    """
    try:
        from moto.sqs.responses import SQSResponse
    except ImportError:
        return True  # not moto: ask the endpoint itself
    return hasattr(SQSResponse, "start_message_move_task")


def _move_unsupported(exc: Any) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    text = str(error.get("Message", ""))
    return (
        str(error.get("Code", "")) in _MOVE_UNSUPPORTED
        or status in (500, 501)
        or "not been implemented" in text
    )


def _move_by_hand(target: Target, name: str, out: TextIO) -> None:
    """Receive -> send -> delete, in batches, the messages the DLQ held when it started.

    Like a move task, it moves what was there at the start and then stops: a message that fails
    again while the redrive runs (the cause is not fixed yet) lands in the DLQ again and stays there,
    instead of going round in circles.
    """
    queue = target.queue_name(name)
    total = _visible(target, name)
    moved = 0
    while moved < total:
        with DlqScan(target, name, limit=min(10, total - moved)) as scan:
            if not scan.letters:
                break
            for letter in scan.letters[: total - moved]:
                _send(target, letter)
                _delete(target, letter)
                scan.consumed(letter)
                moved += 1
            out.write(f"  moved {moved}/{total}\n")
            out.flush()
    out.write(f"done: {moved} message(s) back on {queue}; follow one with `switchboard trace <event id>`\n")


def _visible(target: Target, name: str) -> int:
    with aws_errors(target, f"reading {target.queue_name(name, dlq=True)}"):
        attributes = target.client("sqs").get_queue_attributes(
            QueueUrl=target.queue_url(name, dlq=True), AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
    return int(attributes.get("ApproximateNumberOfMessages", 0))


def counts(target: Target, names: Sequence[str]) -> list[tuple[str, int | str]]:
    """``(integration, messages in its DLQ)`` for each name, without receiving anything."""
    out: list[tuple[str, int | str]] = []
    for n in names:
        try:
            url = target.queue_url(n, dlq=True)
        except NotDeployed:
            out.append((n, "-"))  # not deployed on this stage
            continue
        with aws_errors(target, f"reading {target.queue_name(n, dlq=True)}"):
            attributes = target.client("sqs").get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
        out.append(
            (
                n,
                int(attributes["ApproximateNumberOfMessages"])
                + int(attributes["ApproximateNumberOfMessagesNotVisible"]),
            )
        )
    return out
