"""An event's story: how it came in, each ledger step, its retries, what it emitted and caused, its end.

Everything is read where ``switchboard trace`` reads it (:mod:`infra.ops.trace`): the ledger records
of the event (its own and one per step, with the saved result), the log lines that name it, and the
dead letter if there is one. Two more things are joined here:

* the *attempt records* of steps whose target has no idempotency key (``<integration>#tried#<step>#…``:
  first and last start, count) give those steps a duration - completion minus last start;
* the events it *caused downstream*: an emitted domain event carries this event's id as
  ``source_event_id``, and each consumer keys its work on an id derived from it
  (:func:`shared.events.derived_id`: ``enrich:<id>``, ``ack:<id>`` ...), so the consumers' lines whose
  ids derive from this one are its consequences, each with its own story.

How a webhook came in is the ingress's ``inbound request`` log line (:mod:`shared.inbound`: the
headers that matter - content type, user agent, the provider's delivery id, the *names* of the
verified signature headers, the size - and the masked body), written beside ``accepted`` at no extra
request. What is not kept is said, not invented: a form post or a bus event leaves no such line, and
once a message is processed only a dead letter still holds the whole message (shown masked).
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.console import logs
from infra.ops.dlq import DeadLetter, DlqScan, mask_personal
from infra.ops.target import NotDeployed, Target, aws_errors
from infra.ops.trace import LedgerRecord, _in_step_order
from shared.events import derived_id
from shared.ledger import RETENTION_S, attempt_key, event_key, ledger_hash
from shared.redact import redact, redact_text
from shared.registry import load_specs
from shared.spec import BusTrigger, FormTrigger, IntegrationSpec, ScheduleTrigger, WebhookTrigger
from shared.table import Table

__all__ = ["Downstream", "Inbound", "Retry", "Step", "Story", "fmt_duration", "story"]

#: How far back the story's log lines are searched.
STORY_WINDOW_S = 7 * 86_400


@dataclass(frozen=True)
class Step:
    name: str
    status: str
    at: datetime | None
    #: Seconds from the step's last start to its completion, where an attempt record says when it started.
    duration_s: float | None
    tries: int | None
    result: str


@dataclass(frozen=True)
class Retry:
    at: float
    attempt: int | None
    delay_s: Any
    reason: str


@dataclass(frozen=True)
class Downstream:
    integration: str
    event_id: str
    status: str


@dataclass(frozen=True)
class Inbound:
    """The webhook request as the ingress recorded it: ``(header, value)`` rows (never the body:
    :mod:`shared.inbound` says why)."""

    headers: list[tuple[str, str]]


@dataclass
class Story:
    integration: str
    event_id: str
    status: str
    received_at: float | None
    trigger: str
    #: How the trigger proves and checks what came in, in words.
    verification: str
    steps: list[Step]
    retries: list[Retry]
    emitted: list[tuple[str, str]]
    downstream: list[Downstream]
    letter: DeadLetter | None
    #: The dead letter's body, personal data masked (pretty JSON), else ``None``.
    body: str | None
    #: The dead letter's message attributes, masked.
    attributes: list[tuple[str, str]] = field(default_factory=list)
    lines: list[logs.Line] = field(default_factory=list)
    event_record: LedgerRecord | None = None
    #: The inbound request (webhooks), ``None`` where the ingress wrote no record of it.
    inbound: Inbound | None = None


def _spec(name: str) -> IntegrationSpec | None:
    return next((s for s in load_specs() if s.name == name), None)


def verification(spec: IntegrationSpec | None, trigger: str) -> str:
    """What was checked before the event was accepted, from the trigger's declaration."""
    found = next((t for t in spec.triggers if t.name == trigger), None) if spec else None
    model = getattr(found, "model", None)
    validated = f"validated against {model.__name__}" if model is not None else "validated"
    if isinstance(found, WebhookTrigger):
        return (
            f"POST {found.path}: signature verified ({type(found.verifier).__name__}, secret "
            f"{found.secret.name}), body {validated}, then queued"
        )
    if isinstance(found, FormTrigger):
        return f"POST {found.path}: origin allowed ({found.origins_setting}), honeypot empty, {validated}"
    if isinstance(found, BusTrigger):
        return f"bus event {', '.join(found.detail_types)} from {', '.join(found.sources)}: {validated}"
    if isinstance(found, ScheduleTrigger):
        return f"schedule {found.expression} ({found.timezone})"
    return "not recorded (the ingress line of this event is older than the logs read)"


def story(target: Target, integration: str, event_id: str) -> Story:
    """Everything known about ``event_id`` in ``integration``."""
    spec = _spec(integration)
    found = logs.lines(target, integration, STORY_WINDOW_S, messages=(*logs.WORKFLOW, logs.INBOUND))
    mine = [line for line in found if event_id in logs.event_ids(line)]
    lines = [line for line in mine if line.get("message") != logs.INBOUND]
    request = next((line for line in mine if line.get("message") == logs.INBOUND), None)
    items = _ledger_items(target, event_id)
    records = [
        r
        for r in (LedgerRecord.from_item(i, RETENTION_S) for i in items)
        if r is not None and r.integration == integration
    ]
    tried = {str(i["id"]): i for i in items if "#tried#" in str(i.get("id", ""))}
    letter = _letter(target, integration, event_id)
    accepted = next((line for line in lines if line.get("message") == "accepted"), None)
    trigger = str(accepted.get("trigger", "")) if accepted else ""
    if not trigger and letter is not None:
        trigger = letter.attribute("trigger")
    if not trigger and spec is not None and len(spec.triggers) == 1:
        trigger = spec.triggers[0].name
    steps = [
        _step(integration, event_id, r, tried)
        for r in _in_step_order(
            records, [{"steps": line.get("steps")} for line in lines if line.get("steps")]
        )
        if r.step is not None
    ]
    if not steps:
        # No ledger records under this id: a bus or schedule message is logged under its SQS message
        # id, while the ledger keys its work items; the log still names the steps each one ran.
        steps = [
            Step(str(name), "done (logged)", None, None, None, "")
            for line in lines
            if line.get("message") == "processed"
            for name in line.get("steps") or []
        ]
    event_record = next((r for r in records if r.step is None), None)
    emitted = [
        (s.name.removeprefix("emit."), str(s.result or "")) for s in steps if s.name.startswith("emit.")
    ]
    body, attributes = _letter_view(letter)
    return Story(
        integration=integration,
        event_id=event_id,
        status=_status(lines, letter, event_record),
        received_at=(lines[0]["_at"] if lines else None),
        trigger=trigger,
        verification=verification(spec, trigger),
        steps=steps,
        retries=[
            Retry(
                line["_at"],
                line.get("attempt") if isinstance(line.get("attempt"), int) else None,
                line.get("delay_s"),
                str(redact_text(str(line.get("reason") or ""))),
            )
            for line in lines
            if line.get("message") == "retrying later"
        ],
        emitted=emitted,
        downstream=_downstream(target, spec, event_id) if spec and spec.emits else [],
        letter=letter,
        body=body,
        attributes=attributes,
        lines=[redact(line) for line in lines],
        event_record=event_record,
        inbound=_inbound(request),
    )


def _inbound(line: logs.Line | None) -> Inbound | None:
    """The ingress's record of the request, masked once more (as everything the pages show)."""
    kept = line.get("inbound") if line is not None else None
    if not isinstance(kept, dict):
        return None
    headers = [
        ("content-type", str(kept.get("content_type") or "-")),
        ("user-agent", str(redact_text(str(kept.get("user_agent") or "-")))),
        ("content-length", f"{kept.get('content_length', '-')} bytes"),
    ]
    ids = kept.get("ids")
    if isinstance(ids, dict):
        headers += [(str(k), str(redact_text(str(v)))) for k, v in ids.items()]
    verdict = str(kept.get("signature") or "verified")
    headers += [(str(h), f"{verdict} (value not kept)") for h in kept.get("signature_headers") or []]
    return Inbound(headers)


def _status(lines: list[logs.Line], letter: DeadLetter | None, record: LedgerRecord | None) -> str:
    if letter is not None:
        return "dead-lettered"
    if record is not None and record.status == "COMPLETED":
        return "processed"
    messages = [line.get("message") for line in lines]
    if "processed" in messages or "duplicate event skipped" in messages:
        return "processed"
    if messages and messages[-1] == "sent to DLQ":
        return "dead-lettered (no longer in the DLQ: replayed or redriven)"
    if "retrying later" in messages:
        return "retrying"
    if record is not None:
        return f"in progress ({record.status})"
    return "queued" if messages else "unknown"


def _ledger_items(target: Target, event_id: str) -> list[dict[str, Any]]:
    table = Table(target.client("dynamodb"), target.table)
    with aws_errors(target, f"reading table {target.table}"):
        return list(
            table.scan(
                where="contains(#id, :hash)", names={"#id": "id"}, values={":hash": ledger_hash(event_id)}
            )
        )


def _step(integration: str, event_id: str, record: LedgerRecord, tried: dict[str, dict[str, Any]]) -> Step:
    assert record.step is not None
    attempt = tried.get(attempt_key(integration, record.step, event_id))
    duration: float | None = None
    tries: int | None = None
    if attempt is not None:
        with contextlib.suppress(TypeError, ValueError):
            tries = int(attempt.get("tries", 0)) or None
            last = float(attempt.get("last_at", 0) or 0)
            if last and record.at is not None and record.status == "COMPLETED":
                duration = max(0.0, record.at.timestamp() - last)
    masked = mask_personal(record.result)
    if isinstance(masked, dict) and "event_bus_id" in masked:
        text = str(masked.get("event_bus_id", ""))
    elif isinstance(masked, dict):
        text = ", ".join(f"{k}={v}" for k, v in list(masked.items())[:6])
    else:
        text = "" if masked is None else json.dumps(masked, ensure_ascii=False, default=str)
    return Step(record.step, record.status, record.at, duration, tries, text[:300])


def _letter(target: Target, integration: str, event_id: str) -> DeadLetter | None:
    try:
        with DlqScan(target, integration) as scan:
            return next((d for d in scan.letters if event_id in (d.event_id, d.message_id)), None)
    except NotDeployed:
        return None


def _letter_view(letter: DeadLetter | None) -> tuple[str | None, list[tuple[str, str]]]:
    if letter is None:
        return None, []
    try:
        body = json.dumps(mask_personal(json.loads(letter.body)), indent=2, ensure_ascii=False)
    except ValueError:
        body = str(redact_text(letter.body))
    attributes = [(k, str(redact_text(letter.attribute(k)))) for k in sorted(letter.message_attributes)]
    return body, attributes


def derived_prefixes(spec: IntegrationSpec) -> tuple[str, ...]:
    """The prefixes ``spec`` derives its work ids with from a bus event's ``source_event_id``.

    Read from its ``spec.py``: each ``derived_id(<prefix>, ….source_event_id)`` call, the prefix a
    string literal or a module-level name (``EVENT_ID_PREFIX``). Only these ids can be computed from
    the source event's id; a consumer that keys its work on something else (new_lead_notify's new
    contact announcement, keyed on the HubSpot contact) is found through its dead letter's body.
    """
    module = importlib.import_module(f"functions.{spec.name}.spec")
    source = Path(str(module.__file__)).read_text(encoding="utf-8")
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and len(node.args) == 2):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name != "derived_id" or "source_event_id" not in ast.unparse(node.args[1]):
            continue
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.append(first.value)
        elif isinstance(first, ast.Name) and isinstance(getattr(module, first.id, None), str):
            found.append(str(getattr(module, first.id)))
    return tuple(dict.fromkeys(found))


def _downstream(target: Target, spec: IntegrationSpec, event_id: str) -> list[Downstream]:
    """The consumers' work items this event's emitted events became, with where each stands."""
    table = Table(target.client("dynamodb"), target.table)
    found: dict[tuple[str, str], Downstream] = {}
    for consumer in load_specs():
        consumes = {d for t in consumer.triggers if isinstance(t, BusTrigger) for d in t.detail_types}
        if not consumes & set(spec.emits):
            continue
        for prefix in derived_prefixes(consumer):
            ident = derived_id(prefix, event_id)
            with aws_errors(target, f"reading table {target.table}"):
                record = table.get(event_key(consumer.name, ident))
            if record is not None:
                status = {"COMPLETED": "processed", "ATTEMPT_FAILED": "waiting for a retry"}.get(
                    str(record.get("status")), f"in progress ({record.get('status')})"
                )
                found[(consumer.name, ident)] = Downstream(consumer.name, ident, status)
        try:
            with DlqScan(target, consumer.name) as scan:
                for letter in scan.letters:
                    if _caused_by(letter, event_id):
                        ident = letter.event_id or letter.message_id
                        found[(consumer.name, ident)] = Downstream(consumer.name, ident, "dead-lettered")
        except NotDeployed:
            continue
    return sorted(found.values(), key=lambda d: (d.integration, d.event_id))


def _caused_by(letter: DeadLetter, event_id: str) -> bool:
    """Whether a dead letter is a bus event whose ``source_event_id`` is ``event_id``."""
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        detail = json.loads(letter.body).get("detail") or {}
        return bool(detail.get("source_event_id") == event_id)
    return False


def fmt_duration(seconds: float | None) -> str:
    """A step's duration as an operator reads it: ``12 ms`` under a second, ``1.4 s``, ``2 min 05 s``."""
    if seconds is None:
        return "-"
    if round(seconds * 1000) < 1000:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def fmt_time(at: float | None) -> str:
    """Seconds since the epoch as ``2026-12-05 19:00:24Z``."""
    if at is None:
        return "-"
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
