"""The Lambda entry point of every integration: ``shared.entry.handler``.

One function per integration serves both paths and tells them apart by the event's shape: an API
Gateway HTTP API request goes to the ingress path, an SQS batch to the worker path. The worker path
(httpx, target clients, idempotency) is imported on first use only, so an ingress cold start never
pays for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.runtime import Runtime

__all__ = ["dispatch", "handler"]

_runtime: Runtime | None = None


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    global _runtime  # noqa: PLW0603 - one Runtime per Lambda process, built on first invocation
    if _runtime is None:
        _runtime = Runtime.from_env()
    return dispatch(_runtime, event, context)


def dispatch(rt: Runtime, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    request_context = event.get("requestContext")
    if isinstance(request_context, Mapping) and "http" in request_context:
        from shared.ingress import handle_http

        return handle_http(rt, event)
    records = event.get("Records")
    if isinstance(records, list) and records and records[0].get("eventSource") == "aws:sqs":
        from shared.worker import handle_sqs

        return handle_sqs(rt, event, context)
    if isinstance(records, list) and not records:
        return {"batchItemFailures": []}
    raise ValueError(
        "unrecognised event: expected an API Gateway HTTP API (payload 2.0) request or an SQS batch"
    )
