"""Local state that survives a restart: what ``switchboard dev`` saves on a clean stop and restores.

``make dev`` keeps its state by default (``--keep``): a restart continues where the last run stopped,
the way a database behind a dev server does - contacts, receipts and calendar events stay in the
stand-ins, a re-sent webhook is recognised as a duplicate, HubSpot ids continue, a token written
back by a rotating refresh stays valid. ``--fresh`` starts empty; ``--once`` (CI, ``make dev-once``)
always does, so a check of the samples never depends on an earlier run. Why keep by default: the
local runtime is where one builds up test data by hand (forms sent, ``switchboard connect``,
``secrets set``), and losing it without a word on a restart was the surprise; starting empty is one
flag away and the banner says which is in effect.

The snapshot, ``.switchboard/state.snapshot`` beside ``local.json``, holds:

* the embedded AWS, read through the AWS APIs (so it does not depend on moto's internals): every
  item of the ledger table (idempotency records, effects, MCP keys), every secret and every SSM
  ``SecureString`` parameter (signing secrets, own keys) of the stage (current value; the sandbox URL
  in it follows the new port), and every message waiting in a queue
  or a DLQ (body and attributes; its receive count starts again);
* the stand-ins' data (:mod:`sandbox.snapshot`).

It is written on a clean stop (Ctrl-C / SIGTERM) after the pollers, the scheduler and the gateway
stopped, so nothing changes while it is read; a message still invisible after a retry's back-off
is waited for, up to a bound, and counted as not kept if it does not come back in time. A killed
runtime saves nothing (the previous snapshot stays). SES's sent mail, the request logs and queued
faults are not kept.

A snapshot that cannot be read (cut short, edited, not a snapshot) or that does not fit today's code
(another format version, another stage, stand-ins whose data changed shape) is refused at start with
:class:`SnapshotError` - one line naming the file and ``--fresh`` as the way out - never restored in
part.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox import snapshot as standins

if TYPE_CHECKING:
    from .runtime import LocalRuntime

__all__ = [
    "SNAPSHOT_FILE",
    "Snapshot",
    "SnapshotError",
    "SnapshotMismatch",
    "SnapshotUnreadable",
    "StateChoice",
    "choose",
    "load",
    "save",
]

SNAPSHOT_FILE = Path(".switchboard") / "state.snapshot"
FORMAT = "switchboard-local-state"
#: Bumped when the layout of the payload changes; a snapshot of another version is refused.
VERSION = 1
#: How long a clean stop waits for messages in flight (a retry's back-off) to come back to be saved.
INFLIGHT_WAIT_S = 30.0
_HOLD_S = 43_200  # SQS's longest visibility: a message read for the snapshot is not read twice
_FIX = "start with `make dev FRESH=1` (switchboard dev --fresh) to begin empty; it is replaced on the next clean stop"


class SnapshotError(Exception):
    """A saved state cannot be restored; the message names the file and the fix."""


class SnapshotUnreadable(SnapshotError):
    """The file is not a whole snapshot: cut short, edited, or something else."""


class SnapshotMismatch(SnapshotError):
    """The snapshot is whole but does not fit this code (format version, stage, stand-ins' data)."""


@dataclass(frozen=True)
class Snapshot:
    """What a clean stop saved: the embedded AWS's state and the stand-ins' data."""

    saved_at: str
    stage: str
    #: The gateway's sandbox URL when saved: secrets naming it are pointed at the new one.
    sandbox_url: str
    table: str
    items: list[dict[str, Any]]
    #: secret name -> its current SecretString.
    secrets: dict[str, str]
    #: queue name -> its messages: ``{"Body": ..., "MessageAttributes": {...}}``.
    queues: dict[str, list[dict[str, Any]]]
    standins: standins.AppData
    #: Messages that were still in flight when the wait ran out: not in this snapshot.
    not_kept: int = 0

    def summary(self) -> str:
        messages = sum(len(m) for m in self.queues.values())
        dead = sum(len(m) for name, m in self.queues.items() if name.endswith("-dlq"))
        parts = [
            f"{len(self.items)} ledger record(s)",
            f"{len(self.secrets)} secret(s)",
            f"{messages} queued message(s)" + (f" ({dead} dead-lettered)" if dead else ""),
            f"the data of {len(self.standins)} stand-in(s)",
        ]
        return ", ".join(parts)


@dataclass
class StateChoice:
    """``--keep`` or ``--fresh`` for one ``switchboard dev`` run, and the snapshot it restores."""

    keep: bool
    path: Path
    #: The snapshot to restore (``--keep`` and one exists), else ``None``.
    saved: Snapshot | None = None
    #: ``--once``: nothing is restored or saved.
    once: bool = False
    #: When the snapshot that ``--fresh`` leaves unused was saved (for the banner).
    unused_from: str | None = None
    _notes: list[str] = field(default_factory=list)

    @property
    def replay(self) -> bool:
        """Replay the samples unless a kept state already holds their effects."""
        return self.saved is None

    def banner(self) -> str:
        """The line that says which state is in effect and how to get the other."""
        if self.once:
            return "State: fresh (--once always starts empty and saves nothing)."
        if self.saved is not None:
            return (
                f"State: kept - restored the run stopped at {self.saved.saved_at} ({self.saved.summary()}) "
                f"from {self.path}. The samples are not replayed again (their effects are in it). "
                "Start empty with `make dev FRESH=1` (switchboard dev --fresh)."
            )
        if self.keep:
            return (
                f"State: kept - nothing saved yet in {self.path}, so starting empty; a clean stop (Ctrl-C) "
                "saves it and the next `make dev` continues from there (FRESH=1 / --fresh starts empty)."
            )
        unused = (
            f" The state saved at {self.unused_from} is not loaded, and is replaced when this run stops."
            if self.unused_from
            else ""
        )
        return (
            f"State: fresh - started empty.{unused} `make dev` without FRESH=1 "
            "(switchboard dev --keep) continues from the last clean stop."
        )

    def save(self, runtime: LocalRuntime, say: Callable[[str], None]) -> Snapshot | None:
        """Save ``runtime``'s state on a clean stop (not with ``--once``); says what it did."""
        if self.once:
            return None
        snap = save(runtime, self.path, say=say)
        kept = f"state saved to {self.path}: {snap.summary()}"
        if snap.not_kept:
            kept += f"; {snap.not_kept} message(s) still in flight (retrying) were not saved"
        say(kept + " - the next `make dev` continues from it (FRESH=1 starts empty)")
        return snap


def choose(*, keep: bool | None, once: bool, path: Path = SNAPSHOT_FILE) -> StateChoice:
    """The state for a ``switchboard dev`` run: ``keep`` (``None``: the default, keep unless ``once``).

    Loads (and checks) the snapshot to restore now, before anything starts, so a bad one is refused
    with nothing to clean up.
    """
    if once:
        return StateChoice(keep=False, path=path, once=True)
    if keep is None or keep:
        return StateChoice(keep=True, path=path, saved=load(path))
    header = _peek(path)
    return StateChoice(keep=False, path=path, unused_from=header.get("saved_at") if header else None)


# --- the file -----------------------------------------------------------------------------------


def load(path: Path = SNAPSHOT_FILE) -> Snapshot | None:
    """The snapshot in ``path`` (``None`` if there is none), checked against today's stand-ins."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SnapshotUnreadable(f"{path} cannot be read ({exc.strerror}); {_FIX}") from exc
    head, _, payload = blob.partition(b"\n")
    try:
        header = json.loads(head)
        fmt, version, digest = header["format"], header["version"], header["sha256"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SnapshotUnreadable(f"{path} is not a Switchboard state snapshot; {_FIX}") from exc
    if fmt != FORMAT:
        raise SnapshotUnreadable(f"{path} is not a Switchboard state snapshot ({fmt!r}); {_FIX}")
    if version != VERSION:
        raise SnapshotMismatch(
            f"{path} was saved in snapshot format {version}, this code reads format {VERSION}; {_FIX}"
        )
    if hashlib.sha256(payload).hexdigest() != digest:
        raise SnapshotUnreadable(
            f"{path} is damaged (cut short or edited: its checksum does not match); {_FIX}"
        )
    try:
        data = pickle.loads(payload)  # noqa: S301 - written by save() on this machine, checksum verified
        snap = Snapshot(
            saved_at=str(header["saved_at"]),
            stage=str(header["stage"]),
            sandbox_url=str(data["sandbox_url"]),
            table=str(data["table"]),
            items=list(data["items"]),
            secrets=dict(data["secrets"]),
            queues=dict(data["queues"]),
            standins=standins.loads(data["standins"]),
            not_kept=int(header.get("not_kept", 0)),
        )
    except Exception as exc:  # any unpickling failure: a class moved, a module renamed, bad bytes
        raise SnapshotMismatch(
            f"{path} cannot be read by this code ({type(exc).__name__}: {exc}); {_FIX}"
        ) from exc
    from sandbox.registry import create_sandboxes

    try:
        standins.check(create_sandboxes(), snap.standins)
    except standins.SnapshotShapeChanged as exc:
        raise SnapshotMismatch(f"{path} does not fit the stand-ins' code any more ({exc}); {_FIX}") from exc
    return snap


def write(path: Path, snap: Snapshot) -> None:
    """Write ``snap`` atomically: a crash while writing leaves the previous snapshot whole."""
    payload = pickle.dumps(
        {
            "sandbox_url": snap.sandbox_url,
            "table": snap.table,
            "items": snap.items,
            "secrets": snap.secrets,
            "queues": snap.queues,
            "standins": standins.dumps(snap.standins),
        },
        protocol=pickle.HIGHEST_PROTOCOL,
    )
    header = {
        "format": FORMAT,
        "version": VERSION,
        "saved_at": snap.saved_at,
        "stage": snap.stage,
        "not_kept": snap.not_kept,
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as out:
        out.write(json.dumps(header).encode() + b"\n" + payload)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def _peek(path: Path) -> dict[str, Any] | None:
    """The header of the snapshot in ``path``, if it has a readable one (for ``--fresh``'s banner)."""
    with contextlib.suppress(OSError, ValueError):
        with open(path, "rb") as f:
            header = json.loads(f.readline())
        if isinstance(header, dict) and header.get("format") == FORMAT:
            return header
    return None


# --- saving and restoring the runtime -----------------------------------------------------------


def save(
    runtime: LocalRuntime,
    path: Path = SNAPSHOT_FILE,
    *,
    say: Callable[[str], None] = lambda _: None,
    inflight_wait_s: float = INFLIGHT_WAIT_S,
) -> Snapshot:
    """Stop ``runtime``'s work (pollers, scheduler, gateway), read its state and write it to ``path``."""
    runtime.stop_work()
    resources = runtime.resources
    if resources is None:
        raise RuntimeError("the local runtime was not started: nothing to save")
    queues, not_kept = _read_queues(_client(runtime, "sqs"), runtime, inflight_wait_s, say)
    snap = Snapshot(
        saved_at=datetime.now(UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        stage=runtime.stage,
        sandbox_url=runtime.sandbox_url,
        table=resources.table,
        items=_read_items(_client(runtime, "dynamodb"), resources.table),
        secrets=_read_secrets(_client(runtime, "secretsmanager"), resources.secret_prefix)
        | _read_parameters(_client(runtime, "ssm"), resources.parameter_prefix),
        queues=queues,
        standins=standins.capture(runtime.sandboxes),
        not_kept=not_kept,
    )
    write(path, snap)
    return snap


def restore(snap: Snapshot, runtime: LocalRuntime) -> None:
    """Put ``snap`` into a starting ``runtime``: after its resources exist, before anything runs."""
    resources = runtime.resources
    if resources is None:
        raise RuntimeError("restore runs once the runtime's resources exist")
    if snap.stage != runtime.stage or snap.table != resources.table:
        raise SnapshotMismatch(
            f"the snapshot is of stage {snap.stage!r}, this runtime runs stage {runtime.stage!r}; {_FIX}"
        )
    sqs = _client(runtime, "sqs")
    urls: dict[str, str] = {}
    for name in snap.queues:
        try:
            urls[name] = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist as exc:
            raise SnapshotMismatch(
                f"the snapshot holds messages of queue {name}, which this code no longer has; {_FIX}"
            ) from exc
    standins.restore(runtime.sandboxes, snap.standins)
    _write_items(_client(runtime, "dynamodb"), snap.table, snap.items)
    secrets = {k: v for k, v in snap.secrets.items() if not k.startswith("/")}
    parameters = {k: v for k, v in snap.secrets.items() if k.startswith("/")}
    _write_secrets(_client(runtime, "secretsmanager"), secrets, snap.sandbox_url, runtime.sandbox_url)
    _write_parameters(_client(runtime, "ssm"), parameters, snap.sandbox_url, runtime.sandbox_url)
    for name, messages in snap.queues.items():
        _send_all(sqs, urls[name], messages)


def _client(runtime: LocalRuntime, service: str) -> Any:
    """A client of the runtime's embedded AWS (moto's conventional credentials: nothing real)."""
    import boto3

    return boto3.session.Session(region_name=runtime.region).client(  # type: ignore[call-overload]
        service,
        endpoint_url=runtime.aws_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _read_items(ddb: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend(page.get("Items", []))
    return items


def _write_items(ddb: Any, table: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 25):
        pending: dict[str, Any] = {table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        for _ in range(20):  # bounded: the embedded DynamoDB takes a batch whole
            pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
        else:
            raise RuntimeError(f"DynamoDB did not take {len(pending[table])} restored item(s)")


def _read_secrets(client: Any, prefix: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for page in client.get_paginator("list_secrets").paginate():
        for entry in page.get("SecretList", []):
            name = str(entry["Name"])
            if name.startswith(prefix) and "DeletedDate" not in entry:
                value = client.get_secret_value(SecretId=name)
                if "SecretString" in value:
                    found[name] = str(value["SecretString"])
    return dict(sorted(found.items()))


def _write_secrets(client: Any, secrets: dict[str, str], old_url: str, new_url: str) -> None:
    for name, saved in secrets.items():
        value = saved.replace(old_url, new_url)  # the stand-ins' base URLs follow the gateway's port
        try:
            client.put_secret_value(SecretId=name, SecretString=value)
        except client.exceptions.ResourceNotFoundException:
            client.create_secret(Name=name, SecretString=value)


def _read_parameters(client: Any, prefix: str) -> dict[str, str]:
    """The stage's ``SecureString`` parameters (signing secrets, own keys), decrypted, by name.

    Kept in the snapshot's ``secrets`` next to the secrets: a parameter's name starts with ``/``, a
    secret's never does.
    """
    found: dict[str, str] = {}
    paginator = client.get_paginator("get_parameters_by_path")
    for page in paginator.paginate(Path=prefix.rstrip("/"), Recursive=True, WithDecryption=True):
        for entry in page.get("Parameters", []):
            found[str(entry["Name"])] = str(entry["Value"])
    return dict(sorted(found.items()))


def _write_parameters(client: Any, parameters: dict[str, str], old_url: str, new_url: str) -> None:
    for name, saved in parameters.items():
        client.put_parameter(
            Name=name, Value=saved.replace(old_url, new_url), Type="SecureString", Overwrite=True
        )


def _read_queues(
    sqs: Any, runtime: LocalRuntime, wait_s: float, say: Callable[[str], None]
) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Every queue's messages, then every DLQ's (a message past its receive limit moves to its DLQ
    when read, so DLQs are read last). Messages in flight are waited for, up to ``wait_s``."""
    resources = runtime.resources
    assert resources is not None
    urls = [q for q, _ in resources.queues.values()] + [d for _, d in resources.queues.values()]
    deadline = time.monotonic() + wait_s
    found: dict[str, list[dict[str, Any]]] = {}
    not_kept = 0
    told = False
    for url in urls:
        messages: list[dict[str, Any]] = []
        while True:
            got = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=_HOLD_S,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages.extend(_message(m) for m in got)
            if got:
                continue
            waiting = _count(sqs, url) - len(messages)
            if waiting <= 0:
                break
            if time.monotonic() >= deadline:
                not_kept += waiting
                break
            if not told:
                say(f"saving state: waiting up to {wait_s:.0f} s for messages in flight (a retry's back-off)")
                told = True
            time.sleep(0.25)
        if messages:
            found[url.rsplit("/", 1)[1]] = messages
    return found, not_kept


def _count(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return (
        int(attrs["ApproximateNumberOfMessages"])
        + int(attrs["ApproximateNumberOfMessagesNotVisible"])
        + int(attrs.get("ApproximateNumberOfMessagesDelayed", 0))
    )


def _message(m: dict[str, Any]) -> dict[str, Any]:
    attributes = {
        name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
        for name, value in m.get("MessageAttributes", {}).items()
    }
    return {"Body": m["Body"], "MessageAttributes": attributes}


def _send_all(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    for start in range(0, len(messages), 10):
        chunk = messages[start : start + 10]
        entries = [
            {
                "Id": str(i),
                "MessageBody": m["Body"],
                **({"MessageAttributes": m["MessageAttributes"]} if m["MessageAttributes"] else {}),
            }
            for i, m in enumerate(chunk)
        ]
        failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed", [])
        if failed:
            raise RuntimeError(f"SQS refused {len(failed)} restored message(s): {failed[0]}")
