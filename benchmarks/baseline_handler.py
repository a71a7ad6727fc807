"""The baseline: a hand-written webhook handler with the standard library and boto3 only.

It does the same work as Switchboard's ingress path for a Standard Webhooks request - read the
signing secret from Secrets Manager, check the timestamp and the HMAC-SHA256 signature in constant
time, parse the JSON, check the one field it needs, send the event to SQS, answer 202 - and nothing
else: no models, no structured logs, no metrics. It is what a careful developer would write by hand,
and the floor Switchboard's ratios are measured against.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from typing import Any

import boto3

_clients: dict[str, Any] = {}
_secret: dict[str, str] = {}


def _client(name: str) -> Any:
    if name not in _clients:
        _clients[name] = boto3.client(name)
    return _clients[name]


def _answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    if len(body) > 256 * 1024:
        return _answer(413, {"error": "payload_too_large"})
    headers = event.get("headers") or {}
    if not _secret:
        value = _client("secretsmanager").get_secret_value(SecretId=os.environ["BASELINE_SECRET_ID"])
        _secret.update(json.loads(value["SecretString"]))
    msg_id, stamp, signatures = (
        headers.get(h, "") for h in ("webhook-id", "webhook-timestamp", "webhook-signature")
    )
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
        return _answer(401, {"error": "stale_signature"})
    key = base64.b64decode(_secret["secret"].removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest())
    if not any(hmac.compare_digest(expected, s.partition(",")[2].encode()) for s in signatures.split()):
        return _answer(401, {"error": "invalid_signature"})
    try:
        payload = json.loads(body)
    except ValueError:
        return _answer(400, {"error": "malformed_payload"})
    if not isinstance(payload, dict):
        return _answer(400, {"error": "malformed_payload"})
    _client("sqs").send_message(
        QueueUrl=os.environ["SWITCHBOARD_QUEUE_URL"],
        MessageBody=json.dumps({"event_id": msg_id, "data": payload}),
    )
    return _answer(202, {"id": msg_id})
