"""``switchboard trace <event-id>``: where one event went.

Three sources, all keyed on the provider's event id:

* the effects ledger (the DynamoDB table): one record per event (its lease) and one per
  side-effect step, in Powertools' idempotency shape, with the key ``<prefix>#<md5 of
  json.dumps(event_id)>`` where the prefix is ``<integration>#event`` or ``<integration>#step#<step>``
  (:mod:`shared.ledger`). Records hold a status (``COMPLETED``, ``INPROGRESS``, or
  ``ATTEMPT_FAILED`` for an event waiting for its retry), the saved result and an expiry
  ``RETENTION_S`` after they were written, which gives back when;
* the dead-letter queues (is it there, and why);
* the log lines that carry the id (``event_id``/``correlation_id``, or ``event_ids`` for the ingress
  "accepted" line): locally ``<log dir>/<integration>.jsonl``, deployed CloudWatch Logs
  ``FilterLogEvents`` on each function's log group.

A refused request has no event id: it was answered with a request id (``req_...``), and its record
(:mod:`shared.refused`, kept 7 days) says when, on which route and why; the "request refused" log
line carries the same id (``request_id``), which is what remains if the record could not be written.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from infra.ops.dlq import DeadLetter, DlqScan, mask_personal, when
from infra.ops.event_ids import MIN_PREFIX, AmbiguousId, ambiguous
from infra.ops.refused import find
from infra.ops.target import CliError, NotDeployed, Target, aws_errors
from shared.ledger import event_key, ledger_hash, step_key
from shared.refused import REQUEST_ID_PREFIX, RETENTION_S, Refusal
from shared.registry import load_specs
from shared.table import Item, Table

__all__ = ["LedgerRecord", "ledger_hash", "ledger_key", "ledger_records", "log_lines", "trace"]

#: Log fields worth showing after the message, in this order.
_LOG_FIELDS = ("trigger", "attempt", "step", "steps", "delay_s", "status", "error", "reason", "detail")


def ledger_key(integration: str, event_id: str, step: str | None = None) -> str:
    return step_key(integration, step, event_id) if step else event_key(integration, event_id)


@dataclass(frozen=True)
class LedgerRecord:
    integration: str
    #: ``None`` for the event record, else the step name.
    step: str | None
    status: str
    #: When the record was last written (completion time for ``COMPLETED``), UTC.
    at: datetime | None
    result: Any

    @classmethod
    def from_item(cls, item: Item, retention_s: int) -> LedgerRecord | None:
        key = str(item["id"])
        head, _, _hash = key.rpartition("#")
        integration, _, rest = head.partition("#")
        if rest == "event":
            step = None
        elif rest.startswith("step#"):
            step = rest.removeprefix("step#")
        else:
            return None  # counters, leases: not an event's record
        expiry = item.get("expiration")
        at = datetime.fromtimestamp(int(expiry) - retention_s, UTC) if expiry is not None else None
        raw = item.get("data")
        result: Any = None
        if raw:
            try:
                result = json.loads(raw)
            except ValueError:
                result = raw
        return cls(integration, step, str(item.get("status", "?")), at, result)


def ledger_records(target: Target, event_id: str) -> list[LedgerRecord]:
    """Every idempotency record of ``event_id``, of any integration, oldest first."""
    from shared.ledger import RETENTION_S

    table = Table(target.client("dynamodb"), target.table)
    with aws_errors(target, f"reading table {target.table}"):
        items = list(
            table.scan(
                where="contains(#id, :hash)", names={"#id": "id"}, values={":hash": ledger_hash(event_id)}
            )
        )
    records = [r for r in (LedgerRecord.from_item(i, RETENTION_S) for i in items) if r is not None]
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(records, key=lambda r: (r.integration, r.at or epoch, r.step is None))


#: The log fields that carry an event id (the ingress "accepted" line lists several in ``event_ids``),
#: or a refused request's id (the "request refused" line).
_ID_FIELDS = ("event_id", "correlation_id", "request_id")


def _ids(entry: dict[str, Any]) -> list[str]:
    """The event ids a log line is about."""
    found = [str(entry[k]) for k in _ID_FIELDS if entry.get(k)]
    listed = entry.get("event_ids")
    if isinstance(listed, list):
        found += [str(i) for i in listed if i]
    return found


def _mentions(entry: dict[str, Any], event_id: str) -> bool:
    return event_id in _ids(entry)


def _starts(entry: dict[str, Any], prefix: str) -> bool:
    return any(i.startswith(prefix) for i in _ids(entry))


def log_lines(target: Target, integration: str, event_id: str, since_s: float) -> list[dict[str, Any]]:
    """The integration's JSON log lines that mention ``event_id``, oldest first."""
    return _search_logs(target, integration, event_id, since_s, prefix=False)


def _search_logs(
    target: Target, integration: str, ident: str, since_s: float, *, prefix: bool
) -> list[dict[str, Any]]:
    """The log lines about ``ident`` - or, with ``prefix``, about any id that starts with it."""
    wanted = _starts if prefix else _mentions
    if target.is_local:
        return _local_log_lines(target.log_dir, integration, ident, wanted)
    logs = target.client("logs")
    start = int((time.time() - since_s) * 1000)
    found: list[dict[str, Any]] = []
    with aws_errors(target, f"searching log group {target.log_group(integration)}"):
        paginator = logs.get_paginator("filter_log_events")
        pages = paginator.paginate(
            logGroupName=target.log_group(integration),
            startTime=start,
            filterPattern=_prefix_pattern(ident) if prefix else json.dumps(ident),  # quoted: the exact id
        )
        for page in pages:
            for event in page.get("events", []):
                with contextlib.suppress(ValueError):
                    entry = json.loads(event.get("message", ""))
                    if isinstance(entry, dict) and wanted(entry, ident):
                        found.append(entry)
    return found


def _prefix_pattern(prefix: str) -> str:
    """A CloudWatch Logs JSON filter pattern for lines whose id fields start with ``prefix``.

    JSON patterns take ``*`` as a wildcard in a quoted value. A prefix with characters the pattern
    syntax would read (quotes, wildcards, braces) is searched as a plain quoted term instead; the
    lines are matched exactly here either way.
    """
    if any(c in prefix for c in '"*\\{}()'):
        return json.dumps(prefix)
    fields = [f"$.{k}" for k in _ID_FIELDS] + ["$.event_ids[0]"]
    return "{ " + " || ".join(f'({f} = "{prefix}*")' for f in fields) + " }"


def _log_lines_if_any(
    target: Target, integration: str, ident: str, since_s: float, *, prefix: bool = False
) -> list[dict[str, Any]]:
    try:
        return _search_logs(target, integration, ident, since_s, prefix=prefix)
    except NotDeployed:
        return []  # no log group: the function never ran, or is not deployed on this stage


def _local_log_lines(
    log_dir: Path | None, integration: str, ident: str, wanted: Callable[[dict[str, Any], str], bool]
) -> list[dict[str, Any]]:
    path = (log_dir or Path(".switchboard/logs")) / f"{integration}.jsonl"
    if not path.exists():
        return []
    found = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if ident not in line:
                continue
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict) and wanted(entry, ident):
                    found.append(entry)
    return found


def _format_log(entry: dict[str, Any]) -> str:
    stamp = str(entry.get("timestamp", ""))[:19]
    extras = []
    for key in _LOG_FIELDS:
        if key in entry and entry[key] not in (None, "", []):
            value = entry[key]
            text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            extras.append(f"{key}={text}")
    line = f"{stamp}  {entry.get('level', ''):<7} {entry.get('message', '')}"
    if extras:
        line += "  " + " ".join(extras)
    return " ".join(line.split())[:220]


def _summary(result: Any) -> str:
    if result is None:
        return ""
    masked = mask_personal(result)
    if isinstance(masked, dict):
        text = ", ".join(f"{k}={v}" for k, v in list(masked.items())[:4])
    else:
        text = json.dumps(masked, ensure_ascii=False)
    return text[:100]


def _in_step_order(records: list[LedgerRecord], logs: list[dict[str, Any]]) -> list[LedgerRecord]:
    """Steps in the order the worker ran them (its last "processed" log line lists them), the event
    record last; by time where the logs do not say (records only have one-second resolution)."""
    order: list[str] = []
    for entry in logs:
        if isinstance(entry.get("steps"), list):
            order = [str(s) for s in entry["steps"]]
    epoch = datetime.min.replace(tzinfo=UTC)

    def key(r: LedgerRecord) -> tuple[int, int, datetime]:
        if r.step is None:
            return (2, 0, r.at or epoch)
        if r.step in order:
            return (0, order.index(r.step), r.at or epoch)
        return (1, 0, r.at or epoch)

    return sorted(records, key=key)


@contextlib.contextmanager
def _dead_letters(target: Target, names: list[str]) -> Iterator[list[DlqScan]]:
    with contextlib.ExitStack() as stack:
        scans = []
        for name in names:
            try:
                scans.append(stack.enter_context(DlqScan(target, name)))
            except NotDeployed:
                continue  # an integration not deployed on this stage has no DLQ to look in
        yield scans


def trace(target: Target, event_id: str, out: TextIO, *, since_s: float = 7 * 86400) -> bool:
    """Print everything known about ``event_id``; False if nothing at all was found.

    ``event_id`` may be a unique prefix (:mod:`infra.ops.event_ids`) of an id seen in the logs or a
    DLQ: the whole id is what the console and ``make dev`` cut to fit a column. A whole id that has
    records is traced as it is, even if longer ids start with it.
    """
    ident = event_id.strip()
    if not ident:
        raise CliError("give the event id to trace (the id a webhook was answered with, or from `dlq list`)")
    names = [s.name for s in load_specs()]
    if ident.startswith(REQUEST_ID_PREFIX):
        refusals = refused_requests(target, ident)
        if refusals:
            return _report_refused(target, ident, refusals, out, since_s)
    with _dead_letters(target, names) as scans:
        letters = [d for s in scans for d in s.letters]
    found = _gather(target, names, ident, letters, since_s)
    if not found.involved and len(ident) >= MIN_PREFIX:
        whole = _complete(target, names, ident, letters, since_s)
        if whole is not None:
            out.write(f"{ident} is the start of {whole}\n")
            ident, found = whole, _gather(target, names, whole, letters, since_s)
    return _report(target, ident, found, out)


@dataclass(frozen=True)
class _Found:
    names: list[str]
    records: list[LedgerRecord]
    dead: list[DeadLetter]
    logs: dict[str, list[dict[str, Any]]]

    @property
    def involved(self) -> list[str]:
        return [
            n
            for n in self.names
            if self.logs[n]
            or any(r.integration == n for r in self.records)
            or any(d.integration == n for d in self.dead)
        ]


def _gather(
    target: Target, names: list[str], event_id: str, letters: list[DeadLetter], since_s: float
) -> _Found:
    return _Found(
        names,
        ledger_records(target, event_id),
        [d for d in letters if d.event_id == event_id],
        {name: _log_lines_if_any(target, name, event_id, since_s) for name in names},
    )


def _complete(
    target: Target, names: list[str], prefix: str, letters: list[DeadLetter], since_s: float
) -> str | None:
    """The one event id seen (logs, DLQs) that starts with ``prefix``; None if there is none.

    The ledger cannot answer this: its keys hold a hash of the id. Several ids is an
    :class:`~infra.ops.event_ids.AmbiguousId` listing them with their integrations.
    """
    seen: dict[str, set[str]] = {}
    for d in letters:
        if d.event_id.startswith(prefix):
            seen.setdefault(d.event_id, set()).add(d.integration)
    for name in names:
        for entry in _log_lines_if_any(target, name, prefix, since_s, prefix=True):
            for i in _ids(entry):
                if i.startswith(prefix):
                    seen.setdefault(i, set()).add(name)
    if len(seen) > 1:
        raise AmbiguousId(ambiguous(prefix, [f"{i} ({', '.join(sorted(seen[i]))})" for i in sorted(seen)]))
    return next(iter(seen), None)


def _report(target: Target, event_id: str, found: _Found, out: TextIO) -> bool:
    records, dead, logs, involved = found.records, found.dead, found.logs, found.involved
    out.write(f"trace {event_id}  ({target.where})\n")
    if not involved:
        out.write(
            "  nothing found: no ledger record, no dead letter, no log line, and no event id in the logs or a "
            f"DLQ starts with it (a prefix needs {MIN_PREFIX}+ characters). Check the id, or widen --since "
            "(logs) - ledger records are kept 15 days.\n"
        )
        return False
    for name in involved:
        mine = [r for r in records if r.integration == name]
        event = next((r for r in mine if r.step is None), None)
        letters = [d for d in dead if d.integration == name]
        if letters:
            state = f"DEAD-LETTERED ({letters[0].error})"
        elif event and event.status == "COMPLETED":
            state = f"processed {when(event.at.isoformat()) if event.at else ''}".rstrip()
        elif event:
            state = f"in progress ({event.status})"
        elif any(e.get("message") == "accepted" for e in logs[name]):
            state = "queued, not processed yet (or retrying)"
        else:
            state = "seen in the logs only"
        out.write(f"\n{name}: {state}\n")
        accepted = [e for e in logs[name] if e.get("message") == "accepted"]
        if accepted:
            out.write(
                f"  received   {str(accepted[0].get('timestamp', ''))[:19]}  via {accepted[0].get('trigger', '?')} -> queued\n"
            )
        out.write(f"  ledger ({target.table}):\n")
        if not mine:
            out.write("    no records (not processed yet, or records expired after 15 days)\n")
        for r in _in_step_order(mine, logs[name]):
            what = "event" if r.step is None else f"step {r.step}"
            stamp = when(r.at.isoformat()) if r.at else "-"
            out.write(f"    {what:<32} {r.status:<10} {stamp}  {_summary(r.result)}\n")
        dlq = target.queue_name(name, dlq=True)
        if letters:
            for d in letters:
                out.write(
                    f"  DLQ {dlq}: message {d.message_id}, {d.attempts} attempt(s), failed "
                    f"{when(d.failed_at)}: {d.error}: {d.reason}\n"
                    f"    replay it: switchboard dlq replay {event_id}\n"
                )
        else:
            out.write(f"  DLQ {dlq}: not there\n")
        source = target.log_group(name) if not target.is_local else f"{target.log_dir}/{name}.jsonl"
        out.write(f"  log lines ({len(logs[name])}, {source}):\n")
        for entry in logs[name][-40:]:
            out.write(f"    {_format_log(entry)}\n")
    return True


def refused_requests(target: Target, request_id: str) -> list[Refusal]:
    """The refused requests recorded under ``request_id`` (or an id starting with it), newest first."""
    table = Table(target.client("dynamodb"), target.table)
    with aws_errors(target, f"reading table {target.table}"):
        return find(table, request_id)


def _report_refused(target: Target, ident: str, refusals: list[Refusal], out: TextIO, since_s: float) -> bool:
    """What a refused request's record says, and its log lines; several ids starting with ``ident``
    is an :class:`~infra.ops.event_ids.AmbiguousId` listing them."""
    if len({r.request_id for r in refusals}) > 1:
        raise AmbiguousId(ambiguous(ident, [f"{r.request_id} ({r.integration})" for r in refusals]))
    r = refusals[0]
    out.write(f"trace {r.request_id}  ({target.where})\n")
    out.write(f"\n{r.integration}: REFUSED {r.status} {r.reason}  {when(r.time)}\n")
    trigger = f" (trigger {r.trigger})" if r.trigger else ""
    out.write(f"  route      {r.route}{trigger}\n")
    out.write(f"  why        {r.detail}\n")
    sender = [
        f"network {r.remote or 'unknown'}",
        f"content-type {r.content_type or '(none)'}",
        f"user-agent {r.user_agent or '(none)'}",
        f"body {r.body_bytes} bytes",
    ]
    out.write(f"  sender     {', '.join(sender)}\n")
    present = ", ".join(r.signature_headers) or "none"
    out.write(f"  signature headers present (names only): {present}\n")
    out.write(
        f"  nothing was queued: the sender was answered {r.status} with this id. Refused requests are kept "
        f"{RETENTION_S // 86400} days; the body never is.\n"
    )
    lines = _log_lines_if_any(target, r.integration, r.request_id, since_s)
    source = (
        target.log_group(r.integration) if not target.is_local else f"{target.log_dir}/{r.integration}.jsonl"
    )
    out.write(f"  log lines ({len(lines)}, {source}):\n")
    for entry in lines[-40:]:
        out.write(f"    {_format_log(entry)}\n")
    return True
