"""Synchronous routes (``GET /stock/{sku}``): the same function answers with the target's data.

The route's handler is named as ``"module:function"`` in the spec and imported only when the route
is hit, so webhook acknowledgements never pay for a synchronous route's imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from shared.errors import PermanentError, RetryableError

if TYPE_CHECKING:
    from shared.runtime import Runtime
    from shared.spec import RouteTrigger
    from shared.webhooks.base import WebhookRequest

__all__ = ["RouteHandler", "call_route", "resolve"]

#: ``fn(runtime, request, path_params) -> (status, json body, extra headers)``.
RouteHandler = Callable[["Runtime", "WebhookRequest", Mapping[str, str]], tuple[int, Any, Mapping[str, str]]]


def resolve(dotted: str) -> Any:
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


def call_route(
    rt: Runtime, trigger: RouteTrigger, request: WebhookRequest, params: Mapping[str, str]
) -> dict[str, Any]:
    from shared.ingress import response

    handler: RouteHandler = resolve(trigger.handler)
    try:
        status, body, headers = handler(rt, request, params)
    except RetryableError as exc:
        retry = str(int(exc.retry_after)) if exc.retry_after else "5"
        return response(503, {"error": exc.code, "message": "upstream unavailable"}, {"retry-after": retry})
    except PermanentError as exc:
        return response(502, {"error": exc.code, "message": "upstream rejected the request"})
    return response(status, body, headers)
