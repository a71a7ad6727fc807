"""The Lambda entry point of every integration: ``shared.entry.handler``.

One function per integration serves both paths and tells them apart by the event's shape: an API
Gateway HTTP API request goes to the ingress path, an SQS batch to the worker path. The worker path
(httpx, target clients, idempotency) is imported on first use only, so an ingress cold start never
pays for it.

The first invocation runs with Python's cyclic garbage collector paused: a cold start allocates the
whole import-time heap (boto3, pydantic, the spec's models) and then loads boto3's endpoint and
service JSON, and every pass the collector makes over that heap is work the first answer waits for
(one full collection alone was ~30 ms of a ~110 ms first request). When it returns, the heap built so
far is frozen (:func:`gc.freeze`: long-lived, never scanned again) and the collector resumes for
what later invocations allocate.

boto3 (every first answer needs it: the secret, the queue) is imported first, from the handler's own
frame, before anything else: its import chain is the deepest of the cold start (``boto3`` ... ``urllib3``
is 11 modules deep), and reached from inside the ingress's own imports, urllib3's regular expressions
were parsed right at a boundary of CPython 3.11's frame stack chunks, where every call allocates a
chunk and every return frees it (python/cpython#142183): ~5,000 mmap/munmap pairs, ~30-40 ms.

Pydantic looks for plugins (the ``pydantic`` entry-point group) when it builds its first model, by
reading the metadata of every installed distribution (~5 ms). Switchboard ships none, so the Lambda
entry point tells pydantic so (``PYDANTIC_DISABLE_PLUGINS``) unless the environment already says.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.runtime import Runtime

__all__ = ["dispatch", "handler"]

_runtime: Runtime | None = None


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    global _runtime  # noqa: PLW0603 - one Runtime per Lambda process, built on first invocation
    if _runtime is not None:
        return dispatch(_runtime, event, context)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    collecting = gc.isenabled()
    gc.disable()
    try:
        import boto3  # noqa: F401 - imported shallow, see the module's docstring

        from shared.runtime import Runtime

        _runtime = Runtime.from_env()
        return dispatch(_runtime, event, context)
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


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
