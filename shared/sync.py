"""Synchronous routes (``GET /stock/{sku}``): the same function answers with the target's data.

The route's handler is named as ``"module:function"`` in the spec and imported only when the route
is hit, so webhook acknowledgements never pay for a synchronous route's imports. A handler gets a
:class:`RouteContext` (clients, settings, logger, metrics) and returns ``(status, body, headers)`` -
a JSON-able body, or a ``str`` sent as it is (an HTML page, with its content type in ``headers``);
an error from the target that it does not handle itself becomes a 503 (retryable, with
``Retry-After``) or a 502 (the target refused), never a stack trace.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from shared.errors import IngressError, PermanentError, RetryableError

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.metrics import EphemeralMetrics

    from shared.app import App
    from shared.http import ApiClient
    from shared.runtime import Runtime
    from shared.spec import Connection, RouteTrigger
    from shared.webhooks.base import WebhookRequest

__all__ = ["RouteContext", "RouteHandler", "call_route", "resolve"]


class RouteContext:
    """What a synchronous route handler gets: the runtime's clients, settings and telemetry."""

    def __init__(self, rt: Runtime, logger: Logger, metrics: EphemeralMetrics) -> None:
        self.rt = rt
        self.logger = logger
        self.metrics = metrics

    @property
    def settings(self) -> Any:
        return self.rt.settings

    def api(self, app: App, connection: Connection) -> ApiClient:
        from shared.clients import api_client

        return api_client(self.rt, app, connection)


#: ``fn(ctx, request, path_params) -> (status, json body, extra headers)``.
RouteHandler = Callable[
    [RouteContext, "WebhookRequest", Mapping[str, str]], tuple[int, Any, Mapping[str, str]]
]


def resolve(dotted: str) -> Any:
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


def call_route(
    rt: Runtime,
    trigger: RouteTrigger,
    request: WebhookRequest,
    params: Mapping[str, str],
    *,
    logger: Logger,
    metrics: EphemeralMetrics,
) -> dict[str, Any]:
    from shared.clients import current_metrics
    from shared.ingress import response

    handler: RouteHandler = resolve(trigger.handler)
    ctx = RouteContext(rt, logger, metrics)
    token = current_metrics.set(metrics)
    try:
        status, body, headers = handler(ctx, request, params)
    except IngressError:
        raise  # answered by the ingress path with its own status and JSON body
    except RetryableError as exc:
        logger.warning("route upstream unavailable", extra={"route": trigger.name, "reason": exc.code})
        retry = str(max(1, int(exc.retry_after))) if exc.retry_after else "5"
        return response(
            503, {"error": exc.code, "message": "upstream unavailable; retry later"}, {"retry-after": retry}
        )
    except PermanentError as exc:
        logger.error("route upstream refused", extra={"route": trigger.name, "reason": exc.code})
        return response(502, {"error": exc.code, "message": "upstream refused the request"})
    finally:
        current_metrics.reset(token)
    if body is None and status in (202, 204):
        # A route with nothing to say (an MCP notification): no body, as the protocol requires.
        return {"statusCode": status, "headers": dict(headers), "body": "", "isBase64Encoded": False}
    if isinstance(body, str):
        # A page for a person, not JSON (the OAuth connect callback): the handler names its type.
        page_headers = {"content-type": "text/plain; charset=utf-8", **headers}
        return {"statusCode": status, "headers": page_headers, "body": body, "isBase64Encoded": False}
    return response(status, body, headers)
