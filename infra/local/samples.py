"""Sample events (``events/<integration>/*.json``) and how to send them as their provider would.

A sample file wraps a real provider payload with what is needed to send it and to judge the
outcome::

    {
      "description": "Tally form response with consent and UTM hidden fields",
      "trigger": "tally",                 # which trigger of the integration receives it
      "expect": "processed",              # processed | dlq | spam | rejected
      "expect_status": 202,               # HTTP status the gateway should answer
      "headers": {"origin": "..."},       # extra request headers (content-type defaults per trigger)
      "webhook_id": "msg_...",            # Standard Webhooks id (the provider's event id)
      "sign": "valid",                    # valid | forged | none
      "faults": {"hubspot": [{...}]},     # sandbox faults to queue before sending (local only)
      "body": {...} | "form": "a=b&c=d"   # the payload exactly as the provider sends it
    }

Files in sub-folders (``apigw/``, ``sqs/``) are raw Lambda events for ``switchboard invoke``.
Signing uses the trigger's own verifier (``Verifier.sign``), so the scheme is never written twice.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from shared.spec import FormTrigger, IntegrationSpec, WebhookTrigger

__all__ = ["EVENTS_DIR", "Sample", "SampleError", "build_request", "load_sample", "load_samples"]

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"

Expect = Literal["processed", "dlq", "spam", "rejected"]
_EXPECT = ("processed", "dlq", "spam", "rejected")
_FORGED_SECRET = "whsec_Zm9yZ2VkLXNlY3JldC1ub3QtdGhlLXJlYWwtb25l"


class SampleError(ValueError):
    """A sample file is not usable; the message names the file and what to fix."""


@dataclass(frozen=True)
class Sample:
    path: Path
    integration: str
    trigger: str
    description: str
    expect: Expect
    expect_status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    webhook_id: str | None = None
    sign: Literal["valid", "forged", "none"] = "valid"
    faults: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.stem


def load_sample(path: Path, spec: IntegrationSpec) -> Sample:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SampleError(f"{path}: not readable JSON ({exc})") from exc
    if not isinstance(raw, dict) or "trigger" not in raw:
        raise SampleError(f"{path}: a sample needs at least 'trigger' and 'body' or 'form'")
    try:
        trigger = spec.trigger(raw["trigger"])
    except KeyError as exc:
        raise SampleError(f"{path}: {exc.args[0]}") from exc
    if not isinstance(trigger, WebhookTrigger | FormTrigger):
        raise SampleError(f"{path}: trigger {raw['trigger']!r} does not receive HTTP posts")
    expect = raw.get("expect", "processed")
    if expect not in _EXPECT:
        raise SampleError(f"{path}: expect must be one of {', '.join(_EXPECT)}")
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
    headers = {"content-type": content_type, **{k.lower(): str(v) for k, v in raw.get("headers", {}).items()}}
    default_status = 202 if expect != "rejected" else 400
    return Sample(
        path=path,
        integration=spec.name,
        trigger=trigger.name,
        description=str(raw.get("description", "")),
        expect=expect,
        expect_status=int(raw.get("expect_status", default_status)),
        body=body,
        headers=headers,
        webhook_id=raw.get("webhook_id"),
        sign=raw.get("sign", "valid"),
        faults=dict(raw.get("faults", {})),
    )


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
) -> tuple[str, dict[str, str], bytes]:
    """URL, headers and body of the request the provider would send (signed where it signs)."""
    trigger = spec.trigger(sample.trigger)
    assert isinstance(trigger, WebhookTrigger | FormTrigger)
    url = base_url.rstrip("/") + trigger.path
    headers = dict(sample.headers)
    if isinstance(trigger, WebhookTrigger) and sample.sign != "none":
        key = _FORGED_SECRET if sample.sign == "forged" else secret
        if not key:
            raise SampleError(
                f"{sample.path}: no signing secret to sign with (connection {trigger.secret.name})"
            )
        headers.update(
            trigger.verifier.sign(
                method=trigger.method,
                url=url,
                body=sample.body,
                secret=key,
                now=time.time() if now is None else now,
                msg_id=sample.webhook_id or f"msg_{uuid.uuid4().hex}",
            )
        )
    return url, headers, sample.body
