"""``switchboard send``: deliver a payload as its provider would - signed where it signs - and say
what became of it.

The file is either a sample (``events/<integration>/*.json``: ``{"trigger": ..., "body": ...}``, see
:mod:`infra.local.samples`) or a bare payload: the provider's JSON body itself, as copied from its
dashboard or docs, delivered to the integration's HTTP trigger (``--trigger`` when it has several).
The request is the one the provider would make (:func:`infra.local.samples.build_request`). A
webhook is signed with the secret the receiving side verifies against: the running local
runtime's (found through its state file), or with ``stage`` the deployed stage's Secrets Manager.

A provider re-sends, so the ingress accepts a repeat (202 - or the trigger's ``accepted_status`` -
with its event id) and the worker skips it. That is right for the provider and puzzling for a person
trying something twice, so after such an answer the effects ledger is read: an event record written
before this send means the event was already received, and nothing will be done again. A sample whose
placeholders come from the stand-ins (``lookup``) is filled from the local runtime's first.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.ops.secrets import read_secret
from infra.ops.target import CliError, Target, local_state, resolve
from shared.spec import FormTrigger, IntegrationSpec, WebhookTrigger, accepted_status

if TYPE_CHECKING:
    from infra.local.samples import Sample

__all__ = ["Delivery", "Earlier", "LedgerUnreadable", "send_sample"]

#: Keys only a sample has (a provider's body with a ``trigger`` field is still a bare payload).
_SAMPLE_KEYS = ("body", "form", "expect", "webhook_id", "sign", "detail", "scheduled_at", "path")
_SAMPLE_SHAPE = '{"trigger": "<trigger>", "body": {<the provider\'s JSON>}} (or "form": "a=b&c=d")'


class LedgerUnreadable(Exception):
    """The ledger could not be asked whether the event was already received (the send itself worked)."""


@dataclass(frozen=True)
class Earlier:
    """An earlier delivery of the same event, as the ledger recorded it."""

    at: datetime
    status: str


@dataclass(frozen=True)
class Delivery:
    """What the gateway answered to one delivery, and whether it repeated an event already received."""

    url: str
    status: int
    text: str
    ok: bool
    #: The event id the ingress answered with (``{"id": ...}``), if it did.
    event_id: str | None = None
    #: Set when the event id was already in the ledger before this send: nothing is done again.
    earlier: Earlier | None = None
    #: Whether the event id is the delivery id the request carried (``webhook-id``): a fresh delivery
    #: id then makes a fresh event.
    id_from_delivery: bool = False
    #: Why it could not be told whether the event was already received, if it could not.
    unknown: str | None = None


def send_sample(
    spec: IntegrationSpec,
    event_file: Path,
    *,
    url: str | None = None,
    stage: str | None = None,
    trigger: str | None = None,
    fresh_id: bool = False,
) -> Delivery:
    """POST the sample or bare payload in ``event_file`` to ``url`` (default: the running local gateway)."""
    import httpx

    from infra.local.delivery import post
    from infra.local.samples import SampleError, build_request

    sample = _load(spec, event_file, trigger)
    if fresh_id:
        sample = replace(sample, webhook_id=None)  # build_request then makes a new delivery id
    chosen = spec.trigger(sample.trigger)
    if not isinstance(chosen, WebhookTrigger | FormTrigger):
        raise CliError(
            f"{event_file}: trigger {chosen.name!r} of {spec.name} is not reached over HTTP; "
            f"run it with `switchboard invoke {spec.name} {event_file}`"
        )
    state = local_state()
    base_url = url or (state or {}).get("gateway")
    if not base_url:
        raise CliError("no --url given and no local runtime is running (start one with `make dev`)")
    try:
        if sample.lookups:
            sample = _resolved(sample, base_url, stage)
        secret = None
        if isinstance(chosen, WebhookTrigger) and sample.sign == "valid":
            secret = _signing_secret(chosen, stage, state)
        request = build_request(spec, sample, base_url, secret)
    except SampleError as exc:
        raise CliError(str(exc)) from exc
    started = time.time()
    try:
        response = post(request, timeout=10)
    except httpx.HTTPError as exc:
        raise CliError(f"POST {request.url} failed: {exc}") from exc
    event_id = _answered_id(response.text) if response.status_code == sample.accepted_status else None
    earlier, unknown = None, None
    if event_id:
        try:
            earlier = _earlier(spec, event_id, started, stage, state)
        except LedgerUnreadable as exc:
            unknown = str(exc)
    return Delivery(
        request.url,
        response.status_code,
        response.text,
        response.is_success,
        event_id=event_id,
        earlier=earlier,
        id_from_delivery=bool(event_id) and request.headers.get("webhook-id") == event_id,
        unknown=unknown,
    )


def _resolved(sample: Sample, base_url: str, stage: str | None) -> Sample:
    """The sample with its placeholders filled from the local stand-ins (``lookup``)."""
    import httpx

    from infra.local.sample_links import from_http, resolve

    if stage:
        raise CliError(
            f"{sample.path}: its placeholders ({', '.join(sample.lookups)}) are filled from the local "
            "stand-ins; send it to the local runtime, or fill them in yourself for a stage"
        )
    with httpx.Client(timeout=10) as client:
        return resolve(sample, from_http(client, base_url), {})


def _load(spec: IntegrationSpec, event_file: Path, trigger: str | None) -> Sample:
    """The sample in ``event_file``, or a sample made around the bare payload it holds."""
    from infra.local.samples import Sample, SampleError, load_sample

    if not event_file.exists():
        raise CliError(f"{event_file}: no such file")
    try:
        raw = json.loads(event_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CliError(
            f"{event_file}: not readable JSON ({exc}); send takes the provider's JSON body as it is, "
            f"or a sample {_SAMPLE_SHAPE}"
        ) from exc
    if isinstance(raw, dict) and "trigger" in raw and any(k in raw for k in _SAMPLE_KEYS):
        try:
            sample = load_sample(event_file, spec)
        except SampleError as exc:
            raise CliError(f"{exc}; a sample is {_SAMPLE_SHAPE}") from exc
        if trigger and trigger != sample.trigger:
            raise CliError(f"{event_file} is a sample for trigger {sample.trigger!r}, not {trigger!r}")
        return sample
    chosen = _http_trigger(spec, trigger)
    return Sample(
        path=event_file,
        integration=spec.name,
        trigger=chosen.name,
        description=f"the payload in {event_file}",
        expect="processed",
        expect_status=accepted_status(chosen),
        accepted_status=accepted_status(chosen),
        body=json.dumps(raw).encode(),
        headers={"content-type": "application/json"},
    )


def _http_trigger(spec: IntegrationSpec, name: str | None) -> WebhookTrigger | FormTrigger:
    """The trigger a bare payload is for: the one named, or the integration's only HTTP trigger."""
    http = [t for t in spec.triggers if isinstance(t, WebhookTrigger | FormTrigger)]
    names = ", ".join(t.name for t in http)
    if name:
        found = next((t for t in http if t.name == name), None)
        if found is None:
            raise CliError(
                f"--trigger {name!r}: {spec.name}'s HTTP triggers are {names or '(none)'}"
                if http
                else f"{spec.name} has no HTTP trigger to send a payload to"
            )
        return found
    if not http:
        raise CliError(
            f"{spec.name} has no HTTP trigger: a bare payload cannot be sent to it; "
            f"run a sample with `switchboard invoke {spec.name} <sample>`"
        )
    if len(http) > 1:
        raise CliError(
            f"{spec.name} takes payloads at {len(http)} triggers ({names}): say which with --trigger, "
            f"or send a sample {_SAMPLE_SHAPE}"
        )
    return http[0]


def _signing_secret(trigger: WebhookTrigger, stage: str | None, state: dict[str, Any] | None) -> str | None:
    """The secret the receiving side verifies ``trigger`` with: the stage's, or the local runtime's."""
    if not stage and not state:
        raise CliError("to sign for a deployed URL, say which stage holds the secret: --stage prod")
    target = resolve(stage)
    secret = read_secret(target, trigger.secret).get("secret")
    return str(secret) if secret else None


def _answered_id(text: str) -> str | None:
    try:
        answer = json.loads(text)
    except ValueError:
        return None
    found = answer.get("id") if isinstance(answer, dict) else None
    return str(found) if found else None


def _earlier(
    spec: IntegrationSpec,
    event_id: str,
    started: float,
    stage: str | None,
    state: dict[str, Any] | None,
) -> Earlier | None:
    """The ledger's event record of ``event_id``, if it was written before this send started.

    Records carry their time to the second (their expiry minus the retention), so a record of the
    second the send started may be this delivery's own: only an earlier second counts.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from shared.ledger import RETENTION_S, event_key

    if not stage and not state:
        return None  # a deployed URL without --stage: no ledger to ask
    target: Target = resolve(stage)
    try:
        item = target.client("dynamodb").get_item(
            TableName=target.table, Key={"id": {"S": event_key(spec.name, event_id)}}
        )
    except (ClientError, BotoCoreError) as exc:
        raise LedgerUnreadable(f"cannot read the ledger {target.table} ({exc})") from exc
    record = item.get("Item")
    if not record or "expiration" not in record:
        return None
    at = int(record["expiration"]["N"]) - RETENTION_S
    if at >= math.floor(started):
        return None
    return Earlier(datetime.fromtimestamp(at, UTC), str(record.get("status", {}).get("S", "?")))
