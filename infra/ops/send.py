"""``switchboard send``: sign a sample event with its connection's secret and POST it to a gateway.

The request is the one the provider would make (:func:`infra.local.samples.build_request`). A
webhook sample is signed with the secret the receiving side verifies against: the running local
runtime's (found through its state file), or with ``stage`` the deployed stage's Secrets Manager.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.ops.target import CliError, local_state
from shared.spec import IntegrationSpec, WebhookTrigger

__all__ = ["Delivery", "send_sample"]


@dataclass(frozen=True)
class Delivery:
    """What the gateway answered to one sample."""

    url: str
    status: int
    text: str
    ok: bool


def send_sample(
    spec: IntegrationSpec, event_file: Path, *, url: str | None = None, stage: str | None = None
) -> Delivery:
    """POST the sample in ``event_file`` to ``url`` (default: the running local gateway)."""
    import httpx

    from infra.local.delivery import post
    from infra.local.samples import SampleError, build_request, load_sample

    if not event_file.exists():
        raise CliError(f"{event_file}: no such file")
    try:
        sample = load_sample(event_file, spec)
    except SampleError as exc:
        raise CliError(str(exc)) from exc
    trigger = spec.trigger(sample.trigger)
    state = local_state()
    base_url = url or (state or {}).get("gateway")
    if not base_url:
        raise CliError("no --url given and no local runtime is running (start one with `make dev`)")
    secret = None
    if isinstance(trigger, WebhookTrigger):
        if stage:
            name = f"switchboard/{stage}/{trigger.secret.name}"
        elif state:
            os.environ.setdefault("AWS_ENDPOINT_URL", state["aws_endpoint"])
            os.environ.setdefault("AWS_DEFAULT_REGION", state["region"])
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
            name = state["secret_prefix"] + trigger.secret.name
        else:
            raise CliError("to sign for a deployed URL, say which stage holds the secret: --stage prod")
        secret = _read_secret(name).get("secret")
    try:
        request = build_request(spec, sample, base_url, secret)
    except SampleError as exc:
        raise CliError(str(exc)) from exc
    try:
        response = post(request, timeout=10)
    except httpx.HTTPError as exc:
        raise CliError(f"POST {request.url} failed: {exc}") from exc
    return Delivery(request.url, response.status_code, response.text, response.is_success)


def _read_secret(name: str) -> dict[str, Any]:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        value = boto3.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    except (ClientError, BotoCoreError) as exc:
        raise CliError(f"cannot read secret {name}: {exc}") from exc
    parsed: dict[str, Any] = json.loads(value)
    return parsed
