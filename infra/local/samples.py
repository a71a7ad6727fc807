"""Sample events (``events/<integration>/*.json``) and how to deliver them as their source would.

A sample file wraps a real payload with what is needed to deliver it and to judge the outcome. The
trigger named by ``"trigger"`` decides the kind:

* webhook / form trigger - an HTTP POST, signed with the trigger's own verifier::

    {"trigger": "tally", "expect": "processed", "body": {...} | "form": "a=b&c=d",
     "headers": {...}, "webhook_id": "msg_...", "sign": "valid" | "forged" | "none"}

* bus trigger - an event put on the Switchboard bus (EventBridge routes it to the queue)::

    {"trigger": "leads", "expect": "processed", "detail": {...}, "detail_type": "lead.created"}

* route trigger - a synchronous request; ``expect`` is ``answered``::

    {"trigger": "stock", "expect": "answered", "expect_status": 200, "path": "/stock/LOAF-1",
     "query": "", "headers": {...}}

* schedule trigger - one tick of the schedule, as EventBridge Scheduler would send it::

    {"trigger": "daily", "expect": "processed", "scheduled_at": "2026-11-21T07:00:00+00:00"}

Common keys: ``description``; ``expect`` (processed | dlq | spam | ignored | rejected | answered -
``ignored`` is a valid event accepted with 202 that yields no work, such as a payment not completed yet);
``expect_status`` (HTTP status, default the trigger's accepted status - 202, or 200 where the sender
wants it (``WebhookTrigger.accepted_status``) - 400 for rejected, 200 for answered); ``faults``
(sandbox faults to queue before delivering, ``{"<app>": [{...}]}``); ``settings`` (fields of the
integration's settings laid over ``settings.local.json`` while this sample is processed, e.g.
``{"accounting_app": "xero"}`` - a deployment choice a sample can exercise; validated when the
sample loads, naming the file). Files in sub-folders
(``apigw/``, ``sqs/``) are raw Lambda events for ``switchboard invoke``.

A sample that continues what other samples began (a click on the message a lead's sample got posted)
says so, and the replay resolves it (:mod:`infra.local.sample_links`):

* ``after`` - ``["website_to_crm/tally_form_response", ...]``: replayed once those samples were, and
  once every queue has drained (what they set off has finished, down the bus);
* ``lookup`` - ``{"offer": {"app": "slack", "path": "/_button", "query": {"action_id": "..."}}}``:
  a control endpoint of a stand-in whose JSON answer fills the placeholders ``{{offer.<field>}}`` in
  the body and the headers (before signing). A placeholder stands for an id (letters, digits and
  ``. _ : @ + -``), so it needs no escaping in a form, a JSON string or a header. The same lookup in
  two samples is asked once per replay: both aim at the same thing (a double click, one message).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from infra.local.delivery import SignedRequest, signed_request
from shared.spec import (
    BusTrigger,
    FormTrigger,
    IntegrationSpec,
    RouteTrigger,
    ScheduleTrigger,
    WebhookTrigger,
    accepted_status,
)

__all__ = [
    "EVENTS_DIR",
    "PLACEHOLDER",
    "Lookup",
    "Sample",
    "SampleError",
    "build_request",
    "load_sample",
    "load_samples",
]

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"

Kind = Literal["http", "bus", "route", "schedule"]
Expect = Literal["processed", "dlq", "spam", "ignored", "rejected", "answered"]
_EXPECT = ("processed", "dlq", "spam", "ignored", "rejected", "answered")
_FORGED_SECRET = "whsec_Zm9yZ2VkLXNlY3JldC1ub3QtdGhlLXJlYWwtb25l"


#: ``{{<lookup>.<field>}}``: a value a stand-in answers, filled in when the sample is replayed.
PLACEHOLDER = re.compile(r"\{\{([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\}\}")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_QUALIFIED = re.compile(r"^[a-z][a-z0-9_]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SampleError(ValueError):
    """A sample file is not usable; the message names the file and what to fix."""


@dataclass(frozen=True)
class Lookup:
    """A stand-in's control endpoint whose JSON answer fills a sample's placeholders."""

    app: str
    path: str
    query: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.query)
        return f"{self.app} {self.path}" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class Sample:
    path: Path
    integration: str
    trigger: str
    description: str
    expect: Expect
    expect_status: int
    body: bytes = b""
    kind: Kind = "http"
    headers: dict[str, str] = field(default_factory=dict)
    webhook_id: str | None = None
    sign: Literal["valid", "forged", "none"] = "valid"
    faults: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Settings fields laid over the integration's local settings for this sample.
    settings: dict[str, Any] = field(default_factory=dict)
    #: bus samples
    detail: dict[str, Any] = field(default_factory=dict)
    detail_type: str = ""
    source: str = "switchboard"
    #: route samples
    request_path: str = ""
    query: str = ""
    #: schedule samples
    scheduled_at: str = ""
    #: The status that means "taken" for its trigger (202, or 200 where the sender wants it).
    accepted_status: int = 202
    #: Samples (``integration/name``) this one continues: replayed after them, once the queues drained.
    after: tuple[str, ...] = ()
    #: Placeholder name -> the stand-in lookup that fills it; empty once resolved.
    lookups: dict[str, Lookup] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def qualified(self) -> str:
        """``integration/name``, as another sample's ``after`` names it."""
        return f"{self.integration}/{self.name}"


def load_sample(path: Path, spec: IntegrationSpec) -> Sample:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SampleError(f"{path}: not readable JSON ({exc})") from exc
    if not isinstance(raw, dict) or "trigger" not in raw:
        raise SampleError(f"{path}: a sample needs at least 'trigger' (and a payload)")
    try:
        trigger = spec.trigger(raw["trigger"])
    except KeyError as exc:
        raise SampleError(f"{path}: {exc.args[0]}") from exc
    expect = raw.get("expect", "answered" if isinstance(trigger, RouteTrigger) else "processed")
    if expect not in _EXPECT:
        raise SampleError(f"{path}: expect must be one of {', '.join(_EXPECT)}")
    common: dict[str, Any] = {
        "path": path,
        "integration": spec.name,
        "trigger": trigger.name,
        "description": str(raw.get("description", "")),
        "expect": expect,
        "faults": dict(raw.get("faults", {})),
        "settings": _settings(path, spec, raw.get("settings", {})),
        "headers": {k.lower(): str(v) for k, v in raw.get("headers", {}).items()},
        "after": _after(path, spec, raw.get("after", [])),
    }
    lookups = _lookups(path, raw.get("lookup", {}))
    if lookups and not isinstance(trigger, WebhookTrigger | FormTrigger):
        raise SampleError(
            f"{path}: lookup fills placeholders of an HTTP request; {trigger.name!r} is not one"
        )
    if isinstance(trigger, BusTrigger):
        if not isinstance(raw.get("detail"), dict):
            raise SampleError(f"{path}: a bus sample needs 'detail' (the event's detail object)")
        detail_type = raw.get("detail_type", trigger.detail_types[0])
        if detail_type not in trigger.detail_types:
            raise SampleError(
                f"{path}: trigger {trigger.name!r} consumes {trigger.detail_types}, not {detail_type!r}"
            )
        return Sample(
            **common,
            kind="bus",
            expect_status=0,
            detail=raw["detail"],
            detail_type=detail_type,
            source=raw.get("source", trigger.sources[0]),
        )
    if isinstance(trigger, ScheduleTrigger):
        return Sample(
            **common, kind="schedule", expect_status=0, scheduled_at=str(raw.get("scheduled_at", ""))
        )
    if isinstance(trigger, RouteTrigger):
        if "path" not in raw:
            raise SampleError(f"{path}: a route sample needs 'path' (e.g. {trigger.path!r} filled in)")
        return Sample(
            **common,
            kind="route",
            expect_status=int(raw.get("expect_status", 200)),
            request_path=str(raw["path"]),
            query=str(raw.get("query", "")),
        )
    if "form" in raw:
        body = str(raw["form"]).encode("utf-8")
        content_type = "application/x-www-form-urlencoded"
    elif "body" in raw:
        body = (
            raw["body"].encode("utf-8") if isinstance(raw["body"], str) else json.dumps(raw["body"]).encode()
        )
        content_type = "application/json"
    else:
        raise SampleError(f"{path}: needs 'body' (JSON payload) or 'form' (urlencoded string)")
    common["headers"] = {"content-type": content_type, **common["headers"]}
    _check_placeholders(path, lookups, body, common["headers"])
    taken = accepted_status(trigger)
    return Sample(
        **common,
        kind="http",
        expect_status=int(raw.get("expect_status", taken if expect != "rejected" else 400)),
        accepted_status=taken,
        body=body,
        webhook_id=raw.get("webhook_id"),
        sign=raw.get("sign", "valid"),
        lookups=lookups,
    )


def _after(path: Path, spec: IntegrationSpec, value: Any) -> tuple[str, ...]:
    """A sample's ``after``: a list of other samples, each ``integration/name``."""
    if not isinstance(value, list) or not all(isinstance(v, str) and _QUALIFIED.match(v) for v in value):
        raise SampleError(
            f"{path}: after must be a list of samples named integration/name "
            '(e.g. ["website_to_crm/tally_form_response"])'
        )
    if f"{spec.name}/{path.stem}" in value:
        raise SampleError(f"{path}: a sample cannot come after itself")
    return tuple(value)


def _lookups(path: Path, value: Any) -> dict[str, Lookup]:
    """A sample's ``lookup``: placeholder name -> ``{"app", "path", "query"}`` of a stand-in."""
    shape = '{"<name>": {"app": "slack", "path": "/_button", "query": {"action_id": "..."}}}'
    if not isinstance(value, dict):
        raise SampleError(f"{path}: lookup must be an object {shape}")
    found: dict[str, Lookup] = {}
    for name, spec in value.items():
        if not _NAME.match(name):
            raise SampleError(f"{path}: lookup name {name!r} must be lower-case letters, digits and _")
        if (
            not isinstance(spec, dict)
            or set(spec) - {"app", "path", "query"}
            or not isinstance(spec.get("app"), str)
            or not isinstance(spec.get("path"), str)
            or not spec["path"].startswith("/_")
            or not isinstance(spec.get("query", {}), dict)
            or not all(isinstance(v, str) for v in spec.get("query", {}).values())
        ):
            raise SampleError(
                f'{path}: lookup {name!r} must be {{"app": ..., "path": "/_<control endpoint>", '
                f'"query": {{<text fields>}}}}, e.g. {shape}'
            )
        found[name] = Lookup(spec["app"], spec["path"], tuple(sorted(spec.get("query", {}).items())))
    return found


def _check_placeholders(path: Path, lookups: dict[str, Lookup], body: bytes, headers: dict[str, str]) -> None:
    """Every placeholder names a declared lookup, and every lookup is used."""
    text = body.decode("utf-8", errors="replace") + "\n" + "\n".join(headers.values())
    named = {m.group(1) for m in PLACEHOLDER.finditer(text)}
    unknown = sorted(named - set(lookups))
    if unknown:
        raise SampleError(f"{path}: placeholder {{{{{unknown[0]}.…}}}} names no lookup; declare it in lookup")
    unused = sorted(set(lookups) - named)
    if unused:
        raise SampleError(f"{path}: lookup {unused[0]!r} fills no placeholder {{{{{unused[0]}.<field>}}}}")


def _settings(path: Path, spec: IntegrationSpec, value: Any) -> dict[str, Any]:
    """A sample's ``settings``: an object of fields the integration's settings model has."""
    if not isinstance(value, dict):
        raise SampleError(f"{path}: settings must be an object of {spec.name}'s settings fields")
    unknown = sorted(set(value) - set(spec.settings.model_fields))
    if unknown:
        raise SampleError(f"{path}: settings: {spec.name} has no setting {', '.join(unknown)}")
    return dict(value)


def load_samples(spec: IntegrationSpec, events_dir: Path = EVENTS_DIR) -> list[Sample]:
    folder = events_dir / spec.name
    return [load_sample(p, spec) for p in sorted(folder.glob("*.json"))]


def build_request(
    spec: IntegrationSpec,
    sample: Sample,
    base_url: str,
    secret: str | None,
    *,
    now: float | None = None,
) -> SignedRequest:
    """URL, headers and body of the HTTP request the sender would make (signed where it signs).

    For route samples the request is a GET (or the route's method) with the sample's path and query.
    """
    trigger = spec.trigger(sample.trigger)
    if sample.lookups:
        raise SampleError(
            f"{sample.path}: its placeholders are filled from the stand-ins first "
            f"(lookup {', '.join(sample.lookups)}): make dev replays it, and switchboard send sends it "
            "to the running runtime"
        )
    if isinstance(trigger, RouteTrigger):
        url = base_url.rstrip("/") + sample.request_path + (f"?{sample.query}" if sample.query else "")
        return SignedRequest(url, dict(sample.headers), b"")
    if not isinstance(trigger, WebhookTrigger | FormTrigger):
        raise SampleError(f"{sample.path}: trigger {trigger.name!r} is not reached over HTTP")
    if not isinstance(trigger, WebhookTrigger) or sample.sign == "none":
        return SignedRequest(base_url.rstrip("/") + trigger.path, dict(sample.headers), sample.body)
    key = _FORGED_SECRET if sample.sign == "forged" else secret
    if not key:
        raise SampleError(f"{sample.path}: no signing secret to sign with (connection {trigger.secret.name})")
    return signed_request(
        trigger, base_url, sample.body, key, headers=sample.headers, msg_id=sample.webhook_id, now=now
    )
